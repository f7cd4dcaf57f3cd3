"""The task force's requests to a risk owner ("rating challenged", "return to owner").

A request is raised by a task force decision, shows on the owner's home page ("what needs me?") with the
task force's comment, and is cleared once: when the owner reassesses the risk, answers the request, or the
risk leaves the register. Clearing never deletes: who cleared it, when and how stay on the row.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from riskreg import audit
from riskreg.access import risk_scope
from riskreg.models import OwnerRequest, Risk, User, utcnow

ANSWER_MAX = 4000


class RequestError(ValueError):
    """An answer that cannot be recorded; the message is shown to the person."""


def raise_request(
    session: Session,
    actor: audit.Actor,
    risk: Risk,
    kind: str,
    comment: str,
    *,
    decision_id: int | None,
    raised_on: date,
) -> OwnerRequest:
    """Flag the risk for its owner (no commit: the task force decision that raises it commits both)."""
    request = OwnerRequest(
        risk_id=risk.id,
        decision_id=decision_id,
        kind=kind,
        comment=comment.strip(),
        raised_on=raised_on,
        raised_by_id=actor.user_id,
        cleared_how="",
        answer="",
    )
    session.add(request)
    session.flush()
    audit.record(
        session, actor, "flag", "risk", risk.ref, f"{risk.ref} sent back to its owner: {comment.strip()}"[:300]
    )
    return request


def open_requests(session: Session, risk: Risk) -> list[OwnerRequest]:
    return list(
        session.scalars(
            select(OwnerRequest)
            .where(OwnerRequest.risk_id == risk.id, OwnerRequest.cleared_at.is_(None))
            .order_by(OwnerRequest.id)
        )
    )


def clear_requests(session: Session, actor: audit.Actor, risk: Risk, how: str, answer: str = "") -> int:
    """Clear the risk's open requests (no commit: called inside the operation that answers them)."""
    cleared = open_requests(session, risk)
    for request in cleared:
        request.cleared_at = utcnow()
        request.cleared_by_id = actor.user_id
        request.cleared_how = how
        request.answer = answer
    if cleared:
        session.flush()
        audit.record(
            session,
            actor,
            "unflag",
            "risk",
            risk.ref,
            f"task force request on {risk.ref} cleared ({how})",
            {"requests": [r.id for r in cleared], "answer": answer},
        )
    return len(cleared)


def answer_request(session: Session, actor: audit.Actor, risk: Risk, request: OwnerRequest, answer: str) -> None:
    """The owner answers the task force without reassessing (e.g. the rating stands, and why)."""
    text = answer.strip()
    if request.risk_id != risk.id or request.cleared_at is not None:
        raise RequestError("This request has already been answered.")
    if not text:
        raise RequestError("Write the answer for the task force.")
    if len(text) > ANSWER_MAX:
        raise RequestError(f"The answer may be {ANSWER_MAX} characters long.")
    clear_requests(session, actor, risk, "answered", text)
    session.commit()


def requests_needing(session: Session, user: User, *, limit: int = 10) -> list[OwnerRequest]:
    """Open requests on the risks the user sees, oldest first: the home page's "returned by the task force"."""
    return list(
        session.scalars(
            select(OwnerRequest)
            .join(Risk, Risk.id == OwnerRequest.risk_id)
            .options(joinedload(OwnerRequest.risk))
            .where(risk_scope(user), OwnerRequest.cleared_at.is_(None))
            .order_by(OwnerRequest.raised_on, OwnerRequest.id)
            .limit(limit)
        ).unique()
    )
