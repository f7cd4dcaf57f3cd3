"""The "changed by someone else" answer (409): the user's input kept in editable fields, beside the stored values.

Nothing typed is lost: the page re-shows the submitted form carrying the *current* version, so saving it again
is a deliberate overwrite of the change the user has now seen (security.md J1, J2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import render_template
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SelectFieldBase

from riskreg.extensions import db
from riskreg.models import AuditEvent

_SKIPPED = frozenset({"csrf_token", "version"})


@dataclass(frozen=True)
class ConflictRow:
    label: str
    yours: str
    stored: str

    @property
    def differs(self) -> bool:
        return self.yours != self.stored


@dataclass(frozen=True)
class ChangedBy:
    who: str
    when: datetime | None


def display(field: Any, value: object) -> str:
    """A value as the form would show it: the option's label for choices, yes/no, dates as 14 Mar 2026."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(field, BooleanField):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    if isinstance(field, SelectFieldBase):
        for choice in getattr(field, "choices", None) or []:
            if str(choice.value) == str(value):
                return str(choice.label)
    if isinstance(field, DateField) and isinstance(value, date):
        return value.strftime("%d %b %Y")
    return str(value)


def conflict_rows(form: FlaskForm, stored: object | None) -> list[ConflictRow]:
    """Each editable field: the submitted value and the stored one (stored attributes share the field names)."""
    rows = []
    for field in form:
        if field.name in _SKIPPED or field.type in ("HiddenField", "CSRFTokenField"):
            continue
        yours = display(field, field.data)
        current = display(field, getattr(stored, field.name, None)) if stored is not None else "—"
        rows.append(ConflictRow(str(field.label.text), yours, current))
    return rows


def last_change(entity: str, entity_id: object) -> ChangedBy:
    """Who last changed a record, from the audit trail (for records that do not store it themselves)."""
    event = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if event is None:
        return ChangedBy("someone else", None)
    return ChangedBy(event.actor_email or "someone else", event.at)


def render_conflict(
    form: FlaskForm,
    *,
    stored: object | None,
    current_version: int,
    changed: ChangedBy,
    heading: str,
    fields_template: str,
    back_url: str,
    submit_label: str = "Save my version",
    **context: Any,
) -> tuple[str, int]:
    """The conflict page (HTTP 409) with the submitted form now carrying `current_version`."""
    version = getattr(form, "version", None)
    if version is not None:
        # IntegerField renders raw_data first; replace both so the resubmission names the version now stored.
        version.data = current_version
        version.raw_data = [str(current_version)]
    return (
        render_template(
            "risks/conflict.html",
            form=form,
            rows=conflict_rows(form, stored),
            changed=changed,
            heading=heading,
            fields_template=fields_template,
            back_url=back_url,
            submit_label=submit_label,
            **context,
        ),
        409,
    )
