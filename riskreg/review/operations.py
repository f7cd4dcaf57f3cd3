"""Writes of the review cycle: open, move to task force review, close (freezing the snapshot), decisions, addenda.

Closing is one transaction: the snapshot, its entries, the status change and the audit record land
together or not at all (security.md J3). A closed cycle is closed: its decisions, narrative and dates can no
longer change (`ensure_cycle_open`, and database triggers behind it); corrections are dated, signed addenda.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from riskreg import audit, policy
from riskreg.models import (
    CycleAddendum,
    CycleSnapshot,
    CycleStatus,
    Decision,
    ReviewCycle,
    Risk,
    SnapshotEntry,
    TaskForceDecision,
    User,
    utcnow,
)
from riskreg.review import effects
from riskreg.review.facts import record_facts
from riskreg.risks.rows import live_rows
from riskreg.snapshot import Snapshot, row_from_json, row_to_json


class CycleError(ValueError):
    """A cycle change that breaks the review rules; the message is shown to the person."""


class DecisionRefused(CycleError):  # noqa: N818 - reads as what happened to the decision
    """A decision whose effect is refused; `field` is the decision form's field the reason is about, or ""."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class CycleClosedError(CycleError):
    """The cycle is closed: its record is frozen (the web answers 409 with this message)."""

    def __init__(self, cycle: ReviewCycle, what: str = "its record") -> None:
        super().__init__(
            f"Cycle {cycle.code} is closed, so {what} can no longer change. "
            "A correction is recorded as an addendum to its minutes."
        )
        self.cycle = cycle


class CycleNotDueError(CycleError):
    """Closing before the period has ended or the task force has met: allowed once the person confirms it."""

    def __init__(self, cycle: ReviewCycle, pending: list[str]) -> None:
        super().__init__(
            f"{' and '.join(pending)}. Closing now freezes the register before then; confirm to close anyway."
        )
        self.pending = pending


def ensure_cycle_open(cycle: ReviewCycle, what: str = "its record") -> None:
    """Refuse any change to a closed cycle; called first by every write to a cycle's record."""
    if cycle.status == CycleStatus.CLOSED:
        raise CycleClosedError(cycle, what)


def not_yet_due(cycle: ReviewCycle, today: date) -> list[str]:
    """The dates of the cycle that have not come yet on `today`: closing before them needs a confirmation."""
    pending = []
    if cycle.period_end >= today:
        pending.append(f"The period ends on {cycle.period_end:%d %b %Y}")
    meeting = cycle.taskforce_meeting_on
    if meeting is not None and meeting > today:
        pending.append(f"the task force meets on {meeting:%d %b %Y}")
    if pending:
        pending[0] = pending[0][0].upper() + pending[0][1:]
    return pending


@dataclass(frozen=True)
class CycleInput:
    code: str
    period_start: date
    period_end: date
    submission_deadline: date | None = None
    taskforce_meeting_on: date | None = None
    target_session: str = ""


def open_cycle(session: Session, actor: audit.Actor, data: CycleInput) -> ReviewCycle:
    if data.period_end < data.period_start:
        raise CycleError("The period must end after it starts.")
    if session.scalars(select(ReviewCycle.id).where(ReviewCycle.code == data.code)).first() is not None:
        raise CycleError(f"A cycle with the code {data.code} already exists.")
    still_open = session.scalars(select(ReviewCycle).where(ReviewCycle.status != CycleStatus.CLOSED)).first()
    if still_open is not None:
        raise CycleError(f"Cycle {still_open.code} is still open; close it before opening another.")
    cycle = ReviewCycle(
        code=data.code,
        period_start=data.period_start,
        period_end=data.period_end,
        submission_deadline=data.submission_deadline,
        taskforce_meeting_on=data.taskforce_meeting_on,
        target_session=data.target_session,
        status=CycleStatus.OPEN,
        opened_at=utcnow(),
        created_by_id=actor.user_id,
    )
    session.add(cycle)
    session.flush()
    audit.record(session, actor, "open", "review_cycle", cycle.code, f"opened cycle {cycle.code}")
    session.commit()
    return cycle


def start_taskforce_review(session: Session, actor: audit.Actor, cycle: ReviewCycle, expected_version: int) -> None:
    ensure_cycle_open(cycle, "its status")
    _check_version(cycle, expected_version)
    if cycle.status != CycleStatus.OPEN:
        raise CycleError("Only an open cycle can move to task force review.")
    cycle.status = CycleStatus.TF_REVIEW
    session.flush()
    audit.record(
        session, actor, "tf_review", "review_cycle", cycle.code, f"cycle {cycle.code} moved to task force review"
    )
    session.commit()


def set_narrative(session: Session, actor: audit.Actor, cycle: ReviewCycle, text: str, expected_version: int) -> None:
    ensure_cycle_open(cycle, "its narrative")
    _check_version(cycle, expected_version)
    before = cycle.narrative
    cycle.narrative = text.strip()
    session.flush()
    audit.record(
        session,
        actor,
        "update",
        "review_cycle",
        cycle.code,
        f"narrative of {cycle.code} edited",
        {"narrative": [before, cycle.narrative]},
    )
    session.commit()


def close_cycle(
    session: Session,
    actor: audit.Actor,
    cycle: ReviewCycle,
    expected_version: int,
    *,
    as_at: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    commit: bool = True,
    confirmed_early: bool = False,
    closed_at: datetime | None = None,
) -> CycleSnapshot:
    """Close the cycle and freeze every active risk's current assessment as its snapshot.

    The cycle needs its narrative (it opens the Council workbook and can never be written afterwards); before
    the period's end or the task force meeting, closing needs `confirmed_early`. `closed_at` (default now) is for
    loading history, e.g. the demo.
    """
    ensure_cycle_open(cycle, "its status")
    _check_version(cycle, expected_version)
    if not cycle.narrative.strip():
        raise CycleError(
            f"Write the narrative of {cycle.code} before closing it: it opens the Council workbook and "
            "cannot be written once the cycle is closed."
        )
    pending = not_yet_due(cycle, date.today())
    if pending and not confirmed_early:
        raise CycleNotDueError(cycle, pending)
    as_at = as_at or date.today()
    statement = policy.statement_in_force(session, as_at)
    scales = policy.current_scales(session)
    records = live_rows(session, as_at=as_at, progress=progress)
    snapshot = Snapshot(
        cycle_code=cycle.code,
        as_at=as_at,
        statement_version=statement.version if statement else "",
        scales_version=scales.version,
        rows=tuple(row for _, _, row in records),
    )
    frozen = CycleSnapshot(
        review_cycle_id=cycle.id,
        as_at=as_at,
        statement_version=snapshot.statement_version,
        scales_version=snapshot.scales_version,
        risk_count=len(records),
        content_hash=snapshot.content_hash(),
    )
    session.add(frozen)
    session.flush()
    # Looked up once, not per row: the rows carry codes, the entries want ids for filtering.
    unit_ids, category_ids = _code_maps(session)
    entries = [
        {
            "snapshot_id": frozen.id,
            "risk_id": risk_id,
            "assessment_id": assessment_id,
            "ref": row.ref,
            "org_unit_id": unit_ids[row.unit_code],
            "category_id": category_ids[row.category_code],
            "residual_likelihood": row.residual_likelihood,
            "residual_impact": row.residual_impact,
            "residual_score": row.residual_score,
            "zone": row.zone,
            "row_json": json.dumps(row_to_json(row), sort_keys=True, ensure_ascii=False),
        }
        for risk_id, assessment_id, row in records
    ]
    if entries:
        session.execute(cast(Table, SnapshotEntry.__table__).insert(), entries)
        # The review page's columns per entry (riskreg/review/facts.py), so it never parses the JSON.
        record_facts(session, frozen.id, ((risk_id, row) for risk_id, _, row in records), as_at)
    cycle.status = CycleStatus.CLOSED
    cycle.closed_at = closed_at or utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "close",
        "review_cycle",
        cycle.code,
        f"closed cycle {cycle.code}: {len(records)} risks frozen",
        {"content_hash": frozen.content_hash},
    )
    if commit:
        code = cycle.code
        session.commit()
        from riskreg.jobs import prerender_heatmaps  # a job: the first visit to the closed cycle finds them drawn

        prerender_heatmaps(session, actor, code)
    return frozen


def load_snapshot(session: Session, cycle: ReviewCycle, *, slim: bool = False) -> Snapshot:
    """The frozen register of a closed cycle, exactly as it was frozen (hash verified).

    Read as a stream (`yield_per`): each stored row is parsed, hashed and turned into a RiskRow, then dropped,
    so the JSON of 100,000 rows is never held at once. `slim` leaves out what movement never reads (the
    statement texts, rationale, controls and actions): for a previous cycle that is only compared with.
    """
    frozen = session.scalars(select(CycleSnapshot).where(CycleSnapshot.review_cycle_id == cycle.id)).first()
    if frozen is None:
        raise CycleError(f"Cycle {cycle.code} has no frozen snapshot (it is not closed).")
    texts = session.scalars(
        select(SnapshotEntry.row_json)
        .where(SnapshotEntry.snapshot_id == frozen.id)
        .order_by(SnapshotEntry.id)
        .execution_options(yield_per=1000)
    )
    parts = (cycle.code, frozen.as_at.isoformat(), frozen.statement_version, frozen.scales_version)
    # The stored JSON is exactly `row_to_json(row)`, so hashing it as `Snapshot.content_hash` lays it out gives
    # the same digest five times faster than re-serialising the rows (asdict). Any doubt: the slow, exact check.
    digest = hashlib.sha256("".join(f"{part}|" for part in parts).encode("utf-8") + b"[")
    rows = []
    for index, text in enumerate(texts):
        data = json.loads(text)
        compact = json.dumps(data, sort_keys=True, separators=(",", ":"))
        digest.update(("," if index else "").encode("utf-8") + compact.encode("utf-8"))
        rows.append(row_from_json(_shared(data, slim)))
    digest.update(b"]")
    snapshot = Snapshot(
        cycle_code=cycle.code,
        as_at=frozen.as_at,
        statement_version=frozen.statement_version,
        scales_version=frozen.scales_version,
        rows=tuple(rows),
    )
    matches = digest.hexdigest() == frozen.content_hash or (not slim and snapshot.content_hash() == frozen.content_hash)
    if not matches:
        raise CycleError(f"The snapshot of cycle {cycle.code} does not match its hash; it may have been tampered with.")
    return snapshot


# Values that repeat across rows (codes, bands, statuses, dates): one object each instead of one per row, which
# is most of a 100,000-row snapshot's memory after its texts.
_SHARED_TEXT = (
    "category_code",
    "category_name",
    "unit_code",
    "unit_name",
    "level",
    "nature",
    "status",
    "owner_title",
    "treatment",
    "inherent_band",
    "residual_band",
    "zone",
    "appetite_level",
    "statement_version",
    "target_band",
    "control_effectiveness",
    "trend_reason",
    "acceptance_level",
    "escalation_level",
    "escalation_status",
    "closed_reason",
)
_ROW_DATES = ("target_date", "assessed_on", "acceptance_until")
_ACTION_TEXT = ("owner_title", "unit_code", "status", "risk_ref")
_ACTION_DATES = ("due_date", "revised_due_date", "completed_on")
_SLIM_DROPPED = {"cause": "", "event": "", "consequence": "", "rationale": "", "controls_summary": "", "actions": []}


@lru_cache(maxsize=8192)
def _day(text: str) -> date:
    return date.fromisoformat(text)


def _shared(data: dict[str, Any], slim: bool) -> dict[str, Any]:
    for name in _SHARED_TEXT:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = sys.intern(value)
    for name in _ROW_DATES:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = _day(value)
    if slim:
        data.update(_SLIM_DROPPED)
        return data
    for action in data.get("actions", ()):
        for name in _ACTION_TEXT:
            value = action.get(name)
            if isinstance(value, str):
                action[name] = sys.intern(value)
        for name in _ACTION_DATES:
            value = action.get(name)
            if isinstance(value, str):
                action[name] = _day(value)
    return data


def previous_closed_cycle(session: Session, cycle: ReviewCycle) -> ReviewCycle | None:
    """The closed cycle before `cycle` (by period), for movement."""
    return session.scalars(
        select(ReviewCycle)
        .where(ReviewCycle.status == CycleStatus.CLOSED, ReviewCycle.period_end < cycle.period_start)
        .order_by(ReviewCycle.period_end.desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class DecisionInput:
    decision: Decision
    comment: str = ""
    minute_ref: str = ""
    decided_on: date | None = None  # default: today
    effect: effects.EffectInput = effects.EffectInput()  # what merge and acceptance need


# Decisions that change nothing need no explanation; every other one is minuted with its reason.
DECISIONS_WITHOUT_COMMENT = frozenset({Decision.NOTED, Decision.VALIDATED})
COMMENT_MAX = 4000
MINUTE_REF_MAX = 60


def record_decision(
    session: Session, actor: audit.Actor, cycle: ReviewCycle, risk: Risk, data: DecisionInput
) -> TaskForceDecision:
    """Minute a task force decision on a risk of the cycle and apply its effect, in one transaction.

    Decisions are never edited: a correction is a new one. A refused effect refuses the decision: nothing is
    written, and the `CycleError` says why.
    """
    ensure_cycle_open(cycle, "its decisions")
    comment, minute_ref = data.comment.strip(), data.minute_ref.strip()
    decided_on = data.decided_on or date.today()
    if cycle.status == CycleStatus.PLANNED:
        raise CycleError(f"Cycle {cycle.code} has not opened yet.")
    if risk.is_deleted:
        raise CycleError(f"Risk {risk.ref} is deleted.")
    if data.decision not in DECISIONS_WITHOUT_COMMENT and not comment:
        raise CycleError(f"Say why: a comment is required for “{data.decision.label}”.")
    if len(comment) > COMMENT_MAX or len(minute_ref) > MINUTE_REF_MAX:
        raise CycleError(f"The comment may be {COMMENT_MAX} and the minute reference {MINUTE_REF_MAX} characters long.")
    if decided_on > date.today() or decided_on < cycle.period_start:
        raise CycleError("The decision date must fall between the start of the cycle and today.")
    if not _risk_in_cycle(session, cycle, risk):
        raise CycleError(f"Risk {risk.ref} is not part of cycle {cycle.code}.")
    decision = TaskForceDecision(
        review_cycle_id=cycle.id,
        risk_id=risk.id,
        decision=data.decision,
        comment=comment,
        minute_ref=minute_ref,
        decided_on=decided_on,
        decided_by_id=actor.user_id,
    )
    session.add(decision)
    session.flush()
    try:
        decision.effect = effects.apply(session, actor, cycle, risk, decision, data.effect)
    except effects.DecisionRefusedError as exc:
        session.rollback()
        raise DecisionRefused(str(exc), exc.field) from None
    session.flush()
    # Filed under the risk, so the decision shows in the risk's own audit trail.
    audit.record(
        session,
        actor,
        "decide",
        "risk",
        risk.ref,
        f"task force decision in {cycle.code}: {data.decision.label} — {decision.effect}",
        {
            "cycle": cycle.code,
            "decision": data.decision.value,
            "comment": comment,
            "minute_ref": minute_ref,
            "effect": decision.effect,
        },
    )
    session.commit()
    return decision


ADDENDUM_MAX = 4000


def add_addendum(
    session: Session, actor: audit.Actor, cycle: ReviewCycle, text: str, signer: User | None
) -> CycleAddendum:
    """Append a dated, signed correction to a closed cycle's minutes. Addenda are never edited: add another."""
    text = text.strip()
    if cycle.status != CycleStatus.CLOSED:
        raise CycleError(f"Cycle {cycle.code} is not closed: correct its record directly; addenda follow a closing.")
    if not text:
        raise CycleError("Write the correction: an addendum cannot be empty.")
    if len(text) > ADDENDUM_MAX:
        raise CycleError(f"An addendum may be {ADDENDUM_MAX} characters long.")
    signed_by = (f"{signer.name}, {signer.title}" if signer.title else signer.name) if signer else actor.email
    last = session.scalar(select(func.max(CycleAddendum.number)).where(CycleAddendum.review_cycle_id == cycle.id))
    addendum = CycleAddendum(
        review_cycle_id=cycle.id,
        number=(last or 0) + 1,
        text=text,
        added_on=date.today(),
        signed_by_id=signer.id if signer else None,
        signed_by=(signed_by or actor.email)[:300],
    )
    session.add(addendum)
    session.flush()
    audit.record(
        session,
        actor,
        "addendum",
        "review_cycle",
        cycle.code,
        f"addendum {addendum.number} to the minutes of {cycle.code}",
        {"number": addendum.number, "text": text, "signed_by": addendum.signed_by},
    )
    session.commit()
    return addendum


def _risk_in_cycle(session: Session, cycle: ReviewCycle, risk: Risk) -> bool:
    """A closed cycle holds the risks of its snapshot; an open one every assessed risk of the register."""
    if cycle.status != CycleStatus.CLOSED:
        return risk.current_assessment_id is not None
    found = session.scalar(
        select(SnapshotEntry.id)
        .join(CycleSnapshot, CycleSnapshot.id == SnapshotEntry.snapshot_id)
        .where(CycleSnapshot.review_cycle_id == cycle.id, SnapshotEntry.risk_id == risk.id)
    )
    return found is not None


def _code_maps(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    from riskreg.models import OrgUnit, RiskCategory

    units = {code: id_ for id_, code in session.execute(select(OrgUnit.id, OrgUnit.code))}
    categories = {code: id_ for id_, code in session.execute(select(RiskCategory.id, RiskCategory.code))}
    return units, categories


def _check_version(cycle: ReviewCycle, expected_version: int) -> None:
    if cycle.version != expected_version:
        from riskreg.risks.operations import StaleEdit

        raise StaleEdit(cycle)
