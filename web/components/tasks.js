/**
 * Tasks: the published tasks with their reward and caps, each with a "done" button
 * (POST /v1/me/tasks/{key}/completions).
 *
 * The list comes from GET /v1/me/tasks: `[{key, title, award: {points, xp}, per_day_cap,
 * per_week_cap, starts_at, ends_at}]` (the earning rules' tasks, as operators publish them).
 * Until the API offers that list (a 404), the section says tasks are not available.
 */

import { ApiError, api } from "../api.js";
import { formatDateTime, t } from "../i18n.js";
import { busy, h, notice, problemBox, section, table } from "../ui.js";

export async function tasksSection(afterEarning) {
  const el = section(t("tasks.title"));
  let tasks;
  try {
    tasks = await api.get("/me/tasks");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
    el.append(notice(t("tasks.unavailable")));
    return el;
  }
  const result = h("div", { role: "status" });
  const complete = async (task, button) => {
    result.replaceChildren();
    try {
      const done = await busy(button, () => api.post(`/me/tasks/${encodeURIComponent(task.key)}/completions`));
      result.replaceChildren(notice(t("tasks.done", { title: task.title, points: done.points, xp: done.xp }), "success"));
      await afterEarning();
    } catch (error) {
      result.replaceChildren(problemBox(error));
    }
  };
  el.append(result, table({
    empty: t("tasks.none"),
    rows: tasks,
    rowAttrs: (task) => ({ dataset: { task: task.key } }),
    columns: [
      { label: t("tasks.task"), value: (task) => task.title },
      { label: t("tasks.reward"), value: (task) => t("tasks.award", task.award), numeric: true },
      { label: t("tasks.caps"), value: caps },
      { label: t("tasks.window"), value: (task) => (task.ends_at ? t("tasks.until", { when: formatDateTime(task.ends_at) }) : "—") },
      { label: t("tasks.actions"), value: (task) =>
        h("button", { type: "button", class: "small", onclick: (e) => complete(task, e.currentTarget) }, t("tasks.complete")) },
    ],
  }));
  return el;
}

const caps = (task) => [
  task.per_day_cap ? t("tasks.per_day", { n: task.per_day_cap }) : null,
  task.per_week_cap ? t("tasks.per_week", { n: task.per_week_cap }) : null,
].filter(Boolean).join(" · ") || "—";
