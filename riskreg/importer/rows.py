"""One data row of a register table -> an `ImportedRow`: cells read, ratings checked, actions paired.

Pure. Skips total rows and section headings ("STRATEGIC RISKS" alone on a row). A risk statement written
as RiskReg writes it ("Because …, there is a risk that …, which would ….") is split back into cause, event
and consequence; any other statement becomes the event. Scores and bands are never imported: they are
checked against likelihood × impact, and a score or band without its likelihood and impact is an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from riskreg.importer.columns import (
    DERIVED,
    FIELD_LABELS,
    IGNORE,
    QUALIFIERS,
    CouncilVocabulary,
    HeaderColumn,
    Table,
)
from riskreg.importer.result import CellError, CellWarning, ImportedAction, ImportedRow
from riskreg.importer.values import (
    CellValueError,
    EnumReader,
    ExcelError,
    LevelReader,
    Rating,
    check_length,
    fold,
    is_empty,
    no_date,
    read_date,
    read_pair,
    read_rating,
    read_ref,
    read_small_int,
    read_text,
)
from riskreg.scoring import Scales
from riskreg.textpolicy import STATEMENT_JOINS, STATEMENT_PARTS, TextPolicyError, read_statement, statement_part

TEXT_FIELDS = ("title", "cause", "event", "consequence", "category", "unit", "owner_title", "rationale")
ENUM_FIELDS = ("nature", "level", "status", "treatment", "control_effectiveness")
_TOTALS = frozenset({"total", "totals", "totaux", "grand total", "sous total", "subtotal", "sum", "somme"})
_BULLET = re.compile(r"^(?:[-–—•·*▪●○◦>]+\s*|\(?\d{1,2}[.)]\s+|\(?[a-z][)]\s+)")
_MORE = re.compile(r"^\+\s*\d+\s+(?:more|autres?)\b", re.I)
_DUE_SUFFIX = re.compile(r"\s*\((?:due|by|échéance|echeance|avant le)\s+([^,)]+)(?:,[^)]*)?\)\s*$", re.I)
_SAMPLES = 20


@dataclass
class _Row:
    sheet: str
    number: int
    values: dict[str, object] = field(default_factory=dict)
    errors: list[CellError] = field(default_factory=list)
    warnings: list[CellWarning] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    ratings: dict[str, list[tuple[Rating, str]]] = field(default_factory=dict)
    statement: tuple[str, str] | None = None  # text, column letter
    controls: list[str] = field(default_factory=list)
    action_texts: list[tuple[str, str]] = field(default_factory=list)
    dues: list[tuple[date, str]] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # fields whose cell had an error already reported

    def error(self, letter: str, message: str) -> None:
        self.errors.append(CellError(self.sheet, self.number, letter, message))

    def warn(self, letter: str, message: str) -> None:
        self.warnings.append(CellWarning(self.sheet, self.number, letter, message))


class RowReader:
    """Reads the data rows of one table; `notes` collects what the user should know about the whole sheet."""

    def __init__(self, scales: Scales, council: CouncilVocabulary, sheet: str, table: Table, is_council: bool) -> None:
        self.scales = scales
        self.sheet = sheet
        self.table = table
        self.is_council = is_council
        self.likelihood = LevelReader(scales.likelihood, "likelihood")
        self.impact = LevelReader(scales.impact, "impact")
        self.enums = {
            name: EnumReader(name, FIELD_LABELS[name].lower(), council.labels.get(name)) for name in ENUM_FIELDS
        }
        self.columns = [c for c in table.columns if c.field and c.field not in (DERIVED, IGNORE)]
        self.letters: dict[str, str] = {}
        for column in self.columns:
            self.letters.setdefault(column.field, column.letter)
        self.notes: list[str] = []
        self._noted: set[str] = set()

    def note_once(self, key: str, text: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.notes.append(text)

    # ------------------------------------------------------------------------------------------ columns

    def decide(self, column: HeaderColumn, samples: Sequence[Sequence[object]], used: set[str]) -> str:
        """The field of an ambiguous column, from the values below its header."""
        values = [r[column.index] for r in samples if column.index < len(r) and not is_empty(r[column.index])]
        values = values[:_SAMPLES]
        if not values:
            return column.field
        if column.ambiguous == "impact":
            prose = sum(1 for v in values if not self._is_impact(v) and len(str(v)) > 15)
            return "consequence" if prose * 2 > len(values) and "consequence" not in used else column.field
        options = sum(1 for v in values if self._is_option(v))
        if options >= 0.8 * len(values) and ("treatment" not in used or column.field == "treatment"):
            return "treatment"
        return "actions"

    def _is_impact(self, value: object) -> bool:
        try:
            self.impact.read(value)
        except CellValueError:
            return read_pair(value) is not None
        return True

    def _is_option(self, value: object) -> bool:
        try:
            self.enums["treatment"].read(value)
        except CellValueError:
            return False
        return True

    # ------------------------------------------------------------------------------------------ rows

    def read(self, number: int, values: Sequence[object]) -> ImportedRow | None:
        """The row as read, or None for a row that is not a risk (total, heading, nothing mapped)."""
        cells = [(c, values[c.index]) for c in self.columns if c.index < len(values) and not is_empty(values[c.index])]
        if not cells:
            return None
        if self._is_total(values):
            self.note_once(f"total-{number}", f"row {number} was read as a total line and skipped.")
            return None
        if self._is_heading(values, cells):
            self.note_once(f"heading-{number}", f"row {number} ({str(cells[0][1])[:60]!r}) was read as a heading.")
            return None
        row = _Row(self.sheet, number)
        for column, raw in cells:
            try:
                self._cell(row, column, raw)
            except CellValueError as problem:
                row.error(column.letter, str(problem))
                row.failed.add(column.field)
            row.columns.setdefault(column.field, column.letter)
        self._combine(row)
        return ImportedRow(self.sheet, number, row.values, tuple(row.errors), tuple(row.warnings), dict(row.columns))

    def _is_total(self, values: Sequence[object]) -> bool:
        first = next((v for v in values if not is_empty(v)), None)
        if not isinstance(first, str):
            return False
        words = fold(first).split()
        # "Total", "Grand total", "Total risks: 12", but not a risk titled "Total loss of the data centre".
        return " ".join(words) in _TOTALS or (bool(words) and words[0] in _TOTALS and len(words) <= 3)

    def _is_heading(self, values: Sequence[object], cells: list[tuple[HeaderColumn, object]]) -> bool:
        if len(cells) != 1 or sum(1 for v in values if not is_empty(v)) != 1:
            return False
        column, raw = cells[0]
        if not isinstance(raw, str):
            return False
        text = raw.strip()
        if column.field == "ref":
            return " " in text or len(text) > 40
        if column.field == "title":
            return text.isupper() or text.endswith(":")
        return True

    def _cell(self, row: _Row, column: HeaderColumn, raw: object) -> None:
        name = column.field
        if isinstance(raw, ExcelError):
            raise CellValueError(
                f"The cell shows the Excel error {raw.strip()}; correct the formula or type the value."
            )
        if name in TEXT_FIELDS:
            row.values[name] = check_length(self._text(row, column, raw), name, FIELD_LABELS[name])
        elif name in ENUM_FIELDS:
            row.values[name] = self.enums[name].read(raw)
        elif name.endswith(("_likelihood", "_impact")):
            self._level(row, column, raw)
        elif name.endswith(("_score", "_band")):
            row.ratings.setdefault(name.split("_", 1)[0], []).append((read_rating(raw, self.scales), column.letter))
        else:
            self._other(row, column, raw)

    def _other(self, row: _Row, column: HeaderColumn, raw: object) -> None:
        name = column.field
        if name == "ref":
            row.values["ref"] = read_ref(raw)
        elif name == "statement":
            row.statement = (self._text(row, column, raw), column.letter)
        elif name == "controls":
            row.controls.append(self._text(row, column, raw))
        elif name == "actions":
            row.action_texts.append((self._text(row, column, raw), column.letter))
        elif name == "target_date":
            if not no_date(raw):
                row.values["target_date"] = read_date(raw)
        elif name == "action_due":
            row.dues.extend((read_date(part), column.letter) for part in _date_parts(raw))
        elif name == "velocity":
            row.values["velocity"] = read_small_int(raw, 1, 5, "velocity")

    def _text(self, row: _Row, column: HeaderColumn, raw: object) -> str:
        label = FIELD_LABELS.get(column.field, column.header)
        text = read_text(raw, label)
        if text.removed:
            row.warn(column.letter, f"{label}: {' and '.join(text.removed)} were removed from this cell.")
        if column.field in STATEMENT_PARTS:
            try:
                return statement_part(text.value, column.field, label)
            except TextPolicyError as refused:
                raise CellValueError(refused.message) from None
        return text.value

    def _level(self, row: _Row, column: HeaderColumn, raw: object) -> None:
        qualifier, factor = column.field.split("_", 1)
        if read_pair(raw) is not None:  # "4x3" typed in a likelihood or impact cell
            row.ratings.setdefault(qualifier, []).append((read_rating(raw, self.scales), column.letter))
            return
        reader = self.likelihood if factor == "likelihood" else self.impact
        value, from_words = reader.read(raw)
        row.values[column.field] = value
        if from_words:
            table = ", ".join(f"{w} {v}" for w, v in zip(_WORD_NAMES, _word_row(reader), strict=True))
            self.note_once(
                f"words-{column.letter}",
                f"column {column.letter} ({column.header!r}) uses words such as High / Medium / Low; they were "
                f"placed on the {reader.top}-level {factor} scale by the stated table ({table}). Check these ratings.",
            )

    # ------------------------------------------------------------------------------------------ the row as a whole

    def _combine(self, row: _Row) -> None:
        if row.statement is not None:
            self._statement(row, *row.statement)
        if "title" not in self.table.fields and "title" not in row.values:
            self._title_from_description(row)
        if row.controls:
            try:
                row.values["controls"] = check_length("\n".join(row.controls), "controls", "Existing controls")
            except CellValueError as problem:
                row.error(self.letters.get("controls", ""), str(problem))
        for qualifier in QUALIFIERS:
            self._rating(row, qualifier)
        if row.action_texts or row.dues:
            self._actions(row)

    def _statement(self, row: _Row, text: str, letter: str) -> None:
        found = read_statement(text)
        if found:
            parts = dict(zip(STATEMENT_PARTS, found, strict=True))
        else:
            parts = _event_and_consequence(text) if "consequence" not in row.values else {"event": text}
        for name, part in parts.items():
            if name in row.values:
                continue  # a column of its own wins over the statement
            try:
                label = FIELD_LABELS[name]
                row.values[name] = check_length(statement_part(part, name, label), name, label)
            except (CellValueError, TextPolicyError) as problem:
                row.error(letter, str(problem))
            row.columns.setdefault(name, letter)

    def _title_from_description(self, row: _Row) -> None:
        source = row.values.get("event")
        if not isinstance(source, str) or not source:
            return
        line = source.splitlines()[0].strip()
        if len(line) > 120:
            line = line[:119].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
        row.values["title"] = line
        self.note_once("title", "there is no title column, so titles were taken from the start of the description.")

    def _rating(self, row: _Row, qualifier: str) -> None:
        names = (f"{qualifier}_likelihood", f"{qualifier}_impact")
        if any(name.startswith(qualifier + "_") for name in row.failed):
            return  # one error per rating is enough
        ratings = row.ratings.get(qualifier, [])
        pair = next(((r, letter) for r, letter in ratings if r.likelihood is not None), None)
        score = next(((r.score, letter) for r, letter in ratings if r.score is not None), None)
        band = next(((r.band, letter) for r, letter in ratings if r.band is not None), None)
        likelihood, impact = row.values.get(names[0]), row.values.get(names[1])
        if pair is not None:
            both, pair_letter = pair
            if likelihood not in (None, both.likelihood) or impact not in (None, both.impact):
                contradiction = f"{both.likelihood}x{both.impact} contradicts the {qualifier} likelihood or impact"
                row.error(pair_letter, f"The {qualifier} rating {contradiction} given in its own column.")
                return
            likelihood, impact = both.likelihood, both.impact
            row.values[names[0]], row.values[names[1]] = likelihood, impact
        if (likelihood is None) != (impact is None):
            given, missing = ("likelihood", "impact") if impact is None else ("impact", "likelihood")
            letter = self.letters.get(f"{qualifier}_{missing}") or self.letters.get(f"{qualifier}_{given}", "")
            row.error(letter, f"The {qualifier} {missing} is missing (the {given} is given); a rating needs both.")
            return
        if not isinstance(likelihood, int) or not isinstance(impact, int):
            written = score or band
            if written is not None:
                self._rating_without_factors(row, qualifier, written[1])
            return
        expected = self.scales.score(likelihood, impact)
        if score is not None and score[0] != expected:
            product = f"likelihood {likelihood} × impact {impact} = {expected}"
            row.error(score[1], f"The {qualifier} score {score[0]} does not match {product}.")
        if band is not None and band[0] != (ours := self.scales.band(expected).name):
            product = f"{likelihood} × {impact} = {expected}"
            message = f"differs from {ours!r}, the band of {product} on RiskReg's scales; RiskReg's band will be used"
            row.warn(band[1], f"The {qualifier} band {band[0]!r} {message}.")

    def _rating_without_factors(self, row: _Row, qualifier: str, letter: str) -> None:
        has_factor_columns = any(f"{qualifier}_{f}" in self.table.fields for f in ("likelihood", "impact"))
        if self.is_council and not has_factor_columns:
            # RiskReg's own Council workbook shows some scores without their factors (the target always,
            # everything in the Council audience): those are RiskReg's output, so the ratings stay as they
            # are in RiskReg instead of failing every row of a round trip.
            self.note_once(
                f"council-{qualifier}",
                f"this Council workbook shows {qualifier} scores without {qualifier} likelihood and impact; "
                f"{qualifier} ratings were not imported and stay as they are in RiskReg.",
            )
            return
        advice = f"add the {qualifier} likelihood and impact (or write them as 4x3)"
        row.error(letter, f"A {qualifier} score or band alone cannot give likelihood and impact: {advice}.")

    def _actions(self, row: _Row) -> None:
        actions: list[tuple[str, date | None, str]] = []
        for text, letter in row.action_texts:
            for line in _action_lines(text):
                if _MORE.match(line):
                    row.warn(
                        letter, 'The actions cell lists only some actions ("+ … more"); the others were not imported.'
                    )
                    continue
                due: date | None = None
                suffix = _DUE_SUFFIX.search(line)
                if suffix:
                    try:
                        due = read_date(suffix.group(1))
                        line = line[: suffix.start()].strip()
                    except CellValueError:
                        pass
                try:
                    actions.append((check_length(line, "action", "An action"), due, letter))
                except CellValueError as problem:
                    row.error(letter, str(problem))
        dues = row.dues
        if dues and not actions:
            row.error(dues[0][1], "A due date is given but no action.")
            return
        if len(dues) == len(actions):
            actions = [(text, due, letter) for (text, _, letter), (due, _) in zip(actions, dues, strict=True)]
        elif len(dues) == 1:
            actions = [(text, own or dues[0][0], letter) for text, own, letter in actions]
        elif dues:
            counts = f"{len(dues)} due dates for {len(actions)} actions"
            row.warn(dues[0][1], f"{counts}: they could not be paired, so the due dates were left out.")
        row.values["actions"] = tuple(ImportedAction(text, due) for text, due, _ in actions)


_WORD_NAMES = ("very low", "low", "medium", "high", "very high")


def _event_and_consequence(text: str) -> dict[str, str]:
    """Any other statement is the event; "…, which would …" in it gives the consequence as well."""
    join = STATEMENT_JOINS["event"].search(text)
    if join is None:
        return {"event": text}
    return {"event": text[: join.start()].strip(), "consequence": text[join.end() :].strip()}


def _word_row(reader: LevelReader) -> list[int]:
    return [reader.words[w] for w in _WORD_NAMES]


def _action_lines(text: str) -> list[str]:
    lines = [_BULLET.sub("", line.strip()).strip() for line in text.split("\n")]
    return [line for line in lines if line]


def _date_parts(raw: object) -> list[object]:
    if isinstance(raw, str):
        parts = [p.strip() for p in re.split(r"[\n;]", raw)]
        return [p for p in parts if p and not no_date(p)]
    return [raw]
