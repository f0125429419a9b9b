/** Operator analytics, live: participation per day, the engagement funnel, weekly retention by
 * sign-up week, points liability and reward cost (GET /v1/admin/analytics/overview and
 * /retention), over a date window and an optional segment, drawn with the vendored Chart.js
 * with tables and text summaries beside every chart. */

import { api } from "../api.js";
import { formatDate, formatMoney, formatNumber, hasText, locale, t } from "../i18n.js";
import { busy, field, formAlert, h, section, showProblem, table } from "../ui.js";

const count = (n) => formatNumber(n, { max: 0 });
// A share (0.3333 → 33%): unsigned, unlike formatPercent's returns.
const share = (fraction, digits) =>
  new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits }).format(Number(fraction));

export async function render(root, { query }) {
  const form = h("form", { class: "card admin-form analytics-form", novalidate: true },
    field({ label: t("analytics.from"), name: "from", type: "date", value: query.get("from") ?? "" }),
    field({ label: t("analytics.to"), name: "to", type: "date", value: query.get("to") ?? "" }),
    field({ label: t("analytics.segment"), name: "segment", value: query.get("segment") ?? "", hint: t("analytics.segment_hint") }),
    field({ label: t("analytics.streak"), name: "streak", type: "number", min: 1, max: 366, value: query.get("streak") ?? "3" }),
    formAlert(),
    h("button", { type: "submit", class: "primary", name: "show" }, t("analytics.show")));
  const figures = h("div", { class: "analytics-figures" });
  const charts = [];
  const destroyCharts = () => { while (charts.length) charts.pop().destroy(); };

  async function load() {
    const v = (name) => form.elements.namedItem(name).value.trim() || null;
    const params = { from: v("from"), to: v("to"), segment: v("segment") };
    const [overview, retention] = await Promise.all([
      api.get("/admin/analytics/overview", { ...params, streak: v("streak") }),
      api.get("/admin/analytics/retention", params),
    ]);
    destroyCharts();
    figures.replaceChildren(...draw(overview, retention, charts));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await busy(form.elements.namedItem("show"), load);
    } catch (error) {
      showProblem(form, error);
    }
  });

  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("analytics.title")),
    form,
    figures);
  try {
    await load();
  } catch (error) {
    showProblem(form, error);
  }
  return destroyCharts;
}

function draw(overview, retention, charts) {
  const { participation: seen, funnel, liability, reward_cost: cost, window: span } = overview;
  const kpi = (label, value, key) => h("div", { class: "figure", dataset: { kpi: key } },
    h("dt", {}, label), h("dd", {}, value));
  const cards = h("dl", { class: "figures card" },
    kpi(t("analytics.members"), count(seen.members), "members"),
    kpi(t("analytics.active"), count(seen.active_members), "active"),
    kpi(t("analytics.liability"), count(liability.spendable), "liability"),
    kpi(t("analytics.held"), count(liability.held), "held"),
    kpi(t("analytics.liability_cny"), formatMoney(liability.cost_cny, "CN"), "liability_cny"),
    kpi(t("analytics.issued"), count(cost.issued_points), "issued"),
    kpi(t("analytics.redeemed"), count(cost.redeemed_points), "redeemed"),
    kpi(t("analytics.redeemed_cny"), formatMoney(cost.redeemed_cny, "CN"), "redeemed_cny"));
  const windowText = t("analytics.window", { from: formatDate(span.from), to: formatDate(span.to), days: span.days });

  const activity = chartBox(t("analytics.activity_summary", {
    days: seen.days.length, active: count(seen.active_members),
    check_ins: count(sum(seen.days, "check_ins")), orders: count(sum(seen.days, "orders")),
  }), (canvas, style) => new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: seen.days.map((d) => formatDate(d.day)),
      datasets: [
        { type: "line", label: t("analytics.active_members"), data: seen.days.map((d) => d.active_members), borderColor: style.getPropertyValue("--accent"), pointRadius: 0 },
        { label: t("analytics.sign_ups"), data: seen.days.map((d) => d.sign_ups), backgroundColor: style.getPropertyValue("--muted") },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  }), charts);

  const stages = funnel.map((s) => ({ ...s, label: t(`analytics.stage.${s.stage}`) }));
  const funnelChart = chartBox(t("analytics.funnel_summary", {
    first: count(stages[0].members), last: count(stages.at(-1).members),
  }), (canvas, style) => new window.Chart(canvas, {
    type: "bar",
    data: { labels: stages.map((s) => s.label), datasets: [{ label: t("analytics.members"), data: stages.map((s) => s.members), backgroundColor: style.getPropertyValue("--accent") }] },
    options: { indexAxis: "y", animation: false, maintainAspectRatio: false, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  }), charts);

  const longest = Math.max(0, ...retention.cohorts.map((c) => c.retained.length));
  const weekColumns = Array.from({ length: longest }, (_, k) => ({
    label: t("analytics.week_n", { n: k }),
    numeric: true,
    value: (c) => (k < c.retained.length
      ? h("span", { title: count(c.retained[k]), dataset: { rate: c.rates[k] } }, share(c.rates[k], 0))
      : ""),
  }));

  return [
    h("p", { class: "hint", dataset: { window: `${span.from}/${span.to}` } }, windowText,
      overview.segment ? ` · ${t("analytics.segment")}: ${overview.segment}` : ""),
    cards,
    section(t("analytics.participation"), activity),
    section(t("analytics.funnel"), funnelChart, table({
      caption: t("analytics.funnel"),
      rows: stages,
      rowAttrs: (s) => ({ dataset: { stage: s.stage } }),
      columns: [
        { label: t("analytics.stage"), value: (s) => s.label },
        { label: t("analytics.members"), value: (s) => count(s.members), numeric: true },
        { label: t("analytics.conversion"), value: (s) => share(s.conversion, 1), numeric: true },
      ],
    })),
    section(t("analytics.retention"), h("p", { class: "hint" }, t("analytics.retention_hint")), table({
      caption: t("analytics.retention"),
      rows: retention.cohorts,
      empty: t("analytics.no_cohorts"),
      rowAttrs: (c) => ({ dataset: { cohort: c.week } }),
      columns: [
        { label: t("analytics.cohort"), value: (c) => formatDate(c.week) },
        { label: t("analytics.size"), value: (c) => count(c.size), numeric: true },
        ...weekColumns,
      ],
    })),
    section(t("analytics.reward_cost"),
      table({
        caption: t("analytics.issued"),
        rows: cost.issued,
        empty: t("analytics.none_issued"),
        columns: [
          { label: t("analytics.reason"), value: (r) => (hasText(`reason.${r.reason}`) ? t(`reason.${r.reason}`) : r.reason) },
          { label: t("analytics.points"), value: (r) => count(r.points), numeric: true },
          { label: t("analytics.transfers"), value: (r) => count(r.transfers), numeric: true },
        ],
      }),
      table({
        caption: t("analytics.redeemed"),
        rows: cost.redeemed,
        empty: t("analytics.none_redeemed"),
        columns: [
          { label: t("analytics.item"), value: (r) => h("code", {}, r.item_key) },
          { label: t("analytics.redemptions"), value: (r) => count(r.redemptions), numeric: true },
          { label: t("analytics.points"), value: (r) => count(r.points), numeric: true },
        ],
      }),
      h("p", { class: "hint" }, t("analytics.cost_summary", {
        issued: formatMoney(cost.issued_cny, "CN"), redeemed: formatMoney(cost.redeemed_cny, "CN"), rate: cost.points_cny_rate,
      }))),
  ];
}

const sum = (rows, key) => rows.reduce((total, row) => total + row[key], 0);

/** A canvas with a text summary (read by screen readers, and shown if Chart.js is missing);
 * the chart is drawn once the canvas is in the page (Chart.js measures its parent). */
function chartBox(text, make, charts) {
  const canvas = h("canvas", { role: "img", "aria-label": text });
  const box = h("div", {}, h("div", { class: "chart-box" }, canvas), h("p", { class: "visually-hidden" }, text));
  requestAnimationFrame(() => {
    if (!window.Chart || !canvas.isConnected) return;
    charts.push(make(canvas, getComputedStyle(document.body)));
  });
  return box;
}
