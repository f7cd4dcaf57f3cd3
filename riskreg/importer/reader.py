"""`read_register`: bytes -> safety checks -> the register table of each sheet -> typed rows with errors.

Pure: no Flask, no database. Safety first (safety.py), then the rows are read lazily (sources.py), the
header row is found and mapped (columns.py), and each row's cells are read (values.py, rows.py). Any
failure other than a refusal is reported as a damaged file: no other exception leaves this module.
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from riskreg import paths
from riskreg.importer.columns import (
    DESCRIPTIVE_FIELDS,
    ColumnMatcher,
    CouncilVocabulary,
    HeaderColumn,
    Table,
    column_letter,
    find_table,
    load_council_vocabulary,
    settle,
)
from riskreg.importer.result import ImportedRow, ImportResult, MappedColumn
from riskreg.importer.rows import RowReader
from riskreg.importer.safety import ArchiveStats, Deadline, ImportRejected, Limits, check_archive, sniff
from riskreg.importer.sources import RawSheet, Row, check_lines, csv_sheet, decode_csv, open_workbook
from riskreg.importer.values import fold
from riskreg.scoring import Scales

SAMPLE_ROWS = 20  # rows below the header window read ahead to decide ambiguous columns
_DELIMITERS = (";", ",", "\t")


def read_register(
    data: bytes,
    filename: str,
    scales: Scales,
    *,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    limits: Limits | None = None,
) -> ImportResult:
    """Read a register from .xlsx or .csv bytes; raise `ImportRejected` for a file that is refused.

    `sheet` reads only that sheet (otherwise every sheet that looks like a register); `mapping` sends
    headers to fields ("Risk heading" -> "title", or "ignore") and wins over the guess.
    """
    limits = limits or Limits()
    deadline = Deadline(limits.max_seconds)
    matcher = ColumnMatcher(load_council_vocabulary(paths.COUNCIL_LAYOUT), mapping)
    job = _Job(filename, hashlib.sha256(data).hexdigest(), scales, matcher, limits, deadline)
    try:
        kind = sniff(data, filename, limits)
        if kind == "xlsx":
            stats = check_archive(data, limits, deadline)
            # openpyxl warns about features it drops (data validation, odd styles); none matter here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with open_workbook(data, limits, deadline) as sheets:
                    return job.run("xlsx", sheets, sheet, stats)
        text, notes = decode_csv(data)
        check_lines(text, limits)
        job.warnings.extend(notes)
        return job.run("csv", [job.csv_sheet(text)], None, None)
    except ImportRejected:
        raise
    except Exception as exc:  # any other failure on untrusted bytes is a damaged file, never a 500
        raise ImportRejected(
            "The file could not be read: it is damaged or not a valid Excel workbook (.xlsx) or CSV file."
        ) from exc


@dataclass(eq=False)  # compared by identity: a sheet is chosen or not
class _Candidate:
    raw: RawSheet
    head: list[Row]
    table: Table | None


class _Job:
    def __init__(
        self, filename: str, digest: str, scales: Scales, matcher: ColumnMatcher, limits: Limits, deadline: Deadline
    ) -> None:
        self.filename = filename
        self.digest = digest
        self.scales = scales
        self.matcher = matcher
        self.limits = limits
        self.deadline = deadline
        self.warnings: list[str] = []

    @property
    def council(self) -> CouncilVocabulary:
        return self.matcher.council

    def csv_sheet(self, text: str) -> RawSheet:
        """The CSV file as one sheet, split on the delimiter under which its header reads best."""
        name = self.filename.replace("\\", "/").rsplit("/", 1)[-1][:80] or "CSV"
        best: tuple[int, str] = (-1, ",")
        for delimiter in _DELIMITERS:
            probe = csv_sheet(name, text, delimiter, self.limits, self.deadline)
            head = list(itertools.islice(probe.rows, self.limits.header_rows))
            table = find_table(head, self.matcher)
            score = table.score if table else 0
            if score > best[0]:
                best = (score, delimiter)
        return csv_sheet(name, text, best[1], self.limits, self.deadline)

    def run(self, kind: str, sheets: list[RawSheet], wanted: str | None, stats: ArchiveStats | None) -> ImportResult:
        candidates = [self._candidate(raw) for raw in sheets]
        chosen = self._choose(candidates, wanted)
        for candidate in candidates:
            if candidate not in chosen:
                _close(candidate.raw.rows)
        if stats is not None:
            self._archive_warnings(stats)
        rows: list[ImportedRow] = []
        mapping: list[MappedColumn] = []
        unmapped: list[MappedColumn] = []
        for candidate in chosen:
            assert candidate.table is not None
            table = self._decide_ambiguous(candidate)
            for column in table.columns:
                target = mapping if column.field else unmapped
                target.append(MappedColumn(candidate.raw.name, column.letter, column.header, column.field, column.note))
            rows.extend(self._rows(candidate, table))
        missing = sorted(set(self.matcher.user) - self.matcher.used_user_headers)
        if missing:
            self.warnings.append(f"The column mapping names headers that no sheet has: {', '.join(missing)}.")
        return ImportResult(
            filename=self.filename,
            sha256=self.digest,
            kind=kind,
            sheets=tuple(c.raw.name for c in chosen),
            rows=tuple(rows),
            mapping=tuple(mapping),
            unmapped=tuple(unmapped),
            warnings=tuple(self.warnings),
        )

    def _candidate(self, raw: RawSheet) -> _Candidate:
        head = list(itertools.islice(raw.rows, self.limits.header_rows + SAMPLE_ROWS))
        return _Candidate(raw, head, find_table(head[: self.limits.header_rows], self.matcher))

    def _choose(self, candidates: list[_Candidate], wanted: str | None) -> list[_Candidate]:
        if wanted is not None:
            named = [c for c in candidates if c.raw.name == wanted] or [
                c for c in candidates if fold(c.raw.name) == fold(wanted)
            ]
            if not named:
                names = ", ".join(repr(c.raw.name) for c in candidates)
                raise ImportRejected(f"The workbook has no sheet named {wanted!r}; its sheets are {names}.")
            if named[0].table is None:
                raise ImportRejected(_no_header_message(f"Sheet {wanted!r} has no", self.limits))
            return named[:1]
        found = [c for c in candidates if c.table is not None]
        # A sheet that describes risks beats one that only lists references (an action plan, a summary).
        described = [c for c in found if c.table is not None and c.table.fields & DESCRIPTIVE_FIELDS]
        found = described or found
        if not found:
            raise ImportRejected(_no_header_message("No sheet has a", self.limits))
        council = [c for c in found if self.council.is_register(c.raw.name, _folded_headers(c))]
        if council:
            if len(found) > 1:
                self.warnings.append(
                    f"This is a RiskReg Council workbook: only its {council[0].raw.name!r} sheet was read."
                )
            return council[:1]
        best = max(c.table.score for c in found if c.table is not None)
        chosen = [c for c in found if c.table is not None and c.table.score >= max(2, 0.6 * best)]
        skipped = [c.raw.name for c in candidates if c not in chosen]
        if skipped and len(candidates) > 1:
            self.warnings.append(
                f"Read sheet(s) {', '.join(repr(c.raw.name) for c in chosen)}; "
                f"skipped {', '.join(repr(s) for s in skipped)} (no register table found there)."
            )
        return chosen

    def _archive_warnings(self, stats: ArchiveStats) -> None:
        if stats.beyond_columns:
            last = column_letter(self.limits.max_columns - 1)
            self.warnings.append(f"Some cells lie beyond column {last}, the last one read; they were not read.")
        if stats.uncached_formulas:
            self.warnings.append(
                f"The workbook has {stats.uncached_formulas:,} formula cell(s) without a saved result (it was not "
                "last saved by Excel); any of them in the register reads as empty. Open the file in Excel, save it, "
                "and import it again."
            )

    def _decide_ambiguous(self, candidate: _Candidate) -> Table:
        table = candidate.table
        assert table is not None
        if not any(c.ambiguous for c in table.raw):
            return table
        samples = [values for number, values in candidate.head if number > table.header_row]
        reader = RowReader(self.scales, self.council, candidate.raw.name, table, False)
        used = {c.field for c in table.raw}
        columns: list[HeaderColumn] = []
        for column in table.raw:
            decided = reader.decide(column, samples, used) if column.ambiguous else column.field
            if decided != column.field:
                used.discard(column.field)
                used.add(decided)
                column = replace(column, field=decided, note=f"read as {decided.replace('_', ' ')} from its values")
            columns.append(column)
        return settle(table.header_row, columns)

    def _rows(self, candidate: _Candidate, table: Table) -> Iterator[ImportedRow]:
        name = candidate.raw.name
        is_council = self.council.is_register(name, _folded_headers(candidate))
        reader = RowReader(self.scales, self.council, name, table, is_council)
        source = itertools.chain(candidate.head, candidate.raw.rows)
        blank_run = 0
        for number, values in source:
            if number <= table.header_row:
                continue
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                blank_run += 1
                if blank_run >= self.limits.max_blank_run:
                    if next(source, None) is not None:
                        self.warnings.append(
                            f"Sheet {name!r}: reading stopped at row {number:,} after {blank_run:,} empty rows; "
                            "anything further down was not read."
                        )
                    _close(candidate.raw.rows)
                    break
                continue
            blank_run = 0
            row = reader.read(number, values)
            if row is not None:
                yield row
        self.warnings.extend(f"Sheet {name!r}: {note}" for note in (*table.notes, *reader.notes, *candidate.raw.notes))


def _folded_headers(candidate: _Candidate) -> set[str]:
    if candidate.table is None:
        return set()
    return {fold(c.header) for c in candidate.table.columns}


def _close(rows: Iterator[Row]) -> None:
    close = getattr(rows, "close", None)
    if close is not None:
        close()


def _no_header_message(subject: str, limits: Limits) -> str:
    return (
        f"{subject} row of column headers that the import recognises in its first {limits.header_rows} rows. "
        "Name the columns with headers such as Ref, Title, Cause, Likelihood, Impact, Owner, or give a column mapping."
    )
