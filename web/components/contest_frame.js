/** The frame of every contest page: title, state, clock, and links between its pages. It adopts
 * the contest's market conventions (language default, up/down colours). */

import { api } from "../api.js";
import { applyMarket, formatDate, t } from "../i18n.js";
import { h } from "../ui.js";

/** Draws the header into `root`; resolves to the contest, or null when the language switched
 * to the market's default (the app is then redrawing the page). `code`: a private contest's
 * invite code, from its invite link (`#/contests/3?code=…`): without it only entrants see it. */
export async function contestFrame(root, contestId, active, code = null) {
  const contest = await api.get(`/contests/${contestId}`, { code });
  if (applyMarket(contest.market)) return null;
  const base = `#/contests/${contest.id}`;
  const pages = [
    ["trade", base, t("contest.nav.trade")],
    ["leaderboard", `${base}/leaderboard`, t("contest.nav.leaderboard")],
    contest.teams ? ["team", `${base}/team`, t("contest.nav.team")] : null,
  ].filter(Boolean);
  root.append(
    h("header", { class: "contest-head" },
      h("h1", {}, contest.title),
      h("p", { class: "badges" },
        h("span", { class: "badge" }, t(`market.${contest.market}`)),
        h("span", { class: `badge state-${contest.state}` }, t(`state.${contest.state}`)),
        h("span", { class: "clock" }, contest.clock_day
          ? t("contest.clock_day", { day: formatDate(contest.clock_day), ticks: contest.clock_ticks })
          : t("contest.clock_not_started", { day: formatDate(contest.trading_start) })))),
    h("nav", { class: "tabs", "aria-label": t("contest.nav.label") },
      pages.map(([name, href, label]) => h("a", { href, "aria-current": name === active ? "page" : null }, label))));
  return contest;
}

/** Re-run `refresh` every `seconds` while the page is shown; returns the stop function. A failed
 * background refresh leaves the page as it was (the next one may succeed). */
export function every(seconds, refresh) {
  const run = () => Promise.resolve(refresh()).catch((error) => console.warn("refresh failed", error));
  const timer = setInterval(() => { if (!document.hidden) run(); }, seconds * 1000);
  return () => clearInterval(timer);
}
