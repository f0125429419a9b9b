"""Placing orders: one member's order, or a batch of many members' orders judged one by one.

Every order write goes through here (HTTP, CLI and the season simulation alike). Admission
(``engine.trading.admission``) prices from the clock's last closes; nothing fills before the
next bar.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.clock import utc_now
from core.config import get_settings
from core.errors import Conflict, DomainError, NotFound
from engine.market.feeds import MinuteBar
from engine.market.model import Instrument
from engine.market.sessions import sessions_for
from engine.trading import journal
from engine.trading.admission import OrderContext, OrderRefused, admit
from engine.trading.closes import last_closes, with_earlier_closes
from engine.trading.intraday import session_gate
from engine.trading.orders import Order, OrderRequest, OrderStatus, Reason
from engine.trading.portfolio import Portfolio
from engine.trading.store import order_of_request
from engine.trading.uow import TradingUnitOfWork
from engine.trading.venue import NotEntered, Venue, require_venue


def place_order(
    uow: TradingUnitOfWork,
    contest_id: int,
    member_id: int,
    request: OrderRequest,
    *,
    note: str | None = None,
    screening_terms: Sequence[str] = (),
) -> Order:
    """Admit and store an order; it fills no earlier than the next bar.

    A retry with the same ``client_order_id`` and the same fields returns the stored order; the
    same id with other fields is a Conflict. A refused order writes nothing. ``note``: a trade
    journal note stored with a new order in the same transaction, screened first against
    ``screening_terms`` (``engine.trading.journal.check_note``; a refused note places nothing).
    """
    notes = None if note is None else [journal.check_note(note, screening_terms)]
    outcome = place_orders(uow, contest_id, [(member_id, request)], notes=notes)[0]
    if isinstance(outcome, Order):
        return outcome
    raise outcome


OrderOutcome = Order | DomainError


def place_orders(
    uow: TradingUnitOfWork,
    contest_id: int,
    requests: Sequence[tuple[int, OrderRequest]],
    *,
    notes: Sequence[str | None] | None = None,
    now: datetime | None = None,
) -> list[OrderOutcome]:
    """Many members' orders in one transaction (bots, the season simulation, bulk imports).

    Each ``(member id, request)`` is judged exactly as ``place_order`` judges it, in the given
    order, so an earlier order's reservation counts against a later one of the same member. The
    outcome list is aligned with ``requests``: the stored order, or the refusal (an
    ``OrderRefused``, ``NotEntered`` or ``Conflict``), which wrote nothing. What admission
    reads is loaded once for the batch's accounts (``_Desk``) and the admitted orders are
    stored together, so a batch costs a handful of statements whatever its size. ``notes``,
    aligned with ``requests`` and already screened, are stored with the newly admitted orders.
    ``now`` (default: the wall clock) is the instant the orders are accepted at: a minute
    contest's session and stale-feed gates judge it, and its next-quote fills start after it
    (the season simulation passes its simulated time).
    """
    moment = now or utc_now()
    with uow:
        desk = _Desk(uow, require_venue(uow, contest_id), requests, now=moment)
        judged = [desk.judge(member_id, request) for member_id, request in requests]
        stored = desk.store()
        uow.trading.add_notes(
            [
                (stored[outcome.index].id, note)
                for outcome, note in zip(judged, notes or [None] * len(judged), strict=True)
                if note is not None and isinstance(outcome, _Admitted)
            ],
            moment,
        )
        uow.commit()
    return [stored[o.index] if isinstance(o, _Admitted) else o for o in judged]


class _Closes:
    """The universe's last closes at the clock's day, read once per transaction: ``on_day``
    are the closes of the symbols that traded on ``day``, when already read."""

    def __init__(
        self,
        uow: TradingUnitOfWork,
        venue: Venue,
        *,
        day: date | None = None,
        on_day: dict[str, Decimal] | None = None,
    ) -> None:
        self._uow, self._venue = uow, venue
        self._day, self._on_day = day, on_day
        self._closes: dict[str, Decimal] | None = None

    def get(self, day: date) -> dict[str, Decimal]:
        if self._closes is None:
            if day == self._day and self._on_day is not None:
                self._closes = with_earlier_closes(
                    self._uow, self._venue, self._on_day, day, actions_through=day
                )
            else:
                self._closes = last_closes(self._uow, self._venue, day)
        return self._closes


# How far back a minute contest's order looks for its symbol's last quote (a long weekend).
QUOTE_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class _Admitted:
    index: int  # in the desk's new orders


class _Desk:
    """One batch's order desk: the accounts (locked) with their positions, their open orders
    with the orders their client ids name, the universe's instruments with the clock day's
    closes (each pair one query) and, under a daily limit, orders submitted today; every
    admitted order joins them at once, so each order is judged as if the ones before it had
    been stored, as ``place_order`` would have."""

    def __init__(
        self,
        uow: TradingUnitOfWork,
        venue: Venue,
        requests: Sequence[tuple[int, OrderRequest]],
        *,
        now: datetime,
    ) -> None:
        self.uow, self.venue, self.now = uow, venue, now
        self.universe = frozenset(venue.universe)
        trading = uow.trading
        # member id -> the portfolio of their account, as stored (each order's context)
        self.accounts = trading.entries_of(venue.contest_id, (m for m, _ in requests), lock=True)
        ids = [a.account_id for a in self.accounts.values()]
        self.open, known = trading.desk_orders(
            ids,
            (
                (self.accounts[m].account_id, r.client_order_id)
                for m, r in requests
                if r.client_order_id is not None and m in self.accounts
            ),
        )
        self.known: dict[tuple[int, str], Order | _Admitted] = dict(known)
        # Orders submitted today only matter under a daily order limit.
        day, limited = venue.clock_day, venue.rules.guards.max_orders_per_day is not None
        self.today = trading.orders_submitted_on(ids, day) if day and limited else {}
        traded = {r.symbol for _, r in requests} & self.universe
        self.closes = _Closes(uow, venue)
        self.instruments: dict[str, Instrument] = {}
        if self.accounts and day is not None:  # priced from the clock's day (a minute contest too)
            self.instruments, on_day = uow.market.instruments_with_closes(
                venue.universe, day, described=traded
            )
            self.closes = _Closes(uow, venue, day=day, on_day=on_day)
        elif self.accounts:  # before a minute contest's first tick
            self.instruments = uow.market.instruments_of(traded)
        self.quotes: dict[str, tuple[MinuteBar | None, Decimal | None]] = {}  # minute contests
        self.new: list[Order] = []
        self.stored: list[Order] = []  # the first len(stored) of ``new``, with their ids

    def judge(self, member_id: int, request: OrderRequest) -> OrderOutcome | _Admitted:
        try:
            return self._admit(member_id, request)
        except (OrderRefused, NotFound, Conflict) as refusal:
            return refusal

    def _admit(self, member_id: int, request: OrderRequest) -> Order | _Admitted:
        account = self.accounts.get(member_id)
        if account is None:
            raise NotEntered(
                f"you have no entry in contest {self.venue.contest_id}",
                contest_id=self.venue.contest_id,
            )
        existing = (
            None
            if request.client_order_id is None
            else self.known.get((account.account_id, request.client_order_id))
        )
        if existing is not None:
            return self._replayed(existing, request)
        ctx = self._context(account, request)
        reserved = admit(request, ctx)
        client_id = request.client_order_id or f"pl-{uuid.uuid4().hex}"
        order = order_of_request(
            Order(
                id=0,
                account_id=account.account_id,
                client_order_id=client_id,
                request=request,
                status=OrderStatus.NEW,
                submitted_day=ctx.day,
                reserved_cash=reserved,
            ),
            0,
        )
        admitted = _Admitted(len(self.new))
        self.new.append(order)
        self.open[account.account_id].append(order)
        self.today[account.account_id] = self.today.get(account.account_id, 0) + 1
        self.known[(account.account_id, client_id)] = admitted
        return admitted

    def _replayed(self, existing: Order | _Admitted, request: OrderRequest) -> Order | _Admitted:
        stored = self.new[existing.index] if isinstance(existing, _Admitted) else existing
        if stored.request == request:
            return existing
        if isinstance(existing, _Admitted):
            stored = self.store()[existing.index]  # the refusal names the stored order's id
        raise Conflict(
            f"client_order_id {request.client_order_id!r} was used for a different order",
            client_order_id=request.client_order_id,
            order_id=stored.id,
        )

    def _context(self, account: Portfolio, request: OrderRequest) -> OrderContext:
        venue = self.venue
        day = self._trading_day()
        if request.symbol not in self.universe:
            reason = (
                Reason.NOT_IN_UNIVERSE
                if self.uow.market.instrument(request.symbol)
                else Reason.UNKNOWN_SYMBOL
            )
            raise OrderRefused(
                f"{request.symbol!r} is not traded in this contest", field="symbol", reason=reason
            )
        instrument = self.instruments.get(request.symbol)
        if instrument is None:
            instrument = self.uow.market.require_instrument(request.symbol)
        if venue.bar_interval == "minute":
            prices, band_base = self._intraday_prices(request)
        else:
            prices = self.closes.get(day)
            band_base = prices.get(request.symbol)
        last_close = prices.get(request.symbol)
        if last_close is None:
            raise OrderRefused(
                f"{request.symbol} has no price yet", field="symbol", reason=Reason.NO_PRICE
            )
        return OrderContext(
            day=day,
            rules=venue.rules,
            instrument=instrument,
            last_close=last_close,
            band=venue.rules.price_band(instrument.board, band_base),
            portfolio=account,
            open_orders=tuple(self.open[account.account_id]),
            orders_today=self.today.get(account.account_id, 0),
            prices=prices,
        )

    def _trading_day(self) -> date:
        """The contest day an order is placed on. A daily contest trades the clock's day, so it
        takes orders from its first revealed bar. A minute contest trades the wall clock's
        session (``clock_day`` is only the last ticked one, None before the first tick): the
        session open now, or the next one an order queues for, if it is inside the trading
        window; the session gate then decides what may be placed or queued."""
        venue = self.venue
        if venue.bar_interval == "minute":
            calendar = sessions_for(venue.market)
            now = self.now
            session = calendar.session_at(now)
            day = (
                session.day if session is not None else calendar.local_day(calendar.next_open(now))
            )
            if venue.trading_start <= day <= venue.trading_end:
                return day
        elif venue.trading and venue.clock_day is not None:
            return venue.clock_day
        raise OrderRefused(
            "the contest is not trading now: orders are taken from its first trading day "
            "until its last",
            field="contest_id",
            reason=Reason.OUTSIDE_TRADING_WINDOW,
        )

    def _intraday_prices(self, request: OrderRequest) -> tuple[dict[str, Decimal], Decimal | None]:
        """A minute contest's gate (``session_closed`` / ``stale_feed``, at the desk's ``now``) and
        prices: the symbol's last minute close, and the band from the previous session's close
        (never the day's own close, which is not printed yet)."""
        now = self.now
        calendar = sessions_for(self.venue.market)
        day = calendar.local_day(now)
        quote, band_base = self._minute_quote(request.symbol, day)
        stale_after = timedelta(seconds=get_settings().intraday_stale_after_seconds)
        session_gate(
            request,
            at=now,
            calendar=calendar,
            listed=True,  # the universe was checked
            last_quote=quote,
            stale_after=stale_after,
        )
        prices = dict(self.closes.get(self.venue.clock_day or day))
        if band_base is not None:
            prices[request.symbol] = band_base
        if quote is not None:
            prices[request.symbol] = quote.close
        return prices, band_base

    def _minute_quote(self, symbol: str, day: date) -> tuple[MinuteBar | None, Decimal | None]:
        """The symbol's last ended minute bar and previous session close at the desk's ``now``,
        read once per batch (every order of a batch is judged at the same instant)."""
        found = self.quotes.get(symbol)
        if found is None:
            ended = self.now - timedelta(minutes=1)  # bars that started by then have ended
            quote = self.uow.minutes.last_minute_bar(symbol, ended)
            if quote is not None and quote.start < self.now - QUOTE_LOOKBACK:
                quote = None
            previous = self.uow.market.previous_closes([symbol], day).get(symbol)
            found = self.quotes[symbol] = (quote, previous)
        return found

    def store(self) -> list[Order]:
        """Store the admitted orders not stored yet; every admitted order, with its id."""
        self.stored += self.uow.trading.add_orders(
            self.venue.contest_id, self.new[len(self.stored) :], now=self.now
        )
        return self.stored
