/**
 * The operator's desk: seasons and contests (every state) with links to their forms, and live
 * participation: entries, ranked entries and teams per contest, as a table and a bar chart,
 * refreshed every 15 s from the public API (contests, leaderboards, team lists).
 */

import { allPages, api } from "../api.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { h, section, table } from "../ui.js";

const REFRESH_MS = 15_000;

export async function render(root) {
  const seasons = await allPages("/seasons");
  const figures = h("div");
  const canvas = h("canvas", { role: "img", "aria-label": t("admin.participation") });
  const summary = h("p", { class: "visually-hidden" });
  root.append(
    h("h1", {}, t("admin.title")),
    h("nav", { class: "tabs secondary", "aria-label": t("admin.sections") },
      h("a", { href: "#/admin/seasons/new", class: "button" }, t("admin.new_season")),
      h("a", { href: "#/admin/contests/new", class: "button primary" }, t("admin.new_contest")),
      h("a", { href: "#/admin/engagement" }, t("admin.engagement")),
      h("a", { href: "#/admin/ledger" }, t("admin.ledger")),
      h("a", { href: "#/admin/reviews" }, t("reviews.title")),
      h("a", { href: "#/admin/audit" }, t("audit.title")),
      h("a", { href: "#/admin/analytics" }, t("analytics.title")),
      h("a", { href: "#/admin/webhooks" }, t("webhooks.title")),
      h("a", { href: "#/admin/segments" }, t("segments.title")),
      h("a", { href: "#/admin/campaigns" }, t("admin.campaigns"))),
    section(t("admin.participation"), h("div", { class: "chart-box" }, canvas), summary, figures),
    section(t("admin.seasons"), table({
      caption: t("admin.seasons"),
      rows: seasons,
      rowAttrs: (s) => ({ dataset: { season: s.id } }),
      columns: [
        { label: t("admin.name"), value: (s) => h("a", { href: `#/admin/seasons/${s.id}` }, s.name) },
        { label: t("admin.market"), value: (s) => t(`market.${s.market}`) },
        { label: t("admin.dates"), value: (s) => `${formatDate(s.starts_on)} – ${formatDate(s.ends_on)}` },
        { label: t("admin.data_source"), value: (s) => t(`admin.${s.data_source}`) },
        { label: t("admin.status"), value: (s) => (s.ended ? t("admin.ended") : t("admin.active")) },
      ],
    })));

  let chart = null;
  async function refresh() {
    const contests = await allPages("/contests");
    const rows = await Promise.all(contests.map(participation));
    figures.replaceChildren(table({
      caption: t("admin.contests"),
      rows,
      empty: t("admin.no_contests"),
      rowAttrs: (r) => ({ dataset: { contest: r.contest.id, state: r.contest.state } }),
      columns: [
        { label: t("admin.contest"), value: (r) => h("a", { href: `#/admin/contests/${r.contest.id}` }, r.contest.title) },
        { label: t("admin.state"), value: (r) => h("span", { class: `badge state-${r.contest.state}` }, t(`state.${r.contest.state}`)) },
        { label: t("admin.entries"), value: (r) => count(r.contest.entries, r.contest.capacity), numeric: true },
        { label: t("admin.ranked"), value: (r) => formatNumber(r.ranked, { max: 0 }), numeric: true },
        { label: t("admin.teams"), value: (r) => (r.teams === null ? "—" : formatNumber(r.teams, { max: 0 })), numeric: true },
        { label: t("admin.clock_day"), value: (r) => formatDate(r.contest.clock_day) },
      ],
    }));
    const text = t("admin.participation_summary", {
      contests: rows.length, entries: rows.reduce((sum, r) => sum + r.contest.entries, 0),
    });
    summary.textContent = text;
    canvas.setAttribute("aria-label", text);
    chart = drawChart(chart, canvas, rows);
  }
  await refresh();
  const timer = window.setInterval(() => refresh().catch(() => {}), REFRESH_MS);
  return () => { window.clearInterval(timer); chart?.destroy(); };
}

/** A contest with its ranked entries (leaderboard) and its teams (team list). */
async function participation(contest) {
  const [board, teams] = await Promise.all([
    api.get(`/contests/${contest.id}/leaderboard`, { limit: 1 }).catch(() => null),
    contest.teams ? allPages(`/contests/${contest.id}/teams`).catch(() => null) : null,
  ]);
  return { contest, ranked: board?.ranked ?? 0, teams: teams ? teams.length : null };
}

const count = (entries, capacity) =>
  (capacity ? `${formatNumber(entries, { max: 0 })} / ${formatNumber(capacity, { max: 0 })}` : formatNumber(entries, { max: 0 }));

function drawChart(chart, canvas, rows) {
  if (!window.Chart) return null;  // the vendored script failed to load: the table stays
  if (!canvas.isConnected) return chart;  // the operator left while the figures loaded
  const labels = rows.map((r) => r.contest.title);
  const entries = rows.map((r) => r.contest.entries);
  const ranked = rows.map((r) => r.ranked);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = entries;
    chart.data.datasets[1].data = ranked;
    chart.update();
    return chart;
  }
  const style = getComputedStyle(document.body);
  return new window.Chart(canvas, {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: t("admin.entries"), data: entries, backgroundColor: style.getPropertyValue("--accent") },
        { label: t("admin.ranked"), data: ranked, backgroundColor: style.getPropertyValue("--muted") },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}
