"""Who may do what: permissions per role, the route decorators, and the unit scope of risks.

Deny by default: every view is wrapped by `requires(permission)` or marked `public`; a test walks
`app.url_map` and fails on a view that is neither. Out-of-scope objects answer 404, never 403, so a
department user cannot learn that another unit's risk exists (security.md B3).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, g, request
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, true

from riskreg.models import Risk, Role, User


class Permission(enum.StrEnum):
    SESSION = "session"  # any signed-in user: sign out
    RISK_READ = "risk.read"  # read risks in scope
    RISK_WRITE = "risk.write"  # create and edit risks, assessments, controls, actions in scope
    RISK_RESTORE = "risk.restore"  # restore deleted risks
    RISK_LIFECYCLE = "risk.lifecycle"  # close, realise, merge, reopen risks in scope (riskreg/risks/lifecycle.py)
    REVIEW_READ = "review.read"  # heatmap, agenda, minutes
    REVIEW_DECIDE = "review.decide"  # record task force decisions, accept escalations at task force level
    CYCLE_MANAGE = "cycle.manage"  # open, move and close review cycles
    CYCLE_AMEND = "cycle.amend"  # append a signed addendum to a closed cycle's minutes
    APPETITE_READ = "appetite.read"
    APPETITE_DRAFT = "appetite.draft"
    APPETITE_ENDORSE = "appetite.endorse"
    RISK_ACCEPT = "risk.accept"  # record acceptances above appetite (level checked by the operation)
    ESCALATE = "escalate"  # raise and decide escalations (level checked by the operation)
    EXPORT_COUNCIL = "export.council"
    IMPORT_REGISTER = "import.register"
    ADMIN_USERS = "admin.users"
    AUDIT_READ = "audit.read"
    OVERSIGHT_READ = "oversight.read"  # recommendations of oversight bodies in scope, their summary
    OVERSIGHT_UPDATE = "oversight.update"  # status updates with evidence (focal points: own unit's only)
    OVERSIGHT_MANAGE = "oversight.manage"  # import recommendation lists


# What each permission lets a person do, as the 403 page names it ("... does not include <this>").
PERMISSION_PURPOSES: dict[Permission, str] = {
    Permission.SESSION: "signing in",
    Permission.RISK_READ: "reading the register",
    Permission.RISK_WRITE: "editing risks, assessments, controls and actions",
    Permission.RISK_RESTORE: "restoring deleted risks",
    Permission.RISK_LIFECYCLE: "closing, realising, merging and reopening risks",
    Permission.REVIEW_READ: "the task force review (heatmap, agenda and minutes)",
    Permission.REVIEW_DECIDE: "recording task force decisions",
    Permission.CYCLE_MANAGE: "opening, moving and closing review cycles",
    Permission.CYCLE_AMEND: "adding addenda to a closed cycle's minutes",
    Permission.APPETITE_READ: "reading the risk appetite statements",
    Permission.APPETITE_DRAFT: "drafting risk appetite statements",
    Permission.APPETITE_ENDORSE: "recording the Council's endorsement of a statement",
    Permission.RISK_ACCEPT: "accepting risks above appetite",
    Permission.ESCALATE: "raising and deciding escalations",
    Permission.EXPORT_COUNCIL: "Council exports",
    Permission.IMPORT_REGISTER: "importing registers",
    Permission.ADMIN_USERS: "managing users and roles",
    Permission.AUDIT_READ: "reading the audit trail",
    Permission.OVERSIGHT_READ: "reading the recommendations of oversight bodies",
    Permission.OVERSIGHT_UPDATE: "updating the status of oversight recommendations",
    Permission.OVERSIGHT_MANAGE: "importing oversight recommendation lists",
}

_READ_ALL = {
    Permission.SESSION,
    Permission.RISK_READ,
    Permission.REVIEW_READ,
    Permission.APPETITE_READ,
    Permission.AUDIT_READ,
    Permission.OVERSIGHT_READ,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({*_READ_ALL, Permission.ADMIN_USERS, Permission.APPETITE_ENDORSE, Permission.RISK_RESTORE}),
    Role.COORDINATOR: frozenset(
        {
            *_READ_ALL,
            Permission.RISK_WRITE,
            Permission.RISK_RESTORE,
            Permission.RISK_LIFECYCLE,
            Permission.CYCLE_MANAGE,
            Permission.CYCLE_AMEND,
            Permission.APPETITE_DRAFT,
            Permission.EXPORT_COUNCIL,
            Permission.IMPORT_REGISTER,
            Permission.ESCALATE,
            Permission.RISK_ACCEPT,
            Permission.OVERSIGHT_UPDATE,
            Permission.OVERSIGHT_MANAGE,
        }
    ),
    Role.TASKFORCE: frozenset(
        {
            *_READ_ALL,
            Permission.REVIEW_DECIDE,
            Permission.CYCLE_AMEND,
            Permission.ESCALATE,
            Permission.RISK_ACCEPT,
            Permission.RISK_LIFECYCLE,
        }
    ),
    Role.SECRETARIAT: frozenset({*_READ_ALL, Permission.EXPORT_COUNCIL}),
    Role.FOCAL_POINT: frozenset(
        {
            Permission.SESSION,
            Permission.RISK_READ,
            Permission.RISK_WRITE,
            Permission.RISK_LIFECYCLE,
            Permission.APPETITE_READ,
            Permission.IMPORT_REGISTER,
            Permission.ESCALATE,
            Permission.RISK_ACCEPT,
            Permission.OVERSIGHT_READ,
            Permission.OVERSIGHT_UPDATE,
        }
    ),
    Role.VIEWER: frozenset(_READ_ALL),
}

# Roles that see every unit; the others see only their own unit's risks.
ALL_UNITS_ROLES = frozenset({Role.ADMIN, Role.COORDINATOR, Role.TASKFORCE, Role.SECRETARIAT, Role.VIEWER})

F = TypeVar("F", bound=Callable[..., Any])


def has_permission(user: User | None, permission: Permission) -> bool:
    return user is not None and user.is_active and permission in ROLE_PERMISSIONS[user.role]


def requires(permission: Permission) -> Callable[[F], F]:
    """Route decorator: signed in and holding `permission`, else login redirect or 403."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                from riskreg.extensions import login_manager

                return login_manager.unauthorized()
            if not has_permission(cast(User, current_user), permission):
                g.authz_failure = f"{request.endpoint} needs {permission.value}"
                g.authz_permission = permission  # the 403 page says who may do this instead
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_permission = permission  # type: ignore[attr-defined]
        return cast(F, wrapper)

    return decorate


def public(view: F) -> F:
    """Mark a view as open to anonymous users (login page, health check)."""
    view.required_permission = None  # type: ignore[attr-defined]
    return view


def roles_with(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]


def sees_all_units(user: User) -> bool:
    return user.role in ALL_UNITS_ROLES


def risk_scope(user: User, *, include_deleted: bool = False) -> ColumnElement[bool]:
    """SQL condition for the risks `user` may read."""
    clauses: list[ColumnElement[bool]] = []
    if not include_deleted:
        clauses.append(Risk.deleted_at.is_(None))
    if not sees_all_units(user):
        clauses.append(Risk.org_unit_id == user.org_unit_id)
    return and_(true(), *clauses)


def may_edit_risk(user: User, risk: Risk) -> bool:
    if not has_permission(user, Permission.RISK_WRITE) or risk.is_deleted:
        return False
    return sees_all_units(user) or risk.org_unit_id == user.org_unit_id


def may_read_unit(user: User, org_unit_id: int) -> bool:
    return sees_all_units(user) or user.org_unit_id == org_unit_id
