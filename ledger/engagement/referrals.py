"""Referrals: who invited whom, and the reward to both sides on the invitee's qualifying action."""

from __future__ import annotations

from datetime import datetime

from core.clock import utc_now
from core.errors import Conflict, RuleViolation
from ledger.engagement.awards import award_requests, pay
from ledger.engagement.configuration import current_rules
from ledger.model import Transfer, member_accounts
from ledger.services.unit_of_work import LedgerUnitOfWork
from ledger.store.engagement import ReferralRow


def record_referral(
    uow: LedgerUnitOfWork, *, invitee_id: int, inviter_id: int, now: datetime | None = None
) -> None:
    """Remember who invited a member; rewarded later, once, on the qualifying action."""
    if invitee_id == inviter_id:
        raise RuleViolation(
            "members cannot refer themselves", field="referral_code", rule="no_self_referral"
        )
    with uow:
        if uow.engagement.referral_of(invitee_id) is not None:
            raise Conflict(f"member {invitee_id} already has a referrer", rule="one_referrer")
        uow.engagement.add(
            ReferralRow(invitee_id=invitee_id, inviter_id=inviter_id, created_at=now or utc_now())
        )
        uow.commit()


def complete_referral(
    uow: LedgerUnitOfWork, invitee_id: int, *, now: datetime | None = None
) -> list[Transfer]:
    """The invitee's qualifying action (first contest trade): reward both sides, once ever."""
    moment = now or utc_now()
    with uow:
        referral = uow.engagement.referral_of(invitee_id)  # made once, never changed
        if referral is None:
            return []
        # Both members' shards, up front: the rewards' ids make a second completion a replay.
        uow.ledger.lock_accounts(member_accounts(invitee_id) + member_accounts(referral.inviter_id))
        rules = current_rules(uow)
        prefix = f"referral:{invitee_id}"
        made = pay(
            uow,
            referral.inviter_id,
            award_requests(
                referral.inviter_id,
                rules.referral_inviter,
                id_prefix=f"{prefix}:inviter",
                reason="referral",
                reference=f"invited member {invitee_id}",
            ),
            now=moment,
        )
        made += pay(
            uow,
            invitee_id,
            award_requests(
                invitee_id,
                rules.referral_invitee,
                id_prefix=f"{prefix}:invitee",
                reason="referral",
                reference=f"invited by member {referral.inviter_id}",
            ),
            now=moment,
        )
        uow.commit()
    return made
