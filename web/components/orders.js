/** The member's orders: open ones with a cancel button, and the recent ones with their status
 * and reason (rejected, canceled, expired). */

import { api } from "../api.js";
import { formatMoney, formatPrice, formatQty, t } from "../i18n.js";
import { busy, h, problemBox, ruleName, section, table } from "../ui.js";

const OPEN = ["new", "partially_filled"];

/** `showOpen: false` leaves the open orders to the order book (minute contests). */
export function ordersPanel(contest, { onChange, showOpen = true }) {
  const open = h("div");
  const recent = h("div");
  const alert = h("div");
  const el = h("div", { class: "stack" },
    showOpen ? section(t("orders.open"), alert, open) : null,
    section(t("orders.recent"), recent));
  const url = `/contests/${contest.id}/orders`;

  const describe = (o) => [
    o.qty ? formatQty(o.qty) : formatMoney(o.notional, contest.market),
    o.limit_price ? `${t("orders.limit")} ${formatPrice(o.limit_price)}` : null,
    o.stop_price ? `${t("orders.stop")} ${formatPrice(o.stop_price)}` : null,
  ].filter(Boolean).join(" · ");
  const base = [
    { label: t("orders.id"), value: (o) => `#${o.id}` },
    { label: t("orders.symbol"), value: (o) => o.symbol },
    { label: t("orders.side"), value: (o) => t(`side.${o.side}`) },
    { label: t("orders.type"), value: (o) => `${t(`order_type.${o.type}`)} · ${t(`tif.${o.time_in_force}`)}` },
    { label: t("orders.size"), value: describe },
    { label: t("orders.filled"), value: (o) => o.filled_avg_price ? `${formatQty(o.filled_qty)} @ ${formatPrice(o.filled_avg_price)}` : formatQty(o.filled_qty), numeric: true },
  ];

  async function cancel(order, button) {
    alert.replaceChildren();
    try {
      await busy(button, () => api.delete(`${url}/${order.id}`));
      onChange();
    } catch (error) {
      alert.replaceChildren(problemBox(error));
    }
  }

  async function refresh() {
    const [live, latest] = await Promise.all([
      showOpen ? api.get(url, { status: OPEN, limit: 100 }) : { items: [] },
      api.get(url, { limit: 20 }),
    ]);
    open.replaceChildren(table({
      empty: t("orders.none_open"),
      rows: live.items,
      rowAttrs: (o) => ({ dataset: { order: o.id } }),
      // Cancel early in the row: on a phone the rest scrolls sideways.
      columns: [...base.slice(0, 2), { label: t("orders.actions"), value: (o) =>
        h("button", { type: "button", class: "small", onclick: (e) => cancel(o, e.currentTarget) }, t("orders.cancel")) },
      ...base.slice(2)],
    }));
    recent.replaceChildren(table({
      empty: t("orders.none"),
      rows: latest.items,
      rowAttrs: (o) => ({ dataset: { order: o.id, status: o.status } }),
      columns: [...base, { label: t("orders.status"), value: (o) => h("span", {},
        t(`status.${o.status}`), o.reason ? h("small", { class: "reason" }, ` (${ruleName(o.reason) ?? o.reason})`) : null) }],
    }));
  }
  return { el, refresh };
}
