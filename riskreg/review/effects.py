"""What each task force decision does to the register, applied in the decision's own transaction.

`DESCRIPTIONS` is what the decision form shows before submitting; `apply` carries the decision out with the
register's own operations (lifecycle, escalations, acceptances, owner requests) without committing, and
returns the effect text stored on the decision and printed in the minutes. A refused effect raises
`DecisionRefusedError` with the reason, and the caller rolls the whole decision back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from riskreg import audit
from riskreg.models import (
    AssessmentValidation,
    Decision,
    EscalationLevel,
    ReviewCycle,
    Risk,
    RiskLevel,
    TaskForceDecision,
)
from riskreg.risks import lifecycle, owner_requests
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.statements import responses

DESCRIPTIONS: dict[Decision, str] = {
    Decision.NOTED: "Records the discussion in the minutes; nothing else changes.",
    Decision.VALIDATED: "Marks the risk's current assessment as validated by the task force for this cycle.",
    Decision.RATING_CHALLENGED: (
        "Flags the risk: it appears with your comment on its owner's home page until the owner reassesses "
        "the risk or answers."
    ),
    Decision.RETURN_TO_OWNER: (
        "Returns the risk to its owner: it appears with your comment on the owner's home page until the owner "
        "reassesses the risk or answers."
    ),
    Decision.ESCALATE: (
        "Opens an escalation to the next level above the task force (the executive, then the Council); "
        "refused while another escalation of the risk is waiting for a decision."
    ),
    Decision.DE_ESCALATE: "Moves the risk one level down the register: corporate → sector → departmental.",
    Decision.ACCEPT_ABOVE_APPETITE: (
        "Records the acceptance of the risk above appetite until the date you give (at most 12 months), with "
        "your comment as its justification. Refused outside tolerance, for Critical and zero-tolerance risks, "
        "and where the acceptance belongs to another level."
    ),
    Decision.CLOSE: (
        "Closes the risk with your comment as its reason: it leaves the active register and counts as closed "
        "in movement."
    ),
    Decision.MERGE: (
        "Merges the risk into the risk whose reference you give: its reference then leads to that risk, and its "
        "actions, controls, assessments and history stay reachable from it."
    ),
    Decision.PROMOTE_TO_CORPORATE: "Makes the risk a corporate risk, shown to the Council.",
}

# Where an escalation decided by the task force goes: above the task force, or above the level holding the risk.
_LEVEL_NAMES = {EscalationLevel.EXECUTIVE: "the executive", EscalationLevel.GOVERNING_BODY: "the Council"}


# The operations' field names, as the decision form calls them.
_FORM_FIELDS = {
    "valid_until": "accept_until",
    "conditions": "accept_conditions",
    "justification": "comment",
    "survivor": "merge_into",
}


class DecisionRefusedError(ValueError):
    """The decision's effect breaks a rule: the decision is not recorded; the message says why.

    `field` names the decision form's field the rule is about (merge_into, accept_until, ...), or "".
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EffectInput:
    """What some decisions need beyond the comment: the surviving risk of a merge, an acceptance's terms."""

    merge_into: str = ""
    accept_until: date | None = None
    accept_conditions: str = ""


def apply(
    session: Session,
    actor: audit.Actor,
    cycle: ReviewCycle,
    risk: Risk,
    decision: TaskForceDecision,
    data: EffectInput,
) -> str:
    """Carry out `decision` on `risk` (no commit) and return the effect text for the minutes."""
    try:
        return _apply(session, actor, cycle, risk, decision, data)
    except RuleViolation as exc:
        field = _FORM_FIELDS.get(exc.field, exc.field)
        raise DecisionRefusedError(f"{decision.decision.label} refused: {exc}", field) from None
    except responses.NotAllowedError as exc:
        raise DecisionRefusedError(f"{decision.decision.label} refused: {exc}") from None
    except (StaleEdit, StaleDataError):
        raise DecisionRefusedError(f"{risk.ref} was changed meanwhile; reload the page and decide again.") from None


def _apply(
    session: Session,
    actor: audit.Actor,
    cycle: ReviewCycle,
    risk: Risk,
    decision: TaskForceDecision,
    data: EffectInput,
) -> str:
    kind, comment = decision.decision, decision.comment
    if kind == Decision.NOTED:
        return "Noted — no change to the register"
    if kind == Decision.VALIDATED:
        return _validate(session, actor, cycle, risk, decision)
    if kind in (Decision.RATING_CHALLENGED, Decision.RETURN_TO_OWNER):
        owner_requests.raise_request(
            session, actor, risk, kind.value, comment, decision_id=decision.id, raised_on=decision.decided_on
        )
        return "Sent to the risk owner — on their home page until they reassess or answer"
    if kind == Decision.CLOSE:
        lifecycle.close_risk(
            session, actor, risk, comment, risk.version, decision_id=decision.id, on=decision.decided_on, commit=False
        )
        return "Closed — risk status changed"
    if kind == Decision.MERGE:
        survivor = _survivor(session, data.merge_into)
        lifecycle.merge_risk(
            session,
            actor,
            risk,
            survivor,
            comment,
            risk.version,
            decision_id=decision.id,
            on=decision.decided_on,
            commit=False,
        )
        return f"Merged into {survivor.ref} — its reference now leads there"
    if kind in (Decision.PROMOTE_TO_CORPORATE, Decision.DE_ESCALATE):
        before = risk.level
        after = RiskLevel.CORPORATE if kind == Decision.PROMOTE_TO_CORPORATE else lifecycle.level_below(before)
        if after is None:
            raise RuleViolation("level", f"{risk.ref} is a departmental risk already; there is no level below.")
        lifecycle.change_level(session, actor, risk, after, comment, decision_id=decision.id, commit=False)
        return f"Level changed from {before.value} to {after.value}"
    if kind == Decision.ESCALATE:
        return _escalate(session, actor, risk, decision)
    if kind == Decision.ACCEPT_ABOVE_APPETITE:
        if data.accept_until is None:
            raise RuleViolation("accept_until", "Give the date the acceptance ends (at most 12 months).")
        acceptance = responses.record_acceptance(
            session,
            actor,
            risk,
            responses.AcceptanceInput(comment, data.accept_conditions, data.accept_until),
            today=decision.decided_on,
            commit=False,
        )
        return f"Accepted above appetite until {acceptance.valid_until:%d %b %Y} — acceptance recorded"
    raise RuleViolation("decision", f"Unknown decision {kind.value}.")  # pragma: no cover - every kind is above


def _validate(session: Session, actor: audit.Actor, cycle: ReviewCycle, risk: Risk, decision: TaskForceDecision) -> str:
    assessment = risk.current_assessment
    if assessment is None:
        raise RuleViolation("decision", f"{risk.ref} has no assessment to validate.")
    done = session.scalar(
        select(AssessmentValidation.id).where(
            AssessmentValidation.assessment_id == assessment.id, AssessmentValidation.review_cycle_id == cycle.id
        )
    )
    if done is not None:
        raise RuleViolation("decision", f"The assessment of {assessment.assessed_on:%d %b %Y} is already validated.")
    session.add(
        AssessmentValidation(
            assessment_id=assessment.id,
            review_cycle_id=cycle.id,
            decision_id=decision.id,
            validated_on=decision.decided_on,
            validated_by_id=actor.user_id,
        )
    )
    session.flush()
    return f"Validated — assessment of {assessment.assessed_on:%d %b %Y} (residual {assessment.residual_score})"


def _escalate(session: Session, actor: audit.Actor, risk: Risk, decision: TaskForceDecision) -> str:
    ladder = responses.LADDER
    held = responses.current_level(session, risk)
    base = max(held, EscalationLevel.TASK_FORCE, key=ladder.index)
    if ladder.index(base) + 1 >= len(ladder):
        raise RuleViolation("decision", f"{risk.ref} is held by the Council already; there is no level above.")
    to_level = ladder[ladder.index(base) + 1]
    escalation = responses.raise_escalation(
        session, actor, risk, to_level, decision.comment, today=decision.decided_on, commit=False
    )
    return f"Escalation to {_LEVEL_NAMES.get(to_level, to_level.label)} opened (#{escalation.id})"


def _survivor(session: Session, ref: str) -> Risk:
    wanted = ref.strip()
    if not wanted:
        raise RuleViolation("merge_into", "Give the reference of the risk it is merged into.")
    found = session.scalars(
        select(Risk).where(func.lower(Risk.ref) == wanted.lower(), Risk.deleted_at.is_(None))
    ).first()
    if found is None:
        raise RuleViolation("merge_into", f"No risk {wanted} in the register.")
    return found
