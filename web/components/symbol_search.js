/** The symbol search: type a symbol prefix or part of a name (Chinese names too) and pick one
 * of the suggestions (GET /v1/market/instruments?q=, within the contest's universe). */

import { api } from "../api.js";
import { t } from "../i18n.js";
import { h } from "../ui.js";

const DEBOUNCE_MS = 200;
const SUGGESTIONS = 8;

export function symbolSearch(contest, { onPick }) {
  const input = h("input", {
    type: "search", name: "q", id: `symbol-search-${contest.id}`, autocomplete: "off",
    placeholder: t("search.placeholder"), "aria-controls": `symbol-suggestions-${contest.id}`,
  });
  const list = h("ul", { class: "suggestions", id: `symbol-suggestions-${contest.id}`, role: "listbox", "aria-label": t("search.suggestions") });
  const status = h("p", { class: "hint", role: "status" });
  let timer = null;
  let asked = 0;

  async function suggest() {
    const q = input.value.trim();
    const mine = ++asked;  // a slower answer to an older query never replaces a newer one
    if (!q) { list.replaceChildren(); status.textContent = ""; return; }
    const page = await api.get("/market/instruments", { q, contest_id: contest.id, limit: SUGGESTIONS });
    if (mine !== asked) return;
    status.textContent = page.items.length ? "" : t("search.none");
    list.replaceChildren(...page.items.map((i) => h("li", { role: "option" },
      h("button", { type: "button", class: "suggestion", dataset: { symbol: i.symbol }, onclick: () => pick(i.symbol) },
        h("strong", {}, i.symbol), " ", h("span", {}, i.name)))));
  }
  function pick(symbol) {
    input.value = symbol;
    list.replaceChildren();
    onPick(symbol);
  }
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => suggest().catch((error) => { status.textContent = error.message; }), DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (event) => {  // Enter takes the first suggestion
    const first = list.querySelector("button");
    if (event.key === "Enter" && first) { event.preventDefault(); first.click(); }
  });
  const el = h("div", { class: "symbol-search" },
    h("label", { for: input.id }, t("search.label")), input, list, status);
  return { el };
}
