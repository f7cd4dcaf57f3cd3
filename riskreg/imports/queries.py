"""Read side of imports: the units a user may import into, and the imports already applied in their scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from riskreg.access import sees_all_units
from riskreg.models import ImportRun, OrgUnit, User


@dataclass(frozen=True)
class RunRow:
    id: int
    applied_at: datetime
    unit_code: str
    file_name: str
    created: int
    updated: int
    unchanged: int
    by: str


def import_unit(session: Session, user: User, code: str | None) -> OrgUnit | None:
    """The active unit `user` may import into: any for coordinators, their own for focal points."""
    if not sees_all_units(user):
        unit = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id is not None else None
        return unit if unit is not None and unit.active and (code is None or unit.code == code) else None
    if not code:
        return None
    return session.scalars(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.active)).first()


def recent_runs(session: Session, user: User, limit: int = 10) -> list[RunRow]:
    query = (
        select(ImportRun, OrgUnit.code, User.name)
        .join(OrgUnit, OrgUnit.id == ImportRun.org_unit_id)
        .outerjoin(User, User.id == ImportRun.applied_by_id)
        .order_by(ImportRun.id.desc())
        .limit(limit)
    )
    if not sees_all_units(user):
        query = query.where(ImportRun.org_unit_id == user.org_unit_id)
    return [
        RunRow(
            run.id,
            run.applied_at,
            code,
            run.file_name,
            run.created_count,
            run.updated_count,
            run.unchanged_count,
            name or "command line",
        )
        for run, code, name in session.execute(query)
    ]
