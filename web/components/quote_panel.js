/** A symbol's quote (GET /v1/market/{symbol}/quote): last price and change, the day's price
 * band, the feed's delay ("delayed 30 min" / "real time"), a stale-feed warning and the
 * exchange's session (open, lunch break, closed and when it opens). */

import { api } from "../api.js";
import { formatDateTime, formatNumber, formatPrice, t, trend } from "../i18n.js";
import { h, notice, section, signed } from "../ui.js";

export function quotePanel(contest) {
  const body = h("div", { class: "quote", "aria-live": "polite" }, h("p", { class: "empty" }, t("quote.pick")));
  const el = section(t("quote.title"), body);
  let symbol = null;
  let last = null;

  async function refresh() {
    if (!symbol) return null;
    const asked = symbol;
    const q = await api.get(`/market/${encodeURIComponent(asked)}/quote`, { contest_id: contest.id });
    if (asked !== symbol) return last;
    last = q;
    body.replaceChildren(...draw(q));
    return q;
  }
  async function show(next) {
    symbol = next;
    return refresh();
  }
  return { el, show, refresh, current: () => last, symbol: () => symbol };
}

function draw(q) {
  const delay = q.delay_seconds
    ? t("quote.delayed", { minutes: formatNumber(q.delay_seconds / 60, { max: 0 }) })
    : t("quote.real_time");
  const pct = q.change_pct === null ? null : `${formatNumber(q.change_pct, { min: 2, max: 2, sign: "exceptZero" })}%`;
  const session = q.session.state === "open"
    ? t("quote.session_open")
    : t(`quote.session_${q.session.state}`, { at: formatDateTime(q.session.next_open) });
  return [
    h("p", { class: "quote-head" },
      h("strong", { class: "quote-symbol" }, q.symbol), " ", h("span", {}, q.name)),
    h("p", { class: "quote-price", dataset: { price: q.price ?? "" } },
      h("span", { class: "price" }, q.price === null ? t("quote.no_price") : formatPrice(q.price)), " ",
      q.change === null ? null : signed(`${formatNumber(q.change, { min: 2, max: 6, sign: "exceptZero" })} (${pct})`, trend(q.change))),
    h("dl", { class: "quote-facts" },
      h("dt", {}, t("quote.previous_close")), h("dd", {}, formatPrice(q.previous_close)),
      h("dt", {}, t("quote.band")), h("dd", { class: "band" }, q.band ? `${formatPrice(q.band.down)} – ${formatPrice(q.band.up)}` : t("quote.no_band")),
      h("dt", {}, t("quote.at")), h("dd", {}, q.at ? formatDateTime(q.at) : "—"),
      h("dt", {}, t("quote.feed")), h("dd", { class: "delay", dataset: { delay: q.delay_seconds } }, delay),
      h("dt", {}, t("quote.session")), h("dd", { class: "session", dataset: { state: q.session.state } }, session)),
    q.stale ? notice(t("quote.stale"), "error") : null,
  ].filter(Boolean);
}
