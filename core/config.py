"""Settings: one class, read from the environment with the ``PAPERLEAGUE_`` prefix."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

DEFAULT_DATABASE_URL = "sqlite:///./paperleague.db"
# The placeholder earlier releases signed development tokens with. It is public (it is in the
# source), so it is refused everywhere: an unset secret is generated instead (core/signing.py).
DEVELOPMENT_SECRET = "change-me-development-only-not-a-secret"
# Values people paste from tutorials; none may sign tokens in any environment.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", DEVELOPMENT_SECRET, "secret", "jwt-secret", "xxx"}
)
MIN_SECRET_LENGTH = 32
MIN_AUDIT_RETENTION_DAYS = 183  # six months (issue 19); core.audit refuses shorter purges too


class Settings(BaseSettings):
    """Everything configurable about a PaperLeague process."""

    model_config = SettingsConfigDict(env_prefix="PAPERLEAGUE_", env_file=None, extra="ignore")

    environment: Environment = "development"
    database_url: str = DEFAULT_DATABASE_URL
    # None: a random secret generated on first start and kept in ``data_dir`` (not in
    # production, where every host must be given the same one).
    jwt_secret: SecretStr | None = None
    # Where generated state lives (the signing secret); None: next to the SQLite file, else the
    # working directory.
    data_dir: Path | None = None
    access_token_minutes: int = Field(default=60, ge=1, le=60 * 24 * 30)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    idempotency_wait_seconds: float = Field(default=10.0, ge=0)
    idempotency_retention_hours: int = Field(default=24, ge=1)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    migrate_on_start: bool = True
    # Concurrent check-ins, orders (per contest) and operator grants of one process joined
    # into one transaction each (core.group_commit); false: every request its own transaction.
    group_commit: bool = True
    log_level: str = "INFO"
    # Content anchoring: None = the in-process eth-tester chain; else a JSON-RPC node URL and
    # the anchorer's key (without a key the node's first unlocked account sends).
    chain_rpc_url: str | None = None
    # Shared caches (leaderboard pages): a Redis URL (redis://host:6379/0) every API worker
    # names; None: each process keeps its own (core.page_cache), in front of one shared through
    # the database on PostgreSQL unless page_cache_postgres is off (core.page_cache_postgres).
    redis_url: str | None = None
    page_cache_postgres: bool = True
    # Keep authenticated users in process, dropped on every change to them (PostgreSQL: by
    # notification; SQLite: one process only). core.users.principals
    principal_cache: bool = True
    chain_private_key: SecretStr | None = None
    chain_confirmations: int = Field(default=2, ge=0)
    # Without chain_rpc_url: "local" = one anvil node per data directory, its state on disk, so
    # certificates outlive restarts and every API worker shares it (contracts/local_node.py);
    # "in-process" = an eth-tester chain per process, forgotten when it exits; "auto" = local
    # when anvil is installed (npm ci --prefix contracts, or anvil_path), else in-process.
    chain_node: Literal["auto", "local", "in-process"] = "auto"
    anvil_path: Path | None = None
    # Pending content is anchored automatically once this many wait, or the oldest has waited
    # this long.
    anchor_batch_size: int = Field(default=1000, ge=1, le=100_000)
    anchor_max_wait_seconds: int = Field(default=600, ge=1)
    # Webhooks: > 0 runs a dispatcher thread in each serving process, passing after this many
    # idle seconds (0: off; run `paperleague webhooks deliver --loop` instead).
    webhook_dispatch_interval_seconds: float = Field(default=0, ge=0, le=3600)
    webhook_max_attempts: int = Field(default=8, ge=1, le=100)
    # Intraday: an order is refused (rule stale_feed) once its symbol's last minute bar ended
    # this long ago (engine.trading.intraday.session_gate's stale_after).
    intraday_stale_after_seconds: int = Field(default=120, ge=1, le=86_400)
    # The quote feed the worker's market.intraday job polls into the minute store for live
    # minute contests: "synthetic" (the default: seeded minute bars for any session, offline,
    # engine.market.synthetic_intraday.LiveSyntheticFeed), "yfinance" (Yahoo's delayed
    # quotes, needs the network) or "none" (bars arrive some other way, e.g. a recorded tape
    # through `paperleague market intraday`). The seed fixes the synthetic feed's bars.
    intraday_feed: Literal["synthetic", "yfinance", "none"] = "synthetic"
    intraday_feed_seed: int = Field(default=16, ge=0)
    # The live event stream (GET /v1/me/events): how often it polls the member's feed, how
    # often an idle stream sends a heartbeat comment, how long one stream lasts before it ends
    # (EventSource reconnects with Last-Event-ID), and how long a ``?stream_token=`` is valid.
    event_stream_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # Wake a stream as soon as its member's events commit (core.member_events_wakeup); off,
    # a stream finds them at its next poll (the bench's poll-only side).
    event_stream_wakeup: bool = True
    event_stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=3600)
    event_stream_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    stream_token_seconds: int = Field(default=60, ge=5, le=3600)
    # Failed sign-ins: free per username and per client address inside the window, then each
    # attempt waits 1, 2, 4 … seconds (from sign_in_first_delay_seconds, at most
    # sign_in_max_delay_seconds) after the last one.
    sign_in_failures_per_username: int = Field(default=5, ge=1)
    sign_in_failures_per_address: int = Field(default=20, ge=1)
    sign_in_window_seconds: int = Field(default=900, ge=1)
    sign_in_first_delay_seconds: float = Field(default=1.0, gt=0, le=3600)
    sign_in_max_delay_seconds: int = Field(default=900, ge=1)
    # One person, one entry (integrity scans): shared NAT addresses that never count as a shared
    # signal (a JSON list), and the mirrored/opposite trade thresholds.
    integrity_ignored_ips: list[str] = Field(default_factory=list)
    integrity_window_days: int = Field(default=0, ge=0, le=30)
    integrity_min_matches: int = Field(default=3, ge=1)
    # Behind a reverse proxy: take the client address (sign-in limits) from the last
    # X-Forwarded-For entry and the scheme (HSTS) from X-Forwarded-Proto. Off: neither header
    # is believed, since any client can send them.
    trust_proxy_headers: bool = False
    # The operator audit log keeps entries this many days; `paperleague audit purge` deletes
    # older ones. Never under 183 days (six months).
    audit_retention_days: int = Field(default=365, ge=MIN_AUDIT_RETENTION_DAYS)
    # Prize rules: the cap on one draw prize's value by market, in CNY (a market not listed is
    # not capped; CN: 50,000, the 反不正当竞争法 Art. 10 limit), and a point's value in CNY
    # when a points prize is valued against the cap. JSON in the environment:
    # PAPERLEAGUE_DRAW_PRIZE_CAPS_CNY='{"CN": 50000, "US": 50000}'.
    draw_prize_caps_cny: dict[str, Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: {"CN": Decimal(50_000)}
    )
    points_cny_rate: Decimal = Field(default=Decimal("0.01"), ge=0, allow_inf_nan=False)
    # Behavioural tags (`paperleague segments refresh-tags`): active_trader = this many orders
    # in the last 7 days; dormant = no check-in or order for this many days; new = joined less
    # than this many days ago; high_level = at or above this level.
    segment_active_trader_orders: int = Field(default=5, ge=1)
    segment_dormant_days: int = Field(default=14, ge=1)
    segment_new_days: int = Field(default=7, ge=1)
    segment_high_level: int = Field(default=5, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite://", "sqlite+pysqlite://", "postgresql+psycopg://")):
            raise ValueError(
                "database_url must start with sqlite:// or postgresql+psycopg:// (psycopg 3)"
            )
        return url

    @model_validator(mode="after")
    def _real_secret(self) -> Settings:
        if self.jwt_secret is None:
            if self.environment == "production":
                raise ValueError(
                    "PAPERLEAGUE_JWT_SECRET is not set; production needs one random secret "
                    f"of at least {MIN_SECRET_LENGTH} characters shared by every host"
                )
            return self
        if weak_secret(self.jwt_secret.get_secret_value()):
            raise ValueError(
                f"PAPERLEAGUE_JWT_SECRET is a placeholder or shorter than {MIN_SECRET_LENGTH} "
                "characters; set a random secret, or unset it to have one generated "
                "(not in production)"
            )
        return self

    @property
    def data_directory(self) -> Path:
        """``data_dir``, else the SQLite file's directory, else the working directory."""
        if self.data_dir is not None:
            return self.data_dir
        if self.is_sqlite:
            _, _, rest = self.database_url.partition(":///")
            path = rest.split("?", 1)[0]
            if path and path != ":memory:" and not path.startswith("file:"):
                return Path(path).parent
        return Path(".")

    def signing_secret(self) -> str:
        """The token signing secret; ``core.signing.with_signing_secret`` fills in an unset one."""
        if self.jwt_secret is None:
            raise RuntimeError("no signing secret: build settings with core.signing first")
        return self.jwt_secret.get_secret_value()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def weak_secret(secret: str) -> bool:
    """A placeholder, or too short to sign tokens with."""
    return secret.strip().lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
