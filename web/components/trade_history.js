/** The member's trade history: their fills in the contest, newest first
 * (GET /v1/contests/{id}/fills). */

import { api } from "../api.js";
import { formatDate, formatMoney, formatPrice, formatQty, t } from "../i18n.js";
import { h, section, table } from "../ui.js";

const SHOWN = 50;

export function tradeHistory(contest) {
  const body = h("div");
  const el = section(t("fills.title"), body);

  async function refresh() {
    const page = await api.get(`/contests/${contest.id}/fills`, { limit: SHOWN });
    body.replaceChildren(table({
      empty: t("fills.empty"),
      rows: page.items,
      rowAttrs: (f) => ({ dataset: { fill: f.id, order: f.order_id } }),
      columns: [
        { label: t("fills.day"), value: (f) => formatDate(f.day) },
        { label: t("fills.order"), value: (f) => `#${f.order_id}` },
        { label: t("fills.symbol"), value: (f) => f.symbol },
        { label: t("fills.side"), value: (f) => t(`side.${f.side}`) },
        { label: t("fills.qty"), value: (f) => formatQty(f.qty), numeric: true },
        { label: t("fills.price"), value: (f) => formatPrice(f.price), numeric: true },
        { label: t("fills.value"), value: (f) => formatMoney(f.value, contest.market), numeric: true },
        { label: t("fills.fees"), value: (f) => formatMoney(f.fees, contest.market), numeric: true },
      ],
    }));
  }
  return { el, refresh };
}
