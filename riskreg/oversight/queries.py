"""Reads of the recommendations, always within the reader's scope (focal points: their unit's only).

The summary as at a past date is rebuilt from the status history: each recommendation counts with the
status of its last history row on or before that day, and only if it had been recorded by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.orm import Session, joinedload

from riskreg.access import Permission, has_permission, risk_scope, sees_all_units
from riskreg.models import (
    CycleStatus,
    OrgUnit,
    OversightBody,
    OversightReport,
    Recommendation,
    RecommendationRisk,
    RecommendationStatusChange,
    RecStatus,
    RecType,
    ReviewCycle,
    Risk,
    User,
)
from riskreg.oversight import importing
from riskreg.oversight.summary import Summary, summarise


def scope(user: User | None) -> ColumnElement[bool]:
    """SQL condition for the recommendations `user` may read; None is the system (commands, the workbook)."""
    if user is None or sees_all_units(user):
        return true()
    return Recommendation.org_unit_id == user.org_unit_id


def may_update(user: User, rec: Recommendation) -> bool:
    if not has_permission(user, Permission.OVERSIGHT_UPDATE):
        return False
    return sees_all_units(user) or (rec.org_unit_id is not None and rec.org_unit_id == user.org_unit_id)


@dataclass(frozen=True)
class Filters:
    body: str = ""  # body code
    report: str = ""  # report symbol
    rec_type: str = ""
    status: str = ""
    unit: str = ""  # unit code
    overdue: bool = False


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def _filtered(stmt: Select[Recommendation], filters: Filters, today: date) -> Select[Recommendation]:
    if filters.body:
        stmt = stmt.where(OversightBody.code == filters.body)
    if filters.report:
        stmt = stmt.where(OversightReport.symbol == filters.report)
    if filters.rec_type:
        stmt = stmt.where(Recommendation.rec_type == RecType(filters.rec_type))
    if filters.status:
        stmt = stmt.where(Recommendation.status == RecStatus(filters.status))
    if filters.unit:
        stmt = stmt.where(Recommendation.org_unit_id.in_(select(OrgUnit.id).where(OrgUnit.code == filters.unit)))
    if filters.overdue:
        stmt = stmt.where(overdue_condition(today))
    return stmt


def overdue_condition(today: date) -> ColumnElement[bool]:
    return and_(
        Recommendation.target_date < today,
        Recommendation.status.in_([s for s in RecStatus if s.is_open]),
    )


def _base(user: User) -> Select[Recommendation]:
    return (
        select(Recommendation)
        .join(OversightReport, OversightReport.id == Recommendation.report_id)
        .join(OversightBody, OversightBody.id == OversightReport.body_id)
        .where(scope(user))
        .options(joinedload(Recommendation.report).joinedload(OversightReport.body))
        .options(joinedload(Recommendation.org_unit))
    )


def register(session: Session, user: User, filters: Filters, today: date, limit: int = 500) -> list[Recommendation]:
    stmt = _filtered(_base(user), filters, today)
    stmt = stmt.order_by(OversightBody.sort_order, OversightReport.symbol, Recommendation.id).limit(limit)
    return list(session.scalars(stmt).unique())


def get(session: Session, user: User, rec_id: int) -> Recommendation | None:
    """The recommendation if `user` may read it; None otherwise (the caller answers 404)."""
    return session.scalars(_base(user).where(Recommendation.id == rec_id)).unique().one_or_none()


def history(session: Session, rec_id: int) -> list[RecommendationStatusChange]:
    return list(
        session.scalars(
            select(RecommendationStatusChange)
            .where(RecommendationStatusChange.recommendation_id == rec_id)
            .order_by(RecommendationStatusChange.at, RecommendationStatusChange.id)
        )
    )


def linked_risks(session: Session, user: User, rec_id: int) -> list[Risk]:
    """The risks a recommendation addresses that `user` may read (others are not named)."""
    return list(
        session.scalars(
            select(Risk)
            .join(RecommendationRisk, RecommendationRisk.risk_id == Risk.id)
            .where(RecommendationRisk.recommendation_id == rec_id, risk_scope(user))
            .order_by(Risk.ref)
        )
    )


def for_risk(session: Session, user: User, risk_id: int) -> list[Recommendation]:
    """The recommendations addressing a risk, within the reader's scope."""
    return list(
        session.scalars(
            _base(user)
            .join(RecommendationRisk, RecommendationRisk.recommendation_id == Recommendation.id)
            .where(RecommendationRisk.risk_id == risk_id)
            .order_by(OversightReport.symbol, Recommendation.id)
        ).unique()
    )


def choices(session: Session, user: User) -> tuple[list[tuple[str, str]], list[str], list[tuple[str, str]]]:
    """Filter options: bodies (code, name), report symbols, units (code, name) that have recommendations."""
    bodies = [(b.code, b.name) for b in session.scalars(select(OversightBody).order_by(OversightBody.sort_order))]
    # Only reports with a recommendation in scope: a symbol can name another unit's subject.
    reports = list(
        session.scalars(
            select(OversightReport.symbol)
            .where(OversightReport.id.in_(select(Recommendation.report_id).where(scope(user))))
            .order_by(OversightReport.symbol)
        )
    )
    units_stmt = select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code)
    if not sees_all_units(user):
        units_stmt = units_stmt.where(OrgUnit.id == user.org_unit_id)
    units = [(c, n) for c, n in session.execute(units_stmt)]
    return bodies, reports, units


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class Counted:
    """One recommendation as the summary needs it."""

    rec_id: int
    body_code: str
    body_name: str
    report_symbol: str
    rec_type: RecType
    status: RecStatus


def counted(session: Session, user: User | None, as_at: date | None = None) -> list[Counted]:
    """Every recommendation in scope with its status now, or as at the end of a past day (from the history).

    As at a day, each recommendation counts with the status of its last history row before the day ended,
    and not at all if it had not been recorded yet: one query, the latest row picked by a window function.
    """
    columns = (Recommendation.id, OversightBody.code, OversightBody.name, OversightReport.symbol)
    if as_at is None:
        stmt = select(*columns, Recommendation.rec_type, Recommendation.status)
    else:
        change = RecommendationStatusChange
        latest = (
            select(
                change.recommendation_id.label("rec_id"),
                change.to_status.label("status"),
                func.row_number()
                .over(partition_by=change.recommendation_id, order_by=(change.at.desc(), change.id.desc()))
                .label("rank"),
            )
            .where(change.at < end_of_day(as_at))
            .subquery()
        )
        stmt = select(*columns, Recommendation.rec_type, latest.c.status).join(
            latest, and_(latest.c.rec_id == Recommendation.id, latest.c.rank == 1)
        )
    stmt = (
        stmt.join(OversightReport, OversightReport.id == Recommendation.report_id)
        .join(OversightBody, OversightBody.id == OversightReport.body_id)
        .where(scope(user))
        .order_by(OversightBody.sort_order, OversightReport.symbol, Recommendation.id)
    )
    return [Counted(*row) for row in session.execute(stmt)]


@dataclass(frozen=True)
class SummaryGroup:
    key: str  # body code or report symbol
    title: str
    summary: Summary


def summary_of(rows: Sequence[Counted]) -> Summary:
    return summarise((r.rec_type, r.status) for r in rows)


def by_report(rows: Sequence[Counted]) -> list[SummaryGroup]:
    groups: dict[str, list[Counted]] = {}
    for row in rows:
        groups.setdefault(row.report_symbol, []).append(row)
    return [SummaryGroup(key, f"{items[0].body_code} {key}", summary_of(items)) for key, items in groups.items()]


def by_body(rows: Sequence[Counted]) -> list[SummaryGroup]:
    groups: dict[str, list[Counted]] = {}
    for row in rows:
        groups.setdefault(row.body_code, []).append(row)
    return [SummaryGroup(key, items[0].body_name, summary_of(items)) for key, items in groups.items()]


# --------------------------------------------------------------------------- the task force's standing section


def previous_cycle(session: Session) -> ReviewCycle | None:
    """The last closed review cycle: 'changed since the previous cycle' counts from its close."""
    return session.scalars(
        select(ReviewCycle).where(ReviewCycle.status == CycleStatus.CLOSED).order_by(ReviewCycle.period_end.desc())
    ).first()


def cycle_cutoff(cycle: ReviewCycle) -> datetime:
    return cycle.closed_at or end_of_day(cycle.period_end)


@dataclass(frozen=True)
class Change:
    rec: Recommendation
    change: RecommendationStatusChange


@dataclass(frozen=True)
class Standing:
    since: ReviewCycle | None
    overdue: list[Recommendation]
    changed: list[Change]
    awaiting: list[Recommendation]


def standing(session: Session, user: User, today: date) -> Standing:
    """Overdue recommendations, status changes since the previous cycle closed, those awaiting the governing bodies."""
    cycle = previous_cycle(session)
    overdue = list(
        session.scalars(_base(user).where(overdue_condition(today)).order_by(Recommendation.target_date)).unique()
    )
    awaiting = list(
        session.scalars(
            _base(user).where(Recommendation.status == RecStatus.UNDER_CONSIDERATION).order_by(Recommendation.id)
        ).unique()
    )
    changed: list[Change] = []
    if cycle is not None:
        change = RecommendationStatusChange
        rows = session.execute(
            select(change, Recommendation)
            .join(Recommendation, Recommendation.id == change.recommendation_id)
            .where(
                change.at >= cycle_cutoff(cycle),
                change.from_status.is_not(None),
                change.from_status != change.to_status,
                scope(user),
            )
            .order_by(change.at.desc(), change.id.desc())
            .limit(200)
        )
        changed = [Change(rec, ch) for ch, rec in rows]
    return Standing(cycle, overdue, changed, awaiting)


# --------------------------------------------------------------------------- import


def plan_list(session: Session, read: importing.ReadList) -> importing.Plan:
    """The preview of a read list against what is stored (the web page and the command show the same)."""
    context = _import_context(session)
    return importing.plan_rows(
        read, context["stored"], units=context["units"], risk_refs=context["risk_refs"], reports=context["reports"]
    )


def _import_context(session: Session) -> dict[str, Any]:
    """What a list is planned against: stored recommendations by (report, number), units, risk refs, reports."""
    Stored = importing.Stored  # noqa: N806 - a class alias

    links: dict[int, set[str]] = {}
    for rec_id, ref in session.execute(
        select(RecommendationRisk.recommendation_id, Risk.ref).join(Risk, Risk.id == RecommendationRisk.risk_id)
    ):
        links.setdefault(rec_id, set()).add(ref)
    stored = {}
    for rec, symbol, unit in session.execute(
        select(Recommendation, OversightReport.symbol, OrgUnit.code)
        .join(OversightReport, OversightReport.id == Recommendation.report_id)
        .outerjoin(OrgUnit, OrgUnit.id == Recommendation.org_unit_id)
    ):
        stored[(symbol, rec.number)] = Stored(
            rec.id, rec.text, rec.rec_type, rec.addressee, rec.acceptance, rec.status, rec.comments, unit or "",
            rec.target_date, rec.evidence, rec.action_plan, frozenset(links.get(rec.id, ())),
        )  # fmt: skip
    return {
        "stored": stored,
        "units": frozenset(session.scalars(select(OrgUnit.code))),
        "risk_refs": frozenset(session.scalars(select(Risk.ref).where(Risk.deleted_at.is_(None)))),
        "reports": frozenset(session.scalars(select(OversightReport.symbol))),
    }
