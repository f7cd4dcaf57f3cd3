"""The plan as people read it: one display row per imported row, values as text, in pages.

Shared by the preview page and `riskreg import register`, so both say the same thing. No Flask here.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from riskreg.importer import (
    FIELD_LABELS,
    CellError,
    CellWarning,
    FieldChange,
    ImportedAction,
    ImportPlan,
    PlannedRow,
    RowAction,
)

PAGE_SIZE = 200
MAX_ERRORS_SHOWN = 1000
SHOWS = ("all", "error", "update", "new", "unchanged")
ACTION_LABELS = {
    RowAction.NEW: "New risk",
    RowAction.UPDATE: "Update",
    RowAction.UNCHANGED: "Unchanged",
    RowAction.ERROR: "Error",
}
_TEXT_SHOWN = 160


@dataclass(frozen=True)
class Change:
    label: str
    old: str  # "" when the change adds something (an action)
    new: str


@dataclass(frozen=True)
class PreviewRow:
    sheet: str
    row: int
    ref: str
    title: str
    action: str  # RowAction value
    label: str
    changes: tuple[Change, ...]
    errors: tuple[CellError, ...]
    warnings: tuple[CellWarning, ...]
    summary: str = ""  # what a new risk brings: category, owner, ratings, actions

    @property
    def where(self) -> str:
        return f"{self.sheet} row {self.row}" if self.sheet else f"row {self.row}"


@dataclass(frozen=True)
class Page:
    rows: tuple[PreviewRow, ...]
    show: str
    page: int
    pages: int
    total: int  # rows under this filter

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def preview_row(planned: PlannedRow) -> PreviewRow:
    row = planned.row
    title = row.values.get("title")
    changes = tuple(change for c in planned.changes for change in _changes(c))
    return PreviewRow(
        sheet=row.sheet,
        row=row.row,
        ref=planned.ref,
        title=title if isinstance(title, str) else "",
        action=planned.action.value,
        label=ACTION_LABELS[planned.action],
        changes=changes,
        errors=planned.errors,
        warnings=row.warnings,
        summary=new_risk_summary(row.values) if planned.action is RowAction.NEW else "",
    )


def new_risk_summary(values: Mapping[str, object]) -> str:
    """'Financial · Chief, Budget · inherent 4×4 · residual 3×3 · 2 actions' for a new risk's row."""
    parts = [show_value(values[name]) for name in ("category", "owner_title") if values.get(name)]
    for qualifier in ("inherent", "residual", "target"):
        likelihood, impact = values.get(f"{qualifier}_likelihood"), values.get(f"{qualifier}_impact")
        if likelihood is not None and impact is not None:
            parts.append(f"{qualifier} {likelihood}×{impact}")
    actions = values.get("actions")
    if isinstance(actions, tuple) and actions:
        parts.append(f"{len(actions)} action{'s' if len(actions) != 1 else ''}")
    if values.get("controls"):
        parts.append("controls")
    return " · ".join(parts)


def _changes(change: FieldChange) -> Iterator[Change]:
    if change.field != "actions":
        yield Change(FIELD_LABELS.get(change.field, change.field), show_value(change.old), show_value(change.new))
        return
    # The plan lists only the actions to add or re-date; the others stay as they are, so they are not shown.
    current = change.old if isinstance(change.old, Iterable) and not isinstance(change.old, str) else ()
    known = {_key(a.description): a for a in current if isinstance(a, ImportedAction)}
    for action in change.new if isinstance(change.new, tuple) else ():
        if not isinstance(action, ImportedAction):
            continue
        before = known.get(_key(action.description))
        if before is None:
            yield Change("Action", "", show_value(action))
        else:
            yield Change("Action due date", show_value(before), show_value(action))


def _key(text: str) -> str:
    return " ".join(text.split()).rstrip(".").casefold()


def cell_warnings(plan: ImportPlan) -> list[str]:
    """Every row's cell warnings ("Register B7: Title: bidirectional control characters were removed ..."),
    in file order: what the preview shows beside each row, for the CLI, which has no rows to show them on.
    """
    return [str(warning) for planned in plan.rows for warning in planned.row.warnings]


def page_of(plan: ImportPlan, show: str = "all", page: int = 1) -> Page:
    """One page of the plan's rows under a filter ("all" or a RowAction value); out-of-range pages clamp."""
    show = show if show in SHOWS else "all"
    chosen: Sequence[PlannedRow] = plan.rows if show == "all" else plan.of(RowAction(show))
    pages = max(1, math.ceil(len(chosen) / PAGE_SIZE))
    page = min(max(1, page), pages)
    start = (page - 1) * PAGE_SIZE
    rows = tuple(preview_row(p) for p in chosen[start : start + PAGE_SIZE])
    return Page(rows, show, page, pages, len(chosen))


def show_value(value: object) -> str:
    """A value as the preview shows it: dates as 30 Jun 2026, actions one per line, None as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f"{value.day} {value:%b %Y}"
    if isinstance(value, str):
        text = value.replace("_", " ") if value.islower() and "_" in value and " " not in value else value
        return text if len(text) <= _TEXT_SHOWN else text[: _TEXT_SHOWN - 1] + "…"
    if isinstance(value, ImportedAction):
        return f"{value.description} (due {show_value(value.due_date)})"
    if isinstance(value, Collection):
        items = list(value)
        if items and all(isinstance(i, ImportedAction) for i in items):
            return "\n".join(show_value(i) for i in items)
        return show_value(items[0]) if items else "—"  # a code and its name: the code
    return str(value)
