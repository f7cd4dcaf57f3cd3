"""Movement between two review cycles: how each risk moved since the previous closed cycle.

Pure: no Flask, no database session. `compare()` reads two frozen `Snapshot`s (the previous
closed cycle and the current one) and returns one `MovementRow` per risk: its kind (new,
reopened, closed, increased, decreased, unchanged, on the residual score, domain.md (c) "Trend
computation") and flags for the changes the task force and the Council pack list separately
(band, appetite zone, evaluation, escalation, unit and category; domain.md (d) "Movement
categories"). Ties in score are listed by reference in natural order, as on the heatmap.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskreg.appetite import Zone
from riskreg.scoring import Scales
from riskreg.snapshot import RiskRow, Snapshot, natural_key

# Risk statuses that take a risk out of the register (domain.md (d) "Risk lifecycle").
CLOSED_STATUSES = frozenset({"closed", "realised", "merged"})

# The escalation ladder, lowest first (domain.md (d)); a risk nobody escalated sits with its owner.
ESCALATION_LADDER = ("owner", "department", "task_force", "executive", "governing_body")

# Accountability moves only once the receiving level accepts an escalation (domain.md (d)): proposed,
# pending, rejected and resolved escalations leave the risk where it was.
ACCEPTED_ESCALATION = "accepted"


class MovementKind(enum.StrEnum):
    """How a risk's residual score moved since the previous closed cycle."""

    NEW = "new"
    REOPENED = "reopened"  # closed in the previous cycle, open again now
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
    MovementKind.REOPENED: ("↺", "REOPENED"),
    MovementKind.CLOSED: ("■", "CLOSED"),
}


class MovementFlag(enum.StrEnum):
    """A change recorded beside the kind; a risk can carry several."""

    ENTERED_ABOVE_APPETITE = "entered_above_appetite"
    RETURNED_WITHIN_APPETITE = "returned_within_appetite"
    BECAME_OUTSIDE_TOLERANCE = "became_outside_tolerance"
    BAND_UP = "band_up"
    BAND_DOWN = "band_down"
    NO_LONGER_EVALUATED = "no_longer_evaluated"  # was judged against appetite, is not now
    ESCALATED = "escalated"
    DE_ESCALATED = "de_escalated"
    UNIT_CHANGED = "unit_changed"
    CATEGORY_CHANGED = "category_changed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class MovementRow:
    """One risk's movement; `previous_*` is None for a new risk, `current_*` None for a closed one.

    A reopened risk's `previous_*` is its last rating before it was closed.
    """

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
    has a closed, realised or merged status there; it is reopened when it was closed in
    `previous` and is open in `current`. Risks closed in both, and risks opened and closed
    between the two cycles, are not movement and are left out. Order: open risks by current
    residual score (highest first) then reference, then the closed ones by reference; references
    in natural order (R-2 before R-10).
    """
    before = previous.by_ref() if previous else {}
    open_rows: list[MovementRow] = []
    closed_rows: list[MovementRow] = []
    for row in current.rows:
        old = before.pop(row.ref, None)
        if not _is_closed(row):
            open_rows.append(_moved(old, row, scales))
        elif old is not None and not _is_closed(old):
            closed_rows.append(_closed(old, row))
    closed_rows.extend(_closed(old, None) for old in before.values() if not _is_closed(old))
    open_rows.sort(key=lambda m: (-(m.current_score or 0), natural_key(m.ref)))
    closed_rows.sort(key=lambda m: natural_key(m.ref))
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

    Only an accepted escalation counts: the level holding the risk (`accepted_escalation_level`),
    or, in a snapshot frozen before that field existed, the open escalation when it is the
    accepted one. A newer escalation still proposed or pending leaves the risk where it was. A
    risk whose status is "escalated" without a known level counts as escalated to its department.
    """
    level = row.accepted_escalation_level
    if not level and row.escalation_status.strip().lower() == ACCEPTED_ESCALATION:
        level = row.escalation_level
    level = level.strip().lower().replace(" ", "_").replace("-", "_")
    rank = ESCALATION_LADDER.index(level) if level in ESCALATION_LADDER else 0
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
    return MovementRow(
        ref=new.ref,
        title=new.title,
        unit_code=new.unit_code,
        category_code=new.category_code,
        kind=_kind(old, delta),
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


def _kind(old: RiskRow, delta: int) -> MovementKind:
    if _is_closed(old):
        return MovementKind.REOPENED
    if delta > 0:
        return MovementKind.INCREASED
    if delta < 0:
        return MovementKind.DECREASED
    return MovementKind.UNCHANGED


def _flags(old: RiskRow, new: RiskRow, scales: Scales) -> frozenset[MovementFlag]:
    return frozenset(
        _zone_flags(_zone(old), _zone(new))
        | _band_flags(_band_rank(scales, old), _band_rank(scales, new))
        | _escalation_flags(escalation_rank(old), escalation_rank(new))
        | _home_flags(old, new)
    )


def _zone_flags(before: Zone, after: Zone) -> set[MovementFlag]:
    flags = set()
    # Severity treats "not evaluated" like "within": a risk that becomes evaluated and lands
    # above appetite has entered above appetite; one that stops being evaluated has not returned.
    if before.severity == 0 and after.severity >= 1:
        flags.add(MovementFlag.ENTERED_ABOVE_APPETITE)
    if before.severity >= 1 and after is Zone.WITHIN_APPETITE:
        flags.add(MovementFlag.RETURNED_WITHIN_APPETITE)
    if before.severity < 2 and after is Zone.OUTSIDE_TOLERANCE:
        flags.add(MovementFlag.BECAME_OUTSIDE_TOLERANCE)
    # Leaving the judgement (category dropped from the statement, turned into an opportunity) must not
    # quietly take a risk off the outside-tolerance list.
    if before is not Zone.NOT_EVALUATED and after is Zone.NOT_EVALUATED:
        flags.add(MovementFlag.NO_LONGER_EVALUATED)
    return flags


def _band_flags(before: int, after: int) -> set[MovementFlag]:
    if after > before:
        return {MovementFlag.BAND_UP}
    if after < before:
        return {MovementFlag.BAND_DOWN}
    return set()


def _escalation_flags(before: int, after: int) -> set[MovementFlag]:
    if after > before:
        return {MovementFlag.ESCALATED}
    if after < before:
        return {MovementFlag.DE_ESCALATED}
    return set()


def _home_flags(old: RiskRow, new: RiskRow) -> set[MovementFlag]:
    """A risk moved to another unit or category keeps its kind (its score decides) but says so."""
    flags = set()
    if old.unit_code != new.unit_code:
        flags.add(MovementFlag.UNIT_CHANGED)
    if old.category_code != new.category_code:
        flags.add(MovementFlag.CATEGORY_CHANGED)
    return flags


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
