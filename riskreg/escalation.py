"""Which automatic escalation a risk calls for: the triggers of domain.md (d), strongest first.

Pure: no Flask, no database session. Operations gather the facts of one risk (its latest
assessment's figures, its level, category and the units carrying its treatment) and propose what
`proposed_trigger()` returns; a person then confirms or dismisses the proposal. Triggers are
named by the values of `models.EscalationTrigger` and levels by `models.EscalationLevel`.

Raised here: critical band, zero-tolerance breach, outside tolerance, high velocity, cross-cutting.
Raised across cycles by `statements.triggers`: persistent above appetite, overdue actions.
Declared but not raised yet: KRI_RED waits for key risk indicators in the register, and
AUTHORITY_EXCEEDED is a person's judgement (a manual escalation).
"""

from __future__ import annotations

from dataclasses import dataclass

from riskreg.appetite import Zone
from riskreg.scoring import Scales

# Velocity is rated 1–5 whatever the size of the likelihood and impact scales (domain.md (c)).
HIGHEST_VELOCITY = 5
# "Impact ≥ 4" of domain.md (d) on its 5-point scale: the two highest impact levels on any scale.
HIGH_IMPACT_LEVELS = 2
# Category code of reputational risks in the taxonomy (appetite/categories.toml, domain.md (a)).
REPUTATIONAL = "REP"
CROSS_CUTTING_UNITS = 2


@dataclass(frozen=True)
class RiskFacts:
    """What the triggers look at, for one risk."""

    zone: Zone
    residual_score: int
    residual_impact: int
    velocity: int | None = None
    zero_tolerance: bool = False
    opportunity: bool = False
    corporate: bool = False
    category_code: str = ""
    unit_count: int = 1  # the registering unit and every unit that owns one of its open actions


@dataclass(frozen=True)
class Proposal:
    """An automatic escalation to propose: the trigger, the level it goes to, and why."""

    trigger: str
    to_level: str
    reason: str


def proposed_trigger(facts: RiskFacts, scales: Scales) -> Proposal | None:
    """The strongest trigger the facts meet (None: no automatic escalation)."""
    if facts.zone is Zone.OUTSIDE_TOLERANCE:
        if scales.is_critical(facts.residual_score):
            return Proposal("critical_band", "executive", f"Residual {facts.residual_score} is in the critical band.")
        if facts.zero_tolerance:
            return Proposal(
                "zero_tolerance_breach", "executive", f"Residual {facts.residual_score} breaches zero tolerance."
            )
        return Proposal("outside_tolerance", "task_force", f"Residual {facts.residual_score} is outside tolerance.")
    if facts.opportunity:
        return None
    if is_high_velocity(facts, scales):
        return Proposal(
            "high_velocity",
            "task_force",
            f"Velocity {facts.velocity} (immediate onset) with impact {facts.residual_impact}.",
        )
    reason = cross_cutting_reason(facts.unit_count, corporate=facts.corporate, category_code=facts.category_code)
    if reason:
        return Proposal("cross_cutting", "task_force", reason)
    return None


def is_high_velocity(facts: RiskFacts, scales: Scales) -> bool:
    """Velocity 5 and a residual impact in the two highest levels (impact ≥ 4 on a 5-point scale)."""
    high_impact = scales.max_impact - HIGH_IMPACT_LEVELS + 1
    return facts.velocity == HIGHEST_VELOCITY and facts.residual_impact >= high_impact


def cross_cutting_reason(unit_count: int, *, corporate: bool, category_code: str) -> str:
    """Why a risk is cross-cutting ("" when it is not): it affects two or more units, or is reputational at
    corporate level (domain.md (d), cf. UNDP). The units are the registering one and those owning its open actions.
    """
    if unit_count >= CROSS_CUTTING_UNITS:
        return f"Cross-cutting: its treatment involves {unit_count} units."
    if corporate and category_code == REPUTATIONAL:
        return "Cross-cutting: a reputational risk at corporate level."
    return ""
