/**
 * Small DOM helpers shared by every page: element building (text is always set as text, never
 * parsed as HTML), labelled form fields, tables, notices and the inline display of a refusal.
 */

import { hasText, t } from "./i18n.js";

export const REDRAW_EVENT = "paperleague:redraw";

/** Open a page: `go("/contests/3")`. */
export function go(path) {
  window.location.hash = `#${path}`;
}

/** Draw the current page again (after a change that alters what it shows). */
export const redraw = () => window.dispatchEvent(new Event(REDRAW_EVENT));

/** `h("button", {class: "primary", onclick: fn}, "Save")`. Attributes starting with `on` are
 * listeners; `dataset` is an object; true/false toggle boolean attributes; null is skipped. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

let fieldCount = 0;

/** A labelled input (or select/textarea with `as`), with a slot for its own error message.
 * `name` is the API field it sends, so a problem's `field` finds it. */
export function field({ label, name, as = "input", options, hint, ...attrs }) {
  const id = `f-${name}-${++fieldCount}`;
  const errorId = `${id}-error`;
  const control = as === "select"
    ? h("select", { id, name, ...attrs }, options.map(([value, text]) => h("option", { value }, text)))
    : h(as, { id, name, ...attrs });
  if (as === "select" && attrs.value !== undefined) control.value = attrs.value;
  const describedBy = [hint ? `${id}-hint` : null, errorId].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", describedBy);
  return h("div", { class: "field", dataset: { field: name } },
    h("label", { for: id }, label),
    control,
    hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null,
    h("small", { id: errorId, class: "field-error", "aria-live": "polite" }));
}

/** A group of radio buttons under a legend; `options` are [value, label] pairs. */
export function radios({ legend, name, options, value }) {
  return h("fieldset", { class: "radios", dataset: { field: name } },
    h("legend", {}, legend),
    options.map(([v, text]) => h("label", {},
      h("input", { type: "radio", name, value: v, checked: v === value }), " ", text)));
}

/** The localized name of a refusal rule, else null. */
export function ruleName(rule) {
  return rule && hasText(`rule.${rule}`) ? t(`rule.${rule}`) : null;
}

/** The headline of a refusal: its rule's name, else its problem type's, else its status's. */
function problemTitle(error) {
  const slug = error?.problem?.type?.split("/").pop();
  const keys = [error?.rule && `rule.${error.rule}`, slug && `problem.${slug}`, error?.status && `problem.${error.status}`];
  const known = keys.find((key) => key && hasText(key));
  if (known) return t(known);
  return error?.status ? t("problem.status", { status: error.status }) : t("problem.network");
}

/** A refusal shown inline: its name, the server's detail and the rule code. */
export function problemBox(error) {
  const rule = error?.rule ?? null;
  const title = problemTitle(error);
  return h("div", { class: "problem", role: "alert", dataset: { rule: rule ?? "", field: error?.field ?? "" } },
    h("strong", {}, title),
    error?.detail || error?.message ? h("span", { class: "detail" }, " ", error.detail ?? error.message) : null,
    rule ? h("code", { class: "rule" }, rule) : null);
}

/** Show an API refusal on a form: each named field gets its message, the form a summary. */
export function showProblem(form, error) {
  clearProblems(form);
  for (const broken of error.errors ?? []) {
    const control = broken.field && form.elements.namedItem(broken.field);
    const wrapper = form.querySelector(`[data-field="${CSS.escape(broken.field ?? "")}"]`);
    if (control?.setAttribute) control.setAttribute("aria-invalid", "true");
    const slot = wrapper?.querySelector(".field-error");
    if (slot) slot.textContent = ruleName(broken.rule) ? `${ruleName(broken.rule)}: ${broken.message}` : broken.message;
  }
  form.querySelector(".form-alert")?.replaceChildren(problemBox(error));
}

export function clearProblems(form) {
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  form.querySelectorAll(".field-error").forEach((el) => { el.textContent = ""; });
  form.querySelector(".form-alert")?.replaceChildren();
}

/** The slot where `showProblem` puts a form's summary. */
export const formAlert = () => h("div", { class: "form-alert" });

/** Run `action` with `button` disabled (no double submits); errors propagate. */
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** A table: `columns` are {label, value(row) → text or node, numeric}; wrapped to scroll
 * sideways on narrow screens. The caption is for screen readers (the section titles it). */
export function table({ caption, columns, rows, empty, rowAttrs = () => ({}) }) {
  if (!rows.length) return h("p", { class: "empty" }, empty ?? t("common.none"));
  const cell = (tag, column, content) =>
    h(tag, { class: column.numeric ? "num" : null, scope: tag === "th" ? "col" : null }, content);
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => cell("th", c, c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", rowAttrs(row), columns.map((c) => cell("td", c, c.value(row))))))));
}

/** A titled section of a page. */
export const section = (title, ...children) =>
  h("section", { class: "card" }, h("h2", {}, title), ...children);

export const notice = (text, kind = "info") => h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);

export const loading = () => h("p", { class: "loading", role: "status" }, t("common.loading"));

/** A signed value coloured by the market convention (see i18n.trend). */
export const signed = (text, cls) => h("span", { class: cls }, text);
