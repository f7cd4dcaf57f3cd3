"""Movement between two review cycles: how each risk moved since the previous closed cycle.

Pure: no Flask, no database session. `compare()` reads two frozen `Snapshot`s (the previous
closed cycle and the current one) and returns one `MovementRow` per risk: its kind (new,
closed, increased, decreased, unchanged, on the residual score, domain.md (c) "Trend
computation") and flags for the changes the task force and the Council pack list separately
(band, appetite zone, escalation; domain.md (d) "Movement categories").
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskreg.appetite import Zone
from riskreg.scoring import Scales
from riskreg.snapshot import RiskRow, Snapshot

# Risk statuses that take a risk out of the register (domain.md (d) "Risk lifecycle").
CLOSED_STATUSES = frozenset({"closed", "realised", "merged"})

# The escalation ladder, lowest first (domain.md (d)); a risk nobody escalated sits with its owner.
ESCALATION_LADDER = ("owner", "department", "task_force", "executive", "governing_body")

# Escalations that no longer (or do not yet) move accountability: domain.md (d) says a risk
# changes hands only once the receiving level accepts it.
_INACTIVE_ESCALATIONS = frozenset({"pending", "rejected", "resolved"})


class MovementKind(enum.StrEnum):
    """How a risk's residual score moved since the previous closed cycle."""

    NEW = "new"
    CLOSED = "closed"
    INCREASED = "increased"
    DECREASED = "decreased"
    UNCHANGED = "unchanged"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def glyph(self) -> str:
        """Trend glyph for screens, the workbook and the heatmap (domain.md (c))."""
        return _GLYPHS[self][0]

    @property
    def text_glyph(self) -> str:
        """Plain-text fallback for places where the geometric glyphs do not render."""
        return _GLYPHS[self][1]


_GLYPHS: Mapping[MovementKind, tuple[str, str]] = {
    MovementKind.INCREASED: ("▲", "↑"),
    MovementKind.DECREASED: ("▼", "↓"),
    MovementKind.UNCHANGED: ("►", "→"),
    MovementKind.NEW: ("★", "NEW"),
    MovementKind.CLOSED: ("■", "CLOSED"),
}


class MovementFlag(enum.StrEnum):
    """A change recorded beside the kind; a risk can carry several."""

    ENTERED_ABOVE_APPETITE = "entered_above_appetite"
    RETURNED_WITHIN_APPETITE = "returned_within_appetite"
    BECAME_OUTSIDE_TOLERANCE = "became_outside_tolerance"
    BAND_UP = "band_up"
    BAND_DOWN = "band_down"
    ESCALATED = "escalated"
    DE_ESCALATED = "de_escalated"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class MovementRow:
    """One risk's movement; `previous_*` is None for a new risk, `current_*` None for a closed one."""

    ref: str
    title: str
    unit_code: str
    category_code: str
    kind: MovementKind
    previous_score: int | None
    previous_band: str | None
    previous_zone: Zone | None
    previous_position: tuple[int, int] | None  # (likelihood, impact), for heatmap arrows
    current_score: int | None
    current_band: str | None
    current_zone: Zone | None
    current_position: tuple[int, int] | None
    delta: int | None  # current minus previous residual score; None unless both exist
    flags: frozenset[MovementFlag] = frozenset()
    trend_reason: str = ""
    rationale: str = ""
    closed_reason: str = ""

    @property
    def band_changed(self) -> bool:
        return bool(self.flags & {MovementFlag.BAND_UP, MovementFlag.BAND_DOWN})

    @property
    def needs_reason(self) -> bool:
        """A change of one band or more must carry a trend reason and a rationale (domain.md (d))."""
        return self.band_changed and not (self.trend_reason.strip() and self.rationale.strip())


@dataclass(frozen=True)
class MovementSummary:
    """Counts of movement rows per kind and per flag (every kind and flag present, zeros included)."""

    total: int
    by_kind: Mapping[MovementKind, int]
    by_flag: Mapping[MovementFlag, int]

    def count(self, item: MovementKind | MovementFlag) -> int:
        if isinstance(item, MovementKind):
            return self.by_kind[item]
        return self.by_flag[item]


def compare(previous: Snapshot | None, current: Snapshot, scales: Scales) -> list[MovementRow]:
    """Movement of every risk from `previous` (the last closed cycle, or None) to `current`.

    A risk is closed when it was open in `previous` and is either missing from `current` or
    has a closed, realised or merged status there. Risks already closed in `previous`, and
    risks opened and closed between the two cycles, are not movement and are left out.
    Order: open risks by current residual score (highest first) then reference, then the
    closed ones by reference.
    """
    before = {ref: row for ref, row in (previous.by_ref() if previous else {}).items() if not _is_closed(row)}
    open_rows: list[MovementRow] = []
    closed_rows: list[MovementRow] = []
    for row in current.rows:
        old = before.pop(row.ref, None)
        if _is_closed(row):
            if old is not None:
                closed_rows.append(_closed(old, row))
        else:
            open_rows.append(_moved(old, row, scales))
    closed_rows.extend(_closed(old, None) for old in before.values())
    open_rows.sort(key=lambda m: (-(m.current_score or 0), m.ref))
    closed_rows.sort(key=lambda m: m.ref)
    return open_rows + closed_rows


def summarise(rows: Iterable[MovementRow]) -> MovementSummary:
    """How many risks moved each way, and how many carry each flag."""
    kinds: Counter[MovementKind] = Counter()
    flags: Counter[MovementFlag] = Counter()
    total = 0
    for row in rows:
        total += 1
        kinds[row.kind] += 1
        flags.update(row.flags)
    return MovementSummary(
        total=total,
        by_kind={kind: kinds[kind] for kind in MovementKind},
        by_flag={flag: flags[flag] for flag in MovementFlag},
    )


def escalation_rank(row: RiskRow) -> int:
    """Where a risk sits on the escalation ladder (0 = with its owner).

    Only an accepted (or recorded without a status) escalation counts; a risk whose status is
    "escalated" without a known level counts as escalated to its department at least.
    """
    rank = 0
    level = row.escalation_level.strip().lower().replace(" ", "_").replace("-", "_")
    status = row.escalation_status.strip().lower()
    if level in ESCALATION_LADDER and status not in _INACTIVE_ESCALATIONS:
        rank = ESCALATION_LADDER.index(level)
    if row.status == "escalated":
        rank = max(rank, 1)
    return rank


def _is_closed(row: RiskRow) -> bool:
    return row.status in CLOSED_STATUSES


def _zone(row: RiskRow) -> Zone:
    try:
        return Zone(row.zone)
    except ValueError:
        return Zone.NOT_EVALUATED


def _band_rank(scales: Scales, row: RiskRow) -> int:
    try:
        return scales.band_rank(row.residual_band)
    except ValueError:
        # A band the current scales no longer name (older snapshot): rank the score instead.
        return scales.band_rank(scales.band(row.residual_score).name)


def _moved(old: RiskRow | None, new: RiskRow, scales: Scales) -> MovementRow:
    position = (new.residual_likelihood, new.residual_impact)
    if old is None:
        return MovementRow(
            ref=new.ref,
            title=new.title,
            unit_code=new.unit_code,
            category_code=new.category_code,
            kind=MovementKind.NEW,
            previous_score=None,
            previous_band=None,
            previous_zone=None,
            previous_position=None,
            current_score=new.residual_score,
            current_band=new.residual_band,
            current_zone=_zone(new),
            current_position=position,
            delta=None,
            trend_reason=new.trend_reason,
            rationale=new.rationale,
        )
    delta = new.residual_score - old.residual_score
    if delta > 0:
        kind = MovementKind.INCREASED
    elif delta < 0:
        kind = MovementKind.DECREASED
    else:
        kind = MovementKind.UNCHANGED
    return MovementRow(
        ref=new.ref,
        title=new.title,
        unit_code=new.unit_code,
        category_code=new.category_code,
        kind=kind,
        previous_score=old.residual_score,
        previous_band=old.residual_band,
        previous_zone=_zone(old),
        previous_position=(old.residual_likelihood, old.residual_impact),
        current_score=new.residual_score,
        current_band=new.residual_band,
        current_zone=_zone(new),
        current_position=position,
        delta=delta,
        flags=_flags(old, new, scales),
        trend_reason=new.trend_reason,
        rationale=new.rationale,
    )


def _flags(old: RiskRow, new: RiskRow, scales: Scales) -> frozenset[MovementFlag]:
    flags = set()
    before, after = _zone(old), _zone(new)
    # Severity treats "not evaluated" like "within": a risk that becomes evaluated and lands
    # above appetite has entered above appetite; one that stops being evaluated has not returned.
    if before.severity == 0 and after.severity >= 1:
        flags.add(MovementFlag.ENTERED_ABOVE_APPETITE)
    if before.severity >= 1 and after is Zone.WITHIN_APPETITE:
        flags.add(MovementFlag.RETURNED_WITHIN_APPETITE)
    if before.severity < 2 and after is Zone.OUTSIDE_TOLERANCE:
        flags.add(MovementFlag.BECAME_OUTSIDE_TOLERANCE)
    band_before, band_after = _band_rank(scales, old), _band_rank(scales, new)
    if band_after > band_before:
        flags.add(MovementFlag.BAND_UP)
    elif band_after < band_before:
        flags.add(MovementFlag.BAND_DOWN)
    rank_before, rank_after = escalation_rank(old), escalation_rank(new)
    if rank_after > rank_before:
        flags.add(MovementFlag.ESCALATED)
    elif rank_after < rank_before:
        flags.add(MovementFlag.DE_ESCALATED)
    return frozenset(flags)


def _closed(old: RiskRow, new: RiskRow | None) -> MovementRow:
    if new is None:
        reason = "No longer in the register"
    else:
        reason = new.closed_reason.strip() or new.status.capitalize()
    return MovementRow(
        ref=old.ref,
        title=(new or old).title,
        unit_code=(new or old).unit_code,
        category_code=(new or old).category_code,
        kind=MovementKind.CLOSED,
        previous_score=old.residual_score,
        previous_band=old.residual_band,
        previous_zone=_zone(old),
        previous_position=(old.residual_likelihood, old.residual_impact),
        current_score=None,
        current_band=None,
        current_zone=None,
        current_position=None,
        delta=None,
        trend_reason=new.trend_reason if new else "",
        rationale=new.rationale if new else "",
        closed_reason=reason,
    )
