"""The preview: each imported row against the register as it stands -> new, update (with changes), unchanged, error.

Pure: the caller (the imports feature's operations) loads `existing` and applies the plan in one
transaction. `existing` maps each risk's ref to its current values under the names `ImportedRow.values`
uses. For `category` and `unit` a value may also be a collection of equivalent texts (code and name), so a
file that names the category "Financial" matches a risk stored as "FIN". Actions are compared by
description: an import adds missing actions and changes due dates, it never removes one. Because only
the cells a file gives are compared, importing a file again after applying it gives only "unchanged".
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from riskreg.importer.result import CellError, ImportedAction, ImportedRow, ImportResult
from riskreg.importer.values import fold


class RowAction(enum.StrEnum):
    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True)
class FieldChange:
    """One field an update changes. For `actions`, `new` holds only the actions to add or re-date."""

    field: str
    old: object
    new: object


@dataclass(frozen=True)
class PlannedRow:
    row: ImportedRow
    action: RowAction
    ref: str  # the existing risk's ref (update, unchanged), else the file's ref, possibly ""
    changes: tuple[FieldChange, ...] = ()
    errors: tuple[CellError, ...] = ()


@dataclass(frozen=True)
class ImportPlan:
    filename: str
    sha256: str
    rows: tuple[PlannedRow, ...]
    warnings: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys((a.value for a in RowAction), 0)
        for planned in self.rows:
            counts[planned.action.value] += 1
        return counts

    def of(self, action: RowAction) -> tuple[PlannedRow, ...]:
        return tuple(p for p in self.rows if p.action is action)

    @property
    def has_errors(self) -> bool:
        return any(p.action is RowAction.ERROR for p in self.rows)

    @property
    def errors(self) -> tuple[CellError, ...]:
        return tuple(e for p in self.rows for e in p.errors)


_CASELESS = frozenset({"category", "unit", "nature", "level", "status", "treatment", "control_effectiveness"})


def plan_import(result: ImportResult, existing: Mapping[str, Mapping[str, object]]) -> ImportPlan:
    """Classify every row of `result` against `existing` (ref -> field values)."""
    by_ref = {ref.casefold(): ref for ref in existing}
    by_title: dict[str, list[str]] = {}
    for ref, values in existing.items():
        title = values.get("title")
        if isinstance(title, str) and title.strip():
            by_title.setdefault(_text_key(title), []).append(ref)
    seen_refs: dict[str, ImportedRow] = {}
    seen_titles: dict[str, ImportedRow] = {}
    planned = []
    for row in result.rows:
        errors = list(row.errors)
        target = _match(row, by_ref, by_title, seen_refs, seen_titles, errors)
        if target is None and not errors and not row.values.get("title"):
            errors.append(_error(row, "title", "A new risk needs a title (and no existing risk has this reference)."))
        if errors:
            planned.append(PlannedRow(row, RowAction.ERROR, target or row.ref, (), tuple(errors)))
        elif target is None:
            planned.append(PlannedRow(row, RowAction.NEW, row.ref))
        else:
            changes = tuple(_changes(row.values, existing[target]))
            action = RowAction.UPDATE if changes else RowAction.UNCHANGED
            planned.append(PlannedRow(row, action, target, changes))
    return ImportPlan(result.filename, result.sha256, tuple(planned), result.warnings)


def _match(
    row: ImportedRow,
    by_ref: Mapping[str, str],
    by_title: Mapping[str, list[str]],
    seen_refs: dict[str, ImportedRow],
    seen_titles: dict[str, ImportedRow],
    errors: list[CellError],
) -> str | None:
    """The existing ref this row updates, or None for a new risk; duplicate rows become errors."""
    if row.ref:
        key = row.ref.casefold()
        if key in seen_refs:
            first = seen_refs[key]
            errors.append(_error(row, "ref", f"Reference {row.ref} appears twice; it is also on {_where(first)}."))
        seen_refs.setdefault(key, row)
        return by_ref.get(key)
    title = row.values.get("title")
    if not isinstance(title, str) or not title:
        return None
    key = _text_key(title)
    matches = by_title.get(key, [])
    if len(matches) > 1:
        errors.append(
            _error(row, "title", f"{len(matches)} existing risks have this title; add the reference to say which.")
        )
        return None
    if key in seen_titles:
        errors.append(
            _error(row, "title", f"The same title, without a reference, is also on {_where(seen_titles[key])}.")
        )
    seen_titles.setdefault(key, row)
    return matches[0] if matches else None


def _changes(values: Mapping[str, object], current: Mapping[str, object]) -> Iterable[FieldChange]:
    for name, new in values.items():
        if name == "ref":
            continue
        old = current.get(name)
        if name == "actions":
            added = _actions_to_apply(new, old)
            if added:
                yield FieldChange(name, old, added)
        elif not _same(name, old, new):
            yield FieldChange(name, old, new)


def _same(name: str, old: object, new: object) -> bool:
    if isinstance(old, Collection) and not isinstance(old, str | bytes) and name in ("category", "unit"):
        return any(_same(name, alias, new) for alias in old)
    old, new = _plain(old), _plain(new)
    if isinstance(old, str) and isinstance(new, str):
        if name in _CASELESS:
            return fold(old) == fold(new)
        return _text_key(old, keep_case=True) == _text_key(new, keep_case=True)
    return old == new


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.date()
    return value


def _text_key(text: str, keep_case: bool = False) -> str:
    # Whitespace and a final full stop do not count: RiskReg's statement drops the stop when it joins
    # cause, event and consequence, and a round trip must not see that as a change.
    key = " ".join(text.split()).rstrip(".")
    return key if keep_case else key.casefold()


def _actions_to_apply(new: object, old: object) -> tuple[ImportedAction, ...]:
    current = [_action_of(a) for a in old] if isinstance(old, Iterable) and not isinstance(old, str) else []
    known = {_text_key(d): due for d, due in current if d}
    wanted = new if isinstance(new, tuple) else ()
    return tuple(
        a
        for a in wanted
        if isinstance(a, ImportedAction)
        and (
            _text_key(a.description) not in known
            or (a.due_date is not None and known[_text_key(a.description)] != a.due_date)
        )
    )


def _action_of(value: object) -> tuple[str, date | None]:
    """An existing action as (description, due date), from an ImportedAction, a mapping or a pair."""
    if isinstance(value, ImportedAction):
        return value.description, value.due_date
    if isinstance(value, Mapping):
        description, due = value.get("description", ""), value.get("due_date")
    elif isinstance(value, tuple | list) and len(value) == 2:
        description, due = value
    else:
        return "", None
    due = _plain(due)
    return (description if isinstance(description, str) else "", due if isinstance(due, date) else None)


def _error(row: ImportedRow, name: str, message: str) -> CellError:
    return CellError(row.sheet, row.row, row.columns.get(name, ""), message)


def _where(row: ImportedRow) -> str:
    return f"{row.sheet} row {row.row}" if row.sheet else f"row {row.row}"
