"""The preview of an import into one unit: the pure plan, checked against what the database holds.

`plan_import` (pure) knows only the rows and the unit's live register. What needs the database is
checked here, before anything is shown, so that the preview already holds every error the apply step
would meet: units other than the import's, categories RiskReg does not have, references taken outside
the unit's live register, actions without a due date, ratings-less assessments. References are kept
(re-importing a file must find its risks again) but made usable: characters a web address cannot carry
become "-", and a reference without letters ("7", "1.2") gets the unit's prefix ("FRMD-7"), because
references are unique across the organisation and every department numbers from 1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from riskreg.importer import (
    CellError,
    ImportedAction,
    ImportedRow,
    ImportPlan,
    ImportResult,
    PlannedRow,
    RowAction,
    plan_import,
)
from riskreg.importer.values import fold
from riskreg.models import Action, Assessment, Control, OrgUnit, Risk, RiskCategory, RiskStatus, Treatment
from riskreg.risks.operations import ref_prefix

REF_MAX = 40
ASSESSMENT_FIELDS = (
    "inherent_likelihood",
    "inherent_impact",
    "residual_likelihood",
    "residual_impact",
    "control_effectiveness",
    "velocity",
    "rationale",
)
RATING_FIELDS = ASSESSMENT_FIELDS[:4]
CONTROLS_JOIN = "; "  # as riskreg.risks.rows writes the controls summary that the Council workbook shows
_UNSAFE_REF = re.compile(r"[^A-Za-z0-9._-]+")
_ROUTE_WORDS = frozenset({"new", "deleted"})  # /risks/new and /risks/deleted are pages, not risks
_CHUNK = 900  # bound parameters per IN list (SQLite's limit)


@dataclass(frozen=True)
class Categories:
    """Risk categories by folded code and folded name, for rows that name them either way."""

    by_text: Mapping[str, int]
    listing: str  # "FIN (Financial), ICT (...)" for messages

    def find(self, text: object) -> int | None:
        return self.by_text.get(fold(text)) if isinstance(text, str) else None


def load_categories(session: Session) -> Categories:
    rows = session.execute(
        select(RiskCategory.id, RiskCategory.code, RiskCategory.name, RiskCategory.active).order_by(
            RiskCategory.sort_order, RiskCategory.code
        )
    ).all()
    by_text: dict[str, int] = {}
    for id_, code, name, _active in rows:
        by_text.setdefault(fold(code), id_)
        by_text.setdefault(fold(name), id_)
    listing = ", ".join(f"{code} ({name})" for _id, code, name, active in rows if active)
    return Categories(by_text, listing)


def unit_aliases(unit: OrgUnit) -> tuple[str, ...]:
    """How a register may name the unit: its code, its name, or the prefix of its references."""
    return (unit.code, unit.name, ref_prefix(unit.code))


# ---------------------------------------------------------------------------------------------- existing


def existing_for_import(session: Session, unit: OrgUnit) -> dict[str, dict[str, object]]:
    """The unit's live risks as `plan_import` compares them: ref -> values under the importer's field names.

    A fixed number of queries whatever the register's size. Ratings, control effectiveness, velocity and
    rationale are the current assessment's (None when the risk was never assessed); controls are the live
    ones joined as the Council workbook shows them; actions are (description, due date in force).
    """
    query = (
        select(Risk, Assessment, RiskCategory.code, RiskCategory.name)
        .outerjoin(Assessment, Assessment.id == Risk.current_assessment_id)
        .join(RiskCategory, RiskCategory.id == Risk.category_id)
        .where(Risk.org_unit_id == unit.id, Risk.deleted_at.is_(None))
        .order_by(Risk.id)
    )
    records = session.execute(query).all()
    ids = [risk.id for risk, *_ in records]
    controls = _controls(session, ids)
    actions = _actions(session, ids)
    aliases = unit_aliases(unit)
    existing: dict[str, dict[str, object]] = {}
    for risk, assessment, category_code, category_name in records:
        values: dict[str, object] = {
            "title": risk.title,
            "cause": risk.cause,
            "event": risk.event,
            "consequence": risk.consequence,
            "category": (category_code, category_name),
            "unit": aliases,
            "owner_title": risk.owner_title,
            "nature": risk.nature,
            "level": risk.level,
            "status": risk.status,
            "treatment": risk.treatment,
            "target_likelihood": risk.target_likelihood,
            "target_impact": risk.target_impact,
            "target_date": risk.target_date,
            "controls": CONTROLS_JOIN.join(controls.get(risk.id, ())),
            "actions": actions.get(risk.id, []),
        }
        for name in ASSESSMENT_FIELDS:
            values[name] = getattr(assessment, name) if assessment is not None else None
        existing[risk.ref] = values
    return existing


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _controls(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(ids):
        query = (
            select(Control.risk_id, Control.description)
            .where(Control.risk_id.in_(chunk), Control.retired_at.is_(None))
            .order_by(Control.id)
        )
        for risk_id, description in session.execute(query):
            found[risk_id].append(description)
    return found


def _actions(session: Session, ids: Sequence[int]) -> dict[int, list[ImportedAction]]:
    found: dict[int, list[ImportedAction]] = defaultdict(list)
    for chunk in _chunks(ids):
        query = (
            select(Action.risk_id, Action.description, Action.due_date, Action.revised_due_date)
            .where(Action.risk_id.in_(chunk))
            .order_by(Action.id)
        )
        for risk_id, description, due, revised in session.execute(query):
            found[risk_id].append(ImportedAction(description, revised or due))
    return found


# ---------------------------------------------------------------------------------------------- the plan


def plan_for_unit(session: Session, unit: OrgUnit, result: ImportResult) -> ImportPlan:
    """The preview of importing `result` into `unit`, with every error the apply step would meet."""
    result, renamed = unit_refs(result, unit)
    existing = existing_for_import(session, unit)
    plan = plan_import(result, existing)
    taken = taken_refs(session, unit, [p.ref for p in plan.rows if p.action is RowAction.NEW])
    checker = _Checker(unit, existing, load_categories(session), taken)
    rows = tuple(checker.check(planned) for planned in plan.rows)
    notes = list(plan.warnings)
    if renamed:
        examples = ", ".join(f"{old!r} → {new!r}" for old, new in renamed[:3])
        notes.append(
            f"{len(renamed):,} reference(s) were adapted to be unique and usable in RiskReg ({examples}"
            f"{', …' if len(renamed) > 3 else ''}); importing the same file again finds them."
        )
    notes.extend(checker.summary())
    return replace(plan, rows=rows, warnings=tuple(notes))


def unit_refs(result: ImportResult, unit: OrgUnit) -> tuple[ImportResult, list[tuple[str, str]]]:
    """The result with references made usable in this unit, and the (old, new) pairs that changed."""
    prefix = ref_prefix(unit.code)
    renamed: list[tuple[str, str]] = []
    rows: list[ImportedRow] = []
    for row in result.rows:
        ref = row.ref
        if not ref:
            rows.append(row)
            continue
        usable = usable_ref(ref, prefix)
        if usable == ref:
            rows.append(row)
            continue
        renamed.append((ref, usable))
        values = dict(row.values)
        errors = row.errors
        if not usable or len(usable) > REF_MAX:
            del values["ref"]
            message = f"Reference {ref!r} cannot be used: write it with letters and digits, at most {REF_MAX}."
            errors = (*errors, CellError(row.sheet, row.row, row.columns.get("ref", ""), message))
        else:
            values["ref"] = usable
        rows.append(replace(row, values=values, errors=errors))
    return replace(result, rows=tuple(rows)), renamed


def usable_ref(ref: str, prefix: str) -> str:
    """A reference a web address can carry and that cannot clash with another unit's numbering."""
    text = _UNSAFE_REF.sub("-", ref.strip())
    text = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", text)
    if text and (not any(c.isalpha() for c in text) or text.casefold() in _ROUTE_WORDS):
        text = f"{prefix}-{text}"
    return text


class _Checker:
    """Turns planned rows that the database would refuse into error rows, with a message per cell."""

    def __init__(
        self,
        unit: OrgUnit,
        existing: Mapping[str, Mapping[str, object]],
        categories: Categories,
        taken: Mapping[str, str],
    ) -> None:
        self.unit = unit
        self.existing = existing
        self.categories = categories
        self.taken = taken
        self.unit_names = {fold(a) for a in unit_aliases(unit)}
        self.incomplete = 0

    def check(self, planned: PlannedRow) -> PlannedRow:
        row = planned.row
        errors: list[CellError] = []
        matched = planned.action in (RowAction.UPDATE, RowAction.UNCHANGED)
        current = self.existing.get(planned.ref) if matched else None
        # What this row would write: its changes for an existing risk, all its values for a new one.
        given = {c.field: c.new for c in planned.changes} if current is not None else dict(row.values)
        self._unit(row, errors)
        self._category(row, planned.action, errors)
        if planned.action is RowAction.NEW:
            self._new(row, errors)
        self._actions(row, given.get("actions"), errors)
        self._treatment(row, current, errors)
        self._status(row, given, errors)
        self._assessment(row, current, given, errors)
        if not errors:
            return planned
        return PlannedRow(row, RowAction.ERROR, planned.ref, (), (*planned.errors, *errors))

    # ------------------------------------------------------------------------------ rules

    def _error(self, row: ImportedRow, name: str, message: str) -> CellError:
        return CellError(row.sheet, row.row, row.columns.get(name, ""), message)

    def _unit(self, row: ImportedRow, errors: list[CellError]) -> None:
        named = row.values.get("unit")
        if isinstance(named, str) and fold(named) not in self.unit_names:
            message = (
                f"This row names the unit {named!r}, but the import is into {self.unit.code} ({self.unit.name}). "
                "Import each unit's risks into that unit, or remove the row."
            )
            errors.append(self._error(row, "unit", message))

    def _category(self, row: ImportedRow, action: RowAction, errors: list[CellError]) -> None:
        named = row.values.get("category")
        if named is None:
            if action is RowAction.NEW:
                message = "A new risk needs a category: add a Category column with a category code or name."
                errors.append(self._error(row, "category", message))
            return
        if self.categories.find(named) is None:
            message = (
                f"Category {str(named)[:60]!r} is not one of RiskReg's: use a code or name ({self.categories.listing})."
            )
            errors.append(self._error(row, "category", message))

    def _new(self, row: ImportedRow, errors: list[CellError]) -> None:
        values = row.values
        if not values.get("owner_title"):
            message = "A new risk needs an owner: add a Risk owner column with the owner's functional title."
            errors.append(self._error(row, "owner_title", message))
        if row.ref:
            why = self.taken.get(row.ref.casefold())
            if why:
                errors.append(self._error(row, "ref", why))
        if not all(values.get(name) for name in ("cause", "event", "consequence")):
            self.incomplete += 1

    def _actions(self, row: ImportedRow, wanted: object, errors: list[CellError]) -> None:
        if not isinstance(wanted, tuple):
            return
        for action in wanted:
            if isinstance(action, ImportedAction) and action.due_date is None:
                text = action.description if len(action.description) <= 60 else action.description[:59] + "…"
                message = f"An action needs a due date: {text!r}. Add a Due date column or write “(due 30/06/2026)”."
                errors.append(self._error(row, "actions", message))

    def _treatment(self, row: ImportedRow, current: Mapping[str, object] | None, errors: list[CellError]) -> None:
        treatment = row.values.get("treatment", current.get("treatment") if current else None)
        nature = row.values.get("nature", current.get("nature") if current else None)
        if str(treatment) == Treatment.EXPLOIT.value and str(nature) != "opportunity":
            message = "Exploit is a response for opportunities only: set the nature to opportunity or change it."
            errors.append(self._error(row, "treatment", message))

    def _status(self, row: ImportedRow, given: Mapping[str, object], errors: list[CellError]) -> None:
        if given.get("status") == RiskStatus.MERGED.value:
            message = "A risk cannot be imported as merged: merge it in RiskReg, or import it as closed."
            errors.append(self._error(row, "status", message))

    def _assessment(
        self,
        row: ImportedRow,
        current: Mapping[str, object] | None,
        given: Mapping[str, object],
        errors: list[CellError],
    ) -> None:
        wanted = [name for name in ASSESSMENT_FIELDS if name in given]
        if not wanted or any(name in given for name in RATING_FIELDS):
            return
        if current is not None and current.get("residual_likelihood") is not None:
            return  # a new assessment keeps the current ratings
        first = wanted[0]
        message = (
            f"{first.replace('_', ' ').capitalize()} belongs to an assessment, and this risk has no rating: "
            "add its likelihood and impact."
        )
        errors.append(self._error(row, first, message))

    def summary(self) -> list[str]:
        if not self.incomplete:
            return []
        return [
            f"{self.incomplete:,} new risk(s) have no cause, event or consequence in the file; "
            "they are imported as they are: complete their risk statements in RiskReg."
        ]


def taken_refs(session: Session, unit: OrgUnit, refs: Iterable[str]) -> dict[str, str]:
    """Folded refs already used by a risk outside `unit`'s live register -> the message for the row."""
    folded = sorted({r.casefold() for r in refs if r})
    found: dict[str, str] = {}
    for start in range(0, len(folded), _CHUNK):
        chunk = folded[start : start + _CHUNK]
        query = select(Risk.ref, Risk.org_unit_id, Risk.deleted_at).where(func.lower(Risk.ref).in_(chunk))
        for ref, unit_id, deleted_at in session.execute(query):
            if unit_id == unit.id and deleted_at is not None:
                why = f"Reference {ref} belongs to a deleted risk of this unit: restore that risk, or change this one."
            elif unit_id != unit.id:
                # Says no more than that the reference is taken: not whose, nor what the risk is (security.md B3).
                why = (
                    f"Reference {ref} is already used in RiskReg outside {unit.code}: give this risk another reference."
                )
            else:
                continue
            found[ref.casefold()] = why
    return found
