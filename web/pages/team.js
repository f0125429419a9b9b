/**
 * A contest's team page: my team (members, invite code to share, leave), or forms to create or
 * join one; the team leaderboard; PK standings and rounds.
 */

import { allPages, api } from "../api.js";
import { contestFrame } from "../components/contest_frame.js";
import { formatMetric } from "../components/metric.js";
import { pkSection } from "../components/pk.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, field, formAlert, h, notice, problemBox, redraw, section, showProblem, table } from "../ui.js";

export async function render(root, { params, user }) {
  const contest = await contestFrame(root, params.id, "team");
  if (!contest) return null;
  const [teams, joined] = await Promise.all([
    allPages(`/contests/${contest.id}/teams`),
    api.get("/me/contests"),
  ]);
  const mine = teams.find((team) => team.members.some((m) => m.member_id === user.id));
  const names = new Map(teams.map((team) => [team.id, team.name]));
  const fixed = contest.clock_day !== null;  // teams are fixed once trading starts
  const top = mine
    ? myTeam(await api.get(`/teams/${mine.id}`), user, fixed)
    : section(t("team.none"), !joined.includes(contest.id)
      ? notice(t("team.join_contest_first"))
      : fixed ? notice(t("team.fixed")) : [createForm(contest), joinForm(teams)]);
  root.append(top, await teamBoard(contest), await pkSection(contest, mine?.id ?? null, names));
}

function myTeam(team, user, fixed) {
  const alert = h("div");
  const leave = h("button", { type: "button", hidden: fixed }, t("team.leave"));
  leave.addEventListener("click", async () => {
    try {
      await busy(leave, () => api.delete(`/teams/${team.id}/members/me`));
      redraw();
    } catch (error) {
      alert.replaceChildren(problemBox(error));
    }
  });
  return h("section", { class: "card", dataset: { team: team.id } },
    h("h2", {}, team.name, " ", h("small", { class: "hint" }, t("team.size", { size: team.size, max: team.max_size }))),
    team.invite_code ? inviteCode(team.invite_code) : null,
    table({
      caption: t("team.members"),
      rows: team.members,
      rowAttrs: (m) => ({ class: m.member_id === user.id ? "me" : null }),
      columns: [
        { label: t("team.member"), value: (m) => [m.display_name, m.captain ? h("span", { class: "badge" }, t("team.captain")) : null] },
        { label: t("auth.username"), value: (m) => m.username },
        { label: t("team.joined_at"), value: (m) => formatDateTime(m.joined_at) },
      ],
    }),
    alert, leave);
}

function inviteCode(code) {
  const output = h("output", { class: "invite-code", id: "invite-code" }, code);
  const copy = h("button", { type: "button", class: "small" }, t("team.copy"));
  copy.addEventListener("click", async () => {
    await navigator.clipboard?.writeText(code).catch(() => null);  // needs a secure context
    copy.textContent = t("team.copied");
  });
  return h("p", { class: "invite" }, h("label", { for: "invite-code" }, t("team.invite_code")), " ", output, " ", copy,
    h("small", { class: "hint" }, t("team.invite_hint")));
}

function createForm(contest) {
  const form = h("form", { class: "inline-form", novalidate: true },
    h("h3", {}, t("team.create")),
    field({ label: t("team.name"), name: "name", required: true, maxlength: 64 }),
    formAlert(),
    h("button", { type: "submit", class: "primary" }, t("team.create")));
  form.addEventListener("submit", (event) => submit(event, form, () =>
    api.post(`/contests/${contest.id}/teams`, { name: new FormData(form).get("name").trim() })));
  return form;
}

function joinForm(teams) {
  const open = teams.filter((team) => team.size < team.max_size);
  if (!open.length) return notice(t("team.no_open_teams"));
  const form = h("form", { class: "inline-form", novalidate: true },
    h("h3", {}, t("team.join")),
    field({ label: t("team.team"), name: "team_id", as: "select", options: open.map((team) => [String(team.id), `${team.name} (${team.size}/${team.max_size})`]) }),
    field({ label: t("team.invite_code"), name: "invite_code", required: true, autocomplete: "off" }),
    formAlert(),
    h("button", { type: "submit", class: "primary" }, t("team.join")));
  form.addEventListener("submit", (event) => submit(event, form, () => {
    const values = Object.fromEntries(new FormData(form));
    return api.post(`/teams/${values.team_id}/members`, { invite_code: values.invite_code.trim() });
  }));
  return form;
}

async function submit(event, form, action) {
  event.preventDefault();
  try {
    await busy(form.querySelector("button[type=submit]"), action);
    redraw();
  } catch (error) {
    showProblem(form, error);
  }
}

async function teamBoard(contest) {
  const board = await api.get(`/contests/${contest.id}/teams/leaderboard`, { limit: 50 });
  return section(t("team.leaderboard"), table({
    empty: t("board.before_first_tick"),
    rows: board.items,
    columns: [
      { label: t("board.rank"), value: (r) => (r.rank ? String(r.rank) : "—"), numeric: true },
      { label: t("pk.team"), value: (r) => r.name },
      { label: t("team.score"), value: (r) => formatMetric(contest, r.score), numeric: true },
      { label: t("team.counted"), value: (r) => String(r.members_counted), numeric: true },
    ],
  }));
}
