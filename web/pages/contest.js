/** A contest's trading page: account, symbol search and quote, equity chart, positions, orders
 * and the order ticket; a minute contest adds the intraday chart, the member's own order book
 * and their trade history. */

import { api } from "../api.js";
import { accountSummary } from "../components/account_summary.js";
import { contestFrame, every } from "../components/contest_frame.js";
import { equityChart } from "../components/equity_chart.js";
import { intradayChart } from "../components/intraday_chart.js";
import { liveEvents } from "../components/live_events.js";
import { canJoin, joinForm } from "../components/join.js";
import { orderBook } from "../components/order_book.js";
import { orderTicket } from "../components/order_ticket.js";
import { ordersPanel } from "../components/orders.js";
import { positionsPanel } from "../components/positions.js";
import { quotePanel } from "../components/quote_panel.js";
import { symbolSearch } from "../components/symbol_search.js";
import { tradeHistory } from "../components/trade_history.js";
import { officialRulesSection } from "../components/verifiable.js";
import { t } from "../i18n.js";
import { h, notice, redraw, section } from "../ui.js";

// Prices move without any order of the member's: the account and chart refresh on a timer;
// orders, fills and positions refresh when the live stream reports one of the member's orders
// (every REFRESH_SECONDS too when the browser has no EventSource).
const REFRESH_SECONDS = 20;
const LIVE_DEBOUNCE_MS = 300;
// The quote and the intraday chart are market data, not member events: the stream never
// carries them, so they refresh on this timer, and only while the exchange is open (a closed
// or lunch-breaking market prints nothing new).
const QUOTE_SECONDS = 15;

export async function render(root, { params, query }) {
  const code = query.get("code");  // a private contest's invite link
  const contest = await contestFrame(root, params.id, "trade", code);
  if (!contest) return null;
  const joined = await api.get("/me/contests");
  if (!joined.includes(contest.id)) return notEntered(root, contest, code);

  const minute = contest.bar_interval === "minute";
  const summary = accountSummary(contest);
  const chart = equityChart(contest);
  const quote = quotePanel(contest);
  const intraday = minute ? intradayChart(contest) : null;
  const book = minute ? orderBook(contest, { onChange: () => refresh() }) : null;
  const history = minute ? tradeHistory(contest) : null;
  const orders = ordersPanel(contest, { onChange: () => refresh(), showOpen: !minute });
  const positions = positionsPanel(contest, { onSell: (order) => ticket.prefill(order) });
  const ticket = orderTicket(contest, { onPlaced: () => refresh() });
  const showSymbol = (symbol) => Promise.all([quote.show(symbol), intraday?.show(symbol)]);
  const search = symbolSearch(contest, {
    onPick: (symbol) => {
      ticket.setSymbol(symbol);
      showSymbol(symbol).catch((error) => console.warn("quote failed", error));
    },
  });
  const memberPanels = () => [summary.refresh(), positions.refresh(), orders.refresh(), book?.refresh(), history?.refresh()];
  const refresh = () => Promise.all([chart.refresh(), ...memberPanels()]);

  root.append(h("div", { class: "trade-grid" },
    h("div", { class: "area-summary" }, summary.el),
    h("div", { class: "area-ticket stack" },
      section(t("search.title"), search.el),
      section(t("ticket.title"), ticket.el)),
    h("div", { class: "area-main stack" },
      quote.el, intraday?.el, book?.el, history?.el, chart.el, positions.el, orders.el)));
  await refresh();
  let pending = null;
  const onEvent = () => {  // one refresh for a burst of fills (a bar fills many orders)
    clearTimeout(pending);
    pending = setTimeout(() => {
      Promise.all(memberPanels()).catch((error) => console.warn("refresh failed", error));
    }, LIVE_DEBOUNCE_MS);
  };
  const live = liveEvents(onEvent);
  const stop = live
    ? every(REFRESH_SECONDS, () => Promise.all([summary.refresh(), chart.refresh(), positions.refresh()]))
    : every(REFRESH_SECONDS, refresh);
  const stopQuotes = every(QUOTE_SECONDS, () => {
    const symbol = quote.symbol();
    const session = quote.current()?.session;
    const waiting = session && session.state !== "open" && Date.now() < Date.parse(session.next_open);
    if (!symbol || waiting) return null;
    return showSymbol(symbol);
  });
  return () => {
    stop(); stopQuotes(); if (live) live(); clearTimeout(pending);
    chart.destroy(); intraday?.destroy();
  };
}

function notEntered(root, contest, code) {
  root.append(section(t("contest.not_entered"),
    canJoin(contest)
      ? joinForm(contest, redraw, code)
      : notice(t("contest.closed_for_entries")),
    officialRulesSection(contest, code)));
  return null;
}
