/**
 * Public certificate verification (no sign-in): drop a certificate JSON and the content it
 * certifies; POST /v1/certificates/verify checks the content's hashes, the Merkle proof and
 * the anchoring on chain, and every check is listed with its verdict.
 */

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, field, formAlert, h, section, showProblem, table } from "../ui.js";

export function render(root) {
  const verdict = h("div", { class: "verdict", "aria-live": "polite" });
  const form = h("form", { class: "card admin-form verify-form", novalidate: true },
    h("h1", {}, t("verify.title")),
    h("p", { class: "hint" }, t("verify.intro")),
    dropField({ label: t("verify.certificate"), name: "certificate", accept: "application/json,.json" }),
    dropField({ label: t("verify.content"), name: "content" }),
    formAlert(),
    h("button", { type: "submit", class: "primary" }, t("verify.check")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    verdict.replaceChildren();
    const body = new FormData();
    for (const name of ["certificate", "content"]) {
      const file = form.elements.namedItem(name).files[0];
      if (file) body.append(name, file);
    }
    try {
      const result = await busy(form.querySelector("button[type=submit]"), () => api.postForm("/certificates/verify", body));
      verdict.replaceChildren(showVerdict(result));
    } catch (error) {
      showProblem(form, error);
    }
  });
  root.append(form, verdict);
}

/** A file field that also takes a file dropped anywhere on it. */
function dropField(attrs) {
  const wrapper = field({ ...attrs, type: "file", required: true, hint: t("verify.drop_hint") });
  const input = wrapper.querySelector("input");
  wrapper.classList.add("drop-zone");
  wrapper.addEventListener("dragover", (event) => { event.preventDefault(); wrapper.classList.add("dragging"); });
  wrapper.addEventListener("dragleave", () => wrapper.classList.remove("dragging"));
  wrapper.addEventListener("drop", (event) => {
    event.preventDefault();
    wrapper.classList.remove("dragging");
    if (event.dataTransfer.files.length) input.files = event.dataTransfer.files;
  });
  return wrapper;
}

function showVerdict(result) {
  return section(t("verify.verdict"),
    h("p", { class: `notice ${result.valid ? "success" : "error"}`, id: "verdict", dataset: { valid: String(result.valid) } },
      result.valid ? t("verify.valid") : t("verify.invalid", { checks: result.failed.join(", ") })),
    table({
      caption: t("verify.checks"),
      rows: result.checks,
      rowAttrs: (c) => ({ dataset: { check: c.name, status: c.status } }),
      columns: [
        { label: t("verify.check_name"), value: (c) => h("code", {}, c.name) },
        { label: t("verify.check_status"), value: (c) => t(`check.${c.status}`) },
        { label: t("verify.detail"), value: (c) => c.detail },
      ],
    }));
}
