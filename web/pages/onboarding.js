/**
 * The onboarding questionnaire (GET/PUT /v1/me/onboarding): risk tolerance, asset band,
 * experience and interests, every question optional. Offered after sign-up (the lobby's welcome
 * notice) and from the points page; saving returns to `?next=` when given.
 */

import { api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, field, formAlert, go, h, notice, showProblem } from "../ui.js";

const label = (question) => t(`onboarding.question.${question}`);
const choice = (question, value) => t(`onboarding.choice.${question}.${value}`);

export async function render(root, { query }) {
  const next = query.get("next");
  const mine = await api.get("/me/onboarding");
  const status = h("div", { role: "status" });
  const form = h("form", { class: "card narrow onboarding", novalidate: true },
    h("h1", {}, t("onboarding.title")),
    h("p", { class: "muted" }, t("onboarding.intro")),
    mine.revision
      ? h("p", { class: "muted" }, t("onboarding.last_saved", { at: formatDateTime(mine.updated_at) }))
      : null,
    mine.questionnaire.map((q) => (q.multiple ? checkboxes(q, mine.answers[q.key]) : select(q, mine.answers[q.key]))),
    formAlert(),
    status,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, t("onboarding.save")),
      next ? h("a", { href: `#${next}`, class: "button" }, t("onboarding.skip")) : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answers = {};
    for (const q of mine.questionnaire) {
      if (q.multiple) {
        answers[q.key] = [...form.querySelectorAll(`input[name="${q.key}"]:checked`)].map((box) => box.value);
      } else if (form.elements.namedItem(q.key).value) {
        answers[q.key] = form.elements.namedItem(q.key).value;
      }
    }
    try {
      await busy(form.querySelector("button[type=submit]"), () => api.put("/me/onboarding", { answers }));
      if (next) go(next);
      else status.replaceChildren(notice(t("onboarding.saved"), "success"));
    } catch (error) {
      showProblem(form, error);
    }
  });
  root.append(form);
}

function select(q, value) {
  const wrapper = field({
    label: label(q.key),
    name: q.key,
    as: "select",
    value: value ?? "",
    options: [["", t("onboarding.no_answer")], ...q.choices.map((c) => [c, choice(q.key, c)])],
  });
  wrapper.dataset.field = `answers.${q.key}`; // the field a refusal names
  return wrapper;
}

function checkboxes(q, values = []) {
  const picked = new Set(values);
  return h("fieldset", { class: "checkboxes", dataset: { field: `answers.${q.key}` } },
    h("legend", {}, label(q.key)),
    q.choices.map((c) => h("label", {},
      h("input", { type: "checkbox", name: q.key, value: c, checked: picked.has(c) }), " ", choice(q.key, c))),
    h("small", { class: "field-error", "aria-live": "polite" }));
}
