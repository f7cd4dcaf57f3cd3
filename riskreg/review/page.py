"""The review page computed from `facts`: heatmap, headline numbers, agenda and movement without building every row.

The same figures as the row-by-row functions in `queries` and `agenda` (tests/test_review_scale.py compares
them on a fixture register, open and closed), computed from a dozen columns per risk: the facts of the
cycle (live for an open cycle, frozen for a closed one) and the open facts of the previous closed cycle.
Only the risks the agenda shows (at most `agenda.AGENDA_LIMIT` per section) and the risks of one heatmap
cell are read in full, and movement is computed for those rows only. A closed cycle's facts and views are
kept per process by content hash, like the frozen snapshots in `queries`. No writes here.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from riskreg import heatmap, movement, policy
from riskreg.appetite import Zone
from riskreg.models import CycleStatus, ReviewCycle
from riskreg.review import agenda, queries
from riskreg.review.facts import Fact, by_ref, frozen_facts, frozen_rows, live_facts, open_rows, snapshot_of
from riskreg.review.operations import previous_closed_cycle
from riskreg.risks.queries import review_is_due
from riskreg.snapshot import RiskRow, Snapshot

_FACTS: queries.Memo[tuple[int, str], list[Fact]] = queries.Memo(4)
_VIEWS: queries.Memo[tuple[object, ...], queries.HeatmapView] = queries.Memo(32)
_PAGES: queries.Memo[tuple[object, ...], ReviewPage] = queries.Memo(32)


@dataclass(frozen=True)
class Register:
    """A cycle's facts, the previous closed cycle's open facts, and the policy beside them."""

    data: queries.CycleData  # header only: `data.snapshot.rows` and `data.previous` are empty
    facts: Sequence[Fact]
    previous: Mapping[str, Fact] | None  # open facts of the previous closed cycle by reference; None: no such cycle
    snapshot_id: int  # of a closed cycle's snapshot; 0 for the live register
    previous_snapshot_id: int

    @property
    def as_at(self) -> date:
        return self.data.snapshot.as_at


@dataclass(frozen=True)
class ReviewPage:
    """Everything the review page shows for one request."""

    register: Register
    view: queries.HeatmapView
    summary: agenda.ReviewSummary
    agenda: list[agenda.AgendaSection]


def _frozen(session: Session, snapshot_id: int, content_hash: str, as_at: date) -> list[Fact]:
    return _FACTS.get_or_make((snapshot_id, content_hash), lambda: frozen_facts(session, snapshot_id, as_at))


def load_register(session: Session, cycle: ReviewCycle, *, as_at: date | None = None) -> Register:
    """The cycle's facts: frozen when it is closed, else the live register as at `as_at` (today)."""
    scales = policy.current_scales(session)
    if cycle.status == CycleStatus.CLOSED:
        found = snapshot_of(session, cycle)
        if found is None:
            raise queries.ReviewError(f"cycle {cycle.code} has no frozen snapshot")
        snapshot_id, content_hash = found.id, found.content_hash
        facts = _frozen(session, found.id, found.content_hash, found.as_at)
        snapshot = Snapshot(cycle.code, found.as_at, found.statement_version, found.scales_version, ())
        statement = queries.statement_version(session, found.statement_version)
    else:
        as_at = as_at or date.today()
        in_force = policy.statement_in_force(session, as_at)
        statement = policy.to_pure(in_force) if in_force is not None else None
        facts = live_facts(session, as_at)
        snapshot = Snapshot(cycle.code, as_at, statement.version if statement else "", scales.version, (), True)
        snapshot_id, content_hash = 0, ""
    previous_cycle = previous_closed_cycle(session, cycle)
    previous: dict[str, Fact] | None = None
    previous_id, previous_hash = 0, ""
    if previous_cycle is not None:
        before = snapshot_of(session, previous_cycle)
        if before is None:
            raise queries.ReviewError(f"cycle {previous_cycle.code} has no frozen snapshot")
        previous_id, previous_hash = before.id, before.content_hash
        previous = by_ref(_frozen(session, before.id, before.content_hash, before.as_at))
    data = queries.CycleData(cycle, snapshot, previous_cycle, None, scales, statement, content_hash, previous_hash)
    return Register(data, facts, previous, snapshot_id, previous_id)


def matches(fact: Fact, filters: queries.HeatFilters) -> bool:
    """`HeatFilters.matches` on a fact."""
    return (
        bool(fact.is_open)
        and (not filters.unit or fact.unit_code == filters.unit)
        and (not filters.category or fact.category_code == filters.category)
        and (not filters.zone or fact.zone == filters.zone)
        and (filters.nature == "all" or fact.nature == filters.nature)
    )


def population(register: Register, filters: queries.HeatFilters) -> list[Fact]:
    """The open facts the filters choose (`matches`), one comprehension per filter rather than a call per fact."""
    shown = [f for f in register.facts if f.is_open]
    if filters.unit:
        shown = [f for f in shown if f.unit_code == filters.unit]
    if filters.category:
        shown = [f for f in shown if f.category_code == filters.category]
    if filters.zone:
        shown = [f for f in shown if f.zone == filters.zone]
    if filters.nature != "all":
        shown = [f for f in shown if f.nature == filters.nature]
    return shown


def move_kinds(register: Register, shown: Sequence[Fact]) -> list[movement.MovementKind | None]:
    """Each fact's movement kind as `movement.compare` gives it (None without a previous closed cycle)."""
    previous = register.previous
    if previous is None:
        return [None] * len(shown)
    new, up, down, same = (
        movement.MovementKind.NEW,
        movement.MovementKind.INCREASED,
        movement.MovementKind.DECREASED,
        movement.MovementKind.UNCHANGED,
    )
    kinds: list[movement.MovementKind | None] = []
    for fact in shown:
        old = previous.get(fact.ref)
        if old is None:
            kinds.append(new)
        elif fact.residual_score == old.residual_score:
            kinds.append(same)
        else:
            kinds.append(up if fact.residual_score > old.residual_score else down)
    return kinds


# --------------------------------------------------------------------------- heatmap


def build_heatmap(
    register: Register,
    request: queries.ReviewRequest,
    organisation_short: str = "",
    shown: Sequence[Fact] | None = None,
) -> queries.HeatmapView:
    """`queries.build_heatmap` from facts; the view's `rows` are left empty (see `cell_rows`)."""
    data = register.data
    if data.frozen:
        key = (data.content_hash, data.previous_hash, data.scales.version, request, organisation_short)
        return _VIEWS.get_or_make(key, lambda: _build_heatmap(register, request, organisation_short, shown))
    return _build_heatmap(register, request, organisation_short, shown)


def _build_heatmap(
    register: Register, request: queries.ReviewRequest, organisation_short: str, shown: Sequence[Fact] | None
) -> queries.HeatmapView:
    data, filters, options = register.data, request.filters, request.options
    shown = population(register, filters) if shown is None else shown
    kind = options.kind
    before = register.previous if options.arrows and register.previous is not None else {}
    point = heatmap.HeatPoint
    points = []
    for fact in shown:
        here = fact.position(kind)
        if here is None:
            continue
        old = before.get(fact.ref)
        points.append(point(fact.ref, here[0], here[1], (old.position(kind) if old else None)))
    overlay = None
    if options.overlay:
        overlay = data.statement.for_category(options.overlay) if data.statement else None
    not_placed = len(shown) - len(points)
    try:
        spec = heatmap.HeatmapSpec(
            scales=data.scales,
            kind=kind,
            points=points,
            title=queries._title(data, organisation_short),
            footnote=queries._footnote(data, request, overlay, not_placed),
            appetite=overlay,
            arrows=options.arrows and register.previous is not None,
            palette=options.palette,
        )
    except ValueError as exc:
        raise queries.ReviewError(
            f"cycle {data.cycle.code} cannot be drawn on scales {data.scales.version}: {exc}"
        ) from exc
    return queries.HeatmapView(
        spec=spec, key=heatmap.spec_hash(spec), rows=[], counts=heatmap.cell_counts(spec), not_placed=not_placed
    )


# --------------------------------------------------------------------------- summary and agenda


def summarise(
    register: Register,
    filters: queries.HeatFilters,
    shown: Sequence[Fact] | None = None,
    kinds: Sequence[movement.MovementKind | None] | None = None,
) -> agenda.ReviewSummary:
    """`agenda.summarise` from facts (`shown` and `kinds`: the population and its move kinds, if computed)."""
    shown = population(register, filters) if shown is None else shown
    kinds = move_kinds(register, shown) if kinds is None else kinds
    zones = [f.zone for f in shown]
    closed = 0
    if register.previous is not None:
        now = {f.ref: f for f in register.facts}
        for ref, old in register.previous.items():
            current = now.get(ref)
            if current is not None and current.is_open:
                continue
            side = current or old
            if (not filters.unit or side.unit_code == filters.unit) and (
                not filters.category or side.category_code == filters.category
            ):
                closed += 1
    return agenda.ReviewSummary(
        total=len(shown),
        outside=zones.count(Zone.OUTSIDE_TOLERANCE),
        above=zones.count(Zone.ABOVE_APPETITE),
        within=zones.count(Zone.WITHIN_APPETITE),
        new=kinds.count(movement.MovementKind.NEW),
        increased=kinds.count(movement.MovementKind.INCREASED),
        decreased=kinds.count(movement.MovementKind.DECREASED),
        closed=closed,
    )


def _members(shown: Sequence[Fact], kinds: Sequence[movement.MovementKind | None]) -> dict[str, list[Fact]]:
    """`agenda.sections_of` for every fact: each section's members."""
    outside, above, new, increased, overdue = [], [], [], [], []
    outside_zone, above_zone = Zone.OUTSIDE_TOLERANCE.value, Zone.ABOVE_APPETITE.value
    for fact, kind in zip(shown, kinds, strict=True):
        if fact.zone == outside_zone:
            outside.append(fact)
        elif fact.zone == above_zone and not fact.accepted:
            above.append(fact)
        if kind is movement.MovementKind.NEW:
            new.append(fact)
        elif kind is movement.MovementKind.INCREASED:
            increased.append(fact)
        if fact.overdue:
            overdue.append(fact)
    return {"outside": outside, "above": above, "new": new, "increased": increased, "overdue": overdue}


def full_rows(session: Session, register: Register, facts: Iterable[Fact]) -> dict[str, RiskRow]:
    """The full rows of `facts` (live or frozen, as the cycle is), by reference."""
    keys = [f.key for f in facts]
    if register.snapshot_id:
        found = frozen_rows(session, register.snapshot_id, keys)
    else:
        found = open_rows(session, keys, register.as_at)
    return {row.ref: row for row in found.values()}


def moves_of(session: Session, register: Register, rows: Iterable[RiskRow]) -> dict[str, movement.MovementRow]:
    """Movement of these (open) rows since the previous closed cycle, from those risks' previous rows only."""
    current = list(rows)
    if register.previous is None or not current:
        return {}
    olds = [register.previous[r.ref] for r in current if r.ref in register.previous]
    before_rows = frozen_rows(session, register.previous_snapshot_id, [f.key for f in olds]).values()
    before = Snapshot("", date.min, "", "", tuple(before_rows))
    now = Snapshot("", date.min, "", "", tuple(current))
    return {
        m.ref: m
        for m in movement.compare(before, now, register.data.scales)
        if m.kind is not movement.MovementKind.CLOSED
    }


def build_agenda(
    session: Session,
    register: Register,
    filters: queries.HeatFilters,
    population_: Sequence[Fact] | None = None,
    kinds: Sequence[movement.MovementKind | None] | None = None,
) -> list[agenda.AgendaSection]:
    """`agenda.agenda` from facts: membership and totals in one pass, full rows for the items shown only."""
    everyone = population(register, filters) if population_ is None else population_
    members = _members(everyone, move_kinds(register, everyone) if kinds is None else kinds)
    shown = {
        key: heapq.nsmallest(agenda.AGENDA_LIMIT, items, key=lambda f: (-f.residual_score, f.ref))
        for key, items in members.items()
    }
    rows = full_rows(session, register, {f for items in shown.values() for f in items})
    moves = moves_of(session, register, rows.values())
    scales, as_at = register.data.scales, register.as_at
    sections = []
    for key, title, text in agenda.section_heads(register.previous is not None):
        items = []
        for fact in shown[key]:
            row = rows[fact.ref]
            move = moves.get(fact.ref)
            items.append(agenda.AgendaItem(row, move, agenda.item_note(key, row, move, scales, as_at)))
        sections.append(agenda.AgendaSection(key, title, text, items, len(members[key])))
    return sections


def review_page(
    session: Session, cycle: ReviewCycle, request: queries.ReviewRequest, organisation_short: str = ""
) -> ReviewPage:
    """The review page of `request` on `cycle`; a closed cycle's is kept per process (its data never changes)."""
    register = load_register(session, cycle)
    data = register.data

    def make() -> ReviewPage:
        shown = population(register, request.filters)
        kinds = move_kinds(register, shown)
        return ReviewPage(
            register,
            build_heatmap(register, request, organisation_short, shown),
            summarise(register, request.filters, shown, kinds),
            build_agenda(session, register, request.filters, shown, kinds),
        )

    if data.frozen:
        key = (data.content_hash, data.previous_hash, data.scales.version, request, organisation_short)
        return _PAGES.get_or_make(key, make)
    return make()


@dataclass(frozen=True)
class OpeningPage:
    """`agenda.opening_lists` as counts, with the full rows of the first `limit` risks of the combined list."""

    due: int
    high: int
    not_within: int
    high_bands: list[str]
    combined: list[agenda.ToReview]  # the first `limit`, highest residual first
    total: int  # risks on the combined list
    register_size: int  # every risk of the register (closed ones included)


def opening_lists(session: Session, register: Register, limit: int) -> OpeningPage:
    """What a coordinator sees when a cycle opens (domain.md (d) cycle step 1), from facts.

    "Due" is `risks.queries.review_is_due` as at the register's date: today for an open cycle (so the count
    equals the home page's), the freeze date for a closed one.
    """
    scales, as_at = register.data.scales, register.as_at
    high_bands = agenda.high_band_names(scales)
    listed: list[tuple[Fact, date | None, bool, bool, bool]] = []
    for fact in sorted((f for f in register.facts if f.is_open), key=lambda f: (-f.residual_score, f.ref)):
        assessed = fact.assessed_day
        due_on = assessed + timedelta(days=scales.band(fact.residual_score).review_days) if assessed else None
        due = review_is_due(due_on, as_at)
        high = fact.residual_band in high_bands
        not_within = fact.zone in (Zone.ABOVE_APPETITE, Zone.OUTSIDE_TOLERANCE)
        if due or high or not_within:
            listed.append((fact, due_on, due, high, not_within))
    shown = listed[:limit]
    rows = full_rows(session, register, (item[0] for item in shown))
    return OpeningPage(
        due=sum(1 for item in listed if item[2]),
        high=sum(1 for item in listed if item[3]),
        not_within=sum(1 for item in listed if item[4]),
        high_bands=high_bands,
        combined=[agenda.ToReview(rows[f.ref], due_on, due, high, nw) for f, due_on, due, high, nw in shown],
        total=len(listed),
        register_size=len(register.facts),
    )


CELL_PAGE_SIZE = 200  # rows per page of a heatmap cell's list (a cell holds tens of thousands at 100,000 risks)


@dataclass(frozen=True)
class CellPage:
    """One page of a heatmap cell's risks (attributes as the `pager` macro reads them)."""

    rows: list[RiskRow]
    page: int
    pages: int
    total: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def first(self) -> int:
        return (self.page - 1) * CELL_PAGE_SIZE + 1 if self.total else 0

    @property
    def last(self) -> int:
        return min(self.page * CELL_PAGE_SIZE, self.total)


def cell_rows(
    session: Session,
    register: Register,
    view: queries.HeatmapView,
    likelihood: int,
    impact: int,
    page: int | None = None,
) -> CellPage:
    """`queries.cell_rows` from facts: the full rows of the risks counted in one cell, in the cell's order.

    `page` (from 1) reads CELL_PAGE_SIZE of them; None reads them all. A page past the last is the last.
    """
    refs = view.counts.get((likelihood, impact))
    if refs is None:
        raise queries.ReviewError(f"no cell at likelihood {likelihood}, impact {impact}")
    total = len(refs)
    pages = max(1, -(-total // CELL_PAGE_SIZE)) if page is not None else 1
    number = min(max(page or 1, 1), pages)
    chosen = refs[(number - 1) * CELL_PAGE_SIZE : number * CELL_PAGE_SIZE] if page is not None else refs
    wanted = set(chosen)
    rows = full_rows(session, register, (f for f in register.facts if f.ref in wanted and f.is_open))
    return CellPage([rows[ref] for ref in chosen], number, pages, total)
