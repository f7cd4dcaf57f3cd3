from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from riskreg.appetite import Zone
from riskreg.movement import (
    MovementFlag,
    MovementKind,
    MovementRow,
    compare,
    escalation_rank,
    summarise,
)
from riskreg.paths import SCALES_FILE
from riskreg.scoring import Scales, load_scales
from riskreg.snapshot import RiskRow, Snapshot

F = MovementFlag
K = MovementKind


@pytest.fixture(scope="module")
def scales() -> Scales:
    return load_scales(SCALES_FILE)


_SCALES = load_scales(SCALES_FILE)


def risk(
    ref: str = "FIN-1", likelihood: int = 2, impact: int = 2, zone: Zone = Zone.WITHIN_APPETITE, **extra: Any
) -> RiskRow:
    score = likelihood * impact
    values: dict[str, Any] = {
        "ref": ref,
        "title": f"Risk {ref}",
        "cause": "a cause",
        "event": "an event",
        "consequence": "a consequence",
        "category_code": "FIN",
        "category_name": "Financial",
        "unit_code": "FRMD",
        "unit_name": "Finance",
        "level": "departmental",
        "nature": "threat",
        "status": "active",
        "owner_title": "Chief",
        "treatment": "treat",
        "inherent_likelihood": 5,
        "inherent_impact": 5,
        "inherent_score": 25,
        "inherent_band": "Critical",
        "residual_likelihood": likelihood,
        "residual_impact": impact,
        "residual_score": score,
        "residual_band": _SCALES.band(score).name,
        "zone": zone.value,
    }
    values.update(extra)
    return RiskRow(**values)


def snapshot(*rows: RiskRow, code: str = "2026-Q2") -> Snapshot:
    return Snapshot(code, date(2026, 6, 30), "2.0", "2020.1", tuple(rows))


def one(previous: RiskRow | None, current: RiskRow | None, scales: Scales) -> MovementRow:
    before = snapshot(*([previous] if previous else []), code="2026-Q1")
    after = snapshot(*([current] if current else []))
    rows = compare(before, after, scales)
    assert len(rows) == 1
    return rows[0]


W, A, OUT, N = Zone.WITHIN_APPETITE, Zone.ABOVE_APPETITE, Zone.OUTSIDE_TOLERANCE, Zone.NOT_EVALUATED

# (case, previous row or None, current row or None, expected kind, expected flags)
CASES: list[tuple[str, RiskRow | None, RiskRow | None, MovementKind, frozenset[MovementFlag]]] = [
    ("new risk", None, risk(likelihood=3, impact=3), K.NEW, frozenset()),
    ("new risk above appetite carries no transition flag", None, risk(zone=A), K.NEW, frozenset()),
    ("missing from current", risk(), None, K.CLOSED, frozenset()),
    ("status closed", risk(), risk(status="closed"), K.CLOSED, frozenset()),
    ("status realised", risk(), risk(status="realised"), K.CLOSED, frozenset()),
    ("status merged", risk(), risk(status="merged"), K.CLOSED, frozenset()),
    ("same score", risk(likelihood=2, impact=3), risk(likelihood=2, impact=3), K.UNCHANGED, frozenset()),
    ("same score, other cell", risk(likelihood=2, impact=3), risk(likelihood=3, impact=2), K.UNCHANGED, frozenset()),
    ("up within band", risk(likelihood=2, impact=3), risk(likelihood=2, impact=4), K.INCREASED, frozenset()),
    ("down within band", risk(likelihood=2, impact=4), risk(likelihood=2, impact=3), K.DECREASED, frozenset()),
    ("band up", risk(likelihood=2, impact=2), risk(likelihood=3, impact=2), K.INCREASED, frozenset({F.BAND_UP})),
    ("band down", risk(likelihood=4, impact=4), risk(likelihood=3, impact=3), K.DECREASED, frozenset({F.BAND_DOWN})),
    (
        "within to above appetite",
        risk(zone=W),
        risk(likelihood=2, impact=3, zone=A),
        K.INCREASED,
        frozenset({F.ENTERED_ABOVE_APPETITE, F.BAND_UP}),
    ),
    (
        "within to outside tolerance",
        risk(zone=W),
        risk(likelihood=4, impact=4, zone=OUT),
        K.INCREASED,
        frozenset({F.ENTERED_ABOVE_APPETITE, F.BECAME_OUTSIDE_TOLERANCE, F.BAND_UP}),
    ),
    (
        "above to outside tolerance",
        risk(likelihood=3, impact=3, zone=A),
        risk(likelihood=3, impact=4, zone=OUT),
        K.INCREASED,
        frozenset({F.BECAME_OUTSIDE_TOLERANCE, F.BAND_UP}),
    ),
    (
        "above back within appetite",
        risk(likelihood=2, impact=3, zone=A),
        risk(likelihood=2, impact=2, zone=W),
        K.DECREASED,
        frozenset({F.RETURNED_WITHIN_APPETITE, F.BAND_DOWN}),
    ),
    (
        "outside back within appetite",
        risk(likelihood=4, impact=4, zone=OUT),
        risk(likelihood=2, impact=2, zone=W),
        K.DECREASED,
        frozenset({F.RETURNED_WITHIN_APPETITE, F.BAND_DOWN}),
    ),
    (
        "outside to above appetite is neither entering nor returning",
        risk(likelihood=4, impact=3, zone=OUT),
        risk(likelihood=3, impact=3, zone=A),
        K.DECREASED,
        frozenset({F.BAND_DOWN}),
    ),
    ("not evaluated to within is no change", risk(zone=N), risk(zone=W), K.UNCHANGED, frozenset()),
    (
        "above to not evaluated is not a return but is flagged",
        risk(zone=A),
        risk(zone=N),
        K.UNCHANGED,
        frozenset({F.NO_LONGER_EVALUATED}),
    ),
    (
        "outside tolerance to not evaluated is flagged",
        risk(likelihood=3, impact=4, zone=OUT),
        risk(likelihood=3, impact=4, zone=N),
        K.UNCHANGED,
        frozenset({F.NO_LONGER_EVALUATED}),
    ),
    ("within to not evaluated is flagged", risk(zone=W), risk(zone=N), K.UNCHANGED, frozenset({F.NO_LONGER_EVALUATED})),
    ("not evaluated in both is no flag", risk(zone=N), risk(zone=N), K.UNCHANGED, frozenset()),
    (
        "outside tolerance in both is no flag",
        risk(likelihood=3, impact=4, zone=OUT),
        risk(likelihood=4, impact=3, zone=OUT),
        K.UNCHANGED,
        frozenset(),
    ),
    ("up by one point", risk(likelihood=1, impact=2), risk(likelihood=1, impact=3), K.INCREASED, frozenset()),
    ("down by one point", risk(likelihood=1, impact=3), risk(likelihood=1, impact=2), K.DECREASED, frozenset()),
    ("not evaluated to above", risk(zone=N), risk(zone=A), K.UNCHANGED, frozenset({F.ENTERED_ABOVE_APPETITE})),
    (
        "escalation accepted",
        risk(),
        risk(escalation_level="task_force", escalation_status="accepted"),
        K.UNCHANGED,
        frozenset({F.ESCALATED}),
    ),
    ("status escalated", risk(), risk(status="escalated"), K.UNCHANGED, frozenset({F.ESCALATED})),
    (
        "escalated further up",
        risk(escalation_level="department", escalation_status="accepted"),
        risk(escalation_level="EXECUTIVE", escalation_status="accepted"),
        K.UNCHANGED,
        frozenset({F.ESCALATED}),
    ),
    (
        "pending escalation has not changed hands",
        risk(),
        risk(escalation_level="task_force", escalation_status="pending"),
        K.UNCHANGED,
        frozenset(),
    ),
    (
        "proposed escalation has not changed hands",
        risk(),
        risk(escalation_level="executive", escalation_status="proposed"),
        K.UNCHANGED,
        frozenset(),
    ),
    (
        "escalation without a status is not accepted",
        risk(),
        risk(escalation_level="task_force", escalation_status=""),
        K.UNCHANGED,
        frozenset(),
    ),
    (
        "newer pending escalation after an accepted one is not a de-escalation",
        risk(escalation_level="task_force", escalation_status="accepted"),
        risk(escalation_level="executive", escalation_status="pending", accepted_escalation_level="task_force"),
        K.UNCHANGED,
        frozenset(),
    ),
    (
        "the held level counts, not the open escalation's",
        risk(accepted_escalation_level="department", escalation_level="task_force", escalation_status="pending"),
        risk(accepted_escalation_level="task_force", escalation_level="task_force", escalation_status="accepted"),
        K.UNCHANGED,
        frozenset({F.ESCALATED}),
    ),
    (
        "pending escalation accepted by the next cycle",
        risk(escalation_level="task_force", escalation_status="pending"),
        risk(escalation_level="task_force", escalation_status="accepted"),
        K.UNCHANGED,
        frozenset({F.ESCALATED}),
    ),
    (
        "de-escalated",
        risk(status="escalated", escalation_level="task_force", escalation_status="accepted"),
        risk(status="active", escalation_level="", escalation_status=""),
        K.UNCHANGED,
        frozenset({F.DE_ESCALATED}),
    ),
    (
        "escalation resolved counts as de-escalation",
        risk(escalation_level="executive", escalation_status="accepted"),
        risk(escalation_level="executive", escalation_status="resolved"),
        K.UNCHANGED,
        frozenset({F.DE_ESCALATED}),
    ),
    ("moved to another unit", risk(), risk(unit_code="BDT"), K.UNCHANGED, frozenset({F.UNIT_CHANGED})),
    (
        "moved to another category and up",
        risk(),
        risk(likelihood=2, impact=3, category_code="OPS"),
        K.INCREASED,
        frozenset({F.CATEGORY_CHANGED, F.BAND_UP}),
    ),
    (
        "moved unit and category",
        risk(),
        risk(unit_code="BDT", category_code="OPS"),
        K.UNCHANGED,
        frozenset({F.UNIT_CHANGED, F.CATEGORY_CHANGED}),
    ),
    ("reopened", risk(status="closed"), risk(), K.REOPENED, frozenset()),
    (
        "reopened higher than when it closed",
        risk(status="realised", zone=W),
        risk(likelihood=3, impact=3, zone=A),
        K.REOPENED,
        frozenset({F.ENTERED_ABOVE_APPETITE, F.BAND_UP}),
    ),
    ("reopened after a merge", risk(status="merged"), risk(status="escalated"), K.REOPENED, frozenset({F.ESCALATED})),
]


@pytest.mark.parametrize(
    ("previous", "current", "kind", "flags"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_movement_kind_and_flags(
    scales: Scales,
    previous: RiskRow | None,
    current: RiskRow | None,
    kind: MovementKind,
    flags: frozenset[MovementFlag],
) -> None:
    row = one(previous, current, scales)
    assert row.kind is kind
    assert row.flags == flags


def test_every_kind_and_flag_is_covered_by_the_table() -> None:
    assert {case[3] for case in CASES} == set(MovementKind)
    assert set().union(*(case[4] for case in CASES)) == set(MovementFlag)


def test_increase_records_both_sides_delta_and_reasons(scales: Scales) -> None:
    old = risk(likelihood=2, impact=2, zone=W)
    new = risk(likelihood=3, impact=4, zone=OUT, trend_reason="CONTEXT_CHANGE", rationale="Donor withdrew.")
    row = one(old, new, scales)
    assert (row.previous_score, row.previous_band, row.previous_zone) == (4, "Low", W)
    assert (row.current_score, row.current_band, row.current_zone) == (12, "High", OUT)
    assert row.delta == 8
    assert (row.previous_position, row.current_position) == ((2, 2), (3, 4))
    assert (row.trend_reason, row.rationale) == ("CONTEXT_CHANGE", "Donor withdrew.")
    assert not row.needs_reason


def test_band_change_without_reason_needs_one(scales: Scales) -> None:
    row = one(risk(likelihood=2, impact=2), risk(likelihood=3, impact=3, trend_reason="OTHER"), scales)
    assert row.band_changed
    assert row.needs_reason
    unchanged_band = one(risk(likelihood=2, impact=3), risk(likelihood=2, impact=4), scales)
    assert not unchanged_band.needs_reason


def test_new_risk_has_no_previous_side(scales: Scales) -> None:
    row = one(None, risk(likelihood=4, impact=5, zone=OUT, rationale="First assessment."), scales)
    assert (row.previous_score, row.previous_band, row.previous_zone, row.previous_position) == (None,) * 4
    assert (row.current_score, row.current_band, row.current_zone) == (20, "Critical", OUT)
    assert row.delta is None
    assert row.rationale == "First assessment."


def test_closed_risk_has_no_current_side_and_says_why(scales: Scales) -> None:
    row = one(
        risk(likelihood=3, impact=3, zone=A), risk(status="realised", closed_reason="Event occurred in May."), scales
    )
    assert (row.current_score, row.current_band, row.current_zone, row.current_position) == (None,) * 4
    assert (row.previous_score, row.previous_zone) == (9, A)
    assert row.closed_reason == "Event occurred in May."
    assert one(risk(), risk(status="merged"), scales).closed_reason == "Merged"
    assert one(risk(), None, scales).closed_reason == "No longer in the register"


def test_risks_closed_before_or_opened_and_closed_within_are_not_movement(scales: Scales) -> None:
    before = snapshot(risk("OLD", status="closed"), code="2026-Q1")
    after = snapshot(risk("OLD", status="closed"), risk("BRIEF", status="closed"))
    assert compare(before, after, scales) == []


def test_no_previous_cycle_makes_everything_new(scales: Scales) -> None:
    rows = compare(None, snapshot(risk("A"), risk("B")), scales)
    assert [r.kind for r in rows] == [K.NEW, K.NEW]


def test_rows_are_ordered_open_by_score_then_closed_by_ref(scales: Scales) -> None:
    before = snapshot(risk("Z-GONE"), risk("A-GONE"), risk("KEEP", likelihood=1, impact=1), code="2026-Q1")
    after = snapshot(
        risk("KEEP", likelihood=1, impact=1),
        risk("HIGH", likelihood=4, impact=4),
        risk("MID-B", likelihood=2, impact=3),
        risk("MID-A", likelihood=3, impact=2),
    )
    assert [r.ref for r in compare(before, after, scales)] == ["HIGH", "MID-A", "MID-B", "KEEP", "A-GONE", "Z-GONE"]


def test_unknown_band_name_falls_back_to_the_score(scales: Scales) -> None:
    old = replace(risk(likelihood=2, impact=2), residual_band="Green (2019 scale)")
    row = one(old, risk(likelihood=3, impact=3), scales)
    assert MovementFlag.BAND_UP in row.flags


def test_escalation_rank_follows_the_ladder() -> None:
    assert escalation_rank(risk()) == 0
    assert escalation_rank(risk(escalation_level="Task force", escalation_status="accepted")) == 2
    assert escalation_rank(risk(escalation_level="governing-body", escalation_status="Accepted")) == 4
    assert escalation_rank(risk(escalation_level="governing-body")) == 0
    assert escalation_rank(risk(accepted_escalation_level="governing_body")) == 4
    assert escalation_rank(risk(accepted_escalation_level="Executive", escalation_level="owner")) == 3
    assert escalation_rank(risk(escalation_level="executive", escalation_status="rejected")) == 0
    assert escalation_rank(risk(escalation_level="executive", escalation_status="proposed")) == 0
    assert escalation_rank(risk(escalation_level="executive", escalation_status="pending")) == 0
    assert escalation_rank(risk(escalation_level="ceo", escalation_status="accepted")) == 0
    assert escalation_rank(risk(status="escalated")) == 1
    assert escalation_rank(risk(status="escalated", accepted_escalation_level="owner")) == 1
    assert escalation_rank(risk(status="escalated", accepted_escalation_level="executive")) == 3


def test_summarise_counts_every_kind_and_flag(scales: Scales) -> None:
    before = snapshot(
        risk("UP", likelihood=2, impact=2, zone=W),
        risk("DOWN", likelihood=4, impact=4, zone=OUT),
        risk("SAME"),
        risk("GONE"),
        code="2026-Q1",
    )
    after = snapshot(
        risk("UP", likelihood=3, impact=4, zone=OUT),
        risk("DOWN", likelihood=2, impact=2, zone=W),
        risk("SAME"),
        risk("NEW1"),
        risk("NEW2"),
    )
    summary = summarise(compare(before, after, scales))
    assert summary.total == 6
    assert summary.by_kind == {K.NEW: 2, K.REOPENED: 0, K.CLOSED: 1, K.INCREASED: 1, K.DECREASED: 1, K.UNCHANGED: 1}
    assert summary.count(F.BAND_UP) == 1
    assert summary.count(F.BAND_DOWN) == 1
    assert summary.count(F.BECAME_OUTSIDE_TOLERANCE) == 1
    assert summary.count(F.ENTERED_ABOVE_APPETITE) == 1
    assert summary.count(F.RETURNED_WITHIN_APPETITE) == 1
    assert summary.count(F.ESCALATED) == 0
    assert set(summary.by_flag) == set(MovementFlag)


def test_summarise_of_nothing_is_all_zeros() -> None:
    summary = summarise([])
    assert summary.total == 0
    assert set(summary.by_kind.values()) == {0}
    assert set(summary.by_flag.values()) == {0}


@pytest.mark.parametrize(
    ("kind", "glyph", "text"),
    [
        (K.INCREASED, "▲", "↑"),
        (K.DECREASED, "▼", "↓"),
        (K.UNCHANGED, "►", "→"),
        (K.NEW, "★", "NEW"),
        (K.CLOSED, "■", "CLOSED"),
        (K.REOPENED, "↺", "REOPENED"),
    ],
    ids=[kind.value for kind in MovementKind],
)
def test_trend_glyphs(kind: MovementKind, glyph: str, text: str) -> None:
    assert kind.glyph == glyph
    assert kind.text_glyph == text


def test_labels_read_as_words() -> None:
    assert K.INCREASED.label == "Increased"
    assert F.ENTERED_ABOVE_APPETITE.label == "Entered above appetite"
    assert F.NO_LONGER_EVALUATED.label == "No longer evaluated"
    assert F.UNIT_CHANGED.label == "Unit changed"
    assert K.REOPENED.label == "Reopened"


def test_ties_are_in_natural_order_like_the_heatmap(scales: Scales) -> None:
    before = snapshot(risk("R-10"), risk("R-9"), risk("r-1"), code="2026-Q1")
    after = snapshot(
        risk("R-10", likelihood=3, impact=3),
        risk("R-2", likelihood=3, impact=3),
        risk("R-1", likelihood=3, impact=3),
        risk("R-100", likelihood=4, impact=4),
    )
    refs = [r.ref for r in compare(before, after, scales)]
    assert refs == ["R-100", "R-1", "R-2", "R-10", "r-1", "R-9"]


def test_reopened_compares_with_the_rating_before_closing(scales: Scales) -> None:
    row = one(risk(likelihood=2, impact=2, status="closed", zone=W), risk(likelihood=4, impact=4, zone=OUT), scales)
    assert row.kind is K.REOPENED
    assert (row.previous_score, row.previous_zone, row.current_score, row.delta) == (4, W, 16, 12)
    assert row.closed_reason == ""


def test_closed_in_both_cycles_and_missing_later_is_not_movement(scales: Scales) -> None:
    before = snapshot(risk("GONE-LONG-AGO", status="merged"), code="2026-Q1")
    assert compare(before, snapshot(), scales) == []


def test_a_closed_row_takes_its_words_from_the_current_cycle(scales: Scales) -> None:
    old = risk("FIN-1", likelihood=3, impact=3, zone=A)
    new = risk(
        "FIN-1",
        status="closed",
        title="Renamed before closing",
        unit_code="BDT",
        category_code="OPS",
        closed_reason="  Treated to target.  ",
        trend_reason="actions_completed",
        rationale="Two cycles stable.",
    )
    row = one(old, new, scales)
    assert (row.kind, row.title, row.unit_code, row.category_code) == (K.CLOSED, "Renamed before closing", "BDT", "OPS")
    assert row.closed_reason == "Treated to target."
    assert (row.trend_reason, row.rationale) == ("actions_completed", "Two cycles stable.")
    assert row.previous_position == (3, 3)
    assert row.flags == frozenset()
    assert one(old, replace(new, closed_reason="  "), scales).closed_reason == "Closed"
    gone = one(old, None, scales)
    assert (gone.title, gone.unit_code, gone.trend_reason, gone.rationale) == ("Risk FIN-1", "FRMD", "", "")


def test_needs_reason_ignores_blank_words(scales: Scales) -> None:
    up = one(risk(likelihood=2, impact=2), risk(likelihood=3, impact=3, trend_reason="  ", rationale="Why."), scales)
    assert up.needs_reason
    up = one(risk(likelihood=2, impact=2), risk(likelihood=3, impact=3, trend_reason="other", rationale=" "), scales)
    assert up.needs_reason
    up = one(risk(likelihood=2, impact=2), risk(likelihood=3, impact=3, trend_reason="other", rationale="Why."), scales)
    assert not up.needs_reason
    down = one(risk(likelihood=3, impact=3), risk(likelihood=2, impact=2), scales)
    assert down.band_changed
    assert down.needs_reason


def test_an_unknown_band_on_the_current_side_falls_back_to_the_score(scales: Scales) -> None:
    new = replace(risk(likelihood=2, impact=2), residual_band="Green (2019 scale)")
    assert one(risk(likelihood=3, impact=3), new, scales).flags == {F.BAND_DOWN}
    same = replace(risk(likelihood=3, impact=3), residual_band="Amber (2019 scale)")
    assert one(risk(likelihood=3, impact=3), same, scales).flags == frozenset()


def test_a_zone_the_code_does_not_know_counts_as_not_evaluated(scales: Scales) -> None:
    row = one(replace(risk(), zone="green"), risk(zone=A), scales)
    assert row.previous_zone is N
    assert row.flags == {F.ENTERED_ABOVE_APPETITE}


def test_summary_count_reads_kinds_and_flags(scales: Scales) -> None:
    summary = summarise(compare(None, snapshot(risk("A"), risk("B")), scales))
    assert summary.count(K.NEW) == 2
    assert summary.count(K.CLOSED) == 0
    assert summary.count(F.BAND_UP) == 0


def test_escalation_levels_are_read_loosely() -> None:
    assert escalation_rank(risk(accepted_escalation_level=" Task Force ")) == 2
    assert escalation_rank(risk(accepted_escalation_level="governing-body")) == 4
    assert escalation_rank(risk(escalation_level=" DEPARTMENT ", escalation_status=" ACCEPTED ")) == 1
    assert escalation_rank(risk(accepted_escalation_level="department", status="escalated")) == 1


def test_rows_carry_the_current_words_and_positions(scales: Scales) -> None:
    new = risk("FIN-7", likelihood=2, impact=3, title="Now", unit_code="BDT", category_code="OPS", trend_reason="other")
    for previous in (None, risk("FIN-7", title="Before", unit_code="FRMD", category_code="FIN")):
        row = one(previous, new, scales)
        assert (row.title, row.unit_code, row.category_code) == ("Now", "BDT", "OPS")
        assert row.current_position == (2, 3)
        assert row.trend_reason == "other"
    closed = one(risk(likelihood=3, impact=3), risk(status="closed"), scales)
    assert (closed.previous_score, closed.previous_band) == (9, "Medium")


def test_a_band_named_by_older_scales_is_ranked_by_its_name(scales: Scales) -> None:
    """A snapshot frozen under other bands keeps its band: a 4 rated "High" then, "Low" now, moved down a band."""
    old = replace(risk(likelihood=2, impact=2), residual_band="High")
    assert one(old, risk(likelihood=2, impact=2), scales).flags == {F.BAND_DOWN}
