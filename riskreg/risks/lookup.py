"""Find the record a register route names, inside the signed-in user's scope, or answer 404.

Out of scope and unknown look the same (404), so a department user cannot learn that another unit's risk,
control or action exists (security.md B3).
"""

from __future__ import annotations

from typing import cast

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from riskreg import policy
from riskreg.access import Permission, has_permission, may_edit_risk
from riskreg.extensions import db
from riskreg.models import Action, Control, Risk, User
from riskreg.risks import queries
from riskreg.scoring import Scales

# Larger ids cannot exist and would overflow the database's integer type (a 500 instead of a 404).
_MAX_ID = 2**31 - 1


def session() -> Session:
    # Flask-SQLAlchemy's scoped session proxies a Session; typed as one for the operations' signatures.
    return cast(Session, db.session)


def user() -> User:
    return cast(User, current_user._get_current_object())


def scales() -> Scales:
    return policy.current_scales(session())


def readable_risk(ref: str) -> Risk:
    """A risk the user may read; deleted ones only for those who may restore them."""
    include_deleted = has_permission(user(), Permission.RISK_RESTORE)
    risk = queries.find_risk(session(), user(), ref, include_deleted=include_deleted)
    if risk is None:
        abort(404)
    return risk


def editable_risk(ref: str) -> Risk:
    """A live risk in the user's scope that the user may change."""
    risk = queries.find_risk(session(), user(), ref)
    if risk is None or not may_edit_risk(user(), risk):
        abort(404)
    return risk


def control_of(risk: Risk, control_id: int) -> Control:
    control = db.session.get(Control, control_id) if 0 < control_id <= _MAX_ID else None
    if control is None or control.risk_id != risk.id:
        abort(404)
    return control


def action_of(risk: Risk, action_id: int) -> Action:
    action = db.session.get(Action, action_id) if 0 < action_id <= _MAX_ID else None
    if action is None or action.risk_id != risk.id:
        abort(404)
    return action
