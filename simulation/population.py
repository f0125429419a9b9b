"""Who is in the season: the operator, the founding members, and those who sign up during the
first weeks, some through another member's referral code, as ``POST /v1/auth/signup`` does it
(``create_users`` then ``record_referral``). A few members are also authors."""

from __future__ import annotations

import numpy as np

from core.users.model import Role
from core.users.services import NewAccount, create_user, create_users
from ledger import engagement
from simulation.calendar import SeasonDay
from simulation.context import MEMBER_PASSWORD, Member, SimulationContext

FOUNDER_SHARE = 0.75  # members already signed up when the season opens
# The others join in weekly onboarding waves (each wave one bulk sign-up: one password hash).
SIGN_UP_WEEKS = 4
REFERRED_SHARE = 0.6  # of the late sign-ups, those who came through a referral code
AUTHOR_SHARE = 0.03
SIGN_UP_HOUR = 20  # local time

GIVEN = (
    "wei", "fang", "min", "jing", "lei", "yan", "hao", "xin", "jun", "ling", "ava", "noah",
    "mia", "liam", "zoe", "ethan", "emma", "leo", "chloe", "ryan", "sofia", "owen", "ivy", "max",
)  # fmt: skip
FAMILY = (
    "wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou", "smith",
    "jones", "brown", "garcia", "miller", "davis", "lopez", "wilson", "moore", "clark",
)  # fmt: skip


class Population:
    """Signs members up on their planned days; founders and the operator before the season."""

    name = "population"

    def setup(self, sim: SimulationContext) -> None:
        config, rng = sim.config, sim.rng("population")
        founders = max(2, int(round(config.members * FOUNDER_SHARE)))
        trading = sim.calendar.trading_dates
        waves = [trading[min(5 * week, len(trading) - 1)] for week in range(1, SIGN_UP_WEEKS + 1)]
        late = np.sort(rng.integers(len(waves), size=config.members - founders))
        self._sign_up_on = [sim.calendar.pre_season] * founders + [waves[w] for w in late]
        self._referred = np.concatenate(
            [
                np.zeros(founders, dtype=np.bool_),
                rng.random(config.members - founders) < REFERRED_SHARE,
            ]
        )
        authors = max(2, int(round(config.members * AUTHOR_SHARE)))
        self._authors = set(rng.choice(founders, size=min(authors, founders), replace=False))
        self._names = [
            (str(rng.choice(GIVEN)), str(rng.choice(FAMILY))) for _ in range(config.members)
        ]
        self._rng = rng
        operator = create_user(
            sim.users,
            username="operator",
            password=MEMBER_PASSWORD,
            display_name="Season Operator",
            roles=[Role.OPERATOR],
        )
        sim.operator_id = operator.id
        self._sign_up(sim, range(founders))

    def on_day(self, sim: SimulationContext, day: SeasonDay) -> None:
        due = [
            i
            for i in range(sim.signed_up, sim.config.members)
            if self._sign_up_on[i] == day.trading_date
        ]
        if due:
            self._sign_up(sim, due)

    def finish(self, sim: SimulationContext) -> None:
        pass

    def _sign_up(self, sim: SimulationContext, indexes: range | list[int]) -> None:
        """Create the accounts of ``indexes`` in one batch, then record who referred whom."""
        indexes = list(indexes)
        day = self._sign_up_on[indexes[0]]
        accounts = [
            NewAccount(
                username=f"{given}.{family}.{i + 1}",
                display_name=f"{given.title()} {family.title()}",
                roles=frozenset({Role.MEMBER, Role.AUTHOR})
                if i in self._authors
                else frozenset({Role.MEMBER}),
            )
            for i in indexes
            for given, family in [self._names[i]]
        ]
        moment = sim.calendar.at(day, SIGN_UP_HOUR)
        users = create_users(sim.users, accounts, password=MEMBER_PASSWORD, now=moment)
        inviters = sim.signed_up  # members who could have shared a code
        new_members = []
        for i, user in zip(indexes, users, strict=True):
            inviter = int(self._rng.integers(inviters)) if self._referred[i] and inviters else None
            new_members.append(Member(i, user.id, user.username, day, inviter, i in self._authors))
        sim.add_members(new_members)
        for member in new_members:
            if member.referred_by is not None:
                engagement.record_referral(
                    sim.ledger,
                    invitee_id=member.user_id,
                    inviter_id=sim.members[member.referred_by].user_id,
                    now=moment,
                )
                sim.referrals += 1
