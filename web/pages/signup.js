/** Sign up as a member (POST /v1/auth/signup), then sign straight in. */

import { api, signIn } from "../api.js";
import { t } from "../i18n.js";
import { HOME } from "../routes.js";
import { busy, field, formAlert, go, h, showProblem } from "../ui.js";

export function render(root) {
  const form = h("form", { class: "card narrow", novalidate: true },
    h("h1", {}, t("auth.sign_up")),
    field({ label: t("auth.username"), name: "username", autocomplete: "username", required: true, hint: t("auth.username_hint") }),
    field({ label: t("auth.display_name"), name: "display_name", autocomplete: "nickname", required: true }),
    field({ label: t("auth.password"), name: "password", type: "password", autocomplete: "new-password", required: true, hint: t("auth.password_hint") }),
    field({ label: t("auth.referral_code"), name: "referral_code", hint: t("auth.referral_hint") }),
    formAlert(),
    h("button", { type: "submit", class: "primary" }, t("auth.create_account")),
    h("p", {}, t("auth.have_account"), " ", h("a", { href: "#/login" }, t("auth.sign_in"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form));
    const body = {
      username: values.username.trim(),
      display_name: values.display_name.trim(),
      password: values.password,
      referral_code: values.referral_code.trim() || null,
    };
    try {
      await busy(form.querySelector("button[type=submit]"), async () => {
        await api.post("/auth/signup", body);
        await signIn(body.username, body.password);
      });
      go(`${HOME}?welcome=1`); // the lobby offers the onboarding questionnaire
    } catch (error) {
      showProblem(form, error);
    }
  });
  root.append(form);
}
