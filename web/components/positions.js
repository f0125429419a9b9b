/** The member's positions, marked at the clock's last close; "sell" fills the ticket. */

import { api } from "../api.js";
import { formatMoney, formatPrice, formatQty, t, trend } from "../i18n.js";
import { h, section, signed, table } from "../ui.js";

export function positionsPanel(contest, { onSell }) {
  const body = h("div");
  const el = section(t("positions.title"), body);
  const money = (value) => formatMoney(value, contest.market);

  async function refresh() {
    const rows = await api.get(`/contests/${contest.id}/positions`);
    body.replaceChildren(table({
      caption: t("positions.title"),
      empty: t("positions.empty"),
      rows,
      rowAttrs: (p) => ({ dataset: { symbol: p.symbol } }),
      // The P&L and the sell button early in the row: on a phone the rest scrolls sideways.
      columns: [
        { label: t("positions.symbol"), value: (p) => p.symbol },
        { label: t("positions.qty"), value: (p) => formatQty(p.qty), numeric: true },
        { label: t("positions.unrealized"), value: (p) => signed(money(p.unrealized_pnl), trend(p.unrealized_pnl)), numeric: true },
        { label: t("positions.actions"), value: (p) => Number(p.sellable_qty) > 0
          ? h("button", { type: "button", class: "small", onclick: () => onSell({ symbol: p.symbol, side: "sell", qty: p.sellable_qty }) },
            t("positions.sell"))
          : null },
        { label: t("positions.sellable"), value: (p) => formatQty(p.sellable_qty), numeric: true },
        { label: t("positions.avg_cost"), value: (p) => formatPrice(p.avg_cost), numeric: true },
        { label: t("positions.last"), value: (p) => formatPrice(p.last_price), numeric: true },
        { label: t("positions.value"), value: (p) => money(p.market_value), numeric: true },
      ],
    }));
  }
  return { el, refresh };
}
