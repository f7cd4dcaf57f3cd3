"""The table sheets: Register, Action plan, Movement, By category, By unit.

Pure. Each builder returns a `SheetPlan` whose rows are a generator: three title rows, the
header row (row 4, repeated on every printed page, frozen, with an autofilter), then one
row per item. Columns come from the layout, so the code here only decides order and marks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from riskreg.appetite import Zone
from riskreg.movement import MovementKind, MovementRow
from riskreg.snapshot import RiskRow
from riskreg.workbook.fields import (
    ACTION_FIELDS,
    MOVEMENT_FIELDS,
    PIVOT_FIELDS,
    RISK_FIELDS,
    UNIT_PIVOT_FIELDS,
    Field,
    PivotRow,
)
from riskreg.workbook.layout import Layout, SheetLayout
from riskreg.workbook.plan import Row, SheetPlan, Table, Theme, column_letter, fill_template, title_rows

if TYPE_CHECKING:
    from riskreg.workbook.build import CouncilInputs, Selection

T = TypeVar("T")
HEADER_ROW = 4  # title, subtitle, note, then the table

# Movement groups in the order the sheet shows them.
_MOVE_ORDER = {
    MovementKind.INCREASED: 0,
    MovementKind.NEW: 1,
    MovementKind.REOPENED: 1,
    MovementKind.DECREASED: 2,
    MovementKind.CLOSED: 3,
    MovementKind.UNCHANGED: 4,
}


def subtitle(inputs: CouncilInputs, values: Mapping[str, str]) -> str:
    """The line under every sheet title: who, where, which document, which audience."""
    parts = [inputs.organisation, inputs.session, f"{inputs.symbol}, Annex {inputs.annex}", values["audience"]]
    if inputs.snapshot.is_draft:
        parts.append("DRAFT")
    return " · ".join(p for p in parts if p)


def table_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    theme: Theme,
    values: Mapping[str, str],
    table: Table[T],
    items: Sequence[T],
    *,
    tone: Callable[[T], str] | None = None,
    empty_text: str = "None.",
    filtered: bool = True,
) -> SheetPlan:
    """A sheet holding one table under the title rows, with panes, print titles and a filter."""
    width = sum(table.widths)
    head = title_rows(
        theme,
        fill_template(sheet.title, values),
        subtitle(inputs, values),
        fill_template(sheet.note, values),
        width,
        len(table.widths),
    )

    def rows() -> Iterator[Row]:
        yield from head
        yield table.header_row(filtered=filtered)
        if not items:
            yield Row([(empty_text, theme.note)])
            return
        if tone is None:
            for item in items:
                yield table.row(item)
        else:
            for item in items:
                yield table.row(item, tone(item))

    freeze_col = column_letter(sheet.freeze_columns + 1)
    return SheetPlan(
        key=sheet.key,
        name=sheet.name,
        widths=table.widths,
        rows=rows(),
        expected_rows=len(items) + HEADER_ROW,
        freeze=f"{freeze_col}{HEADER_ROW + 1}",
        title_rows=(HEADER_ROW, HEADER_ROW),
        filter_columns=len(table.widths),
        repeat_columns=sheet.freeze_columns,
    )


def _table(
    sheet: SheetLayout, inputs: CouncilInputs, sel: Selection, theme: Theme, vocabulary: Mapping[str, Field[T]]
) -> Table[T]:
    bands = [b.name for b in reversed(inputs.scales.bands)]
    return Table(sheet.columns_for(inputs.audience), vocabulary, theme, sel.ctx, bands)


def register_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    layout: Layout,
    sel: Selection,
    theme: Theme,
    values: Mapping[str, str],
) -> SheetPlan:
    table = _table(sheet, inputs, sel, theme, RISK_FIELDS)
    return table_sheet(sheet, inputs, theme, values, table, sel.rows, empty_text="No risks in this selection.")


def actions_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    layout: Layout,
    sel: Selection,
    theme: Theme,
    values: Mapping[str, str],
) -> SheetPlan:
    table = _table(sheet, inputs, sel, theme, ACTION_FIELDS)
    as_at = inputs.snapshot.as_at
    return table_sheet(
        sheet,
        inputs,
        theme,
        values,
        table,
        sel.actions,
        tone=lambda action: "overdue" if action.days_overdue(as_at) > 0 else "",
        empty_text="No actions on the risks shown.",
    )


def movement_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    layout: Layout,
    sel: Selection,
    theme: Theme,
    values: Mapping[str, str],
) -> SheetPlan:
    table = _table(sheet, inputs, sel, theme, MOVEMENT_FIELDS)

    def order(move: MovementRow) -> tuple[int, int, str]:
        score = move.current_score if move.current_score is not None else move.previous_score
        return _MOVE_ORDER[move.kind], -(score or 0), move.ref

    moves = sorted(sel.moves, key=order)
    empty = (
        "No risks to compare."
        if inputs.previous
        else "No previous closed cycle to compare with: movement starts next cycle."
    )
    return table_sheet(sheet, inputs, theme, values, table, moves, empty_text=empty)


def pivot_rows(
    rows: Sequence[RiskRow],
    key: Callable[[RiskRow], str],
    order: Sequence[str],
    names: Mapping[str, str],
    sel: Selection,
) -> list[PivotRow]:
    """One line per group (in `order`, then any other group alphabetically) and a total line."""
    groups: dict[str, list[RiskRow]] = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    codes = list(order) + sorted(set(groups) - set(order))
    lines = [_pivot_line(code, names.get(code, code), groups.get(code, []), sel) for code in codes]
    lines.append(_pivot_line("", "Total", list(rows), sel))
    return lines


def _pivot_line(code: str, name: str, rows: Sequence[RiskRow], sel: Selection) -> PivotRow:
    ctx = sel.ctx
    bands: dict[str, int] = {}
    zones: dict[str, int] = {}
    open_actions = overdue = 0
    for row in rows:
        bands[row.residual_band] = bands.get(row.residual_band, 0) + 1
        zones[row.zone] = zones.get(row.zone, 0) + 1
        open_actions += len(row.open_actions())
        overdue += len(row.overdue_actions(ctx.as_at))
    appetite = ctx.statement.for_category(code) if code else None
    return PivotRow(
        code=code,
        name=name,
        bands=bands,
        total=len(rows),
        average_residual=round(sum(r.residual_score for r in rows) / len(rows), 1) if rows else None,
        within=zones.get(Zone.WITHIN_APPETITE.value, 0),
        above_appetite=zones.get(Zone.ABOVE_APPETITE.value, 0),
        outside_tolerance=zones.get(Zone.OUTSIDE_TOLERANCE.value, 0),
        open_actions=open_actions,
        overdue_actions=overdue,
        appetite_level=appetite.level.value if appetite else "",
    )


def by_category_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    layout: Layout,
    sel: Selection,
    theme: Theme,
    values: Mapping[str, str],
) -> SheetPlan:
    table = _table(sheet, inputs, sel, theme, PIVOT_FIELDS)
    lines = pivot_rows(sel.rows, lambda r: r.category_code, list(inputs.category_names), inputs.category_names, sel)
    # A pivot ending in a total line is not a list to filter.
    return table_sheet(sheet, inputs, theme, values, table, lines, tone=_total_tone, filtered=False)


def by_unit_sheet(
    sheet: SheetLayout,
    inputs: CouncilInputs,
    layout: Layout,
    sel: Selection,
    theme: Theme,
    values: Mapping[str, str],
) -> SheetPlan:
    table = _table(sheet, inputs, sel, theme, UNIT_PIVOT_FIELDS)
    present = {r.unit_code for r in sel.rows}
    order = [code for code in inputs.unit_names if code in present]
    names = {**{r.unit_code: r.unit_name for r in sel.rows if r.unit_name}, **inputs.unit_names}
    lines = pivot_rows(sel.rows, lambda r: r.unit_code, order, names, sel)
    return table_sheet(sheet, inputs, theme, values, table, lines, tone=_total_tone, filtered=False)


def _total_tone(line: PivotRow) -> str:
    return "total" if line.code == "" else ""
