"""The task force's agenda, the cycle's review list, the headline numbers, the minuted decisions and addenda.

Read side, like `riskreg.review.queries`, and computed from the same cycle data, so the agenda always
talks about the risks the heatmap shows.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskreg import movement, policy
from riskreg.appetite import Zone
from riskreg.models import CycleAddendum, CycleStatus, Decision, OrgUnit, ReviewCycle, Risk, TaskForceDecision, User
from riskreg.review.facts import frozen_rows, snapshot_of
from riskreg.review.operations import previous_closed_cycle
from riskreg.review.queries import CycleData, HeatFilters, Memo, select_rows
from riskreg.risks.queries import review_is_due
from riskreg.risks.rows import live_rows
from riskreg.scoring import Scales
from riskreg.snapshot import RiskRow, Snapshot

AGENDA_LIMIT = 100  # rows shown per agenda section; the rest are counted and reachable by filtering
_MOVES: Memo[tuple[str, str, str], dict[str, movement.MovementRow]] = Memo(8)


@dataclass(frozen=True)
class AgendaItem:
    row: RiskRow
    move: movement.MovementRow | None
    note: str  # why the risk is on this part of the agenda


@dataclass(frozen=True)
class AgendaSection:
    key: str
    title: str
    description: str
    items: list[AgendaItem]
    total: int


@dataclass(frozen=True)
class DecisionEntry:
    """A recorded task force decision as the minutes and the agenda show it."""

    id: int
    risk_ref: str
    risk_title: str
    unit_code: str
    decision: str
    decision_label: str
    comment: str
    minute_ref: str
    decided_on: date
    decided_by: str
    effect: str = ""  # what the decision did, stored with it (empty for decisions minuted before effects)


# --------------------------------------------------------------------------- movement and agenda


def movements(data: CycleData) -> dict[str, movement.MovementRow]:
    """Each risk's movement since the previous closed cycle (empty when there is none)."""
    previous = data.previous
    if previous is None:
        return {}

    def compare() -> dict[str, movement.MovementRow]:
        return {m.ref: m for m in movement.compare(previous, data.snapshot, data.scales)}

    if data.frozen:
        return _MOVES.get_or_make((data.previous_hash, data.content_hash, data.scales.version), compare)
    return compare()


def agenda(data: CycleData, filters: HeatFilters, moves: Mapping[str, movement.MovementRow]) -> list[AgendaSection]:
    """What the task force discusses: outside tolerance, above appetite unaccepted, new, increased, overdue actions."""
    as_at = data.snapshot.as_at
    rows = select_rows(data.snapshot, filters)
    members: dict[str, list[AgendaItem]] = {key: [] for key, _, _ in section_heads(True)}
    for row in rows:
        move = moves.get(row.ref)
        for key in sections_of(row, move, as_at):
            members[key].append(AgendaItem(row, move, item_note(key, row, move, data.scales, as_at)))
    return [
        AgendaSection(key, title, text, sorted(members[key], key=_agenda_order)[:AGENDA_LIMIT], len(members[key]))
        for key, title, text in section_heads(data.previous is not None)
    ]


def section_heads(has_previous: bool) -> list[tuple[str, str, str]]:
    """(key, title, description) of the agenda's sections, in order."""
    return [
        ("outside", "Outside tolerance", "Escalation is mandatory; the task force confirms or acts."),
        (
            "above",
            "Above appetite without acceptance",
            "Needs dated treatment actions or a time-limited acceptance at the right level.",
        ),
        (
            "new",
            "New risks",
            "Not in the previous closed cycle." if has_previous else "No earlier closed cycle to compare with.",
        ),
        ("increased", "Increased since the previous cycle", "Residual score went up; check the reason."),
        ("overdue", "Risks with overdue actions", "Open actions past their (revised) due date."),
    ]


def sections_of(row: RiskRow, move: movement.MovementRow | None, as_at: date) -> list[str]:
    """The agenda sections a risk of the filtered population belongs to."""
    keys = []
    if row.zone == Zone.OUTSIDE_TOLERANCE:
        keys.append("outside")
    elif row.zone == Zone.ABOVE_APPETITE and not (row.acceptance_until and row.acceptance_until >= as_at):
        keys.append("above")
    if move is not None and move.kind is movement.MovementKind.NEW:
        keys.append("new")
    if move is not None and move.kind is movement.MovementKind.INCREASED:
        keys.append("increased")
    if row.overdue_actions(as_at):
        keys.append("overdue")
    return keys


def item_note(key: str, row: RiskRow, move: movement.MovementRow | None, scales: Scales, as_at: date) -> str:
    """Why the risk is on the agenda's section `key`."""
    if key == "outside":
        return _outside_note(row, scales)
    if key == "above":
        return f"Score {row.residual_score} over appetite ≤ {row.appetite_max}; not accepted"
    if key == "new":
        return "First assessed in this cycle"
    if key == "increased" and move is not None:
        reason = row.trend_reason.replace("_", " ") or "no reason recorded"
        return f"{move.previous_score} → {move.current_score} ({reason})"
    late = row.overdue_actions(as_at)
    worst = max((a.days_overdue(as_at) for a in late), default=0)
    return f"{len(late)} action{'' if len(late) == 1 else 's'} overdue, up to {worst} days"


def _outside_note(row: RiskRow, scales: Scales) -> str:
    if scales.band(row.residual_score).critical:
        return f"{row.residual_band} band: never within tolerance"
    if row.tolerance_max is not None and row.appetite_max == row.tolerance_max:
        return f"Score {row.residual_score} over zero-tolerance limit {row.tolerance_max}"
    return f"Score {row.residual_score} over tolerance ≤ {row.tolerance_max} (appetite ≤ {row.appetite_max})"


def _agenda_order(item: AgendaItem) -> tuple[int, str]:
    return -item.row.residual_score, item.row.ref


@dataclass(frozen=True)
class ToReview:
    """A risk on the cycle's review list, with when its review falls due and why it is listed."""

    row: RiskRow
    due_on: date | None
    due: bool
    high: bool
    not_within: bool


@dataclass(frozen=True)
class OpeningLists:
    """What a coordinator sees when a cycle opens (domain.md (d) cycle step 1)."""

    due: list[RiskRow]
    high: list[RiskRow]
    not_within: list[RiskRow]
    high_bands: list[str]
    combined: list[ToReview]  # each listed risk once, highest residual first


def opening_lists(data: CycleData) -> OpeningLists:
    """Risks whose review is due (as on the home page), high and critical, and not within appetite.

    "Due" is `risks.queries.review_is_due` as at the register's date: today for an open cycle (so the count
    equals the home page's), the freeze date for a closed one.
    """
    scales, as_at = data.scales, data.snapshot.as_at
    high_bands = high_band_names(scales)
    rows = sorted(
        (r for r in data.snapshot.rows if r.status not in movement.CLOSED_STATUSES),
        key=lambda r: (-r.residual_score, r.ref),
    )
    combined = []
    for row in rows:
        due_on = review_due(row, scales)
        item = ToReview(
            row=row,
            due_on=due_on,
            due=review_is_due(due_on, as_at),
            high=row.residual_band in high_bands,
            not_within=row.zone in (Zone.ABOVE_APPETITE, Zone.OUTSIDE_TOLERANCE),
        )
        if item.due or item.high or item.not_within:
            combined.append(item)
    return OpeningLists(
        due=[i.row for i in combined if i.due],
        high=[i.row for i in combined if i.high],
        not_within=[i.row for i in combined if i.not_within],
        high_bands=high_bands,
        combined=combined,
    )


def review_due(row: RiskRow, scales: Scales) -> date | None:
    """When the risk's next review falls due: its last assessment plus its band's review interval."""
    if row.assessed_on is None:
        return None
    return row.assessed_on + timedelta(days=scales.band(row.residual_score).review_days)


def high_band_names(scales: Scales) -> list[str]:
    """The band named High and every band above it; on scales without one, the top two bands."""
    names = [b.name for b in scales.bands]
    lowered = [n.casefold() for n in names]
    start = lowered.index("high") if "high" in lowered else max(0, len(names) - 2)
    return names[start:]


@dataclass(frozen=True)
class ReviewSummary:
    """The headline numbers above the heatmap, for the filtered population."""

    total: int
    outside: int
    above: int
    within: int
    new: int
    increased: int
    decreased: int
    closed: int  # closed since the previous cycle (same unit and category filters)


def summarise(
    rows: Sequence[RiskRow], moves: Mapping[str, movement.MovementRow], filters: HeatFilters
) -> ReviewSummary:
    zones = [r.zone for r in rows]
    kinds = [moves[r.ref].kind for r in rows if r.ref in moves]
    closed = [
        m
        for m in moves.values()
        if m.kind is movement.MovementKind.CLOSED
        and (not filters.unit or m.unit_code == filters.unit)
        and (not filters.category or m.category_code == filters.category)
    ]
    return ReviewSummary(
        total=len(rows),
        outside=zones.count(Zone.OUTSIDE_TOLERANCE),
        above=zones.count(Zone.ABOVE_APPETITE),
        within=zones.count(Zone.WITHIN_APPETITE),
        new=kinds.count(movement.MovementKind.NEW),
        increased=kinds.count(movement.MovementKind.INCREASED),
        decreased=kinds.count(movement.MovementKind.DECREASED),
        closed=len(closed),
    )


def risk_in_cycle(
    session: Session, cycle: ReviewCycle, risk: Risk
) -> tuple[RiskRow | None, movement.MovementRow | None]:
    """One risk as the cycle holds it (frozen row, or live row for an open cycle) and its movement."""
    # Reads this risk's entries only: loading a whole 100,000-risk snapshot for one row took seconds.
    if cycle.status == CycleStatus.CLOSED:
        frozen = snapshot_of(session, cycle)
        row = frozen_rows(session, frozen.id, [risk.id]).get(risk.id) if frozen else None
        as_at = None
    else:
        found = live_rows(session, where=Risk.id == risk.id)
        row = found[0][2] if found else None
        as_at = date.today()
    if row is None:
        return None, None
    previous_cycle = previous_closed_cycle(session, cycle)
    if previous_cycle is None:
        return row, None
    before_frozen = snapshot_of(session, previous_cycle)
    old = frozen_rows(session, before_frozen.id, [risk.id]).get(risk.id) if before_frozen else None
    scales = policy.current_scales(session)
    before = Snapshot(previous_cycle.code, date.min, "", "", (old,) if old else ())
    now = Snapshot(cycle.code, as_at or date.min, "", "", (row,))
    moved = movement.compare(before, now, scales)
    return row, moved[0] if moved else None


# --------------------------------------------------------------------------- decisions


def decisions(
    session: Session, cycle: ReviewCycle, risk_ref: str | None = None, *, refs: Collection[str] | None = None
) -> list[DecisionEntry]:
    """The cycle's recorded decisions in minute order (minute reference, then date, then entry).

    `risk_ref` or `refs` keep those risks' decisions only (the review page shows the agenda's, not a cycle's
    16,000 at 100,000 risks). Plain columns, not ORM objects: the minutes list them all.
    """
    d = TaskForceDecision
    query = (
        select(
            d.id,
            d.decision,
            d.comment,
            d.minute_ref,
            d.decided_on,
            d.effect,
            Risk.ref,
            Risk.title,
            OrgUnit.code,
            User.title,
            User.name,
        )
        .join(Risk, Risk.id == d.risk_id)
        .join(OrgUnit, OrgUnit.id == Risk.org_unit_id)
        .outerjoin(User, User.id == d.decided_by_id)
        .where(d.review_cycle_id == cycle.id)
        .order_by(d.decided_on, d.id)
    )
    if risk_ref is not None:
        query = query.where(Risk.ref == risk_ref)
    if refs is not None:
        wanted = sorted(refs)
        if not wanted:
            return []
        query = query.where(Risk.ref.in_(wanted))
    labels = {member: member.label for member in Decision}
    found = session.execute(query).all()
    return [
        DecisionEntry(
            id=entry_id,
            risk_ref=ref,
            risk_title=title,
            unit_code=unit,
            decision=decision.value,
            decision_label=labels[decision],
            comment=comment,
            minute_ref=minute_ref,
            decided_on=decided_on,
            decided_by=user_title or user_name or "system",
            effect=effect,
        )
        for (
            entry_id,
            decision,
            comment,
            minute_ref,
            decided_on,
            effect,
            ref,
            title,
            unit,
            user_title,
            user_name,
        ) in found
    ]


def decision_count(session: Session, cycle: ReviewCycle) -> int:
    return session.scalar(select(func.count()).where(TaskForceDecision.review_cycle_id == cycle.id)) or 0


def decisions_by_ref(entries: Sequence[DecisionEntry]) -> dict[str, list[DecisionEntry]]:
    result: dict[str, list[DecisionEntry]] = {}
    for entry in entries:
        result.setdefault(entry.risk_ref, []).append(entry)
    return result


def addenda(session: Session, cycle: ReviewCycle) -> list[CycleAddendum]:
    """The corrections appended to a closed cycle's minutes, in the order they were added."""
    return list(
        session.scalars(
            select(CycleAddendum).where(CycleAddendum.review_cycle_id == cycle.id).order_by(CycleAddendum.number)
        )
    )


_NUMBERED = re.compile(r"^(?P<head>.*?)(?P<number>\d+)$")


def minute_ref_example(session: Session, cycle: ReviewCycle) -> str:
    """The next minute reference in the format in use: the last one recorded, numbered on (RTF/2026-Q4/007 after
    RTF/2026-Q4/006); a reference of an earlier cycle with its code replaced; else the demo's RTF/<cycle>/001.
    """
    last = session.execute(
        select(TaskForceDecision.minute_ref, ReviewCycle.id, ReviewCycle.code)
        .join(ReviewCycle, ReviewCycle.id == TaskForceDecision.review_cycle_id)
        .where(TaskForceDecision.minute_ref != "")
        .order_by((ReviewCycle.id == cycle.id).desc(), TaskForceDecision.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return f"RTF/{cycle.code}/001"
    ref, cycle_id, code = last
    if cycle_id != cycle.id:
        ref = ref.replace(code, cycle.code) if code in ref else ref
        found = _NUMBERED.match(ref)
        return f"{found['head']}{1:0{len(found['number'])}d}" if found else ref
    found = _NUMBERED.match(ref)
    if found is None:
        return ref
    number = found["number"]
    return f"{found['head']}{int(number) + 1:0{len(number)}d}"
