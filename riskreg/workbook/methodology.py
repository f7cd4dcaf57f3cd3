"""The Methodology sheet: scales, bands, appetite levels, definitions and data notes.

Pure. It explains how to read every other sheet, from the scales and statement the
workbook was built with, so an annex printed years later still carries its own key.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from riskreg.appetite import LEVEL_DEFAULTS, LEVEL_MEANINGS, Zone
from riskreg.workbook.layout import Layout, SheetLayout
from riskreg.workbook.plan import (
    PlanCell,
    Row,
    SheetPlan,
    Theme,
    band_range,
    blank_row,
    fill_template,
    prose_row,
    review_text,
    row_height,
    section_row,
    text_lines,
    title_rows,
    wrapped_row,
)
from riskreg.workbook.tables import subtitle

if TYPE_CHECKING:
    from riskreg.workbook.build import CouncilInputs, Selection

ZONE_MEANINGS: Mapping[str, str] = {
    Zone.WITHIN_APPETITE.value: "Residual score at or below the category's appetite maximum: routine monitoring.",
    Zone.ABOVE_APPETITE.value: (
        "Above appetite but within tolerance: a dated treatment plan or a time-limited acceptance."
    ),
    Zone.OUTSIDE_TOLERANCE.value: "Outside tolerance (or Critical): escalated to the task force or the executive.",
    Zone.NOT_EVALUATED.value: (
        "Opportunities, and risks whose category has no appetite in the statement (a Critical one is still "
        "outside tolerance)."
    ),
}


class _Sections:
    """The sheet's tables, one generator each, sharing its widths and looks."""

    def __init__(self, inputs: CouncilInputs, sel: Selection, theme: Theme, widths: Sequence[float]) -> None:
        self.scales, self.ctx, self.theme, self.widths = inputs.scales, sel.ctx, theme, widths
        self.text = replace(theme.cell, wrap=True)
        self.centre = replace(theme.cell, halign="center", wrap=True)

    def heads(self, *names: str) -> Row:
        look = self.theme.header
        lines = max(text_lines(n, self.widths[i], look.size) for i, n in enumerate(names))
        return Row([(n, look) for n in names], height=row_height(lines))

    def likelihood(self) -> Iterator[Row]:
        yield section_row(self.theme, f"Likelihood (over {self.scales.horizon_months} months)")
        yield self.heads("Value", "Label", "Probability", "Description")
        for level in self.scales.likelihood:
            cells: list[PlanCell | None] = [
                (level.value, self.centre),
                (level.label, self.theme.label),
                (level.probability_text, self.centre),
                (level.description, self.text),
            ]
            yield wrapped_row(cells, self.widths)

    def impact(self) -> Iterator[Row]:
        dims = self.scales.dimensions
        yield section_row(self.theme, "Impact (the highest applicable dimension counts)")
        yield self.heads("Value", "Label", *(d.replace("_", " ").capitalize() for d in dims))
        for level in self.scales.impact:
            criteria: list[PlanCell | None] = [(level.criteria.get(d, ""), self.text) for d in dims]
            yield wrapped_row([(level.value, self.centre), (level.label, self.theme.label), *criteria], self.widths)

    def bands(self) -> Iterator[Row]:
        yield section_row(self.theme, "Rating bands")
        yield self.heads("Band", "Scores", "Review", "Note")
        for band in reversed(self.scales.bands):
            note = "Always outside tolerance, whatever the category's appetite" if band.critical else ""
            cells: list[PlanCell | None] = [
                (band.name, self.theme.bands[band.name]),
                (band_range(band.min_score, band.max_score), self.centre),
                (review_text(band.review_days), self.centre),
                (note, self.text),
            ]
            yield wrapped_row(cells, self.widths)

    def appetite_levels(self) -> Iterator[Row]:
        yield section_row(
            self.theme, "Risk appetite levels (default thresholds on a 5 × 5 scale; the statement sets its own)"
        )
        yield self.heads("Level", "Meaning", "Appetite max.", "Tolerance max.")
        for appetite_level, meaning in LEVEL_MEANINGS.items():
            appetite_max, tolerance_max = LEVEL_DEFAULTS[appetite_level]
            cells: list[PlanCell | None] = [
                (self.ctx.label("appetite_level", appetite_level.value), self.theme.label),
                (meaning, self.text),
                (appetite_max, self.centre),
                (tolerance_max, self.centre),
            ]
            yield wrapped_row(cells, self.widths)

    def zones(self) -> Iterator[Row]:
        yield section_row(self.theme, "Appetite status")
        for zone in Zone:
            look = self.theme.zones.get(zone.value, self.theme.cell)
            yield wrapped_row(
                [(self.ctx.label("zone", zone.value), look), (ZONE_MEANINGS[zone.value], self.text)], self.widths
            )

    def glossary(self, heading: str, entries: Sequence[tuple[str, str]]) -> Iterator[Row]:
        """Term in the first column, its text merged across the rest."""
        yield section_row(self.theme, heading)
        for term, text in entries:
            row = prose_row(self.theme, text, self.widths, first=2, look=self.text)
            yield Row([(term, self.theme.label), *row.cells[1:]], height=row.height, merges=row.merges)


def methodology_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    scales = inputs.scales
    widths = list(sheet.widths) or [12.0, 18.0]
    while len(widths) < 2 + max(2, len(scales.dimensions)):
        widths.append(22.0)
    parts = _Sections(inputs, sel, theme, widths)
    note = (
        f"Scales version {scales.version}: {scales.title}. "
        f"Likelihood is judged over {scales.horizon_months} months. Score = likelihood × impact."
    )

    def body() -> Iterator[Row]:
        yield from title_rows(
            theme, fill_template(sheet.title, values), subtitle(inputs, values), note, sum(widths), len(widths)
        )
        for section in (parts.likelihood, parts.impact, parts.bands, parts.appetite_levels, parts.zones):
            yield from section()
            yield blank_row()
        if sheet.definitions:
            yield from parts.glossary("Definitions", [(d.term, d.text) for d in sheet.definitions])
            yield blank_row()
        yield from parts.glossary("Data notes", data_notes(inputs, layout, sel, values))

    return SheetPlan(key=sheet.key, name=sheet.name, widths=widths, rows=body(), expected_rows=60)


def data_notes(
    inputs: CouncilInputs, layout: Layout, sel: Selection, values: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Where the figures come from and what was left out, for the reader of a printed annex."""
    snapshot = inputs.snapshot
    if snapshot.is_draft:
        source = "The live register at the time of export (a draft, not a closed review cycle)."
    else:
        source = f"The frozen snapshot of review cycle {snapshot.cycle_code}, taken at its closing."
    return [
        ("As at", f"{values['as_at']}. Overdue actions and days overdue are counted at this date."),
        ("Source", f"{source} Snapshot SHA-256 {sel.snapshot_hash}."),
        ("Selection", fill_template(layout.audiences[inputs.audience].description, values)),
        (
            "Order",
            "Risks by residual score (highest first), then reference in natural order (R-2 before R-10); "
            "actions by the risk's band, then due date.",
        ),
        ("Movement", f"Residual scores compared with {values['previous_cycle']}."),
    ]
