/**
 * A contest's leaderboard: everyone (paged), around me, my friends or my team; my own row is
 * highlighted, and stays pinned to the bottom of the screen while the list scrolls. A settled
 * contest also lists its prizes; a started one offers its locked rules (and, settled, my
 * results certificate) as verifiable downloads.
 */

import { ApiError, api } from "../api.js";
import { contestFrame, every } from "../components/contest_frame.js";
import { formatMetric } from "../components/metric.js";
import { prizesSection } from "../components/prizes.js";
import { verifiableSection } from "../components/verifiable.js";
import { formatDate, formatMoney, formatNumber, formatPercent, t, trend } from "../i18n.js";
import { h, notice, signed } from "../ui.js";

const REFRESH_SECONDS = 30;
const VIEWS = { all: {}, around: { around: "me", k: 10 }, friends: { scope: "friends" }, team: { scope: "team" } };

export async function render(root, { params, query, user }) {
  const contest = await contestFrame(root, params.id, "leaderboard");
  if (!contest) return null;
  const view = VIEWS[query.get("view")] ? query.get("view") : "all";
  const base = `#/contests/${contest.id}/leaderboard`;
  const names = Object.keys(VIEWS).filter((name) => name !== "team" || contest.teams);
  const status = h("p", { class: "hint", role: "status" });
  const body = h("div");
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  root.append(
    h("nav", { class: "tabs secondary", "aria-label": t("board.views") },
      names.map((name) => h("a", { href: `${base}?view=${name}`, "aria-current": name === view ? "page" : null }, t(`board.view.${name}`)))),
    status, body, more);

  let cursor = null;
  let shown = [];
  async function load(append = false) {
    const [board, mine] = await Promise.all([
      api.get(`/contests/${contest.id}/leaderboard`, { ...VIEWS[view], limit: 50, cursor: append ? cursor : null }),
      myRow(contest),
    ]);
    status.textContent = board.tick
      ? t("board.status", { day: formatDate(board.day), entries: board.entries, ranked: board.ranked })
      : t("board.before_first_tick");
    const rows = append ? [...shown, ...board.items] : board.items;
    shown = rows;
    body.replaceChildren(rows.length || mine
      ? boardTable(contest, rows, mine, user.id, board.me)
      : notice(t("board.empty")));
    cursor = view === "all" ? board.next_cursor : null;
    more.hidden = !cursor;
  }
  more.addEventListener("click", () => load(true));
  await load();
  if (contest.state === "settled") {
    const names = new Map(shown.map((row) => [row.member_id, row.display_name]));
    root.append(await prizesSection(contest, names, user.id));
  }
  const verifiable = verifiableSection(contest);
  if (verifiable) root.append(verifiable);
  // Refresh the first page only while no further page was loaded (keeps the reader's place).
  return every(REFRESH_SECONDS, () => shown.length <= 50 && load());
}

/** My row (around=me with no neighbours), or null when I have no entry. */
async function myRow(contest) {
  try {
    const board = await api.get(`/contests/${contest.id}/leaderboard`, { around: "me", k: 0 });
    return board.items[0] ?? null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function boardTable(contest, rows, mine, myId, place) {
  const showReturn = contest.metric.kind !== "total_return";  // else the metric column says it
  const row = (r, pinned = false) => h("tr", {
    class: r.member_id === myId ? "me" : null,
    dataset: { member: r.member_id, position: r.position },
  },
  h("td", { class: "num" }, r.rank ? String(r.rank) : h("span", { title: t("board.unqualified") }, "—")),
  h("td", {}, r.display_name, r.member_id === myId ? h("span", { class: "badge joined" }, t("board.you")) : null,
    !r.qualified ? h("small", { class: "reason" }, ` ${t("board.unqualified")}`) : null,
    pinned && place?.percentile ? h("small", { class: "hint" }, ` ${t("board.percentile", { p: formatNumber(place.percentile, { max: 1 }) })}`) : null),
  h("td", { class: "num" }, signed(formatMetric(contest, r.metric), trend(r.metric))),
  showReturn ? h("td", { class: "num" }, signed(formatPercent(r.total_return), trend(r.total_return))) : null,
  h("td", { class: "num wide-only" }, formatMoney(r.equity, contest.market)),
  h("td", { class: "num wide-only" }, String(r.trades)));
  return h("table", { class: "board" },
    h("caption", { class: "visually-hidden" }, t("contest.nav.leaderboard")),
    h("thead", {}, h("tr", {},
      h("th", { class: "num", scope: "col" }, t("board.rank")),
      h("th", { scope: "col" }, t("board.member")),
      h("th", { class: "num", scope: "col" }, t(`metric.${contest.metric.kind}`)),
      showReturn ? h("th", { class: "num", scope: "col" }, t("board.return")) : null,
      h("th", { class: "num wide-only", scope: "col" }, t("board.equity")),
      h("th", { class: "num wide-only", scope: "col" }, t("board.trades")))),
    h("tbody", {}, rows.map((r) => row(r))),
    mine ? h("tfoot", { class: "sticky-me", "aria-label": t("board.my_row") }, row(mine, true)) : null);
}
