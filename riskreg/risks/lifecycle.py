"""A risk's life after registration: close, mark realised, merge into another risk, reopen; and its level.

Each verb is one operation that writes a lifecycle event and its audit record in the same transaction, and
names the version the person saw (a different stored version raises `StaleEdit`, nothing written). A risk
that is closed, realised or merged leaves the active register but keeps every assessment, control, action
and audit row; a merged risk points at its survivor, whose page lists what was merged into it.

Who may: a coordinator or a task force member for any unit, a focal point for their own unit's risks. The
task force's decisions call these same operations with `commit=False`, so the decision and its effect land
together (riskreg/review/effects.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.models import (
    LifecycleKind,
    Risk,
    RiskLevel,
    RiskLifecycleEvent,
    RiskStatus,
    Role,
)
from riskreg.risks import owner_requests
from riskreg.risks.operations import RuleViolation, StaleEdit

REASON_MAX = 4000
LEVELS = tuple(RiskLevel)  # lowest first: departmental, sector, corporate
_LIFECYCLE_ROLES = frozenset({Role.COORDINATOR.value, Role.TASKFORCE.value})
_MERGE_CHAIN_LIMIT = 50  # a survivor merged in turn: follow at most this many links


@dataclass(frozen=True)
class RealisationInput:
    occurred_on: date
    what_happened: str
    impact: str
    follow_up: str


def may_change_lifecycle(actor: audit.Actor, risk: Risk) -> bool:
    """Coordinators and the task force for every unit; a focal point for their own unit's risks."""
    if risk.is_deleted:
        return False
    if actor.role in _LIFECYCLE_ROLES:
        return True
    return actor.role == Role.FOCAL_POINT.value and actor.unit_id == risk.org_unit_id


def close_risk(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    reason: str,
    expected_version: int,
    *,
    decision_id: int | None = None,
    on: date | None = None,
    commit: bool = True,
) -> RiskLifecycleEvent:
    """The risk no longer needs managing: it leaves the active register and counts as closed in movement."""
    _check(actor, risk, expected_version, open_needed=True)
    text = _reason(reason, "Say why the risk is closed.")
    event, before = _leave(session, actor, risk, RiskStatus.CLOSED, text, LifecycleKind.CLOSED, decision_id, on)
    audit.record(
        session,
        actor,
        "close",
        "risk",
        risk.ref,
        f"closed {risk.ref}: {text}",
        {"status": [before, "closed"], "reason": text, "decision": decision_id},
    )
    return _done(session, event, commit)


def realise_risk(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    data: RealisationInput,
    expected_version: int,
    *,
    today: date | None = None,
    commit: bool = True,
) -> RiskLifecycleEvent:
    """The risk happened. It stays visible with its history; what happened, its impact and follow-up are kept."""
    _check(actor, risk, expected_version, open_needed=True)
    what = _reason(data.what_happened, "Say what happened.", field="what_happened")
    impact = _reason(data.impact, "Describe the impact.", field="impact")
    follow_up = _reason(data.follow_up, "Say what follow-up it needs (or that it needs none).", field="follow_up")
    if data.occurred_on > (today or date.today()):
        raise RuleViolation("occurred_on", "A realised risk happened on or before today.")
    reason = f"Realised on {data.occurred_on:%d %b %Y}: {what}"[:REASON_MAX]
    event, before = _leave(
        session, actor, risk, RiskStatus.REALISED, reason, LifecycleKind.REALISED, None, data.occurred_on
    )
    event.what_happened, event.impact, event.follow_up = what, impact, follow_up
    audit.record(
        session,
        actor,
        "realise",
        "risk",
        risk.ref,
        f"{risk.ref} realised on {data.occurred_on.isoformat()}: {what}",
        {"status": [before, "realised"], "what_happened": what, "impact": impact, "follow_up": follow_up},
    )
    return _done(session, event, commit)


def merge_risk(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    survivor: Risk,
    reason: str,
    expected_version: int,
    *,
    decision_id: int | None = None,
    on: date | None = None,
    commit: bool = True,
) -> RiskLifecycleEvent:
    """Fold `risk` into `survivor`: its records stay where they are and are reachable from the survivor's page;
    its reference leads to the survivor from now on.
    """
    _check(actor, risk, expected_version, open_needed=True)
    text = _reason(reason, "Say why the risks are merged.")
    if survivor.id == risk.id:
        raise RuleViolation("survivor", "Choose another risk: a risk cannot be merged into itself.")
    if survivor.is_deleted or not survivor.status.is_open:
        raise RuleViolation("survivor", f"{survivor.ref} is {_state(survivor)}; merge into an open risk.")
    if not may_change_lifecycle(actor, survivor):
        # A focal point merges within their own unit only; the same answer as an unknown reference.
        raise RuleViolation("survivor", f"No open risk {survivor.ref} that you may merge into.")
    reason = f"Merged into {survivor.ref}: {text}"[:REASON_MAX]
    event, before = _leave(session, actor, risk, RiskStatus.MERGED, reason, LifecycleKind.MERGED, decision_id, on)
    risk.merged_into_id = survivor.id
    event.merged_into_id = survivor.id
    session.flush()
    audit.record(
        session,
        actor,
        "merge",
        "risk",
        risk.ref,
        f"{risk.ref} merged into {survivor.ref}: {text}",
        {"status": [before, "merged"], "merged_into": survivor.ref, "reason": text, "decision": decision_id},
    )
    # Filed under the survivor too, so its own trail says what it absorbed.
    audit.record(session, actor, "absorb", "risk", survivor.ref, f"{risk.ref} merged into {survivor.ref}")
    return _done(session, event, commit)


def reopen_risk(
    session: Session, actor: audit.Actor, risk: Risk, reason: str, expected_version: int, *, commit: bool = True
) -> RiskLifecycleEvent:
    """Bring a closed, realised or merged risk back into the active register (a merged one stops redirecting)."""
    _check(actor, risk, expected_version, open_needed=False)
    if risk.status.is_open:
        raise RuleViolation("reason", f"{risk.ref} is {risk.status.value}, not closed: there is nothing to reopen.")
    text = _reason(reason, "Say why the risk is reopened.")
    before = risk.status
    risk.status = RiskStatus.ACTIVE
    risk.closed_reason = ""
    risk.merged_into_id = None
    risk.updated_by_id = actor.user_id
    event = RiskLifecycleEvent(
        risk_id=risk.id,
        kind=LifecycleKind.REOPENED,
        occurred_on=date.today(),
        reason=text,
        what_happened="",
        impact="",
        follow_up="",
        recorded_by_id=actor.user_id,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor,
        "reopen",
        "risk",
        risk.ref,
        f"reopened {risk.ref}: {text}",
        {"status": [before.value, "active"], "reason": text},
    )
    return _done(session, event, commit)


def change_level(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    level: RiskLevel,
    reason: str,
    *,
    decision_id: int | None = None,
    commit: bool = True,
) -> None:
    """Move the risk to another level of the register (promote to corporate, de-escalate)."""
    if risk.is_deleted or not risk.status.is_open:
        raise RuleViolation("level", f"{risk.ref} is {_state(risk)}; only an open risk changes level.")
    if level == risk.level:
        raise RuleViolation("level", f"{risk.ref} is already a {level.value} risk.")
    before = risk.level
    risk.level = level
    risk.updated_by_id = actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "level",
        "risk",
        risk.ref,
        f"{risk.ref}: level {before.value} → {level.value}",
        {"level": [before.value, level.value], "reason": reason.strip(), "decision": decision_id},
    )
    if commit:
        session.commit()


def level_below(level: RiskLevel) -> RiskLevel | None:
    index = LEVELS.index(level)
    return LEVELS[index - 1] if index > 0 else None


# --------------------------------------------------------------------------- reading


def survivor_of(session: Session, risk: Risk) -> Risk | None:
    """The open risk a merged risk now lives on in (following merges of merges), or None."""
    current, seen = risk, {risk.id}
    for _ in range(_MERGE_CHAIN_LIMIT):
        if current.status != RiskStatus.MERGED or current.merged_into_id is None:
            break
        found = session.get(Risk, current.merged_into_id)
        if found is None or found.id in seen:
            break
        current = found
        seen.add(found.id)
    return None if current.id == risk.id or current.is_deleted else current


def merged_into_this(session: Session, risk: Risk) -> list[Risk]:
    """The risks merged into `risk` (directly), oldest merge first."""
    return list(
        session.scalars(
            select(Risk)
            .where(Risk.merged_into_id == risk.id, Risk.status == RiskStatus.MERGED, Risk.deleted_at.is_(None))
            .order_by(Risk.id)
        )
    )


def events_of(session: Session, risk: Risk) -> list[RiskLifecycleEvent]:
    """The risk's lifecycle, newest first."""
    return list(
        session.scalars(
            select(RiskLifecycleEvent)
            .where(RiskLifecycleEvent.risk_id == risk.id)
            .order_by(RiskLifecycleEvent.id.desc())
        )
    )


# --------------------------------------------------------------------------- shared


def _check(actor: audit.Actor, risk: Risk, expected_version: int, *, open_needed: bool) -> None:
    if risk.version != expected_version:
        raise StaleEdit(risk)
    if not may_change_lifecycle(actor, risk):
        raise RuleViolation("risk", f"Your role does not close, realise, merge or reopen {risk.ref}.")
    if open_needed and not risk.status.is_open:
        raise RuleViolation("risk", f"{risk.ref} is already {_state(risk)}.")


def _reason(text: str, message: str, *, field: str = "reason") -> str:
    cleaned = text.strip()
    if not cleaned:
        raise RuleViolation(field, message)
    if len(cleaned) > REASON_MAX:
        raise RuleViolation(field, f"At most {REASON_MAX} characters.")
    return cleaned


def _state(risk: Risk) -> str:
    return "deleted" if risk.is_deleted else risk.status.value


def _leave(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    status: RiskStatus,
    reason: str,
    kind: LifecycleKind,
    decision_id: int | None,
    on: date | None,
) -> tuple[RiskLifecycleEvent, str]:
    """Take the risk out of the active register: status, reason, the event row; its owner's requests lapse.

    Returns the event and the status the risk had before, for the audit record.
    """
    event = RiskLifecycleEvent(
        risk_id=risk.id,
        kind=kind,
        occurred_on=on or date.today(),
        reason=reason,
        what_happened="",
        impact="",
        follow_up="",
        decision_id=decision_id,
        recorded_by_id=actor.user_id,
    )
    before = risk.status.value
    risk.status = status
    risk.closed_reason = reason
    risk.updated_by_id = actor.user_id
    session.add(event)
    session.flush()
    owner_requests.clear_requests(session, actor, risk, kind.value)
    return event, before


def _done(session: Session, event: RiskLifecycleEvent, commit: bool) -> RiskLifecycleEvent:
    if commit:
        session.commit()
    return event
