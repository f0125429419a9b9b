/**
 * The operator's contest form: create (POST /v1/admin/contests) or edit (PATCH, sending only
 * what changed). Once the clock has revealed the first bar the contest's rules are locked and
 * anchored, so every fieldset but the invite code's is disabled, with a lock note (the server
 * refuses those fields then with 409 `locked-after-start`). Registration times are wall times in
 * the season's zone.
 */

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, field, formAlert, h, showProblem } from "../ui.js";
import { rowsEditor, toInt, toJsonValue } from "./rows_editor.js";

const METRICS = ["total_return", "excess_return", "sharpe", "composite"];
const BASE_METRICS = ["total_return", "excess_return", "sharpe", "sortino", "calmar", "max_drawdown", "win_rate"];
const SCORES = ["mean", "median", "top_n"];

/** Whether the game fields are locked: the clock has revealed a bar. */
export const gameLocked = (contest) => Boolean(contest && contest.clock_day !== null);

/** `seasons`: those a new contest may join; `season`: the edited contest's season. */
export function contestForm({ seasons = [], season = null, contest = null, onSaved }) {
  const locked = gameLocked(contest);
  const c = contest ?? {};
  const seasonField = contest
    ? null
    : field({ label: t("admin.season"), name: "season_id", as: "select", required: true,
      options: seasons.filter((s) => !s.ended).map((s) => [String(s.id), `${s.name} (${t(`market.${s.market}`)})`]) });
  const seasonSelect = seasonField?.querySelector("select");
  const zone = season?.timezone ?? "UTC";
  const zoneHint = season ? t("admin.zone_hint", { zone }) : t("admin.season_zone_hint");

  const rules = rowsEditor({
    prefix: "rules", legend: t("admin.rules"),
    columns: [{ name: "key", label: t("admin.rule_key"), placeholder: "short_selling" },
      { name: "value", label: t("admin.rule_value"), placeholder: "true" }],
    rows: Object.entries(c.rules ?? {}).map(([key, value]) => ({ key, value: JSON.stringify(value) })),
  });
  const weights = rowsEditor({
    prefix: "metric.weights", legend: t("admin.weights"),
    columns: [{ name: "metric", label: t("admin.weight_metric"), options: BASE_METRICS.map((m) => [m, t(`metric.${m}`)]) },
      { name: "weight", label: t("admin.weight"), type: "number", step: "0.01" }],
    rows: Object.entries(c.metric?.weights ?? {}).map(([metric, weight]) => ({ metric, weight })),
    empty: { metric: "total_return", weight: "" },
  });
  const prizes = prizeRows("prizes", t("admin.prizes"), c.prizes);
  const pkPrizes = prizeRows("pk.prizes", t("admin.pk_prizes"), c.pk?.prizes);

  const form = h("form", { class: "card admin-form contest-form", novalidate: true, dataset: { locked: String(locked) } },
    lockable(t("admin.basics"), locked,
      seasonField,
      field({ label: t("admin.title_field"), name: "title", required: true, value: c.title ?? "" }),
      field({ label: t("admin.description"), name: "description", as: "textarea", rows: 2, value: c.description ?? "" }),
      field({ label: t("admin.registration_opens_at"), name: "registration_opens_at", type: "datetime-local",
        value: wallTime(c.registration_opens_at, zone), hint: zoneHint }),
      field({ label: t("admin.registration_closes_at"), name: "registration_closes_at", type: "datetime-local",
        value: wallTime(c.registration_closes_at, zone), hint: zoneHint }),
      field({ label: t("admin.trading_end"), name: "trading_end", type: "date", required: true, value: c.trading_end ?? "" }),
      field({ label: t("admin.capacity"), name: "capacity", type: "number", min: 1, value: c.capacity ?? "", hint: t("admin.capacity_hint") }),
      field({ label: t("admin.min_level"), name: "min_level", type: "number", min: 0, value: c.min_level ?? 0 }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "private", checked: Boolean(c.private) }), " ", t("admin.private"))),
    // The invite code is secret, so not part of the locked rules: it stays editable.
    h("fieldset", { class: "group" },
      field({ label: t("admin.invite_code"), name: "invite_code", autocomplete: "off", value: c.invite_code ?? "" })),
    lockable(t("admin.game"), locked,
      field({ label: t("admin.trading_start"), name: "trading_start", type: "date", required: true, value: c.trading_start ?? "" }),
      field({ label: t("admin.starting_cash"), name: "starting_cash", inputmode: "decimal", required: true, value: c.starting_cash ?? "1000000.00" }),
      field({ label: t("admin.universe"), name: "universe", as: "textarea", rows: 2, value: (c.universe ?? []).join(" "), hint: t("admin.universe_hint") }),
      rules.el),
    lockable(t("admin.ranking"), locked,
      field({ label: t("admin.metric"), name: "metric.kind", as: "select", value: c.metric?.kind ?? "total_return",
        options: METRICS.map((m) => [m, t(`metric.${m}`)]) }),
      field({ label: t("admin.benchmark"), name: "metric.benchmark", value: c.metric?.benchmark ?? "", hint: t("admin.benchmark_hint") }),
      weights.el,
      field({ label: t("admin.secondary_metric"), name: "secondary_metric", as: "select", value: c.secondary_metric ?? "",
        options: [["", t("admin.none")], ...BASE_METRICS.map((m) => [m, t(`metric.${m}`)])] }),
      field({ label: t("admin.min_trades"), name: "qualification.min_trades", type: "number", min: 0, value: c.qualification?.min_trades ?? 0 }),
      field({ label: t("admin.min_round_trips"), name: "qualification.min_round_trips", type: "number", min: 0, value: c.qualification?.min_round_trips ?? 0 }),
      field({ label: t("admin.min_active_days"), name: "qualification.min_active_days", type: "number", min: 0, value: c.qualification?.min_active_days ?? 0 })),
    lockable(t("admin.prizes"), locked, prizes.el),
    disclosureFields(c.disclosures ?? {}),
    lockable(t("admin.teams_pk"), locked,
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "teams_on", checked: Boolean(c.teams) }), " ", t("admin.teams_on")),
      field({ label: t("admin.team_max_size"), name: "teams.max_size", type: "number", min: 1, value: c.teams?.max_size ?? 5 }),
      field({ label: t("admin.team_score"), name: "teams.score", as: "select", value: c.teams?.score ?? "mean",
        options: SCORES.map((s) => [s, t(`team_score.${s}`)]) }),
      field({ label: t("admin.team_top_n"), name: "teams.top_n", type: "number", min: 1, value: c.teams?.top_n ?? "" }),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "pk_on", checked: Boolean(c.pk) }), " ", t("admin.pk_on")),
      field({ label: t("admin.round_bars"), name: "pk.round_bars", type: "number", min: 1, value: c.pk?.round_bars ?? 5 }),
      field({ label: t("admin.draw_band"), name: "pk.draw_band", inputmode: "decimal", value: c.pk?.draw_band ?? "0.001", hint: t("admin.draw_band_hint") }),
      field({ label: t("admin.win_points"), name: "pk.win.points", type: "number", min: 0, value: c.pk?.win?.points ?? 0 }),
      field({ label: t("admin.win_xp"), name: "pk.win.xp", type: "number", min: 0, value: c.pk?.win?.xp ?? 0 }),
      field({ label: t("admin.draw_points"), name: "pk.draw.points", type: "number", min: 0, value: c.pk?.draw?.points ?? 0 }),
      field({ label: t("admin.draw_xp"), name: "pk.draw.xp", type: "number", min: 0, value: c.pk?.draw?.xp ?? 0 }),
      pkPrizes.el),
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary", name: "save" }, contest ? t("admin.save") : t("admin.create_contest")));

  const value = (name) => form.elements.namedItem(name)?.value?.trim() ?? "";
  const checked = (name) => Boolean(form.elements.namedItem(name)?.checked);

  /** The whole body as the form shows it now. */
  function collect() {
    const universe = value("universe").split(/[\s,]+/).filter(Boolean);
    const metric = { kind: value("metric.kind") };
    if (value("metric.benchmark")) metric.benchmark = value("metric.benchmark");
    if (metric.kind === "composite") metric.weights = Object.fromEntries(weights.values().map((w) => [w.metric, w.weight]));
    const body = {
      title: value("title"),
      description: value("description"),
      registration_opens_at: value("registration_opens_at") || null,
      registration_closes_at: value("registration_closes_at") || null,
      trading_start: value("trading_start"),
      trading_end: value("trading_end"),
      capacity: toInt(value("capacity"), null),
      min_level: toInt(value("min_level")),
      private: checked("private"),
      invite_code: value("invite_code") || null,
      starting_cash: value("starting_cash"),
      universe: universe.length ? universe : null,
      rules: Object.fromEntries(rules.values().filter((r) => r.key).map((r) => [r.key, toJsonValue(r.value)])),
      metric,
      secondary_metric: value("secondary_metric") || null,
      qualification: {
        min_trades: toInt(value("qualification.min_trades")),
        min_round_trips: toInt(value("qualification.min_round_trips")),
        min_active_days: toInt(value("qualification.min_active_days")),
      },
      prizes: prizes.lines(),
      disclosures: Object.fromEntries(DISCLOSURES.map(([name]) => [name, value(`disclosures.${name}`) || (name.endsWith("_date") ? null : "")])),
      teams: checked("teams_on")
        ? { max_size: toInt(value("teams.max_size"), 5), score: value("teams.score"), top_n: toInt(value("teams.top_n"), null) }
        : null,
      pk: checked("pk_on")
        ? {
          round_bars: toInt(value("pk.round_bars"), 5),
          draw_band: value("pk.draw_band") || "0.001",
          win: { points: toInt(value("pk.win.points")), xp: toInt(value("pk.win.xp")) },
          draw: { points: toInt(value("pk.draw.points")), xp: toInt(value("pk.draw.xp")) },
          prizes: pkPrizes.lines(),
        }
        : null,
    };
    return body;
  }

  const initial = contest ? collect() : null;

  /** Create: everything given. Edit: only the fields whose value changed. */
  function payload() {
    const body = collect();
    if (!contest) {
      const created = { season_id: Number(seasonSelect.value), ...body };
      for (const name of ["universe", "teams", "pk", "secondary_metric", "capacity", "invite_code"]) {
        if (created[name] === null) delete created[name];
      }
      return created;
    }
    return Object.fromEntries(Object.entries(body).filter(([name, v]) => JSON.stringify(v) !== JSON.stringify(initial[name])));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".form-result");
    result.replaceChildren();
    const body = payload();
    if (contest && !Object.keys(body).length) {
      result.replaceChildren(h("p", { class: "notice" }, t("admin.no_changes")));
      return;
    }
    try {
      const saved = await busy(form.querySelector("button[name=save]"), () =>
        (contest ? api.patch(`/admin/contests/${contest.id}`, body) : api.post("/admin/contests", body)));
      onSaved(saved);
    } catch (error) {
      showProblem(form, error);
    }
  });
  return form;
}

/** What a contest with prizes must publish before it is public (never locked). */
const DISCLOSURES = [["organiser", "input"], ["eligibility", "textarea"], ["prize_description", "textarea"],
  ["prize_value", "input"], ["winner_notification", "input"], ["award_date", "date"], ["draw_date", "date"],
  ["terms_url", "url"], ["terms_text", "textarea"]];

function disclosureFields(given) {
  return h("fieldset", { class: "group" },
    h("legend", {}, t("admin.disclosures")),
    h("p", { class: "hint" }, t("admin.disclosures_hint")),
    DISCLOSURES.map(([name, kind]) => field({
      label: t(`admin.disclosure.${name}`), name: `disclosures.${name}`,
      ...(kind === "textarea" ? { as: "textarea", rows: 2 } : kind === "input" ? {} : { type: kind }),
      value: given[name] ?? "",
    })));
}

/** A fieldset of game fields: disabled with a lock note once trading has started. */
function lockable(legend, locked, ...children) {
  return h("fieldset", { class: "group", disabled: locked, dataset: { locked: String(locked) } },
    h("legend", {}, legend, locked ? h("span", { class: "lock-badge badge" }, t("admin.locked")) : null),
    locked ? h("p", { class: "lock-note" }, t("admin.locked_note")) : null,
    children);
}

/** Prize lines: ranks [first, last] or top percent [from, to], with points, XP and an item. */
function prizeRows(prefix, legend, lines = []) {
  const editor = rowsEditor({
    prefix, legend,
    addLabel: t("admin.add_prize"),
    columns: [
      { name: "by", label: t("admin.prize_by"), options: [["ranks", t("admin.by_ranks")], ["top_percent", t("admin.by_top_percent")]] },
      { name: "from", label: t("admin.prize_from"), type: "number", step: "any" },
      { name: "to", label: t("admin.prize_to"), type: "number", step: "any" },
      { name: "points", label: t("admin.points"), type: "number" },
      { name: "xp", label: t("admin.xp"), type: "number" },
      { name: "item_key", label: t("admin.item_key") },
    ],
    rows: (lines ?? []).map((line) => {
      const [from, to] = line.ranks ?? line.top_percent;
      return { by: line.ranks ? "ranks" : "top_percent", from: String(from), to: String(to),
        points: String(line.points), xp: String(line.xp), item_key: line.item_key ?? "" };
    }),
    empty: { by: "ranks", from: "1", to: "1", points: "0", xp: "0" },
  });
  const lines_ = () => editor.values().map((row) => {
    const line = row.by === "ranks"
      ? { ranks: [toInt(row.from), toInt(row.to)] }
      : { top_percent: [row.from, row.to] };
    return { ...line, points: toInt(row.points), xp: toInt(row.xp), ...(row.item_key ? { item_key: row.item_key } : {}) };
  });
  return { el: editor.el, lines: lines_ };
}

/** An aware ISO time as the wall time `YYYY-MM-DDTHH:MM` in `zone` (for datetime-local). */
export function wallTime(iso, zone) {
  if (!iso) return "";
  const parts = new Intl.DateTimeFormat("sv-SE", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(new Date(iso));
  return parts.replace(" ", "T");
}
