/** Sign in: username and password for a bearer token (POST /v1/auth/token). */

import { signIn } from "../api.js";
import { t } from "../i18n.js";
import { HOME } from "../routes.js";
import { busy, field, formAlert, go, h, showProblem } from "../ui.js";

export function render(root, { query }) {
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", {}, t("auth.sign_in")),
    field({ label: t("auth.username"), name: "username", autocomplete: "username", required: true }),
    field({ label: t("auth.password"), name: "password", type: "password", autocomplete: "current-password", required: true }),
    formAlert(),
    h("button", { type: "submit", class: "primary" }, t("auth.sign_in")),
    h("p", {}, t("auth.no_account"), " ", h("a", { href: "#/signup" }, t("auth.sign_up"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { username, password } = Object.fromEntries(new FormData(form));
    try {
      await busy(form.querySelector("button[type=submit]"), () => signIn(username.trim(), password));
      go(query.get("next") || HOME);
    } catch (error) {
      showProblem(form, error);
    }
  });
  root.append(form);
}
