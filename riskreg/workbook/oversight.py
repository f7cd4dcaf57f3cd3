"""The Oversight recommendations sheet: the task force's summary (sentence and table) per report and per body,
the movement since the previous cycle, and the detail list.

Pure. The caller hands in `OversightSection` (plain texts and counts, computed by riskreg/oversight as at the
snapshot's date), so the sheet says exactly what the summary page and `riskreg recommendations summary` say.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from riskreg.workbook.layout import Layout, SheetLayout
from riskreg.workbook.plan import (
    Row,
    SheetPlan,
    Theme,
    blank_row,
    fill_template,
    prose_row,
    section_row,
    title_rows,
    wrapped_row,
)

if TYPE_CHECKING:
    from riskreg.workbook.build import CouncilInputs, Selection

WIDTHS = (16.0, 10.0, 14.0, 60.0, 12.0, 22.0, 13.0, 30.0)  # 14: "Implemented" heads column 3 of the summaries
DETAIL_HEADERS = ("Report", "No.", "Type", "Recommendation", "Unit", "Status", "Target date", "Risks addressed")


@dataclass(frozen=True)
class SummaryTable:
    """One summary: its heading, the task force's sentence, and counts per type (rows) and status (columns)."""

    title: str
    sentence: str
    statuses: tuple[str, ...]
    rows: tuple[tuple[str, int, tuple[int, ...]], ...]  # (type label, total, count per status)


@dataclass(frozen=True)
class RecLine:
    report: str
    number: str
    rec_type: str
    text: str
    unit: str
    status: str
    target: date | None
    risks: str


@dataclass(frozen=True)
class OversightSection:
    as_at: date
    tables: tuple[SummaryTable, ...]  # all, then per report, then per body
    previous: SummaryTable | None  # the same counts as at the end of the previous cycle
    lines: tuple[RecLine, ...]


def oversight_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    widths = list(sheet.widths) or list(WIDTHS)
    while len(widths) < len(WIDTHS):
        widths.append(12.0)
    section = inputs.oversight

    def body() -> Iterator[Row]:
        from riskreg.workbook.tables import subtitle

        yield from title_rows(
            theme,
            fill_template(sheet.title, values),
            subtitle(inputs, values),
            fill_template(sheet.note, values),
            sum(widths),
            len(widths),
        )
        if section is None:
            yield Row([("No recommendations of oversight bodies are recorded.", theme.note)])
            return
        yield Row([(f"Status as at {section.as_at:%d %b %Y}, from the recommendations' status history.", theme.note)])
        yield blank_row()
        for table in section.tables:
            yield from _summary(theme, table, widths)
        if section.previous is not None:
            yield section_row(theme, "Movement since the previous cycle")
            yield from _summary(theme, section.previous, widths)
        yield section_row(theme, "Recommendations")
        yield wrapped_row([(h, theme.header) for h in DETAIL_HEADERS], widths)
        for line in section.lines:
            target = (line.target, theme.value_date) if line.target else ("—", theme.value)
            cells = [line.report, line.number, line.rec_type, line.text, line.unit, line.status]
            yield wrapped_row([*((c, theme.value) for c in cells), target, (line.risks, theme.value)], widths)

    return SheetPlan(key=sheet.key, name=sheet.name, widths=widths, rows=body(), expected_rows=40)


def _summary(theme: Theme, table: SummaryTable, widths: list[float]) -> Iterator[Row]:
    yield section_row(theme, table.title)
    yield prose_row(theme, table.sentence, widths)
    if table.rows:
        yield wrapped_row([(h, theme.header) for h in ("Type", "Total", *table.statuses)], widths)
        for label, total, counts in table.rows:
            yield Row([(label, theme.label), (total, theme.cell), *((n, theme.cell) for n in counts)])
    yield blank_row()
