/**
 * The member's live event stream (GET /v1/me/events, server-sent events): order fills and
 * order statuses as they commit, rank changes at each standings tick (`rank.change`), live
 * minute ranks (`rank.live`), PK results of the member's team (`pk.result`) and a minute
 * contest's feed pausing or resuming (`contest.feed`), so a page refreshes on them instead of
 * polling.
 *
 * An EventSource cannot send the bearer token, so each connection opens with a short-lived
 * stream token (POST /v1/me/events/token). A stream ends after a while, and a stream token
 * expires: on any error the connection is closed and reopened with a fresh token, resuming
 * after the last event received (`after=`), so nothing is missed or repeated.
 */

import { api } from "../api.js";

const RECONNECT_MS = 2000;
const KINDS = [
  "order.fill", "order.status", "rank.change", "rank.live", "pk.result", "contest.feed",
];

/** Calls `onEvent({kind, payload, id})` for each event; returns a function that stops. */
export function liveEvents(onEvent) {
  if (typeof window.EventSource !== "function") return null;
  let source = null;
  let stopped = false;
  let timer = null;
  let after = null;

  const handle = (message) => {
    const event = JSON.parse(message.data);
    after = event.id;
    onEvent(event);
  };

  async function connect() {
    if (stopped) return;
    try {
      const { stream_token: token } = await api.post("/me/events/token");
      if (stopped) return;
      const query = new URLSearchParams({ stream_token: token });
      if (after !== null) query.set("after", String(after));
      source = new EventSource(`/v1/me/events?${query}`);
      for (const kind of KINDS) source.addEventListener(kind, handle);
      // Where a stream starts: a reconnect resumes after it even if no event came.
      source.addEventListener("ready", (message) => { after = JSON.parse(message.data).cursor; });
      source.onerror = () => { source.close(); schedule(); };
    } catch (error) {
      console.warn("live events unavailable", error);
      schedule();
    }
  }

  function schedule() {
    if (!stopped) timer = setTimeout(connect, RECONNECT_MS);
  }

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (source) source.close();
  };
}
