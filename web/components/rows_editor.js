/**
 * An editable list of rows (prize lines, rule overrides, metric weights, levels…): each row is
 * a few labelled fields named `${prefix}[i].${column}`, so a refusal naming that path finds
 * its field; "Add" appends a row and each row has "Remove".
 */

import { t } from "../i18n.js";
import { field, h } from "../ui.js";

/**
 * `columns`: {name, label, type ("text", "number", "date"…), options ([value, label] for a
 * select), placeholder}. `rows`: initial values, objects keyed by column name (strings).
 * Returns {el, values()}: values() is the rows as entered, every value a string.
 */
export function rowsEditor({ prefix, legend, columns, rows = [], addLabel, empty = {} }) {
  const list = h("div", { class: "rows" });
  let current = rows.map((row) => ({ ...row }));

  function draw() {
    list.replaceChildren(...current.map((row, index) => h("div", { class: "row-line", dataset: { row: index } },
      columns.map((column) => field({
        label: column.label,
        name: `${prefix}[${index}].${column.name}`,
        as: column.options ? "select" : "input",
        options: column.options,
        type: column.options ? null : column.type ?? "text",
        step: column.type === "number" ? column.step ?? "any" : null,
        placeholder: column.placeholder ?? null,
        value: row[column.name] ?? "",
      })),
      h("button", { type: "button", class: "small remove-row", onclick: () => remove(index) }, t("admin.remove_row")))));
  }

  /** The rows as the member sees them now (re-read before any redraw). */
  function values() {
    return Array.from(list.children, (line, index) => Object.fromEntries(columns.map((column) => {
      const control = line.querySelector(`[name="${CSS.escape(`${prefix}[${index}].${column.name}`)}"]`);
      return [column.name, control ? control.value.trim() : ""];
    })));
  }

  function remove(index) {
    current = values();
    current.splice(index, 1);
    draw();
  }

  const add = h("button", { type: "button", class: "small add-row", dataset: { rows: prefix } }, addLabel ?? t("admin.add_row"));
  add.addEventListener("click", () => {
    current = [...values(), { ...empty }];
    draw();
  });
  draw();
  const el = h("fieldset", { class: "rows-editor", dataset: { field: prefix } },
    h("legend", {}, legend), list, add, h("small", { class: "field-error", "aria-live": "polite" }));
  return { el, values };
}

/** "12" → 12; "" → `fallback`; anything else is sent as typed, for the server to name. */
export function toInt(text, fallback = 0) {
  if (text === "" || text === null || text === undefined) return fallback;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** A rule override's value: JSON when it parses (numbers, true, lists), else the text. */
export function toJsonValue(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
