"""Keyword-only factories for test data, built through the same operations the app uses."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import select

from riskreg.audit import SYSTEM, Actor
from riskreg.auth.operations import UserData, create_user
from riskreg.extensions import db
from riskreg.models import OrgUnit, Risk, RiskCategory, Role, UnitKind, User
from riskreg.risks import operations as ops

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def make_unit(
    *, code: str | None = None, name: str = "", kind: UnitKind = UnitKind.GENERAL_SECRETARIAT_DEPT
) -> OrgUnit:
    code = code or f"GS-U{next(_counter)}"
    unit = OrgUnit(code=code, name=name or f"Department {code}", kind=kind)
    db.session.add(unit)
    db.session.commit()
    return unit


def make_user(*, role: Role, unit: OrgUnit | None = None, email: str | None = None, title: str = "") -> User:
    email = email or f"{role.value}{next(_counter)}@example.org"
    data = UserData(
        email=email,
        name=email.split("@")[0].title(),
        title=title or f"{role.label}",
        role=role,
        unit_code=unit.code if unit else None,
    )
    return create_user(db.session, SYSTEM, data, PASSWORD)


def category(code: str = "FIN") -> RiskCategory:
    found = db.session.scalars(select(RiskCategory).where(RiskCategory.code == code)).one()
    return found


def make_risk(
    *,
    unit: OrgUnit,
    title: str = "Late member contributions strain cash flow",
    category_code: str = "FIN",
    residual: tuple[int, int] = (3, 3),
    inherent: tuple[int, int] | None = None,
    actor: Actor = SYSTEM,
    assessed_on: date | None = None,
    **fields: Any,
) -> Risk:
    data = ops.RiskInput(
        title=title,
        cause=fields.pop("cause", "several member states pay late"),
        event=fields.pop("event", "cash reserves fall below three months of expenditure"),
        consequence=fields.pop("consequence", "programmes are delayed"),
        category_id=category(category_code).id,
        owner_title=fields.pop("owner_title", "Chief, Financial Resources"),
        **fields,
    )
    inherent = inherent or (min(5, residual[0] + 1), min(5, residual[1] + 1))
    assessment = ops.AssessmentInput(
        inherent_likelihood=inherent[0],
        inherent_impact=inherent[1],
        residual_likelihood=residual[0],
        residual_impact=residual[1],
        assessed_on=assessed_on or date.today(),
        rationale="test",
    )
    return ops.create_risk(db.session, actor, data, unit.id, assessment=assessment)


def make_recommendation(
    *,
    unit: OrgUnit | None,
    number: str | None = None,
    report: str = "JIU/REP/2016/1",
    body: str = "JIU",
    rec_type: str = "formal",
    status: str = "in_progress",
    **fields: Any,
) -> Any:
    """A recommendation of `report` (created with its body if new), assigned to `unit`."""
    from riskreg.models import RecStatus, RecType
    from riskreg.oversight import operations as rec_ops

    rec_ops.ensure_report(db.session, rec_ops.ensure_body(db.session, body), report)
    data = rec_ops.NewRecommendation(
        report_symbol=report,
        number=number or str(next(_counter)),
        text=fields.pop("text", "Strengthen the follow-up of oversight recommendations"),
        rec_type=RecType(rec_type),
        status=RecStatus(status),
        org_unit_id=unit.id if unit else None,
        **fields,
    )
    return rec_ops.add_recommendation(db.session, SYSTEM, data)
