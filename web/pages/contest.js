/** A contest's trading page: account, equity chart, positions, orders and the order ticket. */

import { api } from "../api.js";
import { accountSummary } from "../components/account_summary.js";
import { contestFrame, every } from "../components/contest_frame.js";
import { equityChart } from "../components/equity_chart.js";
import { liveEvents } from "../components/live_events.js";
import { canJoin, joinForm } from "../components/join.js";
import { orderTicket } from "../components/order_ticket.js";
import { ordersPanel } from "../components/orders.js";
import { positionsPanel } from "../components/positions.js";
import { officialRulesSection } from "../components/verifiable.js";
import { t } from "../i18n.js";
import { h, notice, redraw, section } from "../ui.js";

// Prices move without any order of the member's: the account and chart refresh on a timer;
// orders, fills and positions refresh when the live stream reports one of the member's orders
// (every REFRESH_SECONDS too when the browser has no EventSource).
const REFRESH_SECONDS = 20;
const LIVE_DEBOUNCE_MS = 300;

export async function render(root, { params, query }) {
  const code = query.get("code");  // a private contest's invite link
  const contest = await contestFrame(root, params.id, "trade", code);
  if (!contest) return null;
  const joined = await api.get("/me/contests");
  if (!joined.includes(contest.id)) return notEntered(root, contest, code);

  const summary = accountSummary(contest);
  const chart = equityChart(contest);
  const orders = ordersPanel(contest, { onChange: () => refresh() });
  const positions = positionsPanel(contest, { onSell: (order) => ticket.prefill(order) });
  const ticket = orderTicket(contest, { onPlaced: () => refresh() });
  const refresh = () => Promise.all([summary.refresh(), chart.refresh(), positions.refresh(), orders.refresh()]);

  root.append(h("div", { class: "trade-grid" },
    h("div", { class: "area-summary" }, summary.el),
    h("div", { class: "area-ticket" }, section(t("ticket.title"), ticket.el)),
    h("div", { class: "area-main stack" }, chart.el, positions.el, orders.el)));
  await refresh();
  let pending = null;
  const onEvent = () => {  // one refresh for a burst of fills (a bar fills many orders)
    clearTimeout(pending);
    pending = setTimeout(() => {
      Promise.all([summary.refresh(), positions.refresh(), orders.refresh()])
        .catch((error) => console.warn("refresh failed", error));
    }, LIVE_DEBOUNCE_MS);
  };
  const live = liveEvents(onEvent);
  const stop = live
    ? every(REFRESH_SECONDS, () => Promise.all([summary.refresh(), chart.refresh(), positions.refresh()]))
    : every(REFRESH_SECONDS, refresh);
  return () => { stop(); if (live) live(); clearTimeout(pending); chart.destroy(); };
}

function notEntered(root, contest, code) {
  root.append(section(t("contest.not_entered"),
    canJoin(contest)
      ? joinForm(contest, redraw, code)
      : notice(t("contest.closed_for_entries")),
    officialRulesSection(contest, code)));
  return null;
}
