/** Joining a contest (POST /v1/contests/{id}/entries), with the invite code of a private one. */

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, field, formAlert, h, showProblem } from "../ui.js";

/** Whether entries may still be taken (same rule as the server's registration window). */
export function canJoin(contest, now = new Date()) {
  if (!["registration", "running"].includes(contest.state)) return false;
  const closes = contest.registration_closes_at;
  return !closes || new Date(closes) > now;
}

/** A join form; `onJoined(entry)` runs after the server accepted it. `code`: the invite code
 * of the link the member came by, filled in. */
export function joinForm(contest, onJoined, code = null) {
  const form = h("form", { class: "join", novalidate: true, dataset: { contest: contest.id } },
    contest.private
      ? field({ label: t("lobby.invite_code"), name: "invite_code", autocomplete: "off", required: true, value: code })
      : null,
    h("button", { type: "submit", class: "primary" }, t("lobby.join")),
    formAlert());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = new FormData(form).get("invite_code");
    try {
      const entry = await busy(form.querySelector("button"), () =>
        api.post(`/contests/${contest.id}/entries`, { invite_code: code?.trim() || null }));
      onJoined(entry);
    } catch (error) {
      showProblem(form, error);
    }
  });
  return form;
}
