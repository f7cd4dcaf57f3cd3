"""Automatic escalation triggers (domain.md (d)), strongest first, at every boundary. Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from riskreg import paths
from riskreg.appetite import Zone
from riskreg.escalation import RiskFacts, cross_cutting_reason, is_high_velocity, proposed_trigger
from riskreg.scoring import load_scales, parse_scales
from tests.strategies import scales_document

SCALES = load_scales(paths.SCALES_FILE)
OUT, ABOVE, WITHIN, NOT_EVALUATED = (
    Zone.OUTSIDE_TOLERANCE,
    Zone.ABOVE_APPETITE,
    Zone.WITHIN_APPETITE,
    Zone.NOT_EVALUATED,
)
BASE = RiskFacts(zone=WITHIN, residual_score=4, residual_impact=2)

# (case, facts, (trigger, level) or None)
CASES = [
    ("within appetite: nothing", BASE, None),
    ("above appetite: nothing yet", replace(BASE, zone=ABOVE, residual_score=8), None),
    ("outside tolerance", replace(BASE, zone=OUT, residual_score=12), ("outside_tolerance", "task_force")),
    ("critical", replace(BASE, zone=OUT, residual_score=20), ("critical_band", "executive")),
    ("lowest critical score", replace(BASE, zone=OUT, residual_score=17), ("critical_band", "executive")),
    (
        "critical beats zero tolerance",
        replace(BASE, zone=OUT, residual_score=25, zero_tolerance=True),
        ("critical_band", "executive"),
    ),
    (
        "zero-tolerance breach",
        replace(BASE, zone=OUT, residual_score=4, zero_tolerance=True),
        ("zero_tolerance_breach", "executive"),
    ),
    (
        "outside tolerance beats high velocity",
        replace(BASE, zone=OUT, residual_score=16, residual_impact=4, velocity=5),
        ("outside_tolerance", "task_force"),
    ),
    ("high velocity", replace(BASE, residual_impact=4, velocity=5), ("high_velocity", "task_force")),
    ("high velocity, impact 5", replace(BASE, residual_impact=5, velocity=5), ("high_velocity", "task_force")),
    ("velocity 4 is not high", replace(BASE, residual_impact=5, velocity=4), None),
    ("impact 3 is not high", replace(BASE, residual_impact=3, velocity=5), None),
    ("no velocity", replace(BASE, residual_impact=5, velocity=None), None),
    (
        "high velocity of an uncovered category",
        replace(BASE, zone=NOT_EVALUATED, residual_impact=4, velocity=5),
        ("high_velocity", "task_force"),
    ),
    ("opportunities are not escalated", replace(BASE, residual_impact=5, velocity=5, opportunity=True), None),
    (
        "opportunity even when cross-cutting",
        replace(BASE, zone=NOT_EVALUATED, opportunity=True, unit_count=3),
        None,
    ),
    ("two units", replace(BASE, unit_count=2), ("cross_cutting", "task_force")),
    ("one unit", replace(BASE, unit_count=1), None),
    ("corporate reputational", replace(BASE, corporate=True, category_code="REP"), ("cross_cutting", "task_force")),
    ("corporate, not reputational", replace(BASE, corporate=True, category_code="FIN"), None),
    ("reputational, departmental", replace(BASE, category_code="REP"), None),
    (
        "high velocity beats cross-cutting",
        replace(BASE, residual_impact=4, velocity=5, unit_count=2),
        ("high_velocity", "task_force"),
    ),
]


@pytest.mark.parametrize(("facts", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_strongest_trigger(facts: RiskFacts, expected: tuple[str, str] | None) -> None:
    found = proposed_trigger(facts, SCALES)
    assert (None if found is None else (found.trigger, found.to_level)) == expected
    if found is not None:
        assert found.reason


def test_reasons_say_what_was_met() -> None:
    def reason(facts: RiskFacts) -> str:
        found = proposed_trigger(facts, SCALES)
        assert found is not None
        return found.reason

    assert reason(replace(BASE, zone=OUT, residual_score=20)) == "Residual 20 is in the critical band."
    assert reason(replace(BASE, zone=OUT, residual_score=4, zero_tolerance=True)) == (
        "Residual 4 breaches zero tolerance."
    )
    assert reason(replace(BASE, zone=OUT, residual_score=12)) == "Residual 12 is outside tolerance."
    assert reason(replace(BASE, residual_impact=4, velocity=5)) == "Velocity 5 (immediate onset) with impact 4."
    assert reason(replace(BASE, unit_count=3)) == "Cross-cutting: its treatment involves 3 units."


@pytest.mark.parametrize(
    ("units", "corporate", "code", "reason"),
    [
        (1, False, "REP", ""),
        (1, True, "REP", "Cross-cutting: a reputational risk at corporate level."),
        (1, True, "rep", ""),
        (2, False, "FIN", "Cross-cutting: its treatment involves 2 units."),
        (2, True, "REP", "Cross-cutting: its treatment involves 2 units."),
        (0, False, "", ""),
    ],
)
def test_cross_cutting_reason(units: int, corporate: bool, code: str, reason: str) -> None:
    assert cross_cutting_reason(units, corporate=corporate, category_code=code) == reason


@pytest.mark.parametrize(
    ("impacts", "impact", "high"),
    [(3, 1, False), (3, 2, True), (3, 3, True), (5, 3, False), (5, 4, True), (7, 5, False), (7, 6, True)],
)
def test_high_velocity_means_the_two_highest_impact_levels(impacts: int, impact: int, high: bool) -> None:
    scales = parse_scales(scales_document(3, impacts, [2], [False, True]))
    facts = replace(BASE, residual_impact=impact, velocity=5)
    assert is_high_velocity(facts, scales) is high
    assert is_high_velocity(replace(facts, velocity=4), scales) is False
