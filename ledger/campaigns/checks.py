"""The campaigns' invariant: a campaign's stored ``remaining`` is its budget less the units its
grants took, within 0 … budget, and the ledger paid exactly those units under the campaign's
reference (so no charge went without its transfer, and no transfer without its charge)."""

from __future__ import annotations

from ledger.campaigns.uow import CampaignUnitOfWork


def budget_problems(uow: CampaignUnitOfWork) -> list[str]:
    """One sentence per campaign whose budget, grants and ledger transfers disagree."""
    problems: list[str] = []
    with uow.reading(snapshot=True):
        granted = uow.campaigns.spent_by_campaign()
        paid = uow.campaigns.paid_by_reference()
        for row in uow.campaigns.campaigns():
            used = granted.get(row.id, (0, 0))[0]
            name = f"campaign {row.key}"
            if row.remaining != row.budget - used or not 0 <= row.remaining <= row.budget:
                problems.append(
                    f"{name}: remaining {row.remaining}, budget {row.budget} less grants {used} "
                    f"gives {row.budget - used}"
                )
            in_ledger = paid.get(f"campaign:{row.key}", 0)
            if in_ledger != used:
                problems.append(f"{name}: grants took {used}, the ledger paid {in_ledger}")
    return problems
