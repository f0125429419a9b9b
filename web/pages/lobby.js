/** The contest lobby: contests by state (open, running, ended) and season; join one. */

import { api } from "../api.js";
import { canJoin, joinForm } from "../components/join.js";
import { formatDate, formatMoney, t } from "../i18n.js";
import { field, go, h, notice } from "../ui.js";

const TABS = {
  open: ["upcoming", "registration"],
  running: ["waiting", "running"],
  ended: ["finished", "settled"],
};

export async function render(root, { query }) {
  const tab = TABS[query.get("tab")] ? query.get("tab") : "open";
  const seasonId = query.get("season") || "";
  const [seasons, joined] = await Promise.all([
    api.get("/seasons", { limit: 200 }),
    api.get("/me/contests"),
  ]);
  const list = h("div", { class: "contest-list" });
  const more = h("button", { type: "button", hidden: true }, t("common.more"));
  root.append(
    h("h1", {}, t("lobby.title")),
    ...(query.get("welcome") ? [welcome()] : []),
    h("nav", { class: "tabs", "aria-label": t("lobby.states") },
      Object.keys(TABS).map((name) => h("a", {
        href: `#/contests?tab=${name}${seasonId ? `&season=${seasonId}` : ""}`,
        "aria-current": name === tab ? "page" : null,
      }, t(`lobby.tab.${name}`)))),
    seasonFilter(seasons.items, seasonId, tab),
    list,
    more);

  let cursor = null;
  async function loadPage() {
    const page = await api.get("/contests", { state: TABS[tab], season_id: seasonId || null, cursor, limit: 20 });
    list.append(...page.items.map((contest) => card(contest, new Set(joined))));
    if (!list.children.length) list.append(notice(t("lobby.empty")));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  }
  more.addEventListener("click", loadPage);
  await loadPage();
}

function seasonFilter(seasons, seasonId, tab) {
  const options = [["", t("lobby.all_seasons")], ...seasons.map((s) => [String(s.id), s.name])];
  const wrapper = field({ label: t("lobby.season"), name: "season", as: "select", options, value: seasonId });
  wrapper.querySelector("select").addEventListener("change", (event) =>
    go(`/contests?tab=${tab}${event.target.value ? `&season=${event.target.value}` : ""}`));
  return h("div", { class: "filters" }, wrapper);
}

function card(contest, joined) {
  const entered = joined.has(contest.id);
  const capacity = contest.capacity ? `${contest.entries} / ${contest.capacity}` : String(contest.entries);
  const action = entered
    ? h("a", { class: "button primary", href: `#/contests/${contest.id}` }, t("lobby.open_contest"))
    : canJoin(contest)
      ? joinForm(contest, () => go(`/contests/${contest.id}`))
      : null;
  return h("article", { class: "card contest-card", dataset: { contest: contest.id, state: contest.state } },
    h("h2", {}, h("a", { href: `#/contests/${contest.id}` }, contest.title)),
    h("p", { class: "badges" },
      h("span", { class: "badge" }, t(`market.${contest.market}`)),
      h("span", { class: `badge state-${contest.state}` }, t(`state.${contest.state}`)),
      contest.private ? h("span", { class: "badge" }, t("lobby.private")) : null,
      entered ? h("span", { class: "badge joined" }, t("lobby.joined")) : null),
    contest.description ? h("p", {}, contest.description) : null,
    h("dl", { class: "facts" },
      fact(t("contest.trading"), `${formatDate(contest.trading_start)} – ${formatDate(contest.trading_end)}`),
      fact(t("contest.starting_cash"), formatMoney(contest.starting_cash, contest.market)),
      fact(t("contest.entries"), capacity),
      fact(t("contest.metric"), t(`metric.${contest.metric.kind}`)),
      contest.min_level ? fact(t("contest.min_level"), String(contest.min_level)) : null),
    action);
}

const fact = (term, value) => h("div", {}, h("dt", {}, term), h("dd", {}, value));

/** After sign-up: an offer to answer the onboarding questionnaire (every question optional). */
function welcome() {
  return h("p", { class: "notice info", role: "status", dataset: { welcome: "" } },
    t("onboarding.offer"), " ",
    h("a", { href: "#/onboarding?next=/contests" }, t("onboarding.offer_link")));
}
