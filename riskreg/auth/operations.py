"""Writes about users and sign-in; each writes its audit record in the same transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskreg import audit
from riskreg.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from riskreg.models import OrgUnit, Role, User, utcnow


class UserError(ValueError):
    """A user change that breaks a rule; the message is shown beside `field` (a UserForm field name)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class UserData:
    email: str
    name: str
    title: str
    role: Role
    unit_code: str | None
    is_active: bool = True


def authenticate(session: Session, email: str, password: str, ip: str = "") -> User | None:
    """The user if the password matches an active account; audits success and failure alike."""
    email = email.strip().lower()
    user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        attempt = audit.Actor(user_id=user.id if user else None, email=email[:254], role="", ip=ip)
        audit.record(session, attempt, "login_failed", "user", user.id if user else "", "wrong email or password")
        session.commit()
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    audit.record(session, audit.Actor.of(user, ip=ip), "login", "user", user.id, "signed in")
    session.commit()
    return user


def end_sessions(session: Session, actor: audit.Actor, user: User, reason: str) -> None:
    """Rotate the session token so every cookie issued to the user stops working."""
    user.session_token = secrets.token_urlsafe(32)
    audit.record(session, actor, "logout", "user", user.id, reason)
    session.commit()


def create_user(session: Session, actor: audit.Actor, data: UserData, password: str) -> User:
    _check_password(password)
    email = data.email.strip().lower()
    if session.scalars(select(User.id).where(func.lower(User.email) == email)).first() is not None:
        raise UserError(f"A user with the email {email} already exists.", "email")
    user = User(
        email=email,
        name=data.name.strip(),
        title=data.title.strip(),
        role=data.role,
        org_unit_id=_unit_id(session, data),
        password_hash=hash_password(password),
        is_active=data.is_active,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "create", "user", user.id, f"created {email} as {data.role.label}", _user_fields(user))
    session.commit()
    return user


def update_user(session: Session, actor: audit.Actor, user: User, data: UserData, password: str | None = None) -> User:
    """Change a user's details (and password, when given) in one transaction: all or nothing."""
    if data.email.strip().lower() != user.email:
        raise UserError("The email of an existing user cannot change; create a new user instead.", "email")
    if password:
        _check_password(password)
    before = _user_fields(user)
    user.name = data.name.strip()
    user.title = data.title.strip()
    user.role = data.role
    user.org_unit_id = _unit_id(session, data)
    if user.is_active and not data.is_active:
        # Deactivation ends the user's sessions at their next request (security.md A6).
        user.session_token = secrets.token_urlsafe(32)
    user.is_active = data.is_active
    changes = audit.diff(before, _user_fields(user))
    if changes:
        audit.record(session, actor, "update", "user", user.id, f"updated {user.email}", changes)
    if password:
        _stage_password(session, actor, user, password)
    session.commit()
    return user


def set_password(session: Session, actor: audit.Actor, user: User, password: str) -> None:
    """A new password; every session the user had ends (security.md A5)."""
    _check_password(password)
    _stage_password(session, actor, user, password)
    session.commit()


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise UserError(problem, "password")


def _stage_password(session: Session, actor: audit.Actor, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.session_token = secrets.token_urlsafe(32)
    # The audit row says that the password changed, never what it is or hashes to (security.md I5).
    audit.record(session, actor, "password_change", "user", user.id, f"password changed for {user.email}")


def _unit_id(session: Session, data: UserData) -> int | None:
    if not data.unit_code:
        if data.role == Role.FOCAL_POINT:
            raise UserError("A department focal point must belong to a unit.", "unit")
        return None
    unit = session.scalars(select(OrgUnit).where(OrgUnit.code == data.unit_code)).first()
    if unit is None:
        raise UserError(f"There is no unit with the code {data.unit_code}.", "unit")
    return unit.id


def _user_fields(user: User) -> dict[str, object]:
    return {
        "email": user.email,
        "name": user.name,
        "title": user.title,
        "role": user.role.value,
        "org_unit_id": user.org_unit_id,
        "is_active": user.is_active,
    }
