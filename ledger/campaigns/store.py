"""Mappings and repository of campaigns (budget and caps), their grants, experiments, the
recorded variant assignments and members' own time zones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, UtcDateTime
from ledger.store.engagement import CheckInRow, TaskCompletionRow
from ledger.store.transfers import TransferRow


class ExperimentRow(Base):
    """An A/B test: weighted variants (``[{name, weight, reward}]``, the first is the control)."""

    __tablename__ = "experiments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CampaignRow(Base):
    """A campaign's budget (``remaining`` is charged by a conditional UPDATE), reward, window,
    per-member cap and default zone."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("kind IN ('points', 'item')", name="kind"),
        CheckConstraint("remaining >= 0 AND remaining <= budget", name="remaining_in_budget"),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("cap_period IS NULL OR cap_period IN ('day', 'week')", name="cap_period"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    item_key: Mapped[str | None] = mapped_column(String(64))
    budget: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    reward: Mapped[int] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cap_count: Mapped[int | None] = mapped_column(Integer)
    cap_period: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    experiment_id: Mapped[int | None] = mapped_column(ForeignKey("experiments.id"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CampaignGrantRow(Base):
    """One grant paid through a campaign; ``id`` is its ledger id prefix (a replay finds it).
    ``local_period`` is the member's local day or week it counts against (None: no cap)."""

    __tablename__ = "campaign_grants"
    __table_args__ = (
        Index("ix_campaign_grants_member_period", "campaign_id", "member_id", "local_period"),
        CheckConstraint("amount > 0", name="positive_amount"),
    )

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    variant: Mapped[str | None] = mapped_column(String(64))
    local_period: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ExperimentAssignmentRow(Base):
    """A member's variant, recorded at first exposure; ``exposed_on`` is that local day."""

    __tablename__ = "experiment_assignments"

    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False, index=True
    )
    variant: Mapped[str] = mapped_column(String(64))
    exposed_on: Mapped[str] = mapped_column(String(10))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MemberTimeZoneRow(Base):
    """A member's own IANA time zone (caps count in it instead of the campaign's)."""

    __tablename__ = "member_time_zones"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    timezone: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CampaignsRepository:
    """Campaign persistence (``uow.campaigns``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- campaigns ---
    def add_campaign(self, row: CampaignRow) -> CampaignRow:
        self.session.add(row)
        self.session.flush()
        return row

    def campaign(self, key: str) -> CampaignRow | None:
        return self.session.scalars(select(CampaignRow).where(CampaignRow.key == key)).one_or_none()

    def campaign_by_id(self, campaign_id: int) -> CampaignRow | None:
        return self.session.get(CampaignRow, campaign_id)

    def campaigns(self) -> list[CampaignRow]:
        return list(self.session.scalars(select(CampaignRow).order_by(CampaignRow.id)))

    def charge(self, campaign_id: int, amount: int) -> bool:
        """Take ``amount`` from the budget unless less is left; False when it is. One statement
        (``remaining = remaining - n WHERE remaining >= n``): PostgreSQL re-checks the WHERE
        after a concurrent writer commits, so the last unit goes to exactly one grant."""
        result = self.session.execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id, CampaignRow.remaining >= amount)
            .values(remaining=CampaignRow.remaining - amount)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def remaining(self, campaign_id: int) -> int:
        stmt = select(CampaignRow.remaining).where(CampaignRow.id == campaign_id)
        return int(self.session.scalar(stmt) or 0)

    # --- grants ---
    def grant(self, grant_id: str) -> CampaignGrantRow | None:
        return self.session.get(CampaignGrantRow, grant_id)

    def add_grant(self, row: CampaignGrantRow) -> None:
        self.session.add(row)
        self.session.flush()

    def granted_in(self, campaign_id: int, member_id: int, local_period: str) -> int:
        stmt = select(func.count()).where(
            CampaignGrantRow.campaign_id == campaign_id,
            CampaignGrantRow.member_id == member_id,
            CampaignGrantRow.local_period == local_period,
        )
        return int(self.session.scalar(stmt) or 0)

    def spent_by_campaign(self) -> dict[int, tuple[int, int]]:
        """Campaign id → (units granted, grant count), summed from the grants."""
        stmt = select(
            CampaignGrantRow.campaign_id, func.sum(CampaignGrantRow.amount), func.count()
        ).group_by(CampaignGrantRow.campaign_id)
        return {cid: (int(total or 0), int(n)) for cid, total, n in self.session.execute(stmt)}

    def paid_by_reference(self) -> dict[str, int]:
        """Ledger reference (``campaign:<key>``) → units the ledger paid for campaign grants."""
        stmt = (
            select(TransferRow.reference, func.sum(TransferRow.amount))
            .where(TransferRow.reason == "campaign")
            .group_by(TransferRow.reference)
        )
        return {reference: int(total or 0) for reference, total in self.session.execute(stmt)}

    def participants(self, campaign_ids: Sequence[int]) -> set[int]:
        if not campaign_ids:
            return set()
        stmt = select(CampaignGrantRow.member_id).where(
            CampaignGrantRow.campaign_id.in_(list(campaign_ids))
        )
        return set(self.session.scalars(stmt.distinct()))

    # --- experiments ---
    def add_experiment(self, row: ExperimentRow) -> ExperimentRow:
        self.session.add(row)
        self.session.flush()
        return row

    def experiment(self, key: str) -> ExperimentRow | None:
        stmt = select(ExperimentRow).where(ExperimentRow.key == key)
        return self.session.scalars(stmt).one_or_none()

    def experiment_by_id(self, experiment_id: int) -> ExperimentRow | None:
        return self.session.get(ExperimentRow, experiment_id)

    def experiments(self) -> list[ExperimentRow]:
        return list(self.session.scalars(select(ExperimentRow).order_by(ExperimentRow.id)))

    def campaign_ids_of(self, experiment_id: int) -> list[int]:
        stmt = select(CampaignRow.id).where(CampaignRow.experiment_id == experiment_id)
        return list(self.session.scalars(stmt))

    def assignment(self, experiment_id: int, member_id: int) -> ExperimentAssignmentRow | None:
        return self.session.get(ExperimentAssignmentRow, (experiment_id, member_id))

    def add_assignment(self, row: ExperimentAssignmentRow) -> ExperimentAssignmentRow:
        """Record the first exposure; a concurrent first exposure wins and is returned."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            found = self.assignment(row.experiment_id, row.member_id)
            assert found is not None  # the unique key that refused the insert holds it
            return found
        return row

    def assignments(self, experiment_id: int) -> list[ExperimentAssignmentRow]:
        stmt = select(ExperimentAssignmentRow).where(
            ExperimentAssignmentRow.experiment_id == experiment_id
        )
        return list(self.session.scalars(stmt.order_by(ExperimentAssignmentRow.member_id)))

    def active_days(self, member_ids: Sequence[int]) -> dict[int, set[str]]:
        """Member id → the local days (ISO) they checked in or completed a task."""
        out: dict[int, set[str]] = {m: set() for m in member_ids}
        if not member_ids:
            return out
        wanted = list(member_ids)
        for table in (CheckInRow, TaskCompletionRow):
            stmt = select(table.member_id, table.local_date).where(table.member_id.in_(wanted))
            for member_id, local_date in self.session.execute(stmt.distinct()):
                out[member_id].add(local_date)
        return out

    # --- members' zones ---
    def member_timezone(self, member_id: int) -> str | None:
        row = self.session.get(MemberTimeZoneRow, member_id)
        return None if row is None else row.timezone

    def set_member_timezone(self, member_id: int, timezone: str, when: datetime) -> None:
        row = self.session.get(MemberTimeZoneRow, member_id)
        if row is None:
            self.session.add(
                MemberTimeZoneRow(member_id=member_id, timezone=timezone, updated_at=when)
            )
        else:
            row.timezone, row.updated_at = timezone, when
        self.session.flush()
