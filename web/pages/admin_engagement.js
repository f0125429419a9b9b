/**
 * Operators edit engagement: add reward catalog items (POST /v1/admin/rewards), publish a new
 * version of the earning rules (PUT /v1/admin/earning-rules) and of the level table
 * (PUT /v1/admin/levels). Both forms start from the version in force (GET /v1/admin/earning-rules,
 * GET /v1/admin/levels); each publish replaces the whole version.
 */

import { allPages, api } from "../api.js";
import { rowsEditor, toInt } from "../components/rows_editor.js";
import { formatNumber, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, section, showProblem, table } from "../ui.js";

export async function render(root) {
  const catalog = h("div");
  const refreshCatalog = async () => catalog.replaceChildren(table({
    caption: t("rewards.title"),
    empty: t("rewards.empty"),
    rows: await allPages("/rewards"),
    rowAttrs: (item) => ({ dataset: { reward: item.key } }),
    columns: [
      { label: t("admin.key"), value: (item) => h("code", {}, item.key) },
      { label: t("rewards.item"), value: (item) => item.name },
      { label: t("rewards.cost"), value: (item) => formatNumber(item.cost_points, { max: 0 }), numeric: true },
      { label: t("rewards.stock"), value: (item) => formatNumber(item.stock_left, { max: 0 }), numeric: true },
      { label: t("rewards.min_level"), value: (item) => String(item.min_level), numeric: true },
    ],
  }));
  const [rules, table_] = await Promise.all([api.get("/admin/earning-rules"), api.get("/admin/levels")]);
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, t("admin.engagement")),
    section(t("admin.catalog"), catalog, rewardForm(refreshCatalog)),
    section(t("admin.earning_rules"), earningRulesForm(rules)),
    section(t("admin.levels"), levelsForm(table_.levels)));
  await refreshCatalog();
}

function submitter(form, send, done) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".form-result");
    result.replaceChildren();
    try {
      const saved = await busy(form.querySelector("button[type=submit]"), send);
      result.replaceChildren(done(saved));
    } catch (error) {
      showProblem(form, error);
    }
  });
}

const value = (form, name) => form.elements.namedItem(name).value.trim();

function rewardForm(refreshCatalog) {
  const form = h("form", { class: "admin-form reward-form", novalidate: true },
    h("h3", {}, t("admin.new_reward")),
    field({ label: t("admin.key"), name: "key", required: true, hint: t("admin.key_hint") }),
    field({ label: t("rewards.item"), name: "name", required: true }),
    field({ label: t("rewards.cost"), name: "cost_points", type: "number", min: 1, required: true }),
    field({ label: t("rewards.stock"), name: "stock", type: "number", min: 0, required: true }),
    field({ label: t("rewards.min_level"), name: "min_level", type: "number", min: 1, value: 1 }),
    field({ label: t("rewards.limit"), name: "per_member_limit", type: "number", min: 1 }),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "needs_fulfilment" }), " ", t("admin.needs_fulfilment")),
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary" }, t("admin.add_reward")));
  submitter(form, () => api.post("/admin/rewards", {
    key: value(form, "key"),
    name: value(form, "name"),
    cost_points: toInt(value(form, "cost_points")),
    stock: toInt(value(form, "stock")),
    min_level: toInt(value(form, "min_level"), 1),
    per_member_limit: toInt(value(form, "per_member_limit"), null),
    needs_fulfilment: form.elements.namedItem("needs_fulfilment").checked,
  }), (item) => {
    form.reset();
    refreshCatalog();
    return notice(t("admin.reward_added", { name: item.name }), "success");
  });
  return form;
}

function award(prefix, label, points, xp) {
  return h("fieldset", { class: "group" }, h("legend", {}, label),
    field({ label: t("admin.points"), name: `${prefix}.points`, type: "number", min: 0, value: points }),
    field({ label: t("admin.xp"), name: `${prefix}.xp`, type: "number", min: 0, value: xp }));
}

function earningRulesForm(rules) {
  const streaks = rowsEditor({
    prefix: "streak_bonuses", legend: t("admin.streak_bonuses"),
    columns: [{ name: "day", label: t("admin.streak_day"), type: "number" },
      { name: "points", label: t("admin.points"), type: "number" }, { name: "xp", label: t("admin.xp"), type: "number" }],
    rows: Object.entries(rules.streak_bonuses).map(([day, a]) => ({ day, points: String(a.points), xp: String(a.xp) })),
    empty: { day: "7", points: "0", xp: "0" },
  });
  const taskRows = rowsEditor({
    prefix: "tasks", legend: t("admin.tasks"),
    columns: [{ name: "key", label: t("admin.key") }, { name: "title", label: t("admin.task_title") },
      { name: "points", label: t("admin.points"), type: "number" }, { name: "xp", label: t("admin.xp"), type: "number" },
      { name: "per_day_cap", label: t("admin.per_day_cap"), type: "number" }],
    rows: Object.entries(rules.tasks).map(([key, task]) => ({ key, title: task.title, points: String(task.award.points),
      xp: String(task.award.xp), per_day_cap: task.per_day_cap ? String(task.per_day_cap) : "" })),
    empty: { points: "0", xp: "0" },
  });
  const form = h("form", { class: "admin-form rules-form", novalidate: true },
    h("p", { class: "hint" }, t("admin.rules_hint")),
    field({ label: t("admin.timezone"), name: "timezone", value: rules.timezone }),
    award("checkin", t("admin.checkin"), rules.checkin.points, rules.checkin.xp),
    streaks.el,
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "repeat_streak_bonuses", checked: rules.repeat_streak_bonuses }), " ", t("admin.repeat_streaks")),
    taskRows.el,
    award("referral_inviter", t("admin.referral_inviter"), rules.referral_inviter.points, rules.referral_inviter.xp),
    award("referral_invitee", t("admin.referral_invitee"), rules.referral_invitee.points, rules.referral_invitee.xp),
    field({ label: t("admin.expiry_days"), name: "points_expiry_days", type: "number", min: 1, hint: t("admin.expiry_hint"),
      value: rules.points_expiry_days ?? "" }),
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary" }, t("admin.publish")));
  const pair = (prefix) => ({ points: toInt(value(form, `${prefix}.points`)), xp: toInt(value(form, `${prefix}.xp`)) });
  submitter(form, () => api.put("/admin/earning-rules", {
    timezone: value(form, "timezone"),
    checkin: pair("checkin"),
    streak_bonuses: Object.fromEntries(streaks.values().map((r) => [r.day, { points: toInt(r.points), xp: toInt(r.xp) }])),
    repeat_streak_bonuses: form.elements.namedItem("repeat_streak_bonuses").checked,
    tasks: Object.fromEntries(taskRows.values().filter((r) => r.key).map((r) => [r.key, {
      title: r.title, award: { points: toInt(r.points), xp: toInt(r.xp) }, per_day_cap: toInt(r.per_day_cap, null),
    }])),
    referral_inviter: pair("referral_inviter"),
    referral_invitee: pair("referral_invitee"),
    points_expiry_days: toInt(value(form, "points_expiry_days"), null),
  }), (rules) => notice(t("admin.published", { version: rules.version }), "success"));
  return form;
}

function levelsForm(current) {
  const levels = rowsEditor({
    prefix: "levels", legend: t("admin.levels"),
    columns: [{ name: "number", label: t("admin.level_number"), type: "number" }, { name: "name", label: t("admin.name") },
      { name: "min_xp", label: t("admin.min_xp"), type: "number" }, { name: "points_multiplier", label: t("admin.multiplier"), type: "number" },
      { name: "flags", label: t("admin.flags"), placeholder: "private_contests" }],
    rows: current.map((lv) => ({ number: String(lv.number), name: lv.name, min_xp: String(lv.min_xp),
      points_multiplier: String(lv.points_multiplier), flags: lv.flags.join(" ") })),
    empty: { points_multiplier: "1" },
  });
  const form = h("form", { class: "admin-form levels-form", novalidate: true },
    h("p", { class: "hint" }, t("admin.levels_hint")),
    levels.el,
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary" }, t("admin.publish")));
  submitter(form, () => api.put("/admin/levels", {
    levels: levels.values().map((r) => ({
      number: toInt(r.number), name: r.name, min_xp: toInt(r.min_xp),
      points_multiplier: r.points_multiplier || "1", flags: r.flags.split(/[\s,]+/).filter(Boolean),
    })),
  }), (table_) => notice(t("admin.published", { version: table_.version }), "success"));
  return form;
}
