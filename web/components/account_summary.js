/** The member's account in a contest: equity, return, cash, buying power, P&L, statistics. */

import { api } from "../api.js";
import { formatMoney, formatNumber, formatPercent, t, trend } from "../i18n.js";
import { h, section, signed } from "../ui.js";

export function accountSummary(contest) {
  const body = h("dl", { class: "figures" });
  const el = section(t("account.title"), body);
  const money = (value) => formatMoney(value, contest.market);

  async function refresh() {
    const a = await api.get(`/contests/${contest.id}/account`);
    const s = a.statistics;
    const figure = (label, value, cls) =>
      h("div", { class: "figure" }, h("dt", {}, label), h("dd", {}, cls ? signed(value, cls) : value));
    body.replaceChildren(
      figure(t("account.equity"), money(a.equity)),
      figure(t("account.total_return"), formatPercent(s.total_return), trend(s.total_return)),
      figure(t("account.cash"), money(a.cash)),
      figure(t("account.buying_power"), money(a.buying_power)),
      figure(t("account.positions_value"), money(a.positions_value)),
      figure(t("account.unrealized_pnl"), money(a.unrealized_pnl), trend(a.unrealized_pnl)),
      figure(t("account.realized_pnl"), money(a.realized_pnl), trend(a.realized_pnl)),
      figure(t("account.fees_paid"), money(a.fees_paid)),
      figure(t("account.sharpe"), formatNumber(s.sharpe)),
      figure(t("account.max_drawdown"), formatPercent(s.max_drawdown)),
      figure(t("account.trades"), formatNumber(s.trade_count, { max: 0 })));
  }
  return { el, refresh };
}
