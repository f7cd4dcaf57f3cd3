"""What reading a register gives back: typed rows, cell errors and warnings, and the column mapping used.

Pure data. Field names in `ImportedRow.values` are those of the Risk model and RiskRow where they exist
(ref, title, cause, event, consequence, category, unit, owner_title, nature, level, status, treatment,
inherent_/residual_/target_likelihood and _impact, target_date, actions, rationale, controls,
control_effectiveness, velocity). Only cells that held a usable value appear: an empty cell is "not given",
never "clear this field".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

IMPORTED_FIELDS = (
    "ref",
    "title",
    "cause",
    "event",
    "consequence",
    "category",
    "unit",
    "owner_title",
    "nature",
    "level",
    "status",
    "treatment",
    "inherent_likelihood",
    "inherent_impact",
    "residual_likelihood",
    "residual_impact",
    "target_likelihood",
    "target_impact",
    "target_date",
    "actions",
    "rationale",
    "controls",
    "control_effectiveness",
    "velocity",
)


@dataclass(frozen=True)
class CellNote:
    """A message about one cell (or one row, when `column_letter` is empty)."""

    sheet: str
    row: int
    column_letter: str
    message: str

    @property
    def where(self) -> str:
        cell = f"{self.column_letter}{self.row}" if self.column_letter else f"row {self.row}"
        return f"{self.sheet} {cell}" if self.sheet else cell

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class CellError(CellNote):
    """A value that stops the row from being imported until it is corrected."""


@dataclass(frozen=True)
class CellWarning(CellNote):
    """A value that was cleaned or interpreted; the row still imports."""


@dataclass(frozen=True)
class ImportedAction:
    """One treatment action read from the register (the actions cell may hold several, one per line)."""

    description: str
    due_date: date | None = None


@dataclass(frozen=True)
class ImportedRow:
    sheet: str
    row: int
    values: Mapping[str, object]
    errors: tuple[CellError, ...] = ()
    warnings: tuple[CellWarning, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)  # field -> column letter it was read from

    @property
    def ref(self) -> str:
        value = self.values.get("ref")
        return value if isinstance(value, str) else ""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class MappedColumn:
    """A column with a header: the field it feeds, "derived" (computed by RiskReg, not imported), or ""."""

    sheet: str
    letter: str
    header: str
    field: str
    note: str = ""


@dataclass(frozen=True)
class ImportResult:
    filename: str
    sha256: str
    kind: str  # "xlsx" or "csv"
    sheets: tuple[str, ...]  # the sheets read, in order
    rows: tuple[ImportedRow, ...]
    mapping: tuple[MappedColumn, ...]  # columns read into a field (or recognised as computed)
    unmapped: tuple[MappedColumn, ...]  # columns whose header maps to nothing: listed, not silently dropped
    warnings: tuple[str, ...] = ()

    @property
    def errors(self) -> tuple[CellError, ...]:
        return tuple(error for row in self.rows for error in row.errors)

    @property
    def has_errors(self) -> bool:
        return any(row.errors for row in self.rows)
