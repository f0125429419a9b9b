"""Daily bars from Yahoo Finance through ``yfinance`` (1.x), with its failure modes handled.

Known failure modes (see ../shared/REFERENCES.md): HTTP 429 surfaces as ``YFRateLimitError``
(yfinance #2289, #2480) and is retried here with exponential backoff; yfinance logs and swallows
other errors and returns an empty frame unless ``yf.config.debug.hide_exceptions`` is off
(#2329, #2501), so this module turns it off; its timezone cache is a SQLite file that locks
under concurrent use (#1274, #2604), so it is pointed at a private directory; ``auto_adjust``
defaults to True in yfinance (#2219), so it is explicit here (default False: prices as traded).

Yahoo data is for personal use; an operator should bring licensed data for production.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.errors import DomainError
from engine.market.corporate_actions import CorporateAction, dividend, split
from engine.market.model import (
    BASIS,
    Bar,
    Instrument,
    InvalidBars,
    MarketDataUnavailable,
    Symbol,
    UnknownSymbol,
    check_bars,
    instrument_for,
    tidy_price,
)

_configured = threading.Lock()
_cache_dir: str | None = None


def _configure_yfinance(cache_dir: str | Path | None) -> str:
    """Make yfinance raise instead of log, and put its SQLite caches (timezones, cookies) in a
    private directory. yfinance opens the caches once per process, so the first call picks
    the directory (a fresh temporary one unless given); returns the directory in use."""
    global _cache_dir
    import yfinance as yf

    yf.config.debug.hide_exceptions = False
    with _configured:
        if _cache_dir is None:
            _cache_dir = str(cache_dir or tempfile.mkdtemp(prefix="paperleague-yfinance-"))
            yf.set_tz_cache_location(_cache_dir)
        return _cache_dir


class YFinanceSource:
    """A ``PriceSource`` reading daily bars from Yahoo Finance.

    ``auto_adjust=False`` (default) gives prices as traded; True gives split- and
    dividend-adjusted prices, and the source is then named ``yfinance-adjusted`` so the two
    never mix in storage. ``sleep`` and ``max_attempts`` drive the backoff on HTTP 429:
    ``base_delay × 2^(attempt-1)`` seconds between attempts. ``session`` is a curl_cffi
    session for yfinance to use (tests pass one that replays recorded Yahoo responses).
    ``cache_dir`` is yfinance's cache directory; only the first source of a process sets it.
    """

    def __init__(
        self,
        *,
        auto_adjust: bool = False,
        max_attempts: int = 4,
        base_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        cache_dir: str | Path | None = None,
        session: Any = None,
        timeout: float = 20.0,
    ) -> None:
        import yfinance as yf

        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.auto_adjust = auto_adjust
        self.name = "yfinance-adjusted" if auto_adjust else "yfinance"
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.sleep = sleep
        self.session = session
        self.timeout = timeout
        self._described: dict[Symbol, Instrument] = {}
        self._yf = yf
        self.cache_dir = _configure_yfinance(cache_dir)

    def daily_bars(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
        """Bars with ``start <= day <= end`` (exchange dates), oldest first.

        Raises ``UnknownSymbol`` when Yahoo does not know the symbol, ``MarketDataUnavailable``
        when Yahoo keeps rate-limiting or fails otherwise, ``InvalidBars`` when its data break
        a bar rule. A known symbol with no trading day in the range gives ``[]``.
        """
        from yfinance.exceptions import YFRateLimitError

        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._fetch(symbol, start, end)
            except YFRateLimitError:
                if attempt == self.max_attempts:
                    raise MarketDataUnavailable(
                        symbol,
                        f"Yahoo rate limit (HTTP 429) persisted after {attempt} attempts",
                    ) from None
                self.sleep(self.base_delay * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch_many(
        self, symbols: Iterable[Symbol], start: date, end: date
    ) -> dict[Symbol, list[Bar] | DomainError]:
        """``daily_bars`` for each symbol; a failing symbol maps to its error, the rest go on."""
        results: dict[Symbol, list[Bar] | DomainError] = {}
        for symbol in symbols:
            try:
                results[symbol] = self.daily_bars(symbol, start, end)
            except DomainError as error:
                results[symbol] = error
        return results

    def actions(
        self, symbol: Symbol, start: date, end: date, *, as_traded: bool = False
    ) -> list[CorporateAction]:
        """Dividends (and with ``as_traded``, splits) with ``start <= ex-date <= end``, from
        ``Ticker.actions`` (Yahoo's chart events over the symbol's whole history).

        Yahoo's daily prices are split-adjusted (``auto_adjust=False`` undoes only dividends),
        and so are its dividend amounts. Bars from this source already contain every split:
        applying the splits too would count them twice, so by default only the dividends come,
        as Yahoo states them (per split-adjusted share, matching its bars). ``as_traded=True``
        is for bars as traded from another vendor: it adds the splits (Yahoo's ratio as a
        float, read as the nearest fraction with denominator ≤ 1000) and turns each dividend
        back into the amount paid per share then (× every later split's ratio).
        """
        from yfinance.exceptions import YFRateLimitError

        for attempt in range(1, self.max_attempts + 1):
            try:
                frame = self._yf.Ticker(symbol, session=self.session).actions
                break
            except YFRateLimitError:
                if attempt == self.max_attempts:
                    raise MarketDataUnavailable(
                        symbol,
                        f"Yahoo rate limit (HTTP 429) persisted after {attempt} attempts",
                    ) from None
                self.sleep(self.base_delay * 2 ** (attempt - 1))
            except Exception as error:
                raise MarketDataUnavailable(symbol, f"{type(error).__name__}: {error}") from None
        found = yahoo_actions(symbol, frame, as_traded=as_traded)
        return [a for a in found if start <= a.ex_date <= end]

    def describe(self, symbol: Symbol) -> Instrument | None:
        """The instrument as Yahoo named it in the last successful fetch of ``symbol``."""
        return self._described.get(symbol)

    def _fetch(self, symbol: Symbol, start: date, end: date) -> list[Bar]:
        from yfinance.exceptions import (
            YFPricesMissingError,
            YFRateLimitError,
            YFTzMissingError,
        )

        ticker = self._yf.Ticker(symbol, session=self.session)
        try:
            frame = ticker.history(
                start=start.isoformat(),
                end=(end + timedelta(days=1)).isoformat(),  # yfinance's end is exclusive
                interval="1d",
                auto_adjust=self.auto_adjust,
                actions=False,
                repair=False,
                timeout=self.timeout,
            )
        except YFRateLimitError:
            raise
        except YFPricesMissingError as error:
            if error.yahoo_reason is not None:  # e.g. "No data found, symbol may be delisted"
                raise UnknownSymbol(symbol, f"{symbol}: Yahoo: {error.yahoo_reason}") from None
            # Yahoo knows the symbol (it has a timezone) but had no session in the range
            # (weekend, holiday): yfinance #2835, "market was closed".
            return []
        except YFTzMissingError as error:
            raise UnknownSymbol(symbol, f"{symbol}: Yahoo: {error.rationale}") from None
        except Exception as error:
            if _status(error) != 404:
                raise MarketDataUnavailable(symbol, f"{type(error).__name__}: {error}") from None
            # Yahoo's 404 for an unknown symbol, met by yfinance's quote lookup of its timezone.
            raise UnknownSymbol(symbol, f"{symbol}: Yahoo: {_yahoo_reason(error)}") from None
        bars = [bar for bar in _bars(symbol, frame) if start <= bar.day <= end]
        try:
            check_bars(bars)
        except InvalidBars as error:
            raise InvalidBars(f"{symbol} from Yahoo: {error.detail}", rule=error.rule) from None
        self._remember(symbol, ticker)
        return bars

    def _remember(self, symbol: Symbol, ticker: Any) -> None:
        try:
            meta = ticker.history_metadata
            name = meta.get("longName") or meta.get("shortName")
        except Exception:  # metadata is a nicety; never fail a fetch over it
            name = None
        self._described[symbol] = instrument_for(symbol, source=self.name, name=name)


def _status(error: Exception) -> int | None:
    """The HTTP status of a curl_cffi / requests ``HTTPError``, else ``None``."""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _yahoo_reason(error: Exception) -> str:
    """Yahoo's own description from an error response body, else "not found (HTTP 404)"."""
    try:
        body = error.response.json()  # type: ignore[attr-defined]
        (payload,) = body.values()
        return str(payload["error"]["description"])
    except Exception:
        return "not found (HTTP 404)"


def _bars(symbol: Symbol, frame: Any) -> list[Bar]:
    """Rows of a yfinance daily frame as bars (prices via ``str`` to 4 places)."""
    if frame is None or frame.empty:
        return []
    days = [timestamp.date() for timestamp in frame.index]
    columns = [frame[name].tolist() for name in ("Open", "High", "Low", "Close")]
    volumes = frame["Volume"].tolist()
    return [
        Bar(
            symbol=symbol,
            day=day,
            open=_decimal(columns[0][i]),
            high=_decimal(columns[1][i]),
            low=_decimal(columns[2][i]),
            close=_decimal(columns[3][i]),
            volume=int(volumes[i]),
        )
        for i, day in enumerate(days)
    ]


def yahoo_actions(symbol: Symbol, frame: Any, *, as_traded: bool) -> list[CorporateAction]:
    """The rows of a ``Ticker.actions`` frame as actions, oldest first (see ``actions``)."""
    if frame is None or frame.empty:
        return []
    days = [timestamp.date() for timestamp in frame.index]
    none = [0.0] * len(days)
    cash = frame["Dividends"].tolist() if "Dividends" in frame.columns else none
    ratios = frame["Stock Splits"].tolist() if "Stock Splits" in frame.columns else none
    splits = [
        split(symbol, day, Fraction(str(r)).limit_denominator(1000))
        for day, r in zip(days, ratios, strict=True)
        if r and r == r and r != 1  # 0: no split that day; NaN never a split
    ]
    dividends = []
    for day, amount in zip(days, cash, strict=True):
        if not amount or amount != amount:
            continue
        per_share = Decimal(str(amount))
        if as_traded:
            for later in splits:
                if later.ex_date > day:
                    per_share = per_share * later.ratio.numerator / later.ratio.denominator
        dividends.append(dividend(symbol, day, tidy_price(per_share.quantize(Decimal("1e-6")))))
    found = dividends + (splits if as_traded else [])
    return sorted(found, key=lambda a: (a.ex_date, a.kind.value))


def _decimal(value: float) -> Decimal:
    # str() gives the shortest repr that round-trips, so no binary noise enters the Decimal.
    number = Decimal(str(value))
    return tidy_price(number.quantize(BASIS, ROUND_HALF_UP)) if number.is_finite() else number
