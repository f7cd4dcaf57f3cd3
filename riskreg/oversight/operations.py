"""Writes to the recommendations: bodies and reports, new recommendations, status updates, links to risks.

Every verb writes its audit event and commits in one transaction. A status change appends a row to the
history (append-only by trigger), so the summary can be reproduced as at any past date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.models import (
    Acceptance,
    Addressee,
    BodyKind,
    OrgUnit,
    OversightBody,
    OversightReport,
    Recommendation,
    RecommendationRisk,
    RecommendationStatusChange,
    RecStatus,
    RecType,
    ReportScope,
    Risk,
    utcnow,
)
from riskreg.oversight import importing
from riskreg.risks.operations import StaleEdit

__all__ = [
    "ImportOutcome",
    "NewRecommendation",
    "OversightError",
    "StaleEdit",
    "StatusUpdate",
    "add_recommendation",
    "apply_import",
    "ensure_body",
    "ensure_report",
    "set_risk_links",
    "update_status",
]

# The bodies every installation knows; others are added by an import naming a new body code.
STANDARD_BODIES: tuple[tuple[str, str, BodyKind], ...] = (
    ("JIU", "Joint Inspection Unit of the United Nations system", BodyKind.JIU),
    ("EXT-AUD", "External Auditor", BodyKind.EXTERNAL_AUDITOR),
    ("IMAC", "Independent Management Advisory Committee", BodyKind.AUDIT_COMMITTEE),
    ("IAU", "Internal Audit Unit", BodyKind.INTERNAL_AUDIT),
)


class OversightError(ValueError):
    """A request the rules refuse; the message says why, in words for the user."""


@dataclass(frozen=True)
class NewRecommendation:
    report_symbol: str
    number: str
    text: str
    rec_type: RecType
    addressee: Addressee = Addressee.EXECUTIVE_HEAD
    acceptance: Acceptance = Acceptance.ACCEPTED
    status: RecStatus = RecStatus.NOT_STARTED
    org_unit_id: int | None = None
    target_date: date | None = None
    action_plan: str = ""
    evidence: str = ""
    comments: str = ""
    risk_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class StatusUpdate:
    status: RecStatus
    reason: str = ""
    evidence: str = ""
    target_date: date | None = None
    action_plan: str | None = None  # None keeps the current plan


def ensure_body(session: Session, code: str, name: str = "", kind: BodyKind = BodyKind.OTHER) -> OversightBody:
    """The body with this code, added (with the standard name and kind when it is a standard one) if new."""
    body = session.scalars(select(OversightBody).where(OversightBody.code == code)).one_or_none()
    if body is not None:
        return body
    standard = {c: (n, k) for c, n, k in STANDARD_BODIES}
    std_name, std_kind = standard.get(code, (name or code, kind))
    body = OversightBody(code=code, name=name or std_name, kind=std_kind, sort_order=len(standard))
    session.add(body)
    session.flush()
    return body


def ensure_report(
    session: Session,
    body: OversightBody,
    symbol: str,
    *,
    title: str = "",
    year: int | None = None,
    issued_on: date | None = None,
    scope: ReportScope = ReportScope.ORGANISATION,
) -> OversightReport:
    report = session.scalars(select(OversightReport).where(OversightReport.symbol == symbol)).one_or_none()
    if report is not None:
        if report.body_id != body.id:
            raise OversightError(f"report {symbol} belongs to another body ({report.body.code})")
        return report
    report = OversightReport(
        body_id=body.id, symbol=symbol, title=title or symbol, year=year, issued_on=issued_on, scope=scope
    )
    session.add(report)
    session.flush()
    return report


def add_recommendation(
    session: Session,
    actor: audit.Actor,
    data: NewRecommendation,
    *,
    at: datetime | None = None,
    commit: bool = True,
) -> Recommendation:
    """A new recommendation of an existing report; its first history row records the status it starts in."""
    report = session.scalars(select(OversightReport).where(OversightReport.symbol == data.report_symbol)).one_or_none()
    if report is None:
        raise OversightError(f"no report {data.report_symbol}")
    taken = session.scalar(
        select(Recommendation.id).where(Recommendation.report_id == report.id, Recommendation.number == data.number)
    )
    if taken is not None:
        raise OversightError(f"{data.report_symbol} already has a recommendation {data.number}")
    when = at or utcnow()
    rec = Recommendation(
        report_id=report.id,
        number=data.number,
        text=data.text,
        rec_type=data.rec_type,
        addressee=data.addressee,
        acceptance=data.acceptance,
        status=data.status,
        org_unit_id=data.org_unit_id,
        target_date=data.target_date,
        action_plan=data.action_plan,
        evidence=data.evidence,
        comments=data.comments,
        status_changed_at=when,
        created_at=when,
    )
    session.add(rec)
    session.flush()
    session.add(
        RecommendationStatusChange(
            recommendation_id=rec.id,
            at=when,
            actor_id=actor.user_id,
            actor_email=actor.email,
            from_status=None,
            to_status=data.status,
            reason="recorded",
            evidence=data.evidence,
        )
    )
    _link(session, rec, data.risk_ids)
    audit.record(
        session,
        actor,
        "create",
        "recommendation",
        rec.id,
        f"recommendation {data.report_symbol} {data.number} recorded ({data.status.value})",
    )
    if commit:
        session.commit()
    return rec


def update_status(
    session: Session,
    actor: audit.Actor,
    rec: Recommendation,
    expected_version: int,
    update: StatusUpdate,
    *,
    at: datetime | None = None,
    commit: bool = True,
) -> Recommendation:
    """Move a recommendation to a new status (or record new evidence); appends a history row.

    Marking one implemented needs evidence of implementation: the task force reports it to the membership.
    """
    if rec.version != expected_version:
        raise StaleEdit(rec)
    evidence = update.evidence.strip()
    if update.status == RecStatus.IMPLEMENTED and not (evidence or rec.evidence.strip()):
        raise OversightError("Give the evidence of implementation (a document, a decision, a link).")
    if update.status == rec.status and not evidence and not update.reason.strip():
        raise OversightError("Nothing changed: choose another status, or give new evidence or a reason.")
    when = at or utcnow()
    old_status = rec.status
    before = {"status": old_status, "target_date": rec.target_date}
    session.add(
        RecommendationStatusChange(
            recommendation_id=rec.id,
            at=when,
            actor_id=actor.user_id,
            actor_email=actor.email,
            from_status=rec.status,
            to_status=update.status,
            reason=update.reason.strip(),
            evidence=evidence,
        )
    )
    if update.status != rec.status:
        rec.status_changed_at = when
    rec.status = update.status
    if evidence:
        rec.evidence = evidence
    if update.target_date is not None:
        rec.target_date = update.target_date
    if update.action_plan is not None:
        rec.action_plan = update.action_plan
    if update.status == RecStatus.UNDER_CONSIDERATION:
        rec.acceptance = Acceptance.UNDER_CONSIDERATION
    elif update.status == RecStatus.NOT_ACCEPTED:
        rec.acceptance = Acceptance.NOT_ACCEPTED
    elif rec.acceptance in (Acceptance.PENDING, Acceptance.UNDER_CONSIDERATION):
        rec.acceptance = Acceptance.ACCEPTED
    session.flush()
    audit.record(
        session,
        actor,
        "status",
        "recommendation",
        rec.id,
        f"recommendation {rec.report.symbol} {rec.number}: {old_status.value} -> {update.status.value}",
        audit.diff(before, {"status": rec.status, "target_date": rec.target_date}),
    )
    if commit:
        session.commit()
    return rec


def set_risk_links(
    session: Session, actor: audit.Actor, rec: Recommendation, risk_ids: Iterable[int], *, commit: bool = True
) -> None:
    """Replace the risks a recommendation addresses."""
    wanted = sorted(set(risk_ids))
    before = sorted(
        session.scalars(select(RecommendationRisk.risk_id).where(RecommendationRisk.recommendation_id == rec.id))
    )
    if wanted == before:
        return
    session.execute(delete(RecommendationRisk).where(RecommendationRisk.recommendation_id == rec.id))
    _link(session, rec, wanted)
    audit.record(
        session,
        actor,
        "link",
        "recommendation",
        rec.id,
        f"recommendation {rec.report.symbol} {rec.number} linked to {len(wanted)} risk(s)",
        {"risk_ids": [before, wanted]},
    )
    if commit:
        session.commit()


def _link(session: Session, rec: Recommendation, risk_ids: Iterable[int]) -> None:
    ids = sorted(set(risk_ids))
    if not ids:
        return
    found = set(session.scalars(select(Risk.id).where(Risk.id.in_(ids), Risk.deleted_at.is_(None))))
    missing = [i for i in ids if i not in found]
    if missing:
        raise OversightError(f"no such risk: {missing[0]}")
    session.add_all(RecommendationRisk(recommendation_id=rec.id, risk_id=i) for i in ids)
    session.flush()


# --------------------------------------------------------------------------- import of a list


@dataclass(frozen=True)
class ImportOutcome:
    created: int
    updated: int
    unchanged: int


def apply_import(session: Session, actor: audit.Actor, plan: importing.Plan, file_name: str) -> ImportOutcome:
    """Write a planned list in one transaction: every row or none (a plan with an error is refused)."""
    if not plan.ok:
        raise OversightError("The list has errors (or no rows); nothing was imported.")
    units: dict[str, int] = {code: id_ for code, id_ in session.execute(select(OrgUnit.code, OrgUnit.id))}
    refs = {r.row.key: r for r in plan.rows}
    wanted = {ref for p in refs.values() for ref in p.row.risks}
    risk_ids: dict[str, int] = {
        ref: id_
        for ref, id_ in session.execute(
            select(Risk.ref, Risk.id).where(Risk.ref.in_(wanted), Risk.deleted_at.is_(None))
        )
    }
    evidence = f"Imported from {file_name}"[:200]
    try:
        for planned in plan.rows:
            row = planned.row
            if planned.action == "new":
                body = ensure_body(session, importing.body_code(row))
                ensure_report(session, body, row.report)
                add_recommendation(session, actor, _new_from(row, units, risk_ids), commit=False)
            elif planned.action == "update" and planned.rec_id is not None:
                _update_from(session, actor, planned, units, risk_ids, evidence)
        counts = plan.counts()
        audit.record(
            session,
            actor,
            "import",
            "recommendations",
            "",
            f"recommendations list {file_name[:100]}: {counts['new']} new, {counts['update']} updated, "
            f"{counts['unchanged']} unchanged",
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return ImportOutcome(counts["new"], counts["update"], counts["unchanged"])


def _new_from(row: importing.RecRow, units: dict[str, int], risk_ids: dict[str, int]) -> NewRecommendation:
    # The plan checked both.
    assert row.rec_type is not None
    assert row.status is not None
    return NewRecommendation(
        report_symbol=row.report,
        number=row.number,
        text=row.text,
        rec_type=row.rec_type,
        addressee=row.addressee or Addressee.EXECUTIVE_HEAD,
        acceptance=row.acceptance or Acceptance.ACCEPTED,
        status=row.status,
        org_unit_id=units.get(row.unit) if row.unit else None,
        target_date=row.target,
        action_plan=row.action_plan,
        evidence=row.evidence,
        comments=row.comments,
        risk_ids=tuple(risk_ids[r] for r in row.risks),
    )


def _update_from(
    session: Session,
    actor: audit.Actor,
    planned: importing.Planned,
    units: dict[str, int],
    risk_ids: dict[str, int],
    evidence: str,
) -> None:
    rec = session.get(Recommendation, planned.rec_id)
    assert rec is not None
    row, changes = planned.row, planned.changes
    if "status" in changes and row.status is not None:
        update_status(
            session,
            actor,
            rec,
            rec.version,
            StatusUpdate(row.status, reason="imported list", evidence=row.evidence or evidence),
            commit=False,
        )
    simple = {"text": "text", "rec_type": "rec_type", "addressee": "addressee", "acceptance": "acceptance"}
    simple |= {"comments": "comments", "target": "target_date", "action_plan": "action_plan"}
    for name, attribute in simple.items():
        if name in changes:
            setattr(rec, attribute, changes[name][1])
    if "unit" in changes:
        rec.org_unit_id = units.get(row.unit) if row.unit else None
    if "risks" in changes:
        set_risk_links(session, actor, rec, [risk_ids[r] for r in row.risks], commit=False)
    session.flush()
    other = {k: list(v) for k, v in changes.items() if k not in ("status", "risks")}
    if other:
        audit.record(
            session, actor, "update", "recommendation", rec.id, f"recommendation {row.report} {row.number} imported",
            other,
        )  # fmt: skip
