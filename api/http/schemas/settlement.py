"""HTTP shapes of settlement: the run's report and a contest's prize list."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from engine.contests.settlement import Prize, PrizeList, RefusedPrize, SettlementReport


class RefusedPrizeOut(BaseModel):
    award_id: str
    member_id: int
    rule: str = Field(description="Why the ledger refused it, e.g. `in_stock`")
    detail: str

    @classmethod
    def of(cls, r: RefusedPrize) -> RefusedPrizeOut:
        return cls(award_id=r.award_id, member_id=r.member_id, rule=r.rule, detail=r.detail)


class SettlementOut(BaseModel):
    contest_id: int
    settled: bool = Field(description="Every prize is paid; false while some are refused")
    settled_at: datetime | None
    prizes: int = Field(description="Rows of the frozen prize list (one per member and line)")
    recipients: int = Field(description="Distinct members with a prize")
    paid_now: int
    already_paid: int
    refused: list[RefusedPrizeOut]
    totals: dict[str, int] = Field(description="The whole list by ledger asset: POINTS, XP, ITEM:…")

    @classmethod
    def of(cls, r: SettlementReport) -> SettlementOut:
        return cls(
            contest_id=r.contest_id,
            settled=r.settled,
            settled_at=r.settled_at,
            prizes=r.prizes,
            recipients=r.recipients,
            paid_now=r.paid_now,
            already_paid=r.already_paid,
            refused=[RefusedPrizeOut.of(x) for x in r.refused],
            totals=r.totals,
        )


class PrizeOut(BaseModel):
    kind: str = Field(
        description="`contest` (the contest's table), `pk` (the PK table) or `draw` (a draw)"
    )
    line: int = Field(description="Index of the line in the contest's (or PK) prize table")
    member_id: int
    team_id: int | None
    rank: int = Field(description="Competition rank (PK: the team's place in the PK table)")
    points: int
    xp: int
    item_key: str | None
    award_id: str = Field(description="The ledger transfer id prefix this prize is paid under")
    paid: bool
    paid_at: datetime | None

    @classmethod
    def of(cls, p: Prize) -> PrizeOut:
        return cls(
            kind=p.kind,
            line=p.line,
            member_id=p.member_id,
            team_id=p.team_id,
            rank=p.rank,
            points=p.points,
            xp=p.xp,
            item_key=p.item_key,
            award_id=p.award_id,
            paid=p.paid_at is not None,
            paid_at=p.paid_at,
        )


class PrizeListOut(BaseModel):
    contest_id: int
    settled_at: datetime | None
    prizes: list[PrizeOut]

    @classmethod
    def of(cls, p: PrizeList) -> PrizeListOut:
        return cls(
            contest_id=p.contest_id,
            settled_at=p.settled_at,
            prizes=[PrizeOut.of(x) for x in p.prizes],
        )
