"""What goes into a Council workbook: the inputs, the audience's selection, and the plan.

Pure. `CouncilInputs` is everything the caller (a view or the CLI) gathers from the
database; `select()` applies the audience rules of domain.md (e); `plan_workbook()` turns
inputs and layout into a `WorkbookPlan` that `cells.write_workbook` writes with openpyxl.
Nothing here reads the clock: `generated_at` comes in, so the same inputs give the same file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from riskreg.appetite import Statement, Zone
from riskreg.movement import CLOSED_STATUSES, MovementKind, MovementRow, compare
from riskreg.scoring import Scales
from riskreg.snapshot import ActionRow, RiskRow, Snapshot, sort_rows
from riskreg.workbook.fields import DEFAULT_LABELS, Context, day_text
from riskreg.workbook.layout import Layout, LayoutError
from riskreg.workbook.oversight import OversightSection
from riskreg.workbook.plan import (
    PageSetup,
    Properties,
    Theme,
    WorkbookPlan,
    fill_template,
    fit_page_texts,
    page_text,
    pages_wide,
)

AudienceName = Literal["council", "taskforce"]
Progress = Callable[[int, int, str], None]  # (rows written, rows expected, sheet name)

AUDIENCE_LABELS: Mapping[str, str] = {"council": "Council", "taskforce": "Task force"}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class CouncilInputs:
    """Everything one Council workbook is built from."""

    snapshot: Snapshot
    previous: Snapshot | None
    statement: Statement
    scales: Scales
    category_names: Mapping[str, str]  # code -> name, in taxonomy order
    unit_names: Mapping[str, str]  # code -> name
    audience: AudienceName
    organisation: str
    session: str  # e.g. "Council 2026"
    symbol: str  # document symbol, e.g. "C26/12"
    annex: str  # annex number as printed, e.g. "2"
    classification: str
    prepared_by: str  # the preparing unit
    generated_at: datetime
    narrative: str = ""
    open_escalations: int = 0
    heatmap_png: bytes | None = None
    snapshot_hash: str = ""  # the hash stored when the cycle closed; computed from the rows when empty
    oversight: OversightSection | None = None  # the recommendations of oversight bodies, as at the snapshot
    progress: Progress | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Selection:
    """The audience's view of the snapshot, computed once per workbook."""

    rows: Sequence[RiskRow]  # open risks shown, register order
    moves: Sequence[MovementRow]  # movement rows shown; empty without a previous cycle
    actions: Sequence[ActionRow]  # actions of the risks shown, action-plan order
    ctx: Context
    snapshot_hash: str


def long_date(value: date) -> str:
    """'31 March 2026': the as-at date inside titles (independent of the process locale)."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def utc_naive(moment: datetime) -> datetime:
    """Excel has no time zones: aware datetimes become naive UTC, naive ones are taken as UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def council_qualifies(row: RiskRow, scales: Scales, min_rank: int) -> bool:
    """The Council audience's rule, confidentiality aside (domain.md (e))."""
    if row.level == "corporate" or row.council_visible or row.zone == Zone.OUTSIDE_TOLERANCE.value:
        return True
    try:
        rank = scales.band_rank(row.residual_band)
    except ValueError:
        rank = scales.band_rank(scales.band(row.residual_score).name)
    return rank >= min_rank


def min_band_rank(layout: Layout, scales: Scales) -> int:
    name = layout.audiences["council"].min_band
    try:
        return scales.band_rank(name)
    except ValueError:
        bands = ", ".join(b.name for b in scales.bands)
        raise LayoutError(
            f"{layout.source}: audience.council.min_band: {name!r} is not a band of scales {scales.version} ({bands})"
        ) from None


def rows_for_audience(rows: Sequence[RiskRow], audience: str, scales: Scales, layout: Layout) -> list[RiskRow]:
    """The open risks an audience sees, in register order; the heatmap must be drawn from these."""
    open_rows = [r for r in rows if r.status not in CLOSED_STATUSES]
    if audience == "taskforce":
        return sort_rows(open_rows)
    if audience != "council":
        raise ValueError(f"audience must be council or taskforce, not {audience!r}")
    rank = min_band_rank(layout, scales)
    return sort_rows(r for r in open_rows if not r.is_confidential and council_qualifies(r, scales, rank))


def select(inputs: CouncilInputs, layout: Layout) -> Selection:
    scales = inputs.scales
    rows = rows_for_audience(inputs.snapshot.rows, inputs.audience, scales, layout)
    moves: list[MovementRow] = []
    if inputs.previous is not None:
        moves = compare(inputs.previous, inputs.snapshot, scales)
        if inputs.audience == "council":
            moves = _council_moves(moves, inputs.previous, inputs.snapshot, scales, min_band_rank(layout, scales))
    trends = {m.ref: m.kind.value for m in moves if m.kind is not MovementKind.CLOSED}
    labels = {group: {**DEFAULT_LABELS.get(group, {}), **layout.labels.get(group, {})} for group in _groups(layout)}
    ctx = Context(
        as_at=inputs.snapshot.as_at,
        scales=scales,
        statement=inputs.statement,
        labels=labels,
        trends=trends,
        category_names=inputs.category_names,
        unit_names=inputs.unit_names,
        risks={r.ref: r for r in rows},
    )
    # Recomputing the hash serialises the whole snapshot (seconds and hundreds of MB at 50,000
    # risks), so the caller passes the one stored at closing when it has it.
    digest = inputs.snapshot_hash or inputs.snapshot.content_hash()
    return Selection(rows, moves, _action_plan(rows, scales), ctx, digest)


def _groups(layout: Layout) -> set[str]:
    return set(DEFAULT_LABELS) | set(layout.labels)


def _council_moves(
    moves: list[MovementRow], previous: Snapshot, current: Snapshot, scales: Scales, rank: int
) -> list[MovementRow]:
    """A move is shown when the risk qualifies for the Council now or did before, and is not confidential."""
    before, now = previous.by_ref(), current.by_ref()
    shown = []
    for move in moves:
        sides = [row for row in (before.get(move.ref), now.get(move.ref)) if row is not None]
        if any(row.is_confidential for row in sides):
            continue
        if any(council_qualifies(row, scales, rank) for row in sides):
            shown.append(move)
    return shown


def _action_plan(rows: Sequence[RiskRow], scales: Scales) -> list[ActionRow]:
    """Every action of the risks shown: highest residual band first, then due date, then reference."""
    far = date.max
    keyed = []
    for row in rows:
        try:
            rank = scales.band_rank(row.residual_band)
        except ValueError:
            rank = scales.band_rank(scales.band(row.residual_score).name)
        for action in row.actions:
            keyed.append(((-rank, action.revised_due_date or action.due_date or far, action.ref), action))
    keyed.sort(key=lambda pair: pair[0])
    return [action for _, action in keyed]


def placeholder_values(inputs: CouncilInputs) -> dict[str, str]:
    """The values of the layout's {placeholders} for this workbook."""
    generated = utc_naive(inputs.generated_at)
    return {
        "organisation": inputs.organisation,
        "session": inputs.session,
        "symbol": inputs.symbol,
        "annex": inputs.annex,
        "classification": inputs.classification,
        "cycle": inputs.snapshot.cycle_code,
        "previous_cycle": inputs.previous.cycle_code if inputs.previous else "the previous cycle",
        "as_at": long_date(inputs.snapshot.as_at),
        "prepared_by": inputs.prepared_by,
        "generated_at": f"{day_text(generated.date())} {generated:%H:%M} UTC",
        "audience": AUDIENCE_LABELS.get(inputs.audience, inputs.audience),
        "statement_version": inputs.statement.version,
        "scales_version": inputs.scales.version,
    }


def plan_workbook(inputs: CouncilInputs, layout: Layout) -> WorkbookPlan:
    """The whole workbook as a plan; rows are produced only when a writer asks for them."""
    # Imported here: the sheet modules import this one for Selection and the helpers above.
    from riskreg.workbook.sheets import SHEET_BUILDERS

    if inputs.audience not in AUDIENCE_LABELS:
        raise ValueError(f"audience must be council or taskforce, not {inputs.audience!r}")
    selection = select(inputs, layout)
    values = placeholder_values(inputs)
    theme = Theme(layout.style, layout.formats, inputs.scales)
    sheets = [SHEET_BUILDERS[sheet.key](sheet, inputs, layout, selection, theme, values) for sheet in layout.sheets]
    for plan in sheets:
        plan.pages_wide = pages_wide(
            plan.widths, plan.repeat_columns, layout.print.printable_width_pt, layout.print.min_scale
        )
    keywords = [fill_template(k, values) for k in layout.keywords]
    keywords += [f"cycle {inputs.snapshot.cycle_code}", f"snapshot sha256:{selection.snapshot_hash}"]
    title = fill_template(layout.title, values)
    properties = Properties(
        title=title + (" (DRAFT)" if inputs.snapshot.is_draft else ""),
        subject=fill_template(layout.subject, values),
        creator=fill_template(layout.creator, values) or inputs.prepared_by,
        keywords="; ".join(k for k in keywords if k.strip()),
        description=fill_template(layout.audiences[inputs.audience].description, values),
        category=inputs.classification,
        identifier=f"sha256:{selection.snapshot_hash}",
        created=utc_naive(inputs.generated_at),
    )
    return WorkbookPlan(
        sheets,
        properties,
        _page_setup(layout, values, inputs.snapshot.is_draft),
        layout.style.font,
        layout.style.font_size,
    )


def _page_setup(layout: Layout, values: Mapping[str, str], draft: bool) -> PageSetup:
    p = layout.print
    center = page_text(p.header_center, values)
    if draft:
        center = f"DRAFT – {center}" if center else "DRAFT"
    cm_to_in = 1 / 2.54
    return PageSetup(
        paper_code=p.paper_code,
        landscape=p.orientation == "landscape",
        fit_to_width=p.fit_to_width,
        margins_in={k: round(getattr(p.margins_cm, k) * cm_to_in, 4) for k in p.margins_cm.__dataclass_fields__},
        font=layout.style.font,
        font_size=p.font_size,
        header=fit_page_texts(page_text(p.header_left, values), center, page_text(p.header_right, values)),
        footer=fit_page_texts(
            page_text(p.footer_left, values), page_text(p.footer_center, values), page_text(p.footer_right, values)
        ),
    )
