/**
 * The public /v1 JSON API, and the signed-in session.
 *
 * The bearer token (and the user it belongs to) live in sessionStorage: closing the tab signs
 * out. Every failed call throws an ApiError carrying the problem+json body (RFC 9457): its
 * `detail`, and the broken `field` and `rule` (also every `errors[]` entry of a 422).
 */

const PREFIX = "/v1";
const TOKEN_KEY = "paperleague.token";
const USER_KEY = "paperleague.user";
export const UNAUTHENTICATED_EVENT = "paperleague:unauthenticated";
// A write refused until the member accepts the terms in force (403 consent_required).
export const CONSENT_EVENT = "paperleague:consent-required";

/** A refused or failed API call, shaped by its problem+json body. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.detail = problem.detail ?? null;
    this.field = problem.field ?? null;
    this.rule = problem.rule ?? null;
    // A 422 lists every broken field; other problems name at most one.
    this.errors = problem.errors ?? (this.field ? [{ field: this.field, rule: this.rule, message: this.detail }] : []);
  }
}

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  user: () => JSON.parse(sessionStorage.getItem(USER_KEY) || "null"),
  hasRole: (role) => (session.user()?.roles ?? []).includes(role),
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

/** Sign in with the OAuth2 password form; remembers the token and the user. */
export async function signIn(username, password) {
  const form = new URLSearchParams({ username, password });
  const token = await request("POST", "/auth/token", { body: form });
  sessionStorage.setItem(TOKEN_KEY, token.access_token);
  try {
    const user = await request("GET", "/me");
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
    return user;
  } catch (error) {
    session.signOut();  // never a token without its user
    throw error;
  }
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  /** A POST with a fresh Idempotency-Key, so a retried click never acts twice. */
  post: (path, json = {}) => request("POST", path, { json, idempotent: true }),
  put: (path, json) => request("PUT", path, { json }),
  patch: (path, json) => request("PATCH", path, { json }),
  /** A multipart/form-data POST (file uploads); the browser sets the boundary. */
  postForm: (path, formData) => request("POST", path, { body: formData, idempotent: true }),
  delete: (path) => request("DELETE", path),
};

/** Every page of a cursor-paged list (`{items, next_cursor}`), up to `max` items. */
export async function allPages(path, query = {}, max = 1000) {
  const items = [];
  let cursor = null;
  do {
    const page = await api.get(path, { ...query, limit: 200, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

async function request(method, path, { query, json, body, idempotent = false } = {}) {
  const headers = { Accept: "application/json, application/problem+json", "X-Device-Id": deviceId() };
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (idempotent && token) headers["Idempotency-Key"] = newKey();
  const response = await fetch(PREFIX + path + queryString(query), { method, headers, body });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    if (response.status === 401 && token) window.dispatchEvent(new Event(UNAUTHENTICATED_EVENT));
    if (response.status === 403 && payload.rule === "consent_required") {
      window.dispatchEvent(new Event(CONSENT_EVENT));
    }
    throw new ApiError(response.status, payload);
  }
  return payload;
}

/** A random id for this browser, kept in local storage: the one-person-one-entry device signal. */
function deviceId() {
  let id = localStorage.getItem("paperleague.device");
  if (!id) {
    id = newKey();
    localStorage.setItem("paperleague.device", id);
  }
  return id;
}

/** `?a=1&state=x&state=y`: arrays repeat the name; null and undefined are left out. */
function queryString(query) {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const one of [].concat(value)) {
      if (one !== null && one !== undefined && one !== "") params.append(name, one);
    }
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** A random Idempotency-Key; getRandomValues also works outside secure contexts. */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
