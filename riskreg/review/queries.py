"""Read side of the review: a cycle's register (frozen or live) and its heatmap (points, spec, cells).

A closed cycle is read from its frozen snapshot (hash verified); an open cycle from the live register.
Both give the same `snapshot.Snapshot` shape, so the heatmap, its HTML table, the cell lists and the
agenda are all computed from one list of rows and always agree. No writes here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from riskreg import appetite, heatmap, movement, policy
from riskreg.appetite import Zone
from riskreg.models import (
    AppetiteStatement,
    CategoryAppetite,
    CycleSnapshot,
    CycleStatus,
    OrgUnit,
    ReviewCycle,
    RiskCategory,
)
from riskreg.review.operations import load_snapshot, previous_closed_cycle
from riskreg.risks.rows import live_snapshot
from riskreg.scoring import Scales
from riskreg.snapshot import RiskRow, Snapshot

K = TypeVar("K")
V = TypeVar("V")

NATURES = ("threat", "opportunity", "all")
KIND_LABELS = {"inherent": "Inherent", "residual": "Residual", "target": "Target"}
STATUS_LABELS = {
    CycleStatus.PLANNED: "Planned",
    CycleStatus.OPEN: "Open",
    CycleStatus.TF_REVIEW: "Task force review",
    CycleStatus.CLOSED: "Closed",
}


class ReviewError(LookupError):
    """A cycle, unit or category that does not exist, or a request that cannot be drawn."""


@dataclass(frozen=True)
class HeatFilters:
    """Which risks are on the heatmap (empty text = no filter)."""

    unit: str = ""
    category: str = ""
    zone: str = ""
    nature: str = "threat"  # opportunities are rated but not judged against threat appetite (domain.md (b))

    def matches(self, row: RiskRow) -> bool:
        return (
            row.status not in movement.CLOSED_STATUSES
            and (not self.unit or row.unit_code == self.unit)
            and (not self.category or row.category_code == self.category)
            and (not self.zone or row.zone == self.zone)
            and (self.nature == "all" or row.nature == self.nature)
        )

    def describe(self) -> str:
        parts = [f"unit {self.unit}" if self.unit else "all units"]
        parts.append(f"category {self.category}" if self.category else "all categories")
        if self.zone:
            parts.append(Zone(self.zone).label.lower())
        parts.append(
            {"threat": "threats", "opportunity": "opportunities", "all": "threats and opportunities"}[self.nature]
        )
        return ", ".join(parts)


@dataclass(frozen=True)
class HeatOptions:
    """How the heatmap is drawn."""

    kind: heatmap.Kind = "residual"
    arrows: bool = True
    overlay: str = ""  # category code whose appetite outlines the cells
    palette: heatmap.Palette = "standard"


@dataclass(frozen=True)
class ReviewRequest:
    """Everything a review URL carries: the cycle, the filters and the drawing options."""

    cycle: str
    filters: HeatFilters = field(default_factory=HeatFilters)
    options: HeatOptions = field(default_factory=HeatOptions)

    def args(self) -> dict[str, str]:
        """Query-string arguments that rebuild this request (defaults left out, so URLs stay short)."""
        f, o = self.filters, self.options
        values = {
            "cycle": self.cycle,
            "kind": o.kind,
            "unit": f.unit,
            "category": f.category,
            "zone": f.zone,
            "nature": "" if f.nature == "threat" else f.nature,
            "overlay": o.overlay,
            "arrows": "" if o.arrows else "0",
            "palette": "" if o.palette == "standard" else o.palette,
        }
        return {k: v for k, v in values.items() if v}

    def filter_args(self) -> dict[str, str]:
        """The arguments that choose risks (for the cell lists): cycle, kind and filters."""
        keep = ("cycle", "kind", "unit", "category", "zone", "nature")
        return {k: v for k, v in self.args().items() if k in keep}


@dataclass(frozen=True)
class CycleData:
    """A cycle's register with what the review needs beside it."""

    cycle: ReviewCycle
    snapshot: Snapshot
    previous_cycle: ReviewCycle | None
    previous: Snapshot | None
    scales: Scales
    statement: appetite.Statement | None
    content_hash: str  # of the frozen snapshot; empty for a live (open) cycle
    previous_hash: str = ""  # of the previous closed cycle's snapshot

    @property
    def frozen(self) -> bool:
        return bool(self.content_hash)


@dataclass(frozen=True)
class HeatmapView:
    """The heatmap of one request: its spec and cache key, and the rows it shows."""

    spec: heatmap.HeatmapSpec
    key: str
    rows: list[RiskRow]  # every risk on the grid (the filtered population)
    counts: dict[tuple[int, int], list[str]]
    not_placed: int  # risks of the population without a position of this kind (no target set)

    def alt_text(self) -> str:
        """A sentence for the image's alt text: how many risks, per band, and where the table is."""
        scales = self.spec.scales
        per_band: dict[str, int] = {b.name: 0 for b in scales.bands}
        for (li, im), refs in self.counts.items():
            per_band[scales.band(li * im).name] += len(refs)
        total = sum(per_band.values())
        bands = ", ".join(f"{n} {name}" for name, n in reversed(per_band.items()))
        kind = KIND_LABELS[self.spec.kind].lower()
        return (
            f"Heatmap of {kind} risk: {total} risk{'' if total == 1 else 's'} ({bands}) on a "
            f"{scales.max_likelihood} by {scales.max_impact} likelihood and impact grid. "
            "The table beside the image gives the same counts per cell."
        )


# --------------------------------------------------------------------------- cycles and snapshots


def cycles(session: Session) -> list[ReviewCycle]:
    """Every cycle, newest period first."""
    return list(session.scalars(select(ReviewCycle).order_by(ReviewCycle.period_start.desc(), ReviewCycle.id.desc())))


def cycle_by_code(session: Session, code: str) -> ReviewCycle:
    cycle = session.scalars(select(ReviewCycle).where(ReviewCycle.code == code)).first()
    if cycle is None:
        raise ReviewError(f"no review cycle {code!r}")
    return cycle


def default_cycle(session: Session) -> ReviewCycle | None:
    """The cycle being worked on (under task force review, else open), else the last closed one, else the latest."""
    found = session.scalars(select(ReviewCycle).where(ReviewCycle.status == CycleStatus.TF_REVIEW)).first()
    if found is None:
        found = session.scalars(select(ReviewCycle).where(ReviewCycle.status == CycleStatus.OPEN)).first()
    if found is None:
        found = session.scalars(
            select(ReviewCycle)
            .where(ReviewCycle.status == CycleStatus.CLOSED)
            .order_by(ReviewCycle.period_end.desc())
            .limit(1)
        ).first()
    if found is None:
        found = session.scalars(select(ReviewCycle).order_by(ReviewCycle.period_start.desc()).limit(1)).first()
    return found


class Memo(Generic[K, V]):
    """A small thread-safe least-recently-used store of results keyed by content hashes.

    Frozen snapshots never change (database trigger), so whatever is computed from them alone can be
    kept per process: a key made of content hashes can never name a stale value.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()  # outside the lock: two threads may both compute, and they compute the same value
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


_SNAPSHOTS: Memo[tuple[int, str], Snapshot] = Memo(4)
_VIEWS: Memo[tuple[object, ...], HeatmapView] = Memo(32)


def frozen_snapshot(session: Session, cycle: ReviewCycle) -> tuple[Snapshot, str]:
    """(snapshot, content hash) of a closed cycle, verified against its hash when first read in this process."""
    content_hash = session.scalar(select(CycleSnapshot.content_hash).where(CycleSnapshot.review_cycle_id == cycle.id))
    if content_hash is None:
        raise ReviewError(f"cycle {cycle.code} has no frozen snapshot")
    return _SNAPSHOTS.get_or_make((cycle.id, content_hash), lambda: load_snapshot(session, cycle)), content_hash


def statement_version(session: Session, version: str) -> appetite.Statement | None:
    if not version:
        return None
    row = session.scalars(
        select(AppetiteStatement)
        .where(AppetiteStatement.version == version)
        .options(selectinload(AppetiteStatement.categories).selectinload(CategoryAppetite.category))
    ).first()
    return policy.to_pure(row) if row is not None else None


def load_cycle(session: Session, cycle: ReviewCycle, *, as_at: date | None = None) -> CycleData:
    """The cycle's register: its frozen snapshot when closed, else the live register as at `as_at` (today)."""
    scales = policy.current_scales(session)
    if cycle.status == CycleStatus.CLOSED:
        snapshot, content_hash = frozen_snapshot(session, cycle)
        statement = statement_version(session, snapshot.statement_version)
    else:
        as_at = as_at or date.today()
        in_force = policy.statement_in_force(session, as_at)
        statement = policy.to_pure(in_force) if in_force is not None else None
        snapshot = live_snapshot(session, cycle.code, statement.version if statement else "", scales.version, as_at)
        content_hash = ""
    previous_cycle = previous_closed_cycle(session, cycle)
    previous, previous_hash = frozen_snapshot(session, previous_cycle) if previous_cycle else (None, "")
    return CycleData(cycle, snapshot, previous_cycle, previous, scales, statement, content_hash, previous_hash)


def check_codes(session: Session, request: ReviewRequest) -> None:
    """Raise ReviewError when the request names a unit or category that does not exist."""
    f, o = request.filters, request.options
    if f.unit and session.scalar(select(OrgUnit.id).where(OrgUnit.code == f.unit)) is None:
        raise ReviewError(f"no unit {f.unit!r}")
    for code in {f.category, o.overlay} - {""}:
        if session.scalar(select(RiskCategory.id).where(RiskCategory.code == code)) is None:
            raise ReviewError(f"no risk category {code!r}")


# --------------------------------------------------------------------------- the heatmap


def position(row: RiskRow, kind: str) -> tuple[int, int] | None:
    """(likelihood, impact) of the row's assessment of this kind; None when it has none (no target)."""
    if kind == "inherent":
        return row.inherent_likelihood, row.inherent_impact
    if kind == "target":
        if row.target_likelihood is None or row.target_impact is None:
            return None
        return row.target_likelihood, row.target_impact
    return row.residual_likelihood, row.residual_impact


def select_rows(snapshot: Snapshot, filters: HeatFilters) -> list[RiskRow]:
    return [row for row in snapshot.rows if filters.matches(row)]


def heat_points(rows: Sequence[RiskRow], kind: str, previous: Snapshot | None) -> list[heatmap.HeatPoint]:
    """One point per row with a position of `kind`; `previous` gives each risk's position a cycle ago."""
    before = {r.ref: r for r in previous.rows if r.status not in movement.CLOSED_STATUSES} if previous else {}
    points = []
    for row in rows:
        here = position(row, kind)
        if here is None:
            continue
        old = before.get(row.ref)
        points.append(heatmap.HeatPoint(row.ref, here[0], here[1], position(old, kind) if old else None))
    return points


def build_heatmap(data: CycleData, request: ReviewRequest, organisation_short: str = "") -> HeatmapView:
    """The spec (and its hash) for `request` on `data`; the same inputs always give the same key."""
    if data.frozen:
        key = (data.content_hash, data.previous_hash, data.scales.version, request, organisation_short)
        return _VIEWS.get_or_make(key, lambda: _build_heatmap(data, request, organisation_short))
    return _build_heatmap(data, request, organisation_short)


def _build_heatmap(data: CycleData, request: ReviewRequest, organisation_short: str) -> HeatmapView:
    filters, options = request.filters, request.options
    rows = select_rows(data.snapshot, filters)
    points = heat_points(rows, options.kind, data.previous if options.arrows else None)
    overlay = None
    if options.overlay:
        overlay = data.statement.for_category(options.overlay) if data.statement else None
    try:
        spec = heatmap.HeatmapSpec(
            scales=data.scales,
            kind=options.kind,
            points=points,
            title=_title(data, organisation_short),
            footnote=_footnote(data, request, overlay, len(rows) - len(points)),
            appetite=overlay,
            arrows=options.arrows and data.previous is not None,
            palette=options.palette,
        )
    except ValueError as exc:
        # A snapshot frozen on larger scales than the current ones cannot be placed on this grid.
        raise ReviewError(f"cycle {data.cycle.code} cannot be drawn on scales {data.scales.version}: {exc}") from exc
    placed = {p.ref for p in points}
    return HeatmapView(
        spec=spec,
        key=heatmap.spec_hash(spec),
        rows=[r for r in rows if r.ref in placed],
        counts=heatmap.cell_counts(spec),
        not_placed=len(rows) - len(points),
    )


def overlay_zones(data: CycleData, category: str) -> dict[tuple[int, int], str]:
    """Each cell's zone under one category's appetite, for the HTML table (empty without that appetite)."""
    overlay = data.statement.for_category(category) if data.statement and category else None
    if overlay is None:
        return {}
    scales = data.scales
    return {
        (li, im): appetite.judge(li, im, overlay, scales).value
        for li in range(1, scales.max_likelihood + 1)
        for im in range(1, scales.max_impact + 1)
    }


def cell_rows(view: HeatmapView, likelihood: int, impact: int) -> list[RiskRow]:
    """Exactly the risks the heatmap counts in one cell, in the cell's reference order."""
    refs = view.counts.get((likelihood, impact))
    if refs is None:
        raise ReviewError(f"no cell at likelihood {likelihood}, impact {impact}")
    by_ref = {r.ref: r for r in view.rows}
    return [by_ref[ref] for ref in refs]


def period_text(cycle: ReviewCycle) -> str:
    return f"{cycle.period_start:%d %b %Y} – {cycle.period_end:%d %b %Y}"


def _title(data: CycleData, organisation_short: str) -> str:
    prefix = f"{organisation_short} " if organisation_short else ""
    return f"{prefix}risk heatmap · review cycle {data.cycle.code}"


def _footnote(
    data: CycleData, request: ReviewRequest, overlay: appetite.CategoryAppetite | None, not_placed: int
) -> list[str]:
    snap = data.snapshot
    if data.frozen:
        first = (
            f"Cycle {data.cycle.code} ({period_text(data.cycle)}): frozen snapshot as at {snap.as_at:%d %b %Y}, "
            f"content hash {data.content_hash[:12]}"
        )
    else:
        label = STATUS_LABELS[data.cycle.status].lower()
        first = (
            f"Cycle {data.cycle.code} ({period_text(data.cycle)}), {label}: live register as at "
            f"{snap.as_at:%d %b %Y}, not yet frozen"
        )
    policy_line = f"Appetite statement v{snap.statement_version or '—'} · scales {snap.scales_version}"
    if overlay is not None:
        policy_line += (
            f" · outlines: {overlay.category} appetite {overlay.level.label.lower()}, "
            f"within ≤ {overlay.appetite_max}, tolerance ≤ {overlay.tolerance_max}"
        )
    elif request.options.overlay:
        policy_line += f" · statement sets no appetite for {request.options.overlay}"
    lines = [first, policy_line, f"Filters: {request.filters.describe()}"]
    extra = []
    if request.options.arrows:
        if data.previous_cycle is not None:
            extra.append(f"Arrows: from positions in closed cycle {data.previous_cycle.code}")
        else:
            extra.append("No earlier closed cycle, so no movement arrows")
    if not_placed:
        extra.append(f"{not_placed} risk{'' if not_placed == 1 else 's'} without a target not shown")
    if extra:
        lines.append(" · ".join(extra))
    return lines
