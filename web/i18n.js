/**
 * Language, number formats and market colour conventions.
 *
 * Two dictionaries (web/locales/): zh-CN and en. A member's explicit choice (the switch in the
 * top bar) is remembered; without one, a CN-market contest shows zh-CN. Numbers, money, dates
 * and percentages use Intl formats of the current locale. Colours: CN markets show gains red and
 * losses green, US markets the reverse; pages outside a contest follow the language.
 */

import en from "./locales/en.js";
import zhCN from "./locales/zh-CN.js";

const DICTIONARIES = { "zh-CN": zhCN, en };
export const LOCALES = ["zh-CN", "en"];
export const LOCALE_EVENT = "paperleague:locale";
const CHOICE_KEY = "paperleague.locale";
const CURRENCY = { CN: "CNY", US: "USD" };

let current = localStorage.getItem(CHOICE_KEY) || (navigator.language?.startsWith("zh") ? "zh-CN" : "en");

export const locale = () => current;

/** The text for `key` in the current language (English, then the key, as fallbacks);
 * `{name}` placeholders are filled from `vars`. */
export function t(key, vars = {}) {
  const text = DICTIONARIES[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

export const hasText = (key) => key in DICTIONARIES[current] || key in en;

/** The member picked a language: remember it and redraw. */
export function chooseLocale(code) {
  localStorage.setItem(CHOICE_KEY, code);
  setLocale(code);
}

/** Adopt a contest's market: its colour convention, and zh-CN for CN markets unless the member
 * chose a language. Returns true when the language changed (the page is being redrawn). */
export function applyMarket(market) {
  document.body.dataset.updown = market === "CN" ? "cn" : "us";
  if (market === "CN" && !localStorage.getItem(CHOICE_KEY) && current !== "zh-CN") {
    setLocale("zh-CN");
    return true;
  }
  return false;
}

/** Pages outside a contest: colours follow the language. */
export function applyDefaultConventions() {
  document.body.dataset.updown = current === "zh-CN" ? "cn" : "us";
}

function setLocale(code) {
  if (!DICTIONARIES[code] || code === current) return;
  current = code;
  document.documentElement.lang = code;
  window.dispatchEvent(new Event(LOCALE_EVENT));
}

document.documentElement.lang = current;

// --- formats: values arrive as decimal strings (money, ratios) or numbers ----------------------

const num = (value) => (value === null || value === undefined || value === "" ? null : Number(value));
const DASH = "—";

/** `sign: "exceptZero"` shows +12 for gains. */
export function formatNumber(value, { min = 0, max = 2, sign = "auto" } = {}) {
  const n = num(value);
  if (n === null) return DASH;
  return new Intl.NumberFormat(current, { minimumFractionDigits: min, maximumFractionDigits: max, signDisplay: sign }).format(n);
}

export const formatQty = (value) => formatNumber(value, { max: 6 });
export const formatPrice = (value) => formatNumber(value, { min: 2, max: 6 });

export function formatMoney(value, market = "CN") {
  const n = num(value);
  if (n === null) return DASH;
  const currency = CURRENCY[market] ?? "CNY";
  return new Intl.NumberFormat(current, { style: "currency", currency }).format(n);
}

/** A fraction as a signed percentage: 0.0123 → +1.23%. */
export function formatPercent(fraction, digits = 2) {
  const n = num(fraction);
  if (n === null) return DASH;
  return new Intl.NumberFormat(current, {
    style: "percent",
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    signDisplay: "exceptZero",
  }).format(n);
}

/** An ISO date (2024-01-02) as a calendar date, never shifted by the viewer's zone. */
export function formatDate(iso) {
  if (!iso) return DASH;
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeZone: "UTC" }).format(new Date(`${iso.slice(0, 10)}T00:00:00Z`));
}

export function formatDateTime(iso) {
  if (!iso) return DASH;
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

/** `up`, `down` or `flat`: the CSS class colouring a signed value by the market convention. */
export function trend(value) {
  const n = num(value);
  return n > 0 ? "up" : n < 0 ? "down" : "flat";
}
