/** PK: the standings (3/1/0 points, then rating) and every round's boards with both teams'
 * returns and the result (GET /v1/contests/{id}/pk). */

import { api } from "../api.js";
import { formatDate, formatPercent, t, trend } from "../i18n.js";
import { h, notice, section, signed, table } from "../ui.js";

export async function pkSection(contest, myTeamId, teamNames) {
  const el = section(t("pk.title"));
  let pk;
  try {
    pk = await api.get(`/contests/${contest.id}/pk`);
  } catch (error) {
    if (error.rule !== "no_pk") throw error;
    el.append(notice(t("pk.none")));
    return el;
  }
  for (const s of pk.standings) teamNames.set(s.team_id, s.team_name);
  const name = (id) => teamNames.get(id) ?? `#${id}`;
  el.append(
    h("p", { class: "hint" }, t("pk.round_length", { bars: pk.round_bars })),
    table({
      caption: t("pk.standings"),
      empty: t("pk.no_rounds"),
      rows: pk.standings,
      rowAttrs: (s) => ({ class: s.team_id === myTeamId ? "me" : null }),
      columns: [
        { label: t("pk.place"), value: (s) => String(s.place), numeric: true },
        { label: t("pk.team"), value: (s) => s.team_name },
        { label: t("pk.points"), value: (s) => String(s.points), numeric: true },
        { label: t("pk.record"), value: (s) => t("pk.record_value", s), numeric: true },
      ],
    }),
    ...[...pk.rounds].reverse().map((round) => roundCard(round, myTeamId, name)));
  return el;
}

function roundCard(round, myTeamId, name) {
  const from = round.start_day ? formatDate(round.start_day) : t("pk.from_start");
  const dates = round.end_day ? `${from} – ${formatDate(round.end_day)}` : "";
  return h("div", { class: "pk-round", dataset: { round: round.round_no } },
    h("h3", {}, t("pk.round", { n: round.round_no }), " ",
      h("small", { class: "hint" }, round.judged ? dates : t("pk.in_play"))),
    h("ul", { class: "pk-boards" }, round.boards.map((b) => h("li", {
      class: b.team_a === myTeamId || b.team_b === myTeamId ? "me" : null,
    },
    side(name(b.team_a), b.a_return, b.outcome === "win_a"),
    h("span", { class: "versus" }, b.team_b === null ? t("pk.bye") : t("pk.vs")),
    b.team_b === null ? null : side(name(b.team_b), b.b_return, b.outcome === "win_b"),
    h("span", { class: "outcome" }, outcome(b, name))))));
}

function outcome(board, name) {
  if (board.outcome === "win_a") return t("pk.wins", { team: name(board.team_a) });
  if (board.outcome === "win_b") return t("pk.wins", { team: name(board.team_b) });
  return board.outcome ? t(`pk.outcome.${board.outcome}`) : t("pk.pending");
}

const side = (teamName, ret, won) => h("span", { class: won ? "pk-side winner" : "pk-side" },
  teamName, " ", ret === null ? null : signed(formatPercent(ret), trend(ret)));
