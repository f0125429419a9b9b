/**
 * An operator's contest: the form (new or edit, locked game fields once trading started), the
 * clock of a replay contest (POST /v1/admin/contests/{id}/clock) and settlement with its report
 * (POST /v1/admin/contests/{id}/settlement).
 */

import { allPages, api } from "../api.js";
import { contestForm, gameLocked } from "../components/contest_form.js";
import { formatDate, formatNumber, t } from "../i18n.js";
import { busy, field, go, h, notice, problemBox, redraw, section, table } from "../ui.js";

let flash = null;  // a message for the next drawing of this page (after a save)

export async function render(root, { params }) {
  if (!params.id) {
    const seasons = await allPages("/seasons");
    root.append(h("h1", {}, t("admin.new_contest")),
      seasons.some((s) => !s.ended)
        ? contestForm({ seasons, onSaved: (saved) => { flash = "admin.created"; go(`/admin/contests/${saved.id}`); } })
        : notice(t("admin.need_season")));
    return;
  }
  const contest = await api.get(`/admin/contests/${params.id}`);
  const season = await api.get(`/seasons/${contest.season_id}`);
  const saved = h("div", { role: "status" });
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, contest.title, " ",
      h("span", { class: `badge state-${contest.state}`, id: "contest-state" }, t(`state.${contest.state}`))),
    h("p", { class: "hint" }, season.name, " · ", t(`market.${contest.market}`), " · ",
      t("admin.clock_at", { day: formatDate(contest.clock_day), ticks: contest.clock_ticks })),
    saved,
    season.data_source === "replay" ? clockSection(contest) : null,
    settlementSection(contest),
    h("h2", {}, t("admin.settings")),
    contestForm({ season, contest, onSaved: () => { flash = "admin.saved"; redraw(); } }));
  if (flash) saved.append(notice(t(flash), "success"));
  flash = null;
  if (gameLocked(contest)) saved.append(notice(t("admin.locked_summary")));
}

function clockSection(contest) {
  const result = h("div", { role: "status" });
  const over = ["finished", "settled"].includes(contest.state);
  const bars = field({ label: t("admin.bars"), name: "bars", type: "number", min: 1, max: 1000, value: 1 });
  const button = h("button", { type: "button", class: "primary", id: "advance-clock", disabled: over }, t("admin.advance"));
  button.addEventListener("click", async () => {
    try {
      const report = await busy(button, () =>
        api.post(`/admin/contests/${contest.id}/clock`, { bars: Number(bars.querySelector("input").value) || 1 }));
      result.replaceChildren(notice(t("admin.advanced", {
        days: report.days.length, fills: report.fills, day: formatDate(report.clock_day),
      }), "success"));
      window.setTimeout(redraw, 600);  // let the operator read the report first
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  });
  return section(t("admin.clock"),
    h("p", { class: "hint" }, t("admin.clock_hint")),
    h("div", { class: "inline-form" }, bars, button),
    result);
}

function settlementSection(contest) {
  const result = h("div", { role: "status", class: "settlement-result" });
  const button = h("button", { type: "button", class: "primary", id: "settle",
    disabled: !["finished", "settled"].includes(contest.state) }, t("admin.settle"));
  button.addEventListener("click", async () => {
    try {
      const report = await busy(button, () => api.post(`/admin/contests/${contest.id}/settlement`));
      result.replaceChildren(settlementReport(report));
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  });
  return section(t("admin.settlement"),
    h("p", { class: "hint" }, contest.settled_at ? t("admin.settled_at", { when: formatDate(contest.settled_at) }) : t("admin.settle_hint")),
    button, result);
}

function settlementReport(r) {
  const n = (v) => formatNumber(v, { max: 0 });
  return h("div", { class: "stack", dataset: { settled: String(r.settled) } },
    notice(r.settled ? t("admin.settled") : t("admin.partly_settled"), r.settled ? "success" : "error"),
    h("dl", { class: "figures" },
      figure(t("admin.prize_rows"), n(r.prizes)),
      figure(t("admin.recipients"), n(r.recipients)),
      figure(t("admin.paid_now"), n(r.paid_now)),
      figure(t("admin.already_paid"), n(r.already_paid))),
    table({
      caption: t("admin.totals"),
      rows: Object.entries(r.totals),
      columns: [{ label: t("admin.asset"), value: ([asset]) => asset },
        { label: t("admin.amount"), value: ([, amount]) => n(amount), numeric: true }],
    }),
    r.refused.length ? table({
      caption: t("admin.refused"),
      rows: r.refused,
      columns: [
        { label: t("admin.member"), value: (row) => String(row.member_id), numeric: true },
        { label: t("admin.rule"), value: (row) => h("code", {}, row.rule) },
        { label: t("admin.detail"), value: (row) => row.detail },
      ],
    }) : null);
}

const figure = (term, value) => h("div", { class: "figure" }, h("dt", {}, term), h("dd", {}, value));
