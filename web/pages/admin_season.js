/** A season: create (POST /v1/admin/seasons) or edit (PATCH, only what changed; market,
 * universe and data source are fixed once created). */

import { api } from "../api.js";
import { t } from "../i18n.js";
import { busy, field, formAlert, go, h, notice, showProblem } from "../ui.js";

export async function render(root, { params }) {
  const season = params.id ? await api.get(`/seasons/${params.id}`) : null;
  const s = season ?? {};
  const fixed = Boolean(season);
  const form = h("form", { class: "card admin-form season-form", novalidate: true },
    field({ label: t("admin.name"), name: "name", required: true, value: s.name ?? "" }),
    field({ label: t("admin.description"), name: "description", as: "textarea", rows: 2, value: s.description ?? "" }),
    field({ label: t("admin.timezone"), name: "timezone", required: true, value: s.timezone ?? "Asia/Shanghai", hint: t("admin.timezone_hint") }),
    field({ label: t("admin.starts_on"), name: "starts_on", type: "date", required: true, value: s.starts_on ?? "" }),
    field({ label: t("admin.ends_on"), name: "ends_on", type: "date", required: true, value: s.ends_on ?? "" }),
    field({ label: t("admin.market"), name: "market", as: "select", disabled: fixed, value: s.market ?? "CN",
      options: [["CN", t("market.CN")], ["US", t("market.US")]] }),
    field({ label: t("admin.data_source"), name: "data_source", as: "select", disabled: fixed, value: s.data_source ?? "replay",
      options: [["replay", t("admin.replay")], ["live", t("admin.live")]] }),
    field({ label: t("admin.universe"), name: "universe", as: "textarea", rows: 3, disabled: fixed, required: true,
      value: (s.universe ?? []).join(" "), hint: t("admin.season_universe_hint") }),
    field({ label: t("admin.replay_start"), name: "replay_start", type: "date", value: s.replay_start ?? "" }),
    field({ label: t("admin.replay_end"), name: "replay_end", type: "date", value: s.replay_end ?? "" }),
    fixed ? h("p", { class: "lock-note" }, t("admin.season_fixed")) : null,
    formAlert(),
    h("div", { class: "form-result", role: "status" }),
    h("button", { type: "submit", class: "primary", name: "save" }, season ? t("admin.save") : t("admin.create_season")));

  const collect = () => {
    const v = (name) => form.elements.namedItem(name).value.trim();
    return {
      name: v("name"), description: v("description"), timezone: v("timezone"),
      starts_on: v("starts_on"), ends_on: v("ends_on"),
      replay_start: v("replay_start") || null, replay_end: v("replay_end") || null,
      ...(fixed ? {} : { market: v("market"), data_source: v("data_source"), universe: v("universe").split(/[\s,]+/).filter(Boolean) }),
    };
  };
  const initial = collect();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = collect();
    const changes = fixed ? Object.fromEntries(Object.entries(body).filter(([k, v]) => v !== initial[k])) : body;
    try {
      const saved = await busy(form.querySelector("button[name=save]"), () =>
        (fixed ? api.patch(`/admin/seasons/${season.id}`, changes) : api.post("/admin/seasons", changes)));
      form.querySelector(".form-result").replaceChildren(notice(t("admin.saved"), "success"));
      if (!fixed) go(`/admin/seasons/${saved.id}`);
    } catch (error) {
      showProblem(form, error);
    }
  });
  root.append(
    h("p", {}, h("a", { href: "#/admin" }, t("admin.back"))),
    h("h1", {}, season ? season.name : t("admin.new_season")),
    season?.ended ? notice(t("admin.season_ended")) : null,
    form);
}
