"""Reading a recommendations list (.xlsx/.csv) as an oversight tracking system exports it, and planning it.

Pure: no Flask, no session. The bytes go through the register import's own safety checks and sources
(riskreg/importer/safety.py, sources.py) and its cell readers (values.py), so a hostile file is refused
here exactly as there. `plan_rows` compares the rows with what is stored (handed in as plain values) and
says per row: new, update (with the changes), unchanged or error. Applying is operations.apply_import.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from riskreg.importer.safety import Deadline, ImportRejected, Limits, check_archive, sniff
from riskreg.importer.sources import RawSheet, Row, check_lines, csv_sheet, decode_csv, open_workbook
from riskreg.importer.values import CellValueError, fold, is_empty, no_date, read_date, read_text
from riskreg.models.oversight import Acceptance, Addressee, RecStatus, RecType

Field = Literal[
    "report", "number", "text", "type", "addressee", "acceptance", "status", "comments", "body", "unit",
    "target", "risks", "evidence", "action_plan",
]  # fmt: skip

# Headers as oversight tracking systems write them (folded: lower case, no accents or punctuation).
HEADERS: Mapping[str, Field] = {
    "report": "report", "report symbol": "report", "symbol": "report", "document symbol": "report",
    "report number": "report", "report no": "report", "rapport": "report", "report reference": "report",
    "recommendation number": "number", "recommendation no": "number", "rec no": "number", "rec number": "number",
    "no": "number", "number": "number", "recommendation": "text", "recommendation text": "text", "text": "text",
    "type": "type", "recommendation type": "type", "formal informal": "type", "nature": "type",
    "addressee": "addressee", "addressed to": "addressee", "recipient": "addressee",
    "acceptance": "acceptance", "acceptance status": "acceptance", "accepted": "acceptance",
    "implementation status": "status", "status": "status", "implementation": "status",
    "comments": "comments", "comment": "comments", "remarks": "comments", "notes": "comments",
    "body": "body", "oversight body": "body", "source": "body", "organ": "body",
    "unit": "unit", "responsible unit": "unit", "department": "unit", "responsible department": "unit",
    "target date": "target", "due date": "target", "deadline": "target", "target": "target",
    "risks": "risks", "linked risks": "risks", "related risks": "risks", "risk references": "risks",
    "evidence": "evidence", "evidence of implementation": "evidence", "action plan": "action_plan",
}  # fmt: skip
REQUIRED: tuple[Field, ...] = ("report", "number", "status")

TYPES = {"formal": RecType.FORMAL, "f": RecType.FORMAL, "informal": RecType.INFORMAL, "i": RecType.INFORMAL}
ADDRESSEES = {
    "legislative organ": Addressee.LEGISLATIVE_ORGAN, "legislative body": Addressee.LEGISLATIVE_ORGAN,
    "legislative organs": Addressee.LEGISLATIVE_ORGAN, "governing body": Addressee.LEGISLATIVE_ORGAN,
    "governing bodies": Addressee.LEGISLATIVE_ORGAN, "council": Addressee.LEGISLATIVE_ORGAN,
    "lo": Addressee.LEGISLATIVE_ORGAN, "executive head": Addressee.EXECUTIVE_HEAD, "eh": Addressee.EXECUTIVE_HEAD,
    "secretary general": Addressee.EXECUTIVE_HEAD, "executive heads": Addressee.EXECUTIVE_HEAD,
}  # fmt: skip
ACCEPTANCES = {
    "accepted": Acceptance.ACCEPTED, "yes": Acceptance.ACCEPTED, "pending": Acceptance.PENDING,
    "under consideration": Acceptance.UNDER_CONSIDERATION, "not accepted": Acceptance.NOT_ACCEPTED,
    "rejected": Acceptance.NOT_ACCEPTED, "no": Acceptance.NOT_ACCEPTED, "not relevant": Acceptance.NOT_ACCEPTED,
}  # fmt: skip
STATUSES = {
    "not started": RecStatus.NOT_STARTED, "not yet started": RecStatus.NOT_STARTED,
    "in progress": RecStatus.IN_PROGRESS, "ongoing": RecStatus.IN_PROGRESS, "on track": RecStatus.ON_TRACK,
    "implemented": RecStatus.IMPLEMENTED, "completed": RecStatus.IMPLEMENTED,
    "under consideration": RecStatus.UNDER_CONSIDERATION,
    "under consideration by the governing bodies": RecStatus.UNDER_CONSIDERATION,
    "under consideration by governing bodies": RecStatus.UNDER_CONSIDERATION,
    "not accepted": RecStatus.NOT_ACCEPTED, "rejected": RecStatus.NOT_ACCEPTED,
    "closed as overtaken": RecStatus.CLOSED_OVERTAKEN, "overtaken": RecStatus.CLOSED_OVERTAKEN,
    "overtaken by events": RecStatus.CLOSED_OVERTAKEN, "closed": RecStatus.CLOSED_OVERTAKEN,
    **{s.value.replace("_", " "): s for s in RecStatus},
}  # fmt: skip
TEXT_MAX = 4000
SHORT_MAX = {"report": 60, "number": 20, "body": 20, "unit": 20}


@dataclass(frozen=True)
class RecRow:
    """One row of the list, read. `present` names the fields the file fills (others are left as stored)."""

    line: int
    report: str = ""
    number: str = ""
    text: str = ""
    rec_type: RecType | None = None
    addressee: Addressee | None = None
    acceptance: Acceptance | None = None
    status: RecStatus | None = None
    comments: str = ""
    body: str = ""
    unit: str = ""
    target: date | None = None
    risks: tuple[str, ...] = ()
    evidence: str = ""
    action_plan: str = ""
    present: frozenset[str] = frozenset()
    errors: tuple[str, ...] = ()
    cleaned: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.report, self.number


@dataclass(frozen=True)
class ReadList:
    filename: str
    sha256: str
    rows: tuple[RecRow, ...]
    warnings: tuple[str, ...] = ()


def read_list(data: bytes, filename: str, limits: Limits | None = None) -> ReadList:
    """Read the list; raise `ImportRejected` for a refused file (the register import's checks)."""
    limits = limits or Limits()
    deadline = Deadline(limits.max_seconds)
    digest = hashlib.sha256(data).hexdigest()
    try:
        kind = sniff(data, filename, limits)
        if kind == "xlsx":
            check_archive(data, limits, deadline)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with open_workbook(data, limits, deadline) as sheets:
                    return _read(filename, digest, sheets, limits, [])
        text, notes = decode_csv(data)
        check_lines(text, limits)
        best = max(
            (";", ",", "\t"),
            key=lambda d: _header_score(csv_sheet("CSV", text, d, limits, deadline), limits),
        )
        return _read(filename, digest, [csv_sheet("CSV", text, best, limits, deadline)], limits, notes)
    except ImportRejected:
        raise
    except Exception as exc:  # any other failure on untrusted bytes is a damaged file, never a 500
        raise ImportRejected(
            "The file could not be read: it is damaged or not a valid Excel workbook (.xlsx) or CSV file."
        ) from exc


def _header_map(values: Sequence[object]) -> dict[int, Field]:
    found: dict[int, Field] = {}
    for index, value in enumerate(values):
        if isinstance(value, str) and len(value) < 100:
            target = HEADERS.get(fold(value))
            if target and target not in found.values():
                found[index] = target
    return found


def _header_score(sheet: RawSheet, limits: Limits) -> int:
    return max((len(_header_map(v)) for _, v in itertools.islice(sheet.rows, limits.header_rows)), default=0)


def _read(filename: str, digest: str, sheets: list[RawSheet], limits: Limits, notes: list[str]) -> ReadList:
    for sheet in sheets:
        head: list[Row] = []
        for number, values in sheet.rows:
            head.append((number, values))
            columns = _header_map(values)
            if all(f in columns.values() for f in REQUIRED):
                rows = tuple(_rows(sheet.rows, columns, limits))
                return ReadList(filename, digest, rows, tuple(notes + sheet.notes))
            if len(head) >= limits.header_rows:
                break
    raise ImportRejected(
        "No recommendations table was found: the list needs a header row with at least the report, the "
        "recommendation number and the implementation status (for example: Report, Recommendation No., "
        "Text, Type, Addressee, Acceptance, Implementation status, Comments)."
    )


def _rows(rows: Iterator[Row], columns: Mapping[int, Field], limits: Limits) -> Iterator[RecRow]:
    blank = 0
    for line, values in rows:
        cells = {f: values[i] for i, f in columns.items() if i < len(values) and not is_empty(values[i])}
        if not cells:
            blank += 1
            if blank >= limits.max_blank_run:
                return
            continue
        blank = 0
        yield _row(line, cells)


def _row(line: int, cells: Mapping[Field, object]) -> RecRow:
    errors: list[str] = []
    cleaned = False
    values: dict[str, object] = {}
    for name, raw in cells.items():
        try:
            if name == "target":
                values["target"] = None if no_date(raw) else read_date(raw)
                continue
            text = read_text(raw)
            cleaned = cleaned or text.cleaned
            value = " ".join(text.value.split()) if name in SHORT_MAX else text.value
            limit = SHORT_MAX.get(name, TEXT_MAX)
            if len(value) > limit:
                raise CellValueError(f"{name} is {len(value):,} characters long; at most {limit:,} are accepted.")
            values[name] = _typed(name, value)
        except CellValueError as exc:
            errors.append(f"{name}: {exc}")
    for name in REQUIRED:
        if name not in cells:
            errors.append(f"{name}: missing")
    return RecRow(
        line=line,
        **{k: v for k, v in values.items() if k != "type"},  # type: ignore[arg-type]
        rec_type=values.get("type"),  # type: ignore[arg-type]
        present=frozenset(cells),
        errors=tuple(errors),
        cleaned=cleaned,
    )


def _typed(name: str, value: str) -> object:
    words = fold(value)
    vocabularies: dict[str, Mapping[str, object]] = {
        "type": TYPES,
        "addressee": ADDRESSEES,
        "acceptance": ACCEPTANCES,
        "status": STATUSES,
    }
    choices = vocabularies.get(name)
    if choices is not None:
        if words not in choices:
            raise CellValueError(f"{value[:60]!r} is not a known {name}")
        return choices[words]
    if name == "risks":
        return tuple(r.strip() for r in value.replace(";", ",").split(",") if r.strip())
    if name == "body":
        return value.upper()
    return value


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Stored:
    """A recommendation as stored, in the terms of a list row."""

    rec_id: int
    text: str
    rec_type: RecType
    addressee: Addressee
    acceptance: Acceptance
    status: RecStatus
    comments: str
    unit: str
    target: date | None
    evidence: str
    action_plan: str
    risks: frozenset[str]


Action = Literal["new", "update", "unchanged", "error"]


@dataclass(frozen=True)
class Planned:
    row: RecRow
    action: Action
    changes: Mapping[str, tuple[object, object]] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    rec_id: int | None = None


@dataclass(frozen=True)
class Plan:
    rows: tuple[Planned, ...]
    warnings: tuple[str, ...]

    def counts(self) -> dict[str, int]:
        found = {a: 0 for a in ("new", "update", "unchanged", "error")}
        for row in self.rows:
            found[row.action] += 1
        return found

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not any(r.action == "error" for r in self.rows)


_COMPARED = ("text", "rec_type", "addressee", "acceptance", "status", "comments", "unit", "target", "action_plan")


def plan_rows(
    read: ReadList,
    stored: Mapping[tuple[str, str], Stored],
    *,
    units: frozenset[str],
    risk_refs: frozenset[str],
    reports: frozenset[str],
) -> Plan:
    """What applying the list would do to each row; errors make the whole list refused (all or nothing)."""
    seen: set[tuple[str, str]] = set()
    planned = []
    for row in read.rows:
        current = stored.get(row.key)
        errors = _row_errors(row, current, seen, units=units, risk_refs=risk_refs, reports=reports)
        seen.add(row.key)
        if errors:
            planned.append(Planned(row, "error", errors=tuple(errors)))
            continue
        if current is None:
            planned.append(Planned(row, "new"))
            continue
        changes = {
            name: (getattr(current, name), getattr(row, name))
            for name in _COMPARED
            if _field_name(name) in row.present and getattr(row, name) != getattr(current, name)
        }
        if "risks" in row.present and frozenset(row.risks) != current.risks:
            changes["risks"] = (sorted(current.risks), sorted(row.risks))
        action: Action = "update" if changes else "unchanged"
        planned.append(Planned(row, action, changes, rec_id=current.rec_id))
    notes = list(read.warnings)
    if any(r.row.cleaned for r in planned):
        notes.append("Invisible control characters were removed from some cells.")
    return Plan(tuple(planned), tuple(notes))


def _row_errors(
    row: RecRow,
    current: Stored | None,
    seen: set[tuple[str, str]],
    *,
    units: frozenset[str],
    risk_refs: frozenset[str],
    reports: frozenset[str],
) -> list[str]:
    errors = list(row.errors)
    if row.key in seen:
        errors.append(f"{row.report} {row.number} appears twice in the list")
    if row.unit and row.unit not in units:
        errors.append(f"unit: no unit {row.unit}")
    unknown = [r for r in row.risks if r not in risk_refs]
    if unknown:
        errors.append(f"risks: no risk {unknown[0]} in the register")
    if current is None:
        if "text" not in row.present:
            errors.append("text: a new recommendation needs its text")
        if row.rec_type is None:
            errors.append("type: a new recommendation needs its type (formal or informal)")
        if row.report not in reports and not (row.body or "/" in row.report):
            errors.append("body: name the oversight body of a new report")
    return errors


def _field_name(attribute: str) -> str:
    return {"rec_type": "type"}.get(attribute, attribute)


def body_code(row: RecRow) -> str:
    """The body of a row's report: its own column, else the symbol's first part (JIU/REP/2016/1 -> JIU)."""
    return row.body or row.report.split("/", 1)[0].strip().upper()[:20]
