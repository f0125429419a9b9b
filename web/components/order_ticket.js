/**
 * The order ticket: every order type (market, limit, stop, stop_limit), sized by quantity or
 * notional, with a time in force. A refusal is shown inline with its rule and the field it
 * names (POST /v1/contests/{id}/orders answers 422 with `rule` = the reason code).
 */

import { allPages, api } from "../api.js";
import { formatPrice, formatQty, t } from "../i18n.js";
import { busy, clearProblems, field, formAlert, h, radios, showProblem } from "../ui.js";

const TYPES = ["market", "limit", "stop", "stop_limit"];
const TIME_IN_FORCE = ["day", "gtc", "ioc", "fok"];

export function orderTicket(contest, { onPlaced }) {
  const lastPrice = h("p", { class: "hint", "aria-live": "polite" });
  const result = h("div", { class: "ticket-result", role: "status" });
  const form = h("form", { class: "ticket", novalidate: true, "aria-label": t("ticket.title") },
    field({ label: t("ticket.symbol"), name: "symbol", list: `universe-${contest.id}`, autocomplete: "off", required: true }),
    h("datalist", { id: `universe-${contest.id}` }, contest.universe.map((symbol) => h("option", { value: symbol }))),
    lastPrice,
    radios({ legend: t("ticket.side"), name: "side", value: "buy", options: [["buy", t("side.buy")], ["sell", t("side.sell")]] }),
    field({ label: t("ticket.type"), name: "type", as: "select", options: TYPES.map((v) => [v, t(`order_type.${v}`)]) }),
    radios({ legend: t("ticket.size_by"), name: "size_by", value: "qty", options: [["qty", t("ticket.qty")], ["notional", t("ticket.notional")]] }),
    field({ label: t("ticket.qty"), name: "qty", inputmode: "decimal", autocomplete: "off" }),
    field({ label: t("ticket.notional"), name: "notional", inputmode: "decimal", autocomplete: "off" }),
    field({ label: t("ticket.limit_price"), name: "limit_price", inputmode: "decimal", autocomplete: "off" }),
    field({ label: t("ticket.stop_price"), name: "stop_price", inputmode: "decimal", autocomplete: "off" }),
    field({ label: t("ticket.time_in_force"), name: "time_in_force", as: "select", options: TIME_IN_FORCE.map((v) => [v, t(`tif.${v}`)]) }),
    formAlert(),
    h("button", { type: "submit", class: "primary", name: "place" }, t("ticket.place")),
    result);

  const show = (name, visible) => { form.querySelector(`[data-field="${name}"]`).hidden = !visible; };
  function arrange() {
    const { type, size_by: sizeBy, side } = Object.fromEntries(new FormData(form));
    show("qty", sizeBy === "qty");
    show("notional", sizeBy === "notional");
    show("limit_price", type === "limit" || type === "stop_limit");
    show("stop_price", type === "stop" || type === "stop_limit");
    form.elements.place.textContent = t(`ticket.place_${side}`);
    form.elements.place.dataset.side = side;
  }
  form.addEventListener("change", arrange);
  const hint = () => describe(contest, form.elements.symbol.value, lastPrice).catch(() => lastPrice.replaceChildren());
  form.elements.symbol.addEventListener("change", hint);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearProblems(form);
    result.replaceChildren();
    try {
      const order = await busy(form.elements.place, () => api.post(`/contests/${contest.id}/orders`, orderBody(form)));
      result.replaceChildren(h("p", { class: "notice success", dataset: { order: order.id } },
        t("ticket.accepted", { id: order.id, status: t(`status.${order.status}`) })));
      onPlaced(order);
    } catch (error) {
      showProblem(form, error);
    }
  });
  arrange();

  /** Fill the ticket (e.g. "sell this position"). */
  function prefill({ symbol, side, qty }) {
    form.elements.symbol.value = symbol;
    form.querySelector(`input[name=side][value=${side}]`).checked = true;
    form.querySelector("input[name=size_by][value=qty]").checked = true;
    form.elements.qty.value = qty;
    arrange();
    hint();
    form.elements.qty.focus();
  }
  /** Put a symbol on the ticket (the symbol search's pick) and show its lot and last close. */
  function setSymbol(symbol) {
    form.elements.symbol.value = symbol;
    hint();
  }
  return { el: form, prefill, setSymbol };
}

/** The body of POST …/orders: only the fields this order type and sizing use. */
function orderBody(form) {
  const v = Object.fromEntries(new FormData(form));
  const body = { symbol: v.symbol.trim(), side: v.side, type: v.type, time_in_force: v.time_in_force };
  body[v.size_by] = v[v.size_by].trim() || null;
  if (v.type === "limit" || v.type === "stop_limit") body.limit_price = v.limit_price.trim() || null;
  if (v.type === "stop" || v.type === "stop_limit") body.stop_price = v.stop_price.trim() || null;
  return body;
}

const instrumentsByMarket = new Map();

/** "Lot 100 · last close 12.34 (2024-01-03)" under the symbol. */
async function describe(contest, symbol, target) {
  symbol = symbol.trim().toUpperCase();
  target.replaceChildren();
  if (!contest.universe.includes(symbol)) return;
  if (!instrumentsByMarket.has(contest.market)) {
    instrumentsByMarket.set(contest.market, allPages("/market/instruments", { market: contest.market })
      .then((items) => new Map(items.map((i) => [i.symbol, i]))));
  }
  const [known, bars] = await Promise.all([
    instrumentsByMarket.get(contest.market),
    api.get(`/market/${encodeURIComponent(symbol)}/bars`, { contest_id: contest.id, start: weekBefore(contest.clock_day) }),
  ]);
  const instrument = known.get(symbol);
  const last = bars.at(-1);
  target.replaceChildren([
    instrument ? `${instrument.name} · ${t("ticket.lot", { lot: formatQty(instrument.lot_size) })}` : null,
    last ? t("ticket.last_close", { price: formatPrice(last.close), day: last.day }) : null,
  ].filter(Boolean).join(" · "));
}

const weekBefore = (day) => {
  if (!day) return null;
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - 10);
  return date.toISOString().slice(0, 10);
};
