"""The kept contest heads (engine.contests.contest_heads) are trusted only while the listener
listens and has handed out what reached it, and never keep a head read before a change heard."""

from __future__ import annotations

from datetime import date

from core.page_cache import InProcessPageCache, TwoLevelPageCache, kept_here
from engine.contests.contest_heads import CHANNEL, ContestHeads
from engine.contests.visibility import kept_visible
from engine.trading.store_accounts import ContestHead

SOURCE = "postgresql://bench@host/db"


class FakeListener:
    """What a cache asks of its listener: whether everything that arrived was handed out."""

    def __init__(self) -> None:
        self.quiet = True

    def settled(self) -> bool:
        return self.quiet


def _head(contest_id: int = 7, tick: int = 3, code: str | None = None) -> ContestHead:
    return ContestHead(contest_id, tick, date(2024, 1, tick), code)


def _listening() -> tuple[ContestHeads, FakeListener]:
    heads, listener = ContestHeads(), FakeListener()
    heads._listener = listener  # type: ignore[assignment]
    heads.source = SOURCE
    heads.connected()
    return heads, listener


def test_nothing_is_kept_before_the_listener_connects() -> None:
    heads = ContestHeads()
    heads.source = SOURCE
    heads.remember(SOURCE, _head(), epoch=heads.epoch())
    assert heads.get(7) is None
    heads._listener = FakeListener()  # type: ignore[assignment]
    heads.remember(SOURCE, _head(), epoch=heads.epoch())
    assert heads.get(7) is None  # listening but not connected yet


def test_a_head_is_served_only_while_the_listener_is_settled() -> None:
    heads, listener = _listening()
    heads.remember(SOURCE, _head(), epoch=heads.epoch())
    assert heads.get(7) == _head()
    listener.quiet = False  # a notification waits on the connection
    assert heads.get(7) is None
    listener.quiet = True
    assert heads.get(7) == _head()


def test_a_notification_drops_its_contest_and_a_bad_payload_drops_every_one() -> None:
    heads, _ = _listening()
    for contest_id in (7, 8):
        heads.remember(SOURCE, _head(contest_id), epoch=heads.epoch())
    heads.notified(CHANNEL, "7")
    assert heads.get(7) is None and heads.get(8) == _head(8)
    heads.notified(CHANNEL, "")
    assert heads.get(8) is None


def test_a_head_read_before_a_change_heard_is_not_kept() -> None:
    heads, _ = _listening()
    epoch = heads.epoch()  # the reader starts …
    heads.notified(CHANNEL, "7")  # … the tick commits and its notification arrives …
    heads.remember(SOURCE, _head(tick=3), epoch=epoch)  # … the reader's older head
    assert heads.get(7) is None
    heads.remember(SOURCE, _head(tick=4), epoch=heads.epoch())
    assert heads.get(7) == _head(tick=4)


def test_a_lost_connection_forgets_everything_and_trusts_nothing_until_reconnected() -> None:
    heads, _ = _listening()
    heads.remember(SOURCE, _head(), epoch=heads.epoch())
    heads.disconnected()
    assert heads.get(7) is None
    heads.remember(SOURCE, _head(), epoch=heads.epoch())
    assert heads.get(7) is None
    heads.connected()
    assert heads.get(7) is None  # forgotten, not merely hidden


def test_a_head_of_another_database_is_not_kept() -> None:
    heads, _ = _listening()
    heads.remember("postgresql://bench@host/other", _head(), epoch=heads.epoch())
    assert heads.get(7) is None


def test_the_two_level_cache_answers_here_only_under_the_revision_heard() -> None:
    cache = TwoLevelPageCache(InProcessPageCache(), InProcessPageCache())
    cache.put_many([("a", b"1")])
    assert kept_here(cache, "s", ["a"]) is None  # no listener: the revision is elsewhere
    listener = FakeListener()
    cache.revisions._listener = listener  # type: ignore[assignment]
    cache.revisions.connected()
    assert kept_here(cache, "s", ["a"]) is None  # connected, the scope not heard of yet
    assert cache.get_many("s", ["a"]) == (0, [b"1"])  # read once: the revision is known
    assert kept_here(cache, "s", ["a", "b"]) == (0, [b"1", None])
    listener.quiet = False
    assert kept_here(cache, "s", ["a"]) is None
    listener.quiet = True
    cache.revisions.notified("paperleague_boards", "1 s")  # another worker's bump
    assert kept_here(cache, "s", ["a"]) is None  # moved: get_many drops the local values first
    assert kept_here(InProcessPageCache(), "s", ["a"]) == (0, [None])


def test_a_kept_head_shows_a_public_contest_and_leaves_a_private_one_to_the_database() -> None:
    heads, listener = _listening()
    heads.remember(SOURCE, _head(7), epoch=heads.epoch())
    heads.remember(SOURCE, _head(8, code="secret-door"), epoch=heads.epoch())
    assert kept_visible(heads, 7)
    assert not kept_visible(heads, 8)  # its entrants are the database's to tell
    assert kept_visible(heads, 8, operator=True)
    assert kept_visible(heads, 8, invite_code="secret-door")
    assert not kept_visible(heads, 8, invite_code="secret-doo")
    assert not kept_visible(heads, 9)  # not kept
    listener.quiet = False
    assert not kept_visible(heads, 7)  # not trusted while a notification waits
