"""The audit trail: who did what. Operations call `record()` inside their own transaction.

Operations receive an `Actor` rather than reading the Flask session, so the CLI and tests can act too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from riskreg.models import AuditEvent, User

# Never written to the audit trail, whatever an operation passes (security.md I5).
_SECRET_FIELDS = frozenset({"password", "password_hash", "session_token", "csrf_token"})


@dataclass(frozen=True)
class Actor:
    """The person (or system process) on whose behalf an operation runs."""

    user_id: int | None
    email: str
    role: str
    unit_code: str = ""
    unit_id: int | None = None
    ip: str = ""
    request_id: str = ""

    @classmethod
    def of(cls, user: User, ip: str = "", request_id: str = "") -> Actor:
        return cls(
            user_id=user.id,
            email=user.email,
            role=user.role.value,
            unit_code=user.org_unit.code if user.org_unit else "",
            unit_id=user.org_unit_id,
            ip=ip,
            request_id=request_id,
        )


SYSTEM = Actor(user_id=None, email="system", role="system")


def record(
    session: Session,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object = "",
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (it commits with the change it describes)."""
    event = AuditEvent(**row(actor, action, entity, entity_id, summary, changes))
    session.add(event)
    return event


def row(
    actor: Actor,
    action: str,
    entity: str,
    entity_id: object = "",
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The audit event's column values, for writers that insert many at once (bulk import) as `record` would."""
    clean = {k: v for k, v in (changes or {}).items() if k not in _SECRET_FIELDS}
    return {
        "actor_id": actor.user_id,
        "actor_email": actor.email,
        "actor_role": actor.role,
        "actor_unit": actor.unit_code,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "summary": summary[:300],
        "changes_json": json.dumps(clean, default=_jsonable, sort_keys=True, ensure_ascii=False),
        "request_id": actor.request_id,
        "ip": actor.ip,
    }


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Changed fields as {field: [before, after]}."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def _jsonable(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)
