/**
 * League: the member's weekly cohort (GET /v1/leagues/me) with the promotion and demotion zones
 * coloured, the tier badge and days left; the time zone cohorts are matched by
 * (GET/PUT /v1/leagues/me/profile); and the closed weeks (GET /v1/leagues/me/history).
 */

import { api } from "../api.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { busy, field, h, notice, problemBox, section, table } from "../ui.js";

const n = (value) => (value === null ? "—" : formatNumber(value, { max: 2 }));
const tierBadge = (tier) => h("span", { class: `badge tier tier-${tier}`, id: "league-tier" }, t(`league.tier.${tier}`));

export async function render(root) {
  root.append(h("h1", {}, t("league.title")));
  root.append(await cohortSection());
  root.append(await profileSection());
  root.append(historySection(await api.get("/leagues/me/history")));
}

async function cohortSection() {
  let mine;
  try {
    mine = await api.get("/leagues/me");
  } catch (error) {
    if (error.status === 404) return section(t("league.cohort"), notice(t("league.no_week")));
    return section(t("league.cohort"), problemBox(error));
  }
  const facts = h("div", { class: "badges" },
    tierBadge(mine.tier),
    h("span", { class: "badge" }, mine.final ? t("league.final") : t("league.days_left", { days: mine.days_left })),
    h("span", { class: "badge" }, t(`league.basis.${mine.basis}`)));
  const zones = h("p", { class: "hint" },
    t("league.zones", { promote: mine.promotion_zone, demote: mine.demotion_zone }), " ",
    t("league.window", { from: formatDate(mine.starts_at), to: formatDate(mine.ends_at) }));
  const rows = table({
    caption: t("league.cohort"),
    rows: mine.standings,
    rowAttrs: (p) => ({ class: [`zone-${p.zone}`, p.me ? "me" : ""].join(" ").trim(), dataset: { zone: p.zone } }),
    columns: [
      { label: t("league.rank"), value: (p) => String(p.rank), numeric: true },
      { label: t("league.member"), value: (p) => (p.me ? h("strong", {}, p.display_name) : p.display_name) },
      { label: t("league.score"), value: (p) => n(p.score), numeric: true },
      { label: t("league.zone"), value: (p) => t(`league.zone.${p.zone}`) },
    ],
  });
  return section(t("league.cohort"), facts, zones, rows);
}

async function profileSection() {
  const profile = await api.get("/leagues/me/profile");
  const result = h("div", { role: "status" });
  const input = field({ label: t("league.time_zone"), name: "time_zone", value: profile.time_zone, hint: t("league.time_zone_hint") });
  const save = h("button", { type: "submit", class: "primary", id: "save-time-zone" }, t("league.save"));
  const form = h("form", { class: "stack" }, input, save, result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    try {
      const saved = await busy(save, () => api.put("/leagues/me/profile", { time_zone: form.elements.time_zone.value.trim() }));
      result.replaceChildren(notice(t("league.saved", { zone: saved.time_zone }), "success"));
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  });
  return section(t("league.profile"), form);
}

function historySection(history) {
  return section(t("league.history"), table({
    caption: t("league.history"),
    rows: history.items,
    empty: t("league.no_history"),
    rowAttrs: (w) => ({ class: `zone-${w.zone}` }),
    columns: [
      { label: t("league.week"), value: (w) => formatDate(w.starts_at) },
      { label: t("league.tier"), value: (w) => tierBadge(w.tier) },
      { label: t("league.rank"), value: (w) => t("league.rank_of", { rank: w.rank, size: w.cohort_size }), numeric: true },
      { label: t("league.score"), value: (w) => n(w.score), numeric: true },
      { label: t("league.zone"), value: (w) => t(`league.zone.${w.zone}`) },
      { label: t("league.next_tier"), value: (w) => t(`league.tier.${w.next_tier}`) },
      { label: t("league.reward"), value: (w) => t("league.reward_value", { points: w.points, xp: w.xp }), numeric: true },
    ],
  }));
}
