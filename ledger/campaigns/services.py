"""Campaign use cases: set up experiments and campaigns, record a member's sticky variant,
grant through a campaign, and the experiment's measured lift. Each is one transaction
(``with uow: … uow.commit()``); ``now`` is the server's clock (tests pass their own).

A grant charges the campaign's budget and appends the ledger transfer in one transaction:
the charge is a conditional UPDATE (``remaining = remaining - n WHERE remaining >= n``), which
on PostgreSQL holds the campaign row until commit, so the frequency cap counted after it and
the grant row inserted with it cannot race either. A refused grant (budget exhausted, cap
reached, item out of stock) rolls everything back: no charge without a transfer, no transfer
without a charge. The grant id ``campaign:<key>:<operation>`` makes a retried grant a replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from core.clock import utc_now
from core.errors import Conflict, NotFound, RuleViolation
from ledger.campaigns import model
from ledger.campaigns.model import (
    BudgetKind,
    CampaignSpec,
    CapPeriod,
    Exposure,
    FrequencyCap,
    Variant,
    VariantResult,
)
from ledger.campaigns.store import (
    CampaignGrantRow,
    CampaignRow,
    ExperimentAssignmentRow,
    ExperimentRow,
)
from ledger.campaigns.uow import CampaignUnitOfWork
from ledger.earning import Award
from ledger.engagement.awards import accounts_of, award_requests, pay
from ledger.engagement.items import OutOfStock, stock_left
from ledger.engagement.tasks import TaskCompletion, complete_task
from ledger.model import (
    LedgerRequest,
    TransferRequest,
    inventory_account,
    item_asset,
    stock_account,
)
from ledger.services.transfers import LedgerRefusal, record_failures

REASON = "campaign"


# --- records ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExperimentSpec:
    key: str
    title: str
    variants: tuple[Variant, ...]


@dataclass(frozen=True, slots=True)
class Experiment:
    id: int
    key: str
    title: str
    variants: tuple[Variant, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignStatus:
    """A campaign and its budget: ``spent`` + ``remaining`` = ``budget`` (see ``check``)."""

    id: int
    spec: CampaignSpec
    spent: int
    remaining: int
    grants: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    campaign_key: str
    member_id: int
    kind: BudgetKind
    amount: int
    item_key: str | None
    variant: str | None
    local_period: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExperimentResults:
    experiment: Experiment
    variants: tuple[VariantResult, ...]


# --- set-up -------------------------------------------------------------------------------------


def create_experiment(
    uow: CampaignUnitOfWork,
    spec: ExperimentSpec,
    *,
    operator_id: int | None,
    now: datetime | None = None,
) -> Experiment:
    """Set up an A/B test (the first variant is the control); 409 ``unique`` for a taken key."""
    model.check_key(spec.key, field="key")
    model.check_variants(spec.variants)
    with uow:
        if uow.campaigns.experiment(spec.key) is not None:
            raise Conflict(f"experiment {spec.key!r} exists", field="key", rule="unique")
        row = uow.campaigns.add_experiment(
            ExperimentRow(
                key=spec.key,
                title=spec.title,
                variants=[_variant_json(v) for v in spec.variants],
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        uow.commit()
        return _experiment(row)


def list_experiments(uow: CampaignUnitOfWork) -> list[Experiment]:
    with uow.reading():
        return [_experiment(row) for row in uow.campaigns.experiments()]


def create_campaign(
    uow: CampaignUnitOfWork,
    spec: CampaignSpec,
    *,
    operator_id: int | None,
    now: datetime | None = None,
) -> CampaignStatus:
    """Set up a campaign with its full budget left; the item and experiment must exist."""
    model.check_campaign(spec)
    with uow:
        if uow.campaigns.campaign(spec.key) is not None:
            raise Conflict(f"campaign {spec.key!r} exists", field="key", rule="unique")
        if spec.item_key is not None and uow.engagement.item_by_key(spec.item_key) is None:
            raise RuleViolation(
                f"no reward item {spec.item_key!r}", field="item_key", rule="known_item"
            )
        experiment = None
        if spec.experiment_key is not None:
            experiment = uow.campaigns.experiment(spec.experiment_key)
            if experiment is None:
                raise RuleViolation(
                    f"no experiment {spec.experiment_key!r}",
                    field="experiment_key",
                    rule="known_experiment",
                )
        row = uow.campaigns.add_campaign(
            CampaignRow(
                key=spec.key,
                title=spec.title,
                kind=spec.kind.value,
                item_key=spec.item_key,
                budget=spec.budget,
                remaining=spec.budget,
                reward=spec.reward,
                starts_at=spec.starts_at,
                ends_at=spec.ends_at,
                cap_count=None if spec.cap is None else spec.cap.count,
                cap_period=None if spec.cap is None else spec.cap.period.value,
                timezone=spec.timezone,
                experiment_id=None if experiment is None else experiment.id,
                created_by=operator_id,
                created_at=now or utc_now(),
            )
        )
        status = _status(uow, row, spent=0, grants=0)
        uow.commit()
        return status


def list_campaigns(uow: CampaignUnitOfWork) -> list[CampaignStatus]:
    """Every campaign with its budget spent (summed from the grants) and remaining."""
    with uow.reading():
        spent = uow.campaigns.spent_by_campaign()
        return [
            _status(
                uow, row, spent=spent.get(row.id, (0, 0))[0], grants=spent.get(row.id, (0, 0))[1]
            )
            for row in uow.campaigns.campaigns()
        ]


def get_campaign(uow: CampaignUnitOfWork, key: str) -> CampaignStatus:
    with uow.reading():
        row = _require_campaign(uow, key)
        spent, grants = uow.campaigns.spent_by_campaign().get(row.id, (0, 0))
        return _status(uow, row, spent=spent, grants=grants)


def set_member_timezone(
    uow: CampaignUnitOfWork, member_id: int, timezone: str, *, now: datetime | None = None
) -> None:
    """Record the member's own IANA zone: their frequency caps count in it from now on."""
    model.zone(timezone)
    with uow:
        uow.campaigns.set_member_timezone(member_id, timezone, now or utc_now())
        uow.commit()


# --- exposure and grants ------------------------------------------------------------------------


def expose(
    uow: CampaignUnitOfWork,
    experiment_key: str,
    member_id: int,
    *,
    timezone: str = model.DEFAULT_ZONE,
    now: datetime | None = None,
) -> str:
    """The member's variant, recorded at the first exposure (later calls return the record);
    the exposure's local day is in the member's own zone if known, else ``timezone``."""
    moment = now or utc_now()
    with uow:
        experiment = _require_experiment(uow, experiment_key)
        zone_name = uow.campaigns.member_timezone(member_id) or timezone
        variant = _exposed(uow, experiment, member_id, moment, zone_name)
        uow.commit()
        return variant.name


def expose_many(
    uow: CampaignUnitOfWork,
    experiment_key: str,
    member_ids: Sequence[int],
    *,
    timezone: str = model.DEFAULT_ZONE,
    now: datetime | None = None,
) -> dict[int, str]:
    """``expose`` for many members in one transaction (bulk imports, the season simulation):
    member id → their variant."""
    moment = now or utc_now()
    if not member_ids:
        return {}
    with uow:
        experiment = _require_experiment(uow, experiment_key)
        chosen = {
            member_id: _exposed(
                uow,
                experiment,
                member_id,
                moment,
                uow.campaigns.member_timezone(member_id) or timezone,
            ).name
            for member_id in member_ids
        }
        uow.commit()
        return chosen


def grant(
    uow: CampaignUnitOfWork,
    campaign_key: str,
    member_id: int,
    *,
    operation: str,
    now: datetime | None = None,
) -> Grant:
    """Pay the member one grant of the campaign (the variant's reward when an experiment is
    attached), charging the budget in the same transaction. 409 ``campaign_budget_exhausted``
    or ``frequency_cap_reached``; the same ``operation`` again returns the first grant."""
    moment = now or utc_now()
    grant_id = model.grant_id(campaign_key, operation)
    requests: list[LedgerRequest] = []
    try:
        with uow:
            done = uow.campaigns.grant(grant_id)
            if done is not None:
                return _replayed(uow, done, member_id)
            row = _require_campaign(uow, campaign_key)
            spec = _spec(uow, row)
            if not model.open_at(spec, moment):
                raise RuleViolation(
                    f"campaign {campaign_key!r} is not running now",
                    field="campaign",
                    rule="campaign_window",
                )
            variant = None
            if row.experiment_id is not None:
                experiment = uow.campaigns.experiment_by_id(row.experiment_id)
                assert experiment is not None  # a foreign key
                zone_name = uow.campaigns.member_timezone(member_id) or spec.timezone
                variant = _exposed(uow, experiment, member_id, moment, zone_name)
            amount = spec.reward if variant is None or variant.reward is None else variant.reward
            charged = uow.campaigns.charge(row.id, amount)  # waits for a concurrent grant
            done = uow.campaigns.grant(grant_id)
            if done is not None:  # the same operation committed meanwhile: ours rolls back
                return _replayed(uow, done, member_id)
            if not charged:
                raise model.budget_exhausted(uow.campaigns.remaining(row.id), amount)
            period = _cap_period(uow, spec, member_id, row.id, moment)
            requests = _requests(spec, member_id, amount, grant_id)
            if spec.item_key is not None:
                # The grant's shards, the stock's among them: the stock cannot move between
                # this check and the append.
                uow.ledger.lock_accounts(accounts_of(requests))
            if spec.item_key is not None and stock_left(uow, spec.item_key) < amount:
                raise OutOfStock(
                    f"reward item {spec.item_key!r} is out of stock",
                    field="item_key",
                    rule="in_stock",
                )
            pay(uow, member_id, requests, now=moment)
            made = CampaignGrantRow(
                id=grant_id,
                campaign_id=row.id,
                member_id=member_id,
                amount=amount,
                variant=None if variant is None else variant.name,
                local_period=period,
                created_at=moment,
            )
            uow.campaigns.add_grant(made)
            uow.commit()
            return _grant(made, spec)
    except LedgerRefusal as refusal:
        record_failures(uow, requests, refusal, now=moment)
        raise refusal.error from None


@dataclass(frozen=True, slots=True)
class TaskWithBonus:
    task: TaskCompletion
    bonus: Grant | None
    refused: str | None  # the bonus's refusal rule (budget spent, cap reached), if refused


def complete_task_with_bonus(
    uow: CampaignUnitOfWork,
    member_id: int,
    task_key: str,
    *,
    completion_id: str,
    campaign_key: str,
    now: datetime | None = None,
) -> TaskWithBonus:
    """A task completion plus the bonus of the campaign the operator attached to it (the
    variant's reward when the campaign runs an experiment). The task pays as it always does;
    the bonus is granted under the operation ``task:<completion id>``, so a retry after a crash
    between the two replays the task and pays the missing bonus once. A refused bonus (budget
    spent, cap reached, campaign not running) leaves the task paid and says why."""
    moment = now or utc_now()
    done = complete_task(uow, member_id, task_key, completion_id=completion_id, now=moment)
    try:
        bonus = grant(uow, campaign_key, member_id, operation=f"task:{completion_id}", now=moment)
    except (Conflict, RuleViolation) as refusal:
        return TaskWithBonus(done, None, str(refusal.extensions.get("rule") or refusal.slug))
    return TaskWithBonus(done, bonus, None)


def _cap_period(
    uow: CampaignUnitOfWork, spec: CampaignSpec, member_id: int, campaign_id: int, moment: datetime
) -> str | None:
    """The member's local period the grant counts against, refusing it past the cap."""
    if spec.cap is None:
        return None
    tz = model.member_zone(uow.campaigns.member_timezone(member_id), spec.timezone)
    period = model.local_period(moment, tz, spec.cap.period)
    model.check_cap(spec.cap, uow.campaigns.granted_in(campaign_id, member_id, period))
    return period


def _requests(
    spec: CampaignSpec, member_id: int, amount: int, grant_id: str
) -> list[LedgerRequest]:
    reference = f"campaign:{spec.key}"
    if spec.kind is BudgetKind.POINTS:
        return award_requests(
            member_id, Award(points=amount), id_prefix=grant_id, reason=REASON, reference=reference
        )
    assert spec.item_key is not None  # check_campaign
    return [
        TransferRequest(
            id=f"{grant_id}:item",
            debit=stock_account(spec.item_key),
            credit=inventory_account(member_id),
            asset=item_asset(spec.item_key),
            amount=amount,
            reason=REASON,
            reference=reference,
        )
    ]


def _exposed(
    uow: CampaignUnitOfWork,
    experiment: ExperimentRow,
    member_id: int,
    moment: datetime,
    zone_name: str,
) -> Variant:
    """The member's recorded variant, or the hashed one recorded now (open txn)."""
    variants = _variants(experiment)
    found = uow.campaigns.assignment(experiment.id, member_id)
    if found is None:
        chosen = model.assign(experiment.key, member_id, variants)
        found = uow.campaigns.add_assignment(
            ExperimentAssignmentRow(
                experiment_id=experiment.id,
                member_id=member_id,
                variant=chosen.name,
                exposed_on=moment.astimezone(model.zone(zone_name)).date().isoformat(),
                assigned_at=moment,
            )
        )
    return next(v for v in variants if v.name == found.variant)


def _replayed(uow: CampaignUnitOfWork, done: CampaignGrantRow, member_id: int) -> Grant:
    """The grant an earlier run of the same operation made (it must be the same member's)."""
    if done.member_id != member_id:
        raise Conflict("this operation granted another member", field="operation", rule="unique")
    row = uow.campaigns.campaign_by_id(done.campaign_id)
    assert row is not None  # a foreign key
    return _grant(done, _spec(uow, row))


# --- results ------------------------------------------------------------------------------------


def experiment_results(uow: CampaignUnitOfWork, experiment_key: str) -> ExperimentResults:
    """Per variant: members exposed, participation (earned through one of the experiment's
    campaigns), D1 / D7 retention (checked in or completed a task 1 / 7 local days after the
    first exposure) and each one's lift over the control with a 95 % interval."""
    with uow.reading():
        experiment = _require_experiment(uow, experiment_key)
        assignments = uow.campaigns.assignments(experiment.id)
        members = [a.member_id for a in assignments]
        participants = uow.campaigns.participants(uow.campaigns.campaign_ids_of(experiment.id))
        active = uow.campaigns.active_days(members)
        exposures = [
            Exposure(
                variant=a.variant,
                exposed_on=date.fromisoformat(a.exposed_on),
                participated=a.member_id in participants,
                active_days=frozenset(date.fromisoformat(d) for d in active[a.member_id]),
            )
            for a in assignments
        ]
        return ExperimentResults(
            experiment=_experiment(experiment),
            variants=tuple(model.results(_variants(experiment), exposures)),
        )


# --- mapping ------------------------------------------------------------------------------------


def _require_campaign(uow: CampaignUnitOfWork, key: str) -> CampaignRow:
    row = uow.campaigns.campaign(key)
    if row is None:
        raise NotFound(f"no campaign {key!r}", field="campaign")
    return row


def _require_experiment(uow: CampaignUnitOfWork, key: str) -> ExperimentRow:
    row = uow.campaigns.experiment(key)
    if row is None:
        raise NotFound(f"no experiment {key!r}", field="experiment")
    return row


def _variant_json(variant: Variant) -> dict[str, object]:
    return {"name": variant.name, "weight": variant.weight, "reward": variant.reward}


def _variants(row: ExperimentRow) -> tuple[Variant, ...]:
    return tuple(
        Variant(
            name=str(v["name"]),
            weight=int(v["weight"]),
            reward=None if v.get("reward") is None else int(v["reward"]),
        )
        for v in row.variants
    )


def _experiment(row: ExperimentRow) -> Experiment:
    return Experiment(
        id=row.id, key=row.key, title=row.title, variants=_variants(row), created_at=row.created_at
    )


def _spec(uow: CampaignUnitOfWork, row: CampaignRow) -> CampaignSpec:
    experiment_key = None
    if row.experiment_id is not None:
        experiment = uow.campaigns.experiment_by_id(row.experiment_id)
        experiment_key = None if experiment is None else experiment.key
    cap = (
        None
        if row.cap_count is None or row.cap_period is None
        else FrequencyCap(row.cap_count, CapPeriod(row.cap_period))
    )
    return CampaignSpec(
        key=row.key,
        title=row.title,
        kind=BudgetKind(row.kind),
        budget=row.budget,
        reward=row.reward,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        item_key=row.item_key,
        cap=cap,
        timezone=row.timezone,
        experiment_key=experiment_key,
    )


def _status(
    uow: CampaignUnitOfWork, row: CampaignRow, *, spent: int, grants: int
) -> CampaignStatus:
    return CampaignStatus(
        id=row.id,
        spec=_spec(uow, row),
        spent=spent,
        remaining=row.remaining,
        grants=grants,
        created_at=row.created_at,
    )


def _grant(row: CampaignGrantRow, spec: CampaignSpec) -> Grant:
    return Grant(
        id=row.id,
        campaign_key=spec.key,
        member_id=row.member_id,
        kind=spec.kind,
        amount=row.amount,
        item_key=spec.item_key,
        variant=row.variant,
        local_period=row.local_period,
        created_at=row.created_at,
    )
