"""The one registry of public ``rule`` codes: what a problem+json ``rule`` (and each of its
``errors[].rule``) may say, one snake_case spelling per concept, each with its meaning.

Two vocabularies reach clients. ``Rule`` holds ours: domain rules, our request checks and the
order reasons of ``engine.trading.orders.Reason`` (listed here, since core imports no engine; a
test proves ``Reason`` ⊆ ``Rule``). ``PYDANTIC_TYPES`` holds pydantic's own validation error
types (``missing``, ``string_too_long``, ``int_type`` …), passed through under pydantic's names.
"""

from __future__ import annotations

import re
import typing
from enum import StrEnum

from pydantic_core.core_schema import ErrorType

SNAKE_CASE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


class Rule(StrEnum):
    """A rule code and, as ``meaning``, one line on what breaking it means."""

    meaning: str

    def __new__(cls, code: str, meaning: str) -> Rule:
        member = str.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    # --- the shape of a value (any field) ----------------------------------------------------
    REQUIRED = "required", "a value that must be given is missing"
    NON_EMPTY = "non_empty", "a name, list, award or content that must hold something is empty"
    NOT_NULL = "not_null", "the field may be left out, but not sent as null"
    TYPE = "type", "the value has the wrong type (not an object, list, boolean, integer …)"
    ONE_OF = "one_of", "not one of the allowed values, or not exactly one of two alternatives"
    MAX_LENGTH = "max_length", "text longer than its limit (characters)"
    MAX_SIZE = "max_size", "content or metadata larger than its limit (bytes)"
    MIN_ITEMS = "min_items", "a list with fewer items than it needs"
    MAX_ITEMS = "max_items", "a list with more items than allowed"
    UNIQUE = "unique", "a list names the same thing twice"
    PAIR = "pair", "not a [first, last] pair"
    NUMBER = "number", "not a finite number"
    INTEGER = "integer", "not a whole number"
    NON_NEGATIVE_INTEGER = "non_negative_integer", "not a whole number ≥ 0"
    MINIMUM = "minimum", "a number below its least allowed value"
    RANGE = "range", "a number outside its allowed range"
    POSITIVE = "positive", "a number that must be > 0 is not"
    NON_NEGATIVE = "non_negative", "a number that must be ≥ 0 is negative"
    NON_ZERO = "non_zero", "a value (amount, root, address) that must not be zero is zero"
    AFTER_START = "after_start", "an end (date, time, window) that is not after its start"
    AFTER_OPEN = "after_open", "registration closes before it opens"
    ORDERED_WINDOW = "ordered_window", "a date window whose from is after its to"
    MAX_SPAN = "max_span", "a date window longer than allowed (days)"
    UNKNOWN_SEGMENT = "unknown_segment", "a segment key that names no known segment"
    IANA_TIME_ZONE = "iana_time_zone", "not an IANA time zone name"
    DATE = "date", "not a YYYY-MM-DD date"
    BASE64 = "base64", "not base64 text"
    UTF8 = "utf8", "not UTF-8 text"
    JSON = "json", "not JSON"
    NO_NUL = "no_nul", "text holds a NUL character (U+0000)"
    KEY_FORMAT = "key_format", "a key (Idempotency-Key, item key) outside its allowed characters"
    UNKNOWN_FIELD = "unknown_field", "a field this kind of document does not have"
    IMMUTABLE = "immutable", "a field that cannot be changed once created"
    VALID_CURSOR = "valid_cursor", "a page cursor this API did not issue"
    MALFORMED = "malformed", "a request body that cannot be parsed"
    INVALID = "invalid", "invalid input, with no finer rule to name"

    # --- users -------------------------------------------------------------------------------
    USERNAME_FORMAT = "username_format", "a username that is not 3-32 of a-z, 0-9, _ . -"
    PASSWORD_LENGTH = "password_length", "a password shorter or longer than allowed"
    WRONG_PASSWORD = "wrong_password", "the current password given to change it is not the password"
    DISPLAY_NAME_FORMAT = "display_name_format", "a blank, too long or unprintable display name"
    KNOWN_MEMBER = "known_member", "a referral code that names no member"

    # --- member data rights (PIPL) ------------------------------------------------------------
    CONSENT_REQUIRED = "consent_required", "the latest terms version must be accepted first"
    LATEST_VERSION = "latest_version", "a consent to a document version that is not the latest"
    CONSENT_NOT_GIVEN = "consent_not_given", "no standing consent of this kind to withdraw"
    ERASURE_BLOCKED = "erasure_blocked", "a live contest entry or an unpaid prize blocks erasure"

    # --- seasons and contests ----------------------------------------------------------------
    SEASON_ENDED = "season_ended", "the season has ended"
    REPLAY_ONLY = "replay_only", "a replay window on a live season"
    WITHIN_REPLAY_WINDOW = "within_replay_window", "dates outside the season's replay window"
    KNOWN_SYMBOL = "known_symbol", "a symbol with no stored instrument"
    SAME_MARKET = "same_market", "a symbol from another market than the season's"
    SEASON_UNIVERSE = "season_universe", "a contest symbol outside its season's universe"
    KNOWN_ITEM = "known_item", "a prize names a reward item that does not exist"
    NEEDS_TEAMS = "needs_teams", "PK rounds in a contest without teams"
    HAS_BARS = "has_bars", "no stored bars in the trading window"
    ABOVE_ENTRIES = "above_entries", "a capacity below the members already entered"
    LOCKED_AFTER_START = (
        "locked_after_start",
        "a field of the contest's locked rules changed after trading started",
    )
    DATE_PASSED = "date_passed", "a date changed after it has passed"
    UNKNOWN_RULE = "unknown_rule", "a rule-pack override that names no overridable rule"
    SUM_TO_ONE = "sum_to_one", "composite metric weights that do not sum to 1"
    COMPOSITE_ONLY = "composite_only", "metric weights on a metric that is not composite"
    RANKS_ONLY = "ranks_only", "PK prizes given by percentage instead of ranks"
    MIXED_KINDS = "mixed_kinds", "a prize table mixing rank lines and percentage lines"
    OVERLAPPING = "overlapping", "prize lines whose places overlap"
    INVERTED = "inverted", "a prize line whose last place comes before its first"
    INVITE_CODE = "invite_code", "an invite code that is needed and missing, or wrong"
    ONE_ENTRY = "one_entry", "the member has already joined this contest"
    REGISTRATION_CLOSED = "registration_closed", "outside the contest's registration window"
    CAPACITY = "capacity", "the contest is full"
    MIN_LEVEL = "min_level", "the member's level is below the one required"
    NOT_SELF = "not_self", "a member following themselves"
    SETTLED = "settled", "the contest is settled: its clock no longer moves"
    NOT_SETTLED = "not_settled", "the contest's results are not published yet"
    NOT_FINISHED = "not_finished", "the contest has not finished trading"
    STANDINGS_MISSING = "standings_missing", "a finished contest with no final standings"

    # --- one person, one entry (integrity review) ---------------------------------------------
    ONE_ACCOUNT_PER_PERSON = (
        "one_account_per_person",
        "another account of the same person ranks in this contest, so this one is unranked",
    )
    CASE_DECIDED = "case_decided", "an integrity case already decided otherwise"
    # --- prize rules (promotions) ------------------------------------------------------------
    DRAW_PRIZE_CAP = "draw_prize_cap", "a draw prize worth more than the market's cap (CNY)"
    PAID_ENTRY_WITH_PRIZES = "paid_entry_with_prizes", "an entry fee on a contest with prizes"
    DISCLOSURE_REQUIRED = "disclosure_required", "a prize disclosure missing before publishing"
    AFTER_TRADING_END = "after_trading_end", "an award or draw date before the last trading day"

    # --- teams and PK ------------------------------------------------------------------------
    NOT_ENTERED = "not_entered", "the member has not entered this contest"
    NO_TEAMS = "no_teams", "the contest has no teams"
    TEAMS_FIXED = "teams_fixed", "teams can no longer change (trading has started)"
    TEAM_NAME_TAKEN = "team_name_taken", "another team in the contest has this name"
    TEAM_FULL = "team_full", "the team has no free place"
    ALREADY_IN_TEAM = "already_in_team", "the member is already in a team in this contest"
    NOT_IN_TEAM = "not_in_team", "the member is not in this (or any) team"
    NO_PK = "no_pk", "the contest has no PK rounds"

    # --- market data (imported bars) ---------------------------------------------------------
    NO_ROWS = "no_rows", "a bar file with no bars"
    COLUMNS = "columns", "a bar file without the needed columns"
    NO_NAN = "no_nan", "an empty, NaN or infinite value in a bar"
    POSITIVE_PRICE = "positive_price", "a price that is not positive"
    HIGH_LOW = "high_low", "a bar whose open or close lies outside its low … high"
    VOLUME = "volume", "a volume that is negative or not a whole number"
    MONOTONIC_DATES = "monotonic_dates", "bar dates that do not strictly increase"
    MONOTONIC_STARTS = "monotonic_starts", "minute bar starts that do not strictly increase"
    TIMEZONE = "timezone", "a minute bar start without a UTC offset"
    WHOLE_MINUTE = "whole_minute", "a minute bar that does not start on a whole minute"
    OUTSIDE_SESSION = "outside_session", "a minute bar outside its exchange's trading session"

    # --- ledger ------------------------------------------------------------------------------
    KNOWN_ACCOUNT = "known_account", "an account the ledger does not know"
    KNOWN_ASSET = "known_asset", "an asset the ledger does not know"
    ASSET_MATCHES_ACCOUNT = "asset_matches_account", "an account that does not hold this asset"
    ACCOUNTS_MUST_DIFFER = "accounts_must_differ", "a transfer from an account to itself"
    VOID_HAS_NO_AMOUNT = "void_has_no_amount", "a void of a pending transfer that names an amount"
    XP_NEVER_DEBITED = "xp_never_debited", "a debit of a member's XP (XP only accumulates)"
    TIMEOUT_RANGE = "timeout_range", "a pending timeout outside its allowed range"
    PENDING_ONLY = "pending_only", "an action that only a pending transfer or redemption allows"
    ID_FORMAT = "id_format", "a transfer id outside its allowed form"
    KNOWN_REASON = "known_reason", "a transfer reason the ledger does not know"
    AMOUNT_RANGE = "amount_range", "an amount outside its allowed range"
    UNIQUE_IDS = "unique_ids", "transfer ids that repeat within one group"
    ID_ALREADY_FAILED = "id_already_failed", "a transfer id whose first attempt was refused"
    TOTAL_LIMIT = "total_limit", "a transfer that would pass an account's total limit"
    EXCEEDS_AVAILABLE = "exceeds_available", "a debit larger than the available balance"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount", "a posting larger than its pending amount"
    REVERSIBLE_KIND = "reversible_kind", "a reversal of a transfer kind that cannot be reversed"
    SEQUENTIAL = "sequential", "levels not numbered 1, 2, 3 … in order"
    STARTS_AT_ZERO = "starts_at_zero", "a first level that does not start at 0 XP"
    INCREASING = "increasing", "level thresholds that do not rise strictly"
    MULTIPLIER_RANGE = "multiplier_range", "a level multiplier outside its allowed range"

    # --- engagement and catalog --------------------------------------------------------------
    ONE_CHECKIN_PER_LOCAL_DAY = "one_checkin_per_local_day", "already checked in today"
    TASK_WINDOW = "task_window", "a task that is not open now"
    PER_DAY_CAP = "per_day_cap", "a task's daily limit is reached"
    PER_WEEK_CAP = "per_week_cap", "a task's weekly limit is reached"
    NO_SELF_REFERRAL = "no_self_referral", "a member referring themselves"
    ONE_REFERRER = "one_referrer", "the member already has a referrer"
    WINDOW_ORDER = "window_order", "a reward item whose valid_until does not follow valid_from"
    VALIDITY_WINDOW = "validity_window", "a reward item outside its validity window"
    PER_MEMBER_LIMIT = "per_member_limit", "the member's limit for this item is reached"
    IN_STOCK = "in_stock", "the reward item is out of stock"
    ENOUGH_POINTS = "enough_points", "not enough points"

    # --- quizzes -----------------------------------------------------------------------------
    KNOWN_OPTION = "known_option", "an option index outside the question's options"
    SINGLE_CORRECT = "single_correct", "a single-choice question with other than one option"
    KNOWN_QUESTION = "known_question", "a quiz names a question not in the bank"
    QUIZ_OPENED = "quiz_opened", "a quiz changed after it has opened"
    QUIZ_NOT_OPEN = "quiz_not_open", "the quiz has not opened yet"
    QUIZ_CLOSED = "quiz_closed", "the quiz has closed"
    QUIZ_NOT_CLOSED = "quiz_not_closed", "the quiz is settled only after it closes"
    ONE_ATTEMPT = "one_attempt", "the member has already attempted this quiz"
    ATTEMPT_FINISHED = "attempt_finished", "every question of the attempt is answered"
    ALREADY_ANSWERED = "already_answered", "a question already answered or timed out"
    NOT_SERVED = "not_served", "an answer to a question that has not been served"

    # --- segments and targeting ---------------------------------------------------------------
    MAX_DEPTH = "max_depth", "a segment definition nested deeper than allowed"
    KNOWN_SEGMENT = "known_segment", "a target segment or segment key that names no segment"
    SEGMENT_TAKEN = "segment_taken", "another segment already has this key"
    SEGMENT_REQUIRED = "segment_required", "the member is outside the segment this is offered to"
    # --- campaigns and experiments ----------------------------------------------------------
    CAMPAIGN_BUDGET_EXHAUSTED = "campaign_budget_exhausted", "the campaign's budget is spent"
    FREQUENCY_CAP_REACHED = "frequency_cap_reached", "the member's campaign cap for the period"
    CAMPAIGN_WINDOW = "campaign_window", "a campaign that is not running now"
    KNOWN_EXPERIMENT = "known_experiment", "a campaign names an experiment that does not exist"
    # --- weekly leagues ------------------------------------------------------------------------
    TEN_TIERS = "ten_tiers", "league rules that do not list tiers 1 … 10 in order"
    TOP_TIER_PROMOTES = "top_tier_promotes", "a promotion zone in the top league tier"
    BOTTOM_TIER_DEMOTES = "bottom_tier_demotes", "a demotion zone in the bottom league tier"
    ZONES_FIT = "zones_fit", "promotion and demotion zones larger together than a cohort"
    KNOWN_CONTEST = "known_contest", "league rules ranking by a contest that does not exist"
    PREVIOUS_WEEK_OPEN = "previous_week_open", "a league week opened before the last one closed"
    WEEK_NOT_OVER = "week_not_over", "a league week closed before it has ended"

    # --- content and the chain ---------------------------------------------------------------
    ALLOWED_CONTENT_TYPE = "allowed_content_type", "a content type that is not accepted"
    NEAR_DUPLICATE = "near_duplicate", "content too similar to content already registered"
    PROHIBITED_CLAIM = "prohibited_claim", "content making a claim the compliance terms forbid"
    BLANK_TERM = "blank_term", "a blank compliance term"
    ALREADY_DECIDED = "already_decided", "a content review that an operator has already decided"
    UNDER_REVIEW = "under_review", "content held for an operator's review: no certificate yet"
    REJECTED = "rejected", "content an operator rejected in review: it is never certified"
    HEX32 = "hex32", "not 0x followed by 64 hex digits"
    BYTES32 = "bytes32", "a value that is not 32 bytes"
    ADDRESS = "address", "not a 20-byte address (0x followed by 40 hex digits)"
    UINT32 = "uint32", "a count that does not fit an unsigned 32-bit integer"
    VERSION = "version", "a certificate version that does not exist"
    LEAF_ENCODING = "leaf_encoding", "a certificate leaf encoding other than ours"
    NOT_ANCHORED = "not_anchored", "an attestation (contest rules or results) not on chain yet"
    RULES_NOT_LOCKED = "rules_not_locked", "the contest's rules are fixed when trading starts"

    # --- webhooks ----------------------------------------------------------------------------
    WEBHOOK_URL = "webhook_url", "a webhook URL that is not an absolute http(s) URL with a host"
    EVENT_KIND = "event_kind", "a webhook event kind that does not exist, or none given"
    FAILED_ONLY = "failed_only", "a retry of a webhook delivery that has not failed"

    # --- simulation (CLI) --------------------------------------------------------------------
    SIMULATION_OPTION = "simulation_option", "a simulation option outside its allowed values"
    EMPTY_DATABASE = "empty_database", "the simulation needs an empty database"

    # --- orders: the values of engine.trading.orders.Reason -----------------------------------
    UNKNOWN_SYMBOL = "unknown_symbol", "an order for a symbol the venue does not list"
    NOT_IN_UNIVERSE = "not_in_universe", "an order for a symbol outside the contest's universe"
    INVALID_QTY = "invalid_qty", "not exactly one of qty and notional, or one out of range"
    QTY_PRECISION = "qty_precision", "a quantity with more decimal places than allowed"
    LOT_SIZE = "lot_size", "a quantity that is not a whole number of lots"
    NOTIONAL_NOT_ALLOWED = "notional_not_allowed", "a notional (amount) order where none is allowed"
    LIMIT_PRICE_REQUIRED = "limit_price_required", "a limit order without a limit price"
    STOP_PRICE_REQUIRED = "stop_price_required", "a stop order without a stop price"
    PRICE_NOT_ALLOWED = "price_not_allowed", "a price on an order type that takes none"
    TICK_SIZE = "tick_size", "a price that is not on the tick"
    OUTSIDE_PRICE_BAND = "outside_price_band", "a limit price outside the daily price limit"
    INSUFFICIENT_SELLABLE = "insufficient_sellable", "selling more shares than are sellable"
    SHORT_SELLING_DISABLED = "short_selling_disabled", "a short sale where short selling is off"
    INSUFFICIENT_BUYING_POWER = "insufficient_buying_power", "not enough buying power"
    MIN_PRICE = "min_price", "a symbol priced below the contest's minimum price"
    MAX_POSITION = "max_position", "a position larger than the contest allows"
    MAX_ORDERS_PER_DAY = "max_orders_per_day", "more orders today than the contest allows"
    OUTSIDE_TRADING_WINDOW = "outside_trading_window", "the venue or contest is not trading"
    LIMIT_UP = "limit_up", "the symbol is locked at limit-up"
    LIMIT_DOWN = "limit_down", "the symbol is locked at limit-down"
    NO_PRICE = "no_price", "no price for the symbol"
    PATTERN_DAY_TRADER = "pattern_day_trader", "the pattern-day-trader rule"
    FOK_NOT_FILLED = "fok_not_filled", "a fill-or-kill order that could not fill whole"
    IOC_REMAINDER = "ioc_remainder", "the unfilled rest of an immediate-or-cancel order"
    DAY_ENDED = "day_ended", "a day order that expired at the close"
    CANCELED_BY_MEMBER = "canceled_by_member", "an order the member canceled"
    CONTEST_ENDED = "contest_ended", "an order open when the contest ended"
    SESSION_CLOSED = (
        "session_closed",
        "a market, IOC or FOK order while the exchange is closed (limit and stop orders queue)",
    )
    STALE_FEED = "stale_feed", "an order while the symbol's quote feed has gone quiet"
    MINUTE_ONLY = "minute_only", "an intraday tick of a contest that trades on daily bars"
    TRADING_MINUTE = "trading_minute", "a bar time that does not start a minute of the session"
    TRADING_WINDOW = "trading_window", "a bar time outside the contest's trading days"
    EX_DATE_PASSED = (
        "ex_date_passed",
        "a corporate action imported once a running contest's clock has reached its ex-date",
    )
    CORPORATE_ACTION = (
        "corporate_action",
        "an open order canceled at the open of its symbol's split ex-date (its prices are stale)",
    )


# Pydantic's own error types, as FastAPI reports them (docs.pydantic.dev, "Validation Errors").
PYDANTIC_TYPES: frozenset[str] = frozenset(typing.get_args(ErrorType))

CODES: frozenset[str] = frozenset(Rule) | PYDANTIC_TYPES


def is_registered(code: str) -> bool:
    """Whether ``code`` is a rule code clients may be sent."""
    return code in CODES
