"""The register frozen at one moment: the plain rows that movement, heatmap and workbook read.

Pure: no Flask, no database session. A review cycle's closing stores these rows (as JSON)
with a content hash; "now" builds them from the live tables. Either way the outputs are
computed from the same shape, so a closed cycle always gives the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ActionRow:
    """One treatment action as it stood at the snapshot."""

    ref: str
    risk_ref: str
    description: str
    owner_title: str
    unit_code: str
    due_date: date | None
    revised_due_date: date | None
    status: str  # not_started, on_track, delayed, completed, cancelled
    percent_complete: int
    completed_on: date | None = None
    expected_effect: str = ""
    comment: str = ""

    @property
    def is_open(self) -> bool:
        return self.status not in ("completed", "cancelled")

    def days_overdue(self, as_at: date) -> int:
        """Days past the (revised) due date for an open action; 0 when not overdue."""
        due = self.revised_due_date or self.due_date
        if not self.is_open or due is None or due >= as_at:
            return 0
        return (as_at - due).days


@dataclass(frozen=True, slots=True)
class RiskRow:
    """One risk with the assessment that counts, as it stood at the snapshot."""

    ref: str
    title: str
    cause: str
    event: str
    consequence: str
    category_code: str
    category_name: str
    unit_code: str
    unit_name: str
    level: str  # departmental, sector, corporate
    nature: str  # threat, opportunity
    status: str  # draft, submitted, active, escalated, closed, realised, merged
    owner_title: str
    treatment: str  # treat, tolerate, transfer, terminate, exploit
    inherent_likelihood: int
    inherent_impact: int
    inherent_score: int
    inherent_band: str
    residual_likelihood: int
    residual_impact: int
    residual_score: int
    residual_band: str
    zone: str  # appetite.Zone value
    appetite_level: str = ""
    appetite_max: int | None = None
    tolerance_max: int | None = None
    statement_version: str = ""
    target_likelihood: int | None = None
    target_impact: int | None = None
    target_score: int | None = None
    target_band: str = ""
    target_date: date | None = None
    control_effectiveness: str = ""
    controls_summary: str = ""
    velocity: int | None = None
    trend_reason: str = ""
    rationale: str = ""
    assessed_on: date | None = None
    is_confidential: bool = False
    council_visible: bool = False
    closed_reason: str = ""
    acceptance_until: date | None = None  # an active RiskAcceptance's expiry
    acceptance_level: str = ""
    escalation_level: str = ""  # the latest open escalation's level, if any (proposed, pending or accepted)
    escalation_status: str = ""
    # The level holding the risk: the to-level of its accepted escalation ("" = with its owner). Movement counts
    # only this; snapshots frozen before it existed fall back on the open escalation when that one is accepted.
    accepted_escalation_level: str = ""
    actions: tuple[ActionRow, ...] = field(default=())

    @property
    def statement(self) -> str:
        """The risk statement as the register shows it."""
        cause, event, consequence = (t.rstrip(".") for t in (self.cause, self.event, self.consequence))
        return f"Because {cause}, there is a risk that {event}, which would {consequence}."

    @property
    def gap(self) -> int | None:
        """Residual score minus the appetite maximum (positive = above appetite)."""
        return None if self.appetite_max is None else self.residual_score - self.appetite_max

    def open_actions(self) -> list[ActionRow]:
        return [a for a in self.actions if a.is_open]

    def overdue_actions(self, as_at: date) -> list[ActionRow]:
        return [a for a in self.actions if a.days_overdue(as_at) > 0]


@dataclass(frozen=True)
class Snapshot:
    """The register of one review cycle (or of now, for drafts)."""

    cycle_code: str
    as_at: date
    statement_version: str
    scales_version: str
    rows: tuple[RiskRow, ...]
    is_draft: bool = False

    def by_ref(self) -> dict[str, RiskRow]:
        return {row.ref: row for row in self.rows}

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the rows; equal registers give equal hashes."""
        # Streamed row by row (same digest as hashing the whole JSON array) so memory stays flat at 50,000 risks.
        header = f"{self.cycle_code}|{self.as_at.isoformat()}|{self.statement_version}|{self.scales_version}|"
        digest = hashlib.sha256(header.encode("utf-8"))
        digest.update(b"[")
        for index, row in enumerate(self.rows):
            text = json.dumps(row_to_json(row), sort_keys=True, separators=(",", ":"))
            digest.update(("," if index else "").encode("utf-8") + text.encode("utf-8"))
        digest.update(b"]")
        return digest.hexdigest()


_ROW_FIELDS = tuple(f.name for f in fields(RiskRow))
_ACTION_FIELDS = tuple(f.name for f in fields(ActionRow))


def row_to_json(row: RiskRow) -> dict[str, Any]:
    """A RiskRow as JSON-ready data (dates as ISO text); same result as asdict, without its deep copies."""
    data = {name: _text(getattr(row, name)) for name in _ROW_FIELDS}
    data["actions"] = [{name: _text(getattr(a, name)) for name in _ACTION_FIELDS} for a in row.actions]
    return data


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def row_from_json(data: Mapping[str, Any]) -> RiskRow:
    """The inverse of `row_to_json`."""
    values = dict(data)
    values["actions"] = tuple(_from_json(ActionRow, a) for a in values.get("actions", ()))
    return _from_json(RiskRow, values)


# Cached per process: the review page of an open cycle sorts the same 100,000 references on every request, and
# splitting them is most of building its heatmap spec (~5 µs a reference); a cached key is a dictionary look-up.
@lru_cache(maxsize=1 << 18)
def natural_key(ref: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key for risk references in natural order: FIN-9 before FIN-10, case ignored.

    The one ordering of references everywhere (heatmap cells, register, movement), so that ties
    read the same on every page and sheet.
    """
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold()) for part in _DIGIT_RUNS.split(ref) if part)


_DIGIT_RUNS = re.compile(r"(\d+)")


def sort_rows(rows: Iterable[RiskRow]) -> list[RiskRow]:
    """Register order: residual score descending, then reference in natural order."""
    return sorted(rows, key=lambda r: (-r.residual_score, natural_key(r.ref)))


def _from_json(cls: type[T], data: Mapping[str, Any]) -> T:
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        if isinstance(value, str) and f.type in ("date | None",):
            value = date.fromisoformat(value)
        values[f.name] = value
    return cls(**values)
