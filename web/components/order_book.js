/** The member's own order book: their open orders, buys from the highest price down and sells
 * from the lowest up (market orders first), with what has filled and a cancel button. */

import { api } from "../api.js";
import { formatPrice, formatQty, t } from "../i18n.js";
import { busy, h, problemBox, section, table } from "../ui.js";

const OPEN = ["new", "partially_filled"];

export function orderBook(contest, { onChange }) {
  const body = h("div");
  const alert = h("div");
  const el = section(t("book.title"), alert, body);
  const url = `/contests/${contest.id}/orders`;

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
    const page = await api.get(url, { status: OPEN, limit: 100 });
    body.replaceChildren(table({
      empty: t("book.empty"),
      rows: sorted(page.items),
      rowAttrs: (o) => ({ dataset: { order: o.id, side: o.side }, class: `book-${o.side}` }),
      columns: [
        { label: t("book.side"), value: (o) => t(`side.${o.side}`) },
        { label: t("book.symbol"), value: (o) => o.symbol },
        { label: t("book.price"), value: (o) => priceOf(o), numeric: true },
        { label: t("book.qty"), value: (o) => (o.qty ? formatQty(o.qty) : "—"), numeric: true },
        { label: t("book.filled"), value: (o) => formatQty(o.filled_qty), numeric: true },
        { label: t("book.status"), value: (o) => t(`status.${o.status}`) },
        { label: t("book.actions"), value: (o) =>
          h("button", { type: "button", class: "small", onclick: (e) => cancel(o, e.currentTarget) }, t("orders.cancel")) },
      ],
    }));
  }
  return { el, refresh };
}

function priceOf(o) {
  if (o.limit_price) return formatPrice(o.limit_price);
  if (o.stop_price) return `${t("orders.stop")} ${formatPrice(o.stop_price)}`;
  return t("order_type.market");
}

/** Buys first (best bid on top), then sells (best ask on top); market orders lead their side. */
function sorted(orders) {
  const price = (o) => Number(o.limit_price ?? o.stop_price ?? NaN);
  const key = (o) => (Number.isNaN(price(o)) ? (o.side === "buy" ? Infinity : -Infinity) : price(o));
  const buys = orders.filter((o) => o.side === "buy").sort((a, b) => key(b) - key(a));
  const sells = orders.filter((o) => o.side === "sell").sort((a, b) => key(a) - key(b));
  return [...buys, ...sells];
}
