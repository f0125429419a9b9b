/** Quizzes for members: the published quizzes (GET /v1/quizzes) as upcoming, open or closed;
 * one quiz taken a question at a time against the server's countdown
 * (POST /attempt, GET /attempt/question, POST /attempt/answers); the score and review once
 * finished, and the leaderboard once the quiz closes. */

import { allPages, api, session } from "../api.js";
import { formatDateTime, formatNumber, t } from "../i18n.js";
import { busy, h, notice, problemBox, section, table } from "../ui.js";

const phase = (quiz, now = Date.now()) =>
  (now < Date.parse(quiz.opens_at) ? "upcoming" : now < Date.parse(quiz.closes_at) ? "open" : "closed");

export async function render(root, { params }) {
  if (params.id) return renderQuiz(root, Number(params.id));
  const quizzes = await allPages("/quizzes");
  root.append(
    h("h1", {}, t("quiz.title")),
    section(t("quiz.list"), table({
      caption: t("quiz.list"),
      rows: quizzes,
      empty: t("quiz.none"),
      rowAttrs: (q) => ({ dataset: { quiz: q.id, phase: phase(q) } }),
      columns: [
        { label: t("quiz.name"), value: (q) => h("a", { href: `#/quizzes/${q.id}` }, q.title) },
        { label: t("quiz.phase"), value: (q) => h("span", { class: `badge quiz-${phase(q)}` }, t(`quiz.phase.${phase(q)}`)) },
        { label: t("quiz.opens"), value: (q) => formatDateTime(q.opens_at) },
        { label: t("quiz.closes"), value: (q) => formatDateTime(q.closes_at) },
        { label: t("quiz.questions"), value: (q) => formatNumber(q.question_count, { max: 0 }), numeric: true },
        { label: t("quiz.seconds"), value: (q) => formatNumber(q.seconds_per_question, { max: 0 }), numeric: true },
      ],
    })));
  return undefined;
}

async function renderQuiz(root, id) {
  const quiz = await api.get(`/quizzes/${id}`);
  const stage = h("div", { class: "quiz-stage", "aria-live": "polite" });
  let timer = null;
  let turn = null;  // redraws when the quiz opens or closes (the leaderboard shows after)
  const stop = () => {
    if (timer) window.clearInterval(timer);
    if (turn) window.clearTimeout(turn);
    timer = null;
    turn = null;
  };
  root.append(
    h("p", {}, h("a", { href: "#/quizzes" }, t("quiz.back"))),
    h("h1", {}, quiz.title),
    h("p", { class: "hint" }, t("quiz.facts", {
      opens: formatDateTime(quiz.opens_at), closes: formatDateTime(quiz.closes_at),
      count: quiz.question_count, seconds: quiz.seconds_per_question,
    })),
    stage);

  async function attempt() {
    try {
      return await api.get(`/quizzes/${id}/attempt`);
    } catch (error) {
      if (error.status === 404) return null;
      throw error;
    }
  }

  async function show() {
    stop();
    const now = phase(quiz);
    const next = Date.parse(now === "upcoming" ? quiz.opens_at : quiz.closes_at) - Date.now();
    if (now !== "closed" && next < DAY_MS) {
      turn = window.setTimeout(() => show().catch((error) => stage.replaceChildren(problemBox(error))), next + 250);
    }
    const mine = await attempt();
    if (!mine) {
      if (now !== "open") return stage.replaceChildren(notice(t(`quiz.not_taken.${now}`)), now === "closed" ? await board() : "");
      const start = h("button", { type: "button", class: "primary", id: "quiz-start" }, t("quiz.start"));
      start.addEventListener("click", async () => {
        try {
          await busy(start, () => api.post(`/quizzes/${id}/attempt`));
          await show();
        } catch (error) {
          stage.append(problemBox(error));
        }
      });
      return stage.replaceChildren(h("p", {}, t("quiz.start_hint", { seconds: quiz.seconds_per_question })), start);
    }
    if (!mine.finished && !mine.closed) return ask();
    return stage.replaceChildren(...(await results(mine)));
  }

  async function ask() {
    let served;
    try {
      served = await api.get(`/quizzes/${id}/attempt/question`);
    } catch (error) {
      if (error.status === 409) return show();  // answered everything, or the quiz closed
      throw error;
    }
    const type = served.kind === "single" ? "radio" : "checkbox";
    const options = served.options.map((text, index) => h("label", { class: "quiz-option" },
      h("input", { type, name: "option", value: String(index) }), " ", text));
    const countdown = h("p", { class: "quiz-countdown", role: "timer", "aria-live": "off" });
    const submit = h("button", { type: "submit", class: "primary", name: "answer" }, t("quiz.answer"));
    const form = h("form", { class: "card quiz-question", dataset: { position: served.position } },
      h("p", { class: "hint" }, t("quiz.position", { n: served.position + 1, count: served.count })),
      h("fieldset", { class: "radios" }, h("legend", {}, served.text), options),
      countdown, submit);
    let sent = false;
    const send = async () => {
      if (sent) return;
      sent = true;
      stop();
      const selected = [...form.querySelectorAll("input:checked")].map((input) => Number(input.value));
      try {
        await busy(submit, () => api.post(`/quizzes/${id}/attempt/answers`, { position: served.position, selected }));
        await show();
      } catch (error) {
        if (error.status === 409) return show();
        form.append(problemBox(error));
      }
    };
    form.addEventListener("submit", (event) => { event.preventDefault(); send(); });
    // The server's deadline rules; the countdown only shows it (an answer after it counts wrong).
    const deadline = Date.parse(served.deadline);
    const tick = () => {
      const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
      countdown.textContent = t("quiz.seconds_left", { seconds: left });
      countdown.dataset.seconds = String(left);
      if (left === 0) send();
    };
    tick();
    timer = window.setInterval(tick, 250);
    stage.replaceChildren(form);
  }

  async function results(mine) {
    const score = mine.score;
    const parts = [
      score ? notice(t("quiz.score", { correct: score.correct_answers, count: mine.count, seconds: formatNumber(score.time_ms / 1000, { max: 1 }) }), "success")
        : notice(t("quiz.finished")),
    ];
    if (mine.review.length) {
      parts.push(section(t("quiz.review"), h("ol", { class: "quiz-review" }, mine.review.map((r) => h("li", { dataset: { correct: String(r.is_correct) } },
        h("p", {}, h("strong", {}, r.text), " ", h("span", { class: "badge" }, t(r.is_correct ? "quiz.right" : r.answered ? "quiz.wrong" : "quiz.timed_out"))),
        h("p", { class: "hint" }, t("quiz.your_answer", { answer: names(r.options, r.selected) }), " · ",
          t("quiz.correct_answer", { answer: names(r.options, r.correct_options) })),
        r.explanation ? h("p", {}, r.explanation) : null)))));
    } else {
      parts.push(h("p", { class: "hint" }, t(mine.closed ? "quiz.none_answered" : "quiz.review_after_close")));
    }
    if (phase(quiz) === "closed") parts.push(await board());
    return parts;
  }

  async function board() {
    const me = session.user()?.id;
    const placed = await api.get(`/quizzes/${id}/leaderboard`);
    return section(t("quiz.leaderboard"), table({
      caption: t("quiz.leaderboard"),
      rows: placed.items,
      empty: t("quiz.no_results"),
      rowAttrs: (p) => ({ dataset: { member: p.member_id, me: String(p.member_id === me) } }),
      columns: [
        { label: t("quiz.rank"), value: (p) => String(p.rank), numeric: true },
        { label: t("quiz.member"), value: (p) => (p.member_id === me ? h("strong", {}, t("quiz.you")) : `#${p.member_id}`) },
        { label: t("quiz.correct"), value: (p) => String(p.correct_answers), numeric: true },
        { label: t("quiz.time"), value: (p) => formatNumber(p.time_ms / 1000, { max: 1 }), numeric: true },
      ],
    }));
  }

  await show();
  return stop;
}

const DAY_MS = 86_400_000;  // a later turn is left to a reload (setTimeout overflows past ~24 days)
const names = (options, indices) => (indices.length ? indices.map((i) => options[i]).join(", ") : "—");
