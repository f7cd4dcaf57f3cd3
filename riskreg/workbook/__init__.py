"""The Council workbook: a closed cycle's snapshot and a layout in, a formatted, safe .xlsx out.

Pure: no Flask, no database session, and openpyxl is imported only when a workbook is
written. The caller (exports view, `riskreg export council`) gathers `CouncilInputs` from
the database, renders the heatmap with `riskreg.heatmap` from `rows_for_audience(...)`,
and stores the returned bytes' SHA-256 in its ExportRun.

    layout = load_layout(paths.COUNCIL_LAYOUT)
    data = build_council_workbook(inputs, layout)

Modules: `layout` reads exports/council.toml; `fields` is the vocabulary of columns;
`build` selects what an audience sees and plans the sheets (`sheets`, `tables`);
`cells` writes the plan with openpyxl, every text cell through `cells.text_cell`.
"""

from __future__ import annotations

from riskreg.workbook.build import AudienceName, CouncilInputs, Progress, plan_workbook, rows_for_audience
from riskreg.workbook.layout import Layout, LayoutError, load_layout, parse_layout

__all__ = [
    "AudienceName",
    "CouncilInputs",
    "Layout",
    "LayoutError",
    "Progress",
    "build_council_workbook",
    "load_layout",
    "parse_layout",
    "plan_workbook",
    "rows_for_audience",
]


def build_council_workbook(inputs: CouncilInputs, layout: Layout) -> bytes:
    """The Council workbook as .xlsx bytes; equal inputs give equal bytes."""
    from riskreg.workbook.cells import write_workbook  # openpyxl loads here, not at app start

    return write_workbook(plan_workbook(inputs, layout), inputs.progress)
