"""The document sheets (Cover, Summary, Heatmap, Appetite) and the registry of all sheet builders.

Pure. Unlike the table sheets these have a fixed structure (key figures, a grid, the
statement text), so the builders lay them out row by row; texts the secretariat may want
to change (titles, notes, definitions, top-table columns) still come from the layout.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from riskreg.appetite import Zone
from riskreg.movement import MovementKind
from riskreg.workbook.build import utc_naive
from riskreg.workbook.fields import CATEGORY_FIELDS, RISK_FIELDS, CategoryLine, day_text
from riskreg.workbook.layout import SheetLayout, widths_for
from riskreg.workbook.methodology import ZONE_MEANINGS, methodology_sheet
from riskreg.workbook.oversight import oversight_sheet
from riskreg.workbook.plan import (
    Picture,
    PlanCell,
    Row,
    SheetPlan,
    Table,
    Theme,
    band_range,
    blank_row,
    column_letter,
    fill_template,
    prose_row,
    review_text,
    row_height,
    section_row,
    text_lines,
    title_rows,
)
from riskreg.workbook.tables import (
    HEADER_ROW,
    actions_sheet,
    by_category_sheet,
    by_unit_sheet,
    movement_sheet,
    register_sheet,
    subtitle,
)

if TYPE_CHECKING:
    from riskreg.workbook.build import CouncilInputs, Selection
    from riskreg.workbook.layout import Layout

# ------------------------------------------------------------------------------ cover


def cover_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    widths = [sheet.label_width, sheet.value_width]
    statement, snapshot = inputs.statement, inputs.snapshot
    if statement.status in ("endorsed", "superseded"):
        endorsement = (
            f"Endorsed by the {statement.endorsing_body}, {statement.session}, document {statement.document_symbol}, "
            f"on {day_text(statement.endorsed_on)}"
        )
        if statement.effective_from:
            endorsement += f"; in force from {day_text(statement.effective_from)}"
    else:
        endorsement = f"Not endorsed (status: {statement.status})"
    cycle = snapshot.cycle_code
    if snapshot.is_draft:
        cycle += " (DRAFT: the live register, not a closed review cycle)"
    audience = layout.audiences[inputs.audience]
    facts: list[tuple[str, Any]] = [
        ("Organisation", inputs.organisation),
        ("Council session", inputs.session),
        ("Document symbol", inputs.symbol),
        ("Annex", inputs.annex),
        ("Review cycle", cycle),
        ("Status as at", snapshot.as_at),
        ("Compared with", inputs.previous.cycle_code if inputs.previous else "No previous closed cycle"),
        ("Audience", fill_template(audience.description, values)),
        ("Risks shown", len(sel.rows)),
        ("Risk appetite statement", f"Version {statement.version}: {statement.title}"),
        ("Endorsement", endorsement),
        ("Assessment scales", f"Version {inputs.scales.version}: {inputs.scales.title}"),
        ("Prepared by", inputs.prepared_by),
        ("Generated (UTC)", utc_naive(inputs.generated_at)),
        ("Classification", inputs.classification),
        ("Snapshot (SHA-256)", sel.snapshot_hash),
    ]
    title = fill_template(sheet.title, values) + (" (DRAFT)" if snapshot.is_draft else "")
    big = replace(theme.title, size=theme.title.size + 6)

    def rows() -> Iterator[Row]:
        yield Row([(inputs.organisation, theme.subtitle)], height=20)
        yield Row([(inputs.classification.upper(), replace(theme.subtitle, colour="#9C0006"))])
        yield blank_row()
        yield Row([(title, big)], height=big.size * 1.8)
        annex = f"Annex {inputs.annex} to document {inputs.symbol}" if inputs.symbol else f"Annex {inputs.annex}"
        yield Row([(", ".join(p for p in (annex, inputs.session) if p), theme.subtitle)], height=18)
        yield blank_row()
        for label, value in facts:
            look = theme.value
            if isinstance(value, datetime):
                look = theme.value_datetime
            elif isinstance(value, date):
                look = theme.value_date
            elif isinstance(value, int):
                look = replace(theme.value, halign="left", number_format="0")
            height = None
            if isinstance(value, str):
                lines = text_lines(value, sheet.value_width, theme.value.size)
                height = row_height(lines) if lines > 1 else None
            yield Row([(label, theme.label), (value, look)], height=height)
        yield blank_row()
        yield section_row(theme, "Contents")
        for other in layout.sheets:
            if other.key != "cover":
                yield Row([(other.name, theme.label), (fill_template(other.description, values), theme.value)])

    return SheetPlan(key=sheet.key, name=sheet.name, widths=widths, rows=rows(), expected_rows=30, pages_tall=1)


# ------------------------------------------------------------------------------ summary


def summary_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    top_table = Table(sheet.columns_for(inputs.audience), RISK_FIELDS, theme, sel.ctx)
    widths = widths_for(sheet, top_table.widths, [14, 40, 11, 11])
    scales, rows = inputs.scales, sel.rows
    inherent = _count(r.inherent_band for r in rows)
    residual = _count(r.residual_band for r in rows)
    zones = _count(r.zone for r in rows)
    moves = _count(m.kind.value for m in sel.moves)
    as_at = inputs.snapshot.as_at
    open_actions = sum(len(r.open_actions()) for r in rows)
    overdue = sum(len(r.overdue_actions(as_at)) for r in rows)
    number = replace(theme.cell, halign="center", number_format=layout.formats.integer)
    text = replace(theme.cell, wrap=True)
    header = theme.header
    top = rows[: sheet.top_count]

    def kpi(key: PlanCell, meaning: str, *counts: int) -> Row:
        cells: list[PlanCell | None] = [key, (meaning, text), *((c, number) for c in counts)]
        lines = text_lines(meaning, widths[1], text.size)
        return Row(cells, height=row_height(lines) if lines > 1 else None)

    def body() -> Iterator[Row]:
        yield from title_rows(
            theme,
            fill_template(sheet.title, values),
            subtitle(inputs, values),
            fill_template(sheet.note, values),
            sum(widths),
            len(widths),
        )
        yield section_row(theme, "Risks by rating band")
        yield Row([("Band", header), ("Meaning", header), ("Inherent", header), ("Residual", header)], height=18)
        for band in reversed(scales.bands):
            cells = (band.name, theme.bands[band.name])
            meaning = (
                f"Scores {band_range(band.min_score, band.max_score)}; reviewed {review_text(band.review_days).lower()}"
            )
            yield kpi(cells, meaning, inherent.get(band.name, 0), residual.get(band.name, 0))
        yield kpi(("Total", theme.total_label), "", len(rows), len(rows))
        yield blank_row()
        yield section_row(theme, "Against the risk appetite (residual rating)")
        yield Row([("Appetite status", header), ("Meaning", header), ("Risks", header)], height=18)
        for zone in Zone:
            zone_key: PlanCell = (sel.ctx.label("zone", zone.value), theme.zones.get(zone.value, theme.cell))
            yield kpi(zone_key, ZONE_MEANINGS[zone.value], zones.get(zone.value, 0))
        yield blank_row()
        yield section_row(theme, f"Movement since {values['previous_cycle']}")
        if inputs.previous is None:
            yield Row([("No previous closed cycle to compare with.", theme.note)])
        else:
            yield Row([("Movement", header), ("Meaning", header), ("Risks", header)], height=18)
            for kind in (
                MovementKind.NEW,
                MovementKind.REOPENED,
                MovementKind.INCREASED,
                MovementKind.DECREASED,
                MovementKind.UNCHANGED,
                MovementKind.CLOSED,
            ):
                key: PlanCell = (sel.ctx.label("movement", kind.value), theme.label)
                yield kpi(key, _MOVE_MEANINGS[kind], moves.get(kind.value, 0))
        yield blank_row()
        yield section_row(theme, "Escalations and actions")
        yield kpi(
            ("Open escalations", theme.label), "Escalations awaiting acceptance or resolution", inputs.open_escalations
        )
        yield kpi(("Open actions", theme.label), "On the risks shown", open_actions)
        yield kpi(
            ("Overdue actions", theme.label), f"Open and past the (revised) due date at {values['as_at']}", overdue
        )
        yield blank_row()
        yield section_row(theme, f"Top {len(top)} residual risks" if top else "Top residual risks")
        yield top_table.header_row()
        for row in top:
            yield top_table.row(row)
        if inputs.narrative.strip():
            yield blank_row()
            yield section_row(theme, "Narrative")
            yield prose_row(theme, inputs.narrative.strip(), widths)

    return SheetPlan(key=sheet.key, name=sheet.name, widths=widths, rows=body(), expected_rows=40 + len(top))


_MOVE_MEANINGS = {
    MovementKind.NEW: "Not in the previous cycle",
    MovementKind.REOPENED: "Closed in the previous cycle, open again",
    MovementKind.INCREASED: "Residual score higher than in the previous cycle",
    MovementKind.DECREASED: "Residual score lower than in the previous cycle",
    MovementKind.UNCHANGED: "Same residual score",
    MovementKind.CLOSED: "Closed, realised or merged since the previous cycle",
}


def _count(values: Iterator[str] | Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


# ------------------------------------------------------------------------------ heatmap


def pack_refs(refs: Sequence[str], width: float, size: float) -> list[str]:
    """References joined with commas, a line break only between two references (never inside one).

    References are mostly digits, which are a full width unit each, so a line holds about
    `width - 1` characters rather than the prose estimate of `text_lines`.
    """
    room = int((width - 1) * 10 / size)
    lines: list[str] = []
    for ref in refs:
        if lines and len(lines[-1]) + 2 + len(ref) <= room:
            lines[-1] = f"{lines[-1]}, {ref}"
        else:
            lines.append(ref)
    return lines


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG from its header (no image library needed)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("heatmap_png is not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def heatmap_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    scales = inputs.scales
    cells: dict[tuple[int, int], list[str]] = {}
    for row in sel.rows:
        cells.setdefault((row.residual_likelihood, row.residual_impact), []).append(row.ref)
    widths = [18.0] + [sheet.cell_width] * scales.max_impact + [2.0]
    grid_width = sum(widths)
    axis = replace(theme.header, wrap=True)
    cell_look = {b.name: replace(theme.bands[b.name], bold=False, valign="center") for b in scales.bands}

    def grid_text(likelihood: int, impact: int) -> str:
        score = likelihood * impact
        refs = cells.get((likelihood, impact), [])
        lines = [f"{score} · {scales.band(score).name}"]
        if refs:
            lines.append(f"{len(refs)} risk{'s' if len(refs) != 1 else ''}")
            shown = refs[: sheet.max_refs_per_cell]
            more = [f"+{len(refs) - len(shown)} more"] if len(refs) > len(shown) else []
            lines.extend(pack_refs(shown + more, sheet.cell_width, theme.base.size))
        return "\n".join(lines)

    def body() -> Iterator[Row]:
        yield from title_rows(
            theme,
            fill_template(sheet.title, values),
            subtitle(inputs, values),
            fill_template(sheet.note, values),
            grid_width,
            len(widths) - 1,
        )
        impacts = [(f"Impact {v}\n{scales.impact_level(v).label}", axis) for v in range(1, scales.max_impact + 1)]
        yield Row([("Likelihood ↓   Impact →", axis), *impacts], height=30)
        for likelihood in range(scales.max_likelihood, 0, -1):
            texts = [grid_text(likelihood, impact) for impact in range(1, scales.max_impact + 1)]
            lines = max(text_lines(t, sheet.cell_width, theme.base.size) for t in texts)
            row_cells: list[PlanCell | None] = [(f"{likelihood} {scales.likelihood_level(likelihood).label}", axis)]
            for impact, value in enumerate(texts, start=1):
                row_cells.append((value, cell_look[scales.band(likelihood * impact).name]))
            yield Row(row_cells, height=max(row_height(max(lines, 3)), 48.0))
        yield blank_row()
        yield section_row(theme, "Legend")
        yield Row([("Band", theme.header), ("Scores", theme.header), ("Risks shown", theme.header)], height=18)
        counts = _count(r.residual_band for r in sel.rows)
        number = replace(theme.cell, halign="center", number_format=layout.formats.integer)
        for band in reversed(scales.bands):
            yield Row(
                [
                    (band.name, theme.bands[band.name]),
                    (band_range(band.min_score, band.max_score), replace(theme.cell, halign="center")),
                    (counts.get(band.name, 0), number),
                ]
            )
        yield Row([("Score = likelihood × impact. Residual ratings, after existing controls.", theme.note)])

    pictures = []
    if inputs.heatmap_png:
        width, height = png_size(inputs.heatmap_png)
        scale = sheet.image_width_px / width
        anchor = f"{column_letter(len(widths) + 1)}{HEADER_ROW}"
        pictures.append(Picture(inputs.heatmap_png, anchor, sheet.image_width_px, round(height * scale)))
    return SheetPlan(key=sheet.key, name=sheet.name, widths=widths, rows=body(), expected_rows=20, pictures=pictures)


# ------------------------------------------------------------------------------ appetite


def appetite_sheet(
    sheet: SheetLayout, inputs: CouncilInputs, layout: Layout, sel: Selection, theme: Theme, values: Mapping[str, str]
) -> SheetPlan:
    statement = inputs.statement
    category_table = Table(sheet.columns_for(inputs.audience, "category_columns"), CATEGORY_FIELDS, theme, sel.ctx)
    risk_table = Table(sheet.columns_for(inputs.audience), RISK_FIELDS, theme, sel.ctx)
    widths = widths_for(sheet, category_table.widths, risk_table.widths)
    lines = _category_lines(inputs, sel)
    severity = {Zone.OUTSIDE_TOLERANCE.value: 0, Zone.ABOVE_APPETITE.value: 1}
    listed = sorted(
        (r for r in sel.rows if r.zone in severity), key=lambda r: (severity[r.zone], -r.residual_score, r.ref)
    )
    if statement.status in ("endorsed", "superseded"):
        note = (
            f"Endorsed by the {statement.endorsing_body}, {statement.session}, document {statement.document_symbol}, "
            f"on {day_text(statement.endorsed_on)}."
        )
        if statement.effective_from:
            note += f" In force from {day_text(statement.effective_from)}."
        if statement.supersedes:
            note += f" Supersedes version {statement.supersedes}."
    else:
        note = f"Not endorsed: this version's status is {statement.status}."

    def body() -> Iterator[Row]:
        head = title_rows(
            theme, fill_template(sheet.title, values), subtitle(inputs, values), note, sum(widths), len(widths)
        )
        yield from head
        yield section_row(theme, "Overall statement")
        for paragraph in (statement.preamble, statement.overall):
            if paragraph.strip():
                yield prose_row(theme, paragraph.strip(), widths)
        yield blank_row()
        yield section_row(theme, "Appetite by category")
        yield category_table.header_row()
        for line in lines:
            yield category_table.row(line)
        yield blank_row()
        yield section_row(theme, "Risks above appetite or outside tolerance, and the response to each")
        yield risk_table.header_row(filtered=bool(listed))
        if not listed:
            yield Row([("None: every risk shown is within appetite.", theme.note)])
        for row in listed:
            yield risk_table.row(row)

    return SheetPlan(
        key=sheet.key,
        name=sheet.name,
        widths=widths,
        rows=body(),
        expected_rows=20 + len(lines) + len(listed),
        filter_columns=len(risk_table.widths),
    )


def _category_lines(inputs: CouncilInputs, sel: Selection) -> list[CategoryLine]:
    statement = inputs.statement
    codes = [c for c in inputs.category_names if c in statement.categories]
    codes += sorted(set(statement.categories) - set(codes))
    counts: dict[str, list[int]] = {}
    for row in sel.rows:
        entry = counts.setdefault(row.category_code, [0, 0, 0])
        entry[0] += 1
        entry[1] += row.zone == Zone.ABOVE_APPETITE.value
        entry[2] += row.zone == Zone.OUTSIDE_TOLERANCE.value
    return [
        CategoryLine(
            code, inputs.category_names.get(code, code), statement.categories[code], *counts.get(code, [0, 0, 0])
        )
        for code in codes
    ]


SHEET_BUILDERS: Mapping[str, Callable[..., SheetPlan]] = {
    "cover": cover_sheet,
    "summary": summary_sheet,
    "heatmap": heatmap_sheet,
    "register": register_sheet,
    "appetite": appetite_sheet,
    "movement": movement_sheet,
    "actions": actions_sheet,
    "by_category": by_category_sheet,
    "by_unit": by_unit_sheet,
    "oversight": oversight_sheet,
    "methodology": methodology_sheet,
}
