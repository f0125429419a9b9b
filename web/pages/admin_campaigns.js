/** Campaigns and experiments for operators: each campaign's budget as a bar (spent of budget,
 * what is left, grants; GET /v1/admin/campaigns) and each experiment's variants with
 * participation and D1 / D7 retention, and the lift over the control ± its 95 % interval
 * (GET /v1/admin/experiments, …/{key}/results). */

import { api } from "../api.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { h, problemBox, section, table } from "../ui.js";

export async function render(root) {
  const [campaigns, experiments] = await Promise.all([api.get("/admin/campaigns"), api.get("/admin/experiments")]);
  const results = await Promise.all(experiments.map((e) =>
    api.get(`/admin/experiments/${e.key}/results`).catch((error) => ({ error, experiment: e }))));
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("campaigns.title")),
    h("p", { class: "hint" }, t("campaigns.intro")),
    section(t("campaigns.budgets"), campaignsTable(campaigns)),
    section(t("campaigns.experiments"),
      experiments.length ? results.map(experimentBlock) : h("p", { class: "empty" }, t("campaigns.no_experiments"))));
}

function budgetBar(c) {
  const share = c.budget ? c.spent / c.budget : 0;
  const label = t("campaigns.spent_of", { spent: formatNumber(c.spent), budget: formatNumber(c.budget) });
  return h("div", { class: "budget" },
    h("progress", { max: c.budget, value: c.spent, "aria-label": label }),
    " ", h("span", {}, `${label} (${formatNumber(share * 100, { max: 1 })}%)`));
}

function campaignsTable(campaigns) {
  return table({
    caption: t("campaigns.budgets"),
    empty: t("campaigns.none"),
    rows: campaigns,
    rowAttrs: (c) => ({ dataset: { campaign: c.key } }),
    columns: [
      { label: t("campaigns.campaign"), value: (c) => `${c.title} (${c.key})` },
      { label: t("campaigns.unit"), value: (c) => (c.kind === "item" ? t("campaigns.item", { item: c.item_key }) : t("campaigns.points")) },
      { label: t("campaigns.budget"), value: budgetBar },
      { label: t("campaigns.remaining"), value: (c) => formatNumber(c.remaining), numeric: true },
      { label: t("campaigns.grants"), value: (c) => formatNumber(c.grants), numeric: true },
      { label: t("campaigns.cap"), value: (c) => (c.cap ? t(`campaigns.cap_${c.cap.period}`, { count: c.cap.count }) : "–") },
      { label: t("campaigns.window"), value: (c) => `${formatDateTime(c.starts_at)} – ${formatDateTime(c.ends_at)}` },
      { label: t("campaigns.experiment"), value: (c) => c.experiment_key ?? "–" },
    ],
  });
}

const pct = (rate) => `${formatNumber(rate.rate * 100, { max: 1 })}% (${rate.successes}/${rate.trials})`;

function lift(value) {
  if (!value) return t("campaigns.control");
  const pp = (x) => formatNumber(x * 100, { min: 1, max: 1, sign: "always" });
  return t("campaigns.lift", { diff: pp(value.difference), low: pp(value.low), high: pp(value.high), p: formatNumber(value.p_value, { min: 3, max: 3 }) });
}

function experimentBlock(found) {
  if (found.error) return h("div", {}, h("h3", {}, found.experiment.title), problemBox(found.error));
  const { experiment, variants } = found;
  return h("div", { class: "experiment", dataset: { experiment: experiment.key } },
    h("h3", {}, `${experiment.title} (${experiment.key})`),
    table({
      caption: experiment.title,
      rows: variants,
      rowAttrs: (v) => ({ dataset: { variant: v.name } }),
      columns: [
        { label: t("campaigns.variant"), value: (v) => v.name },
        { label: t("campaigns.members"), value: (v) => formatNumber(v.members), numeric: true },
        { label: t("campaigns.participation"), value: (v) => pct(v.participation), numeric: true },
        { label: t("campaigns.lift_ci"), value: (v) => lift(v.participation_lift) },
        { label: t("campaigns.d1"), value: (v) => pct(v.d1_retention), numeric: true },
        { label: t("campaigns.lift_ci"), value: (v) => lift(v.d1_lift) },
        { label: t("campaigns.d7"), value: (v) => pct(v.d7_retention), numeric: true },
        { label: t("campaigns.lift_ci"), value: (v) => lift(v.d7_lift) },
      ],
    }),
    h("p", { class: "hint" }, t("campaigns.lift_hint")));
}
