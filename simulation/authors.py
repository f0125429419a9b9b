"""Authors publish research during the season and have it certified, as ``POST /v1/content`` and
``paperleague content anchor`` do: ``register_content`` for each article, ``anchor_pending``
every other week (one Merkle root per batch on the chain), and ``refresh_finality`` at the end.

Articles are stitched from market commentary templates with the season's own symbols and
numbers, so two articles share little. Now and then an author lifts an earlier article with a
few words changed (a near-copy the registry flags), re-posts one verbatim (prior art, refused),
or promises returns (a prohibited claim the compliance screen flags).
"""

from __future__ import annotations

from datetime import date

from contracts import anchoring, attesting
from contracts import services as content_services
from contracts.chain import Chain, connect, new_in_process_chain
from contracts.chain_reader import OnChainReader
from contracts.content import BatchStatus
from contracts.registration import PriorArt, register_content
from contracts.verification import ChainReader
from core.errors import DomainError
from engine.uow import EngineUnitOfWork
from notary import contests as notary
from simulation.calendar import SeasonDay
from simulation.context import SimulationContext
from simulation.model import ContentStats

POSTS_PER_TRADING_DAY = 0.1  # per author: about two articles a month
ANCHOR_EVERY_ROUNDS = 2  # one anchor batch a fortnight
NEAR_COPY_SHARE, VERBATIM_SHARE, CLAIM_SHARE = 0.05, 0.01, 0.04
PUBLISH_HOUR, ANCHOR_HOUR = 19, 22

SECTORS = (
    "banks", "liquor makers", "semiconductors", "new energy", "pharmaceuticals", "real estate",
    "consumer electronics", "machinery", "utilities", "health care", "energy", "technology",
)  # fmt: skip
OPENINGS = (
    "Week {week} notes on {sector}.",
    "A closer look at {symbol} after {days} sessions.",
    "Why {sector} may lead the next leg: a {days}-day view.",
    "{symbol}: what the tape says after a {pct}% move.",
    "Positioning review for {sector}, season week {week}.",
)
SENTENCES = (
    "{symbol} closed {pct}% {direction} over the last {days} sessions on volume {vol}% {vs} its "
    "average.",
    "The {sector} group has {verb} the index by {pct} points since the season opened.",
    "I hold {qty} shares of {symbol} with a stop {pct}% below the entry.",
    "Breadth in {sector} is {breadth}: {n} of {m} names trade above their 20-day mean.",
    "Momentum readings on {symbol} turned {direction} after the {days}-day average crossed.",
    "Valuation in {sector} sits near {pe} times earnings, {vs} the five-year median.",
    "Risk first: no single position above {pct}% of equity, and cash at {cash}%.",
    "Mean reversion setups appear when {symbol} stretches {sigma} deviations from its mean.",
    "Turnover matters: fees on {qty} round trips ate {pct}% of my return last month.",
    "{sector} earnings revisions were {direction} {n} times in {m} weeks.",
    "My team's PK result this week: {n} to {m}, decided by {symbol}.",
    "Limit-up days in {sector}: {n} this month, versus {m} the month before.",
    "{symbol} gapped {direction} {pct}% at the open and faded into the close.",
    "Watching {symbol} and {symbol2} as a pair; the spread is {sigma} deviations wide.",
    "本周{sector}板块成交额{direction}{pct}%，{symbol}领涨。",
    "仓位控制在{cash}%以内，{symbol}止损设在{pct}%。",
    "The drawdown from peak is {pct}% and took {days} sessions to recover.",
    "Dividend names in {sector} held up while growth names fell {pct}%.",
)
CLAIMS = (
    "This setup is a guaranteed return for anyone patient enough to hold {symbol}.",
    "{symbol} is 稳赚 from here; I have never seen it fail.",
    "A risk-free profit: buy {symbol} at the open and sell at the close.",
    "保本又稳赚，{symbol}就是最好的选择。",
)


class AuthorsPhase:
    """Articles on trading days, a fortnightly anchor batch, final certificates at the end."""

    name = "authors"

    def setup(self, sim: SimulationContext) -> None:
        self._rng = sim.rng("authors")
        self._own_chain = sim.config.chain_rpc_url is None
        self.chain: Chain = (
            new_in_process_chain() if self._own_chain else connect(sim.config.chain_rpc_url)
        )
        moment = sim.calendar.at(sim.calendar.pre_season, 18)
        self.registry = anchoring.registry_for(sim.content, self.chain, now=moment)
        self.symbols: list[str] = []
        self.texts: list[str] = []
        self.registered = 0
        self.refused: dict[str, int] = {}
        self.near_duplicates = 0
        self.compliance_flags = 0
        self.gas_used = 0
        self.certificates = 0
        self.batches = 0

    def use_symbols(self, symbols: list[str]) -> None:
        """The instruments articles talk about (the season's universe)."""
        self.symbols = sorted(symbols)

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        rng = self._rng
        authors = [m for m in sim.members if m.author]
        posts = rng.random(len(authors)) < POSTS_PER_TRADING_DAY
        for member, posts_today in zip(authors, posts, strict=True):
            if posts_today:
                self._publish(sim, member.user_id, day)
        if (day.pk_round is not None and day.pk_round % ANCHOR_EVERY_ROUNDS == 0) or day.last:
            self._anchor(sim, day.trading_date)

    def _publish(self, sim: SimulationContext, author_id: int, day: SeasonDay) -> None:
        rng = self._rng
        roll = rng.random()
        title, text = self._article(day)
        if self.texts and roll < VERBATIM_SHARE:
            text = "  " + self.texts[int(rng.integers(len(self.texts)))].replace(" ", "  ")
        elif self.texts and roll < VERBATIM_SHARE + NEAR_COPY_SHARE:
            text = self._near_copy(self.texts[int(rng.integers(len(self.texts)))])
        elif roll < VERBATIM_SHARE + NEAR_COPY_SHARE + CLAIM_SHARE:
            claim = str(rng.choice(CLAIMS)).format(symbol=self._symbol())
            text = f"{text}\n\n{claim}"
        try:
            registration = register_content(
                sim.content,
                author_id,
                title=title,
                content=text.encode(),
                content_type="text/markdown",
                now=sim.calendar.at(day.trading_date, PUBLISH_HOUR),
            )
        except PriorArt:
            self.refused["prior_art"] = self.refused.get("prior_art", 0) + 1
            return
        except DomainError as refusal:  # a policy that blocks findings refuses them
            rule = str(getattr(refusal, "rule", refusal.slug))
            self.refused[rule] = self.refused.get(rule, 0) + 1
            return
        self.registered += 1
        self.texts.append(text)
        self.near_duplicates += bool(registration.near_duplicates)
        self.compliance_flags += bool(registration.compliance_hits)

    def _symbol(self) -> str:
        return str(self._rng.choice(self.symbols)) if self.symbols else "SIM-600001"

    def _article(self, day: SeasonDay) -> tuple[str, str]:
        rng = self._rng

        def fill(template: str) -> str:
            return template.format(
                week=day.index // 5 + 1,
                sector=rng.choice(SECTORS),
                symbol=self._symbol(),
                symbol2=self._symbol(),
                days=int(rng.integers(3, 60)),
                pct=round(float(rng.uniform(0.3, 18.0)), 1),
                vol=int(rng.integers(40, 260)),
                direction=rng.choice(("up", "down")),
                vs=rng.choice(("above", "below")),
                verb=rng.choice(("beaten", "trailed")),
                qty=int(rng.integers(1, 40)) * 100,
                breadth=rng.choice(("strong", "weak", "mixed", "narrow")),
                n=int(rng.integers(1, 12)),
                m=int(rng.integers(12, 30)),
                pe=round(float(rng.uniform(6, 45)), 1),
                cash=int(rng.integers(5, 60)),
                sigma=round(float(rng.uniform(1.0, 3.5)), 1),
            )

        title = fill(str(rng.choice(OPENINGS)))
        picked = rng.choice(len(SENTENCES), size=int(rng.integers(6, 11)), replace=False)
        body = " ".join(fill(SENTENCES[int(k)]) for k in picked)
        return title, f"# {title}\n\n{body}"

    def _near_copy(self, text: str) -> str:
        """An earlier article with a few words changed: similar, not identical."""
        words = text.split(" ")
        for _ in range(max(1, len(words) // 25)):
            k = int(self._rng.integers(len(words)))
            words[k] = str(self._rng.choice(("clearly", "again", "still", "now", "indeed")))
        return " ".join(words)

    def _anchor(self, sim: SimulationContext, day: date) -> None:
        with sim.timings("authors: anchoring"):
            batch = anchoring.anchor_pending(
                sim.content, self.registry, now=sim.calendar.at(day, ANCHOR_HOUR)
            )
        if batch is not None:
            self.batches += 1
            self.certificates += batch.count
            self.gas_used += batch.gas_used or 0

    def finish(self, sim: SimulationContext) -> None:
        """Anchor what is left; the chain moves on, and the batches become final."""
        last = sim.calendar.trading_dates[-1]
        self._anchor(sim, last)
        # The contests' locked rules and settled results go on the same chain (issue 19).
        engine = EngineUnitOfWork(sim.database.sessions, caches=sim.engine_caches)
        with sim.timings("authors: notarizing contests"):
            notary.notarize(
                engine,
                sim.content,
                self.registry,
                confirmations=sim.config.confirmations,
                now=sim.calendar.at(last, ANCHOR_HOUR),
            )
        if self._own_chain:  # our own chain: mine the confirmations a real one would add
            for _ in range(sim.config.confirmations):
                self.chain.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        anchoring.refresh_finality(
            sim.content,
            self.registry,
            confirmations=sim.config.confirmations,
            now=sim.calendar.at(last, 23, 50),
        )
        attesting.refresh_attestation_finality(
            sim.content,
            self.registry,
            confirmations=sim.config.confirmations,
            now=sim.calendar.at(last, 23, 50),
        )

    def reader(self) -> ChainReader:
        """The chain the season anchored on, to read its roots back."""
        return OnChainReader(self.chain)

    def stats(self, sim: SimulationContext) -> ContentStats:
        return ContentStats(
            registered=self.registered,
            refused=dict(sorted(self.refused.items())),
            near_duplicates=self.near_duplicates,
            compliance_flags=self.compliance_flags,
            batches=self.batches,
            certificates=self.certificates,
            final=self._final(sim),
            gas_used=self.gas_used,
            pending=self.registered - self.certificates,
        )

    def _final(self, sim: SimulationContext) -> int:
        """Certificates in final batches (read through the operator's batch listing)."""
        final, before = 0, None
        while True:
            page, before = content_services.anchor_batches(sim.content, before=before, limit=200)
            final += sum(b.count for b in page if b.status is BatchStatus.FINAL)
            if before is None:
                return final
