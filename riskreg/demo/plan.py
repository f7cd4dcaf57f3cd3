"""The demo register planned in memory: which risks exist, their scores per cycle, dates and actions.

Every random choice is made here, in a fixed order from one `random.Random(seed)`, so that a seed always
gives the same register. Nothing here touches the database; `build.py` writes the plan.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from riskreg.demo.content import (
    CYCLES,
    DELAY_REASONS,
    DEMO_TODAY,
    EXPECTED_EFFECTS,
    FALL_NOTES,
    GENERIC_ACTIONS,
    RISE_NOTES,
    SLOTS,
    UNITS,
    UNITS_BY_CODE,
    ActionSpec,
    ActionState,
    Point,
    RiskTemplate,
)
from riskreg.demo.templates import SECRETARIAT, SECTORS
from riskreg.models import ActionStatus, ControlEffectiveness

ACTIONS_PER_GENERATED_RISK = 3  # registers larger than the template set carry three actions per risk
_LAST_PLANNING_DAY = date(2027, 9, 30)
_SHIFTS = (-1, -1, 0, 0, 0, 0, 0, 1)
_STATE_WEIGHTS: Mapping[ActionState, int] = {"done": 25, "on_track": 33, "overdue": 17, "revised": 8, "not_started": 17}


def _interleave(*groups: tuple[RiskTemplate, ...]) -> tuple[RiskTemplate, ...]:
    """Templates taken one unit at a time, so that a small demo still spreads over the organisation."""
    by_unit: dict[str, list[RiskTemplate]] = {}
    for template in (t for group in groups for t in group):
        by_unit.setdefault(template.unit, []).append(template)
    queues = list(by_unit.values())
    ordered: list[RiskTemplate] = []
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return tuple(ordered)


TEMPLATES: tuple[RiskTemplate, ...] = _interleave(SECRETARIAT, SECTORS)


@dataclass(frozen=True)
class PlannedAction:
    description: str
    state: ActionState
    start: date
    due: date
    revised_due: date | None
    completed_on: date | None
    stalled_percent: int  # where an overdue action's progress stopped
    expected_effect: str
    delay_reason: str

    def status_at(self, day: date) -> tuple[ActionStatus, int, date | None, str]:
        """(status, percent complete, completed on, comment) as the action stood on `day`."""
        if self.completed_on is not None and self.completed_on <= day:
            return ActionStatus.COMPLETED, 100, self.completed_on, ""
        if self.state == "not_started":
            return ActionStatus.NOT_STARTED, 0, None, ""
        due = self.revised_due or self.due
        span = max(1, (due - self.start).days)
        percent = max(10, min(90, round(10 * (day - self.start).days / span) * 10))
        comment = (
            f"Deadline revised from {self.due.isoformat()} at the task force's request." if self.revised_due else ""
        )
        if due < day:
            return ActionStatus.DELAYED, min(percent, self.stalled_percent), None, self.delay_reason
        return ActionStatus.ON_TRACK, percent, None, comment


@dataclass(frozen=True)
class PlannedRisk:
    index: int
    template: RiskTemplate
    unit: str
    slots: Mapping[str, str]
    path: tuple[Point | None, Point | None, Point | None]
    inherent: Point
    target: Point | None
    target_date: date | None
    assessed_on: tuple[date | None, date | None, date | None]
    control_tested_on: tuple[date | None, ...]
    actions: tuple[PlannedAction, ...]
    rise_note: str
    fall_note: str

    @property
    def first_cycle(self) -> int:
        return next(k for k, p in enumerate(self.path) if p is not None)

    @property
    def identified_on(self) -> date:
        found = self.assessed_on[self.first_cycle]
        assert found is not None
        return found

    @property
    def closed_in(self) -> int | None:
        """The cycle in which the risk was closed (its last assessed cycle), if it was."""
        if not self.template.closed_reason:
            return None
        return max(k for k, p in enumerate(self.path) if p is not None)

    @property
    def owner_title(self) -> str:
        if self.template.owner and self.unit == self.template.unit:
            return self.template.owner
        return UNITS_BY_CODE[self.unit].head_title

    @property
    def control_effectiveness(self) -> ControlEffectiveness:
        found = {c.effectiveness for c in self.template.controls}
        if ControlEffectiveness.INEFFECTIVE in found:
            return ControlEffectiveness.INEFFECTIVE
        if found == {ControlEffectiveness.EFFECTIVE}:
            return ControlEffectiveness.EFFECTIVE
        return ControlEffectiveness.PARTIALLY_EFFECTIVE if found else ControlEffectiveness.NOT_ASSESSED

    def text(self, value: str) -> str:
        return value.format_map(self.slots)


def plan_register(count: int, seed: int, bounds: Point = (5, 5)) -> list[PlannedRisk]:
    """`count` risks: the templates first, as written, then generated variants of them.

    `bounds` is the (likelihood, impact) size of the scales in use; the templates are written on 5 × 5
    and every point is kept inside the scales.
    """
    rng = random.Random(seed)
    many = count > len(TEMPLATES)
    return [_plan_risk(rng, index, many, bounds) for index in range(count)]


def _plan_risk(rng: random.Random, index: int, many: bool, bounds: Point) -> PlannedRisk:
    template = TEMPLATES[index % len(TEMPLATES)]
    variant = index >= len(TEMPLATES)
    if variant:
        unit = template.unit if rng.random() < 0.5 else rng.choice(UNITS).code
        slots = {name: rng.choice(values) for name, values in SLOTS.items()}
        # Mostly the template's own rating; lowered more often than raised, so the mix of zones stays plausible.
        shift = (rng.choice(_SHIFTS), rng.choice(_SHIFTS))
    else:
        unit, slots, shift = template.unit, {name: values[0] for name, values in SLOTS.items()}, (0, 0)
    risk_path = tuple(_shifted(p, shift, bounds) if p else None for p in template.path)
    points = [p for p in risk_path if p]
    inherent = _shifted(template.inherent, shift, bounds)
    inherent = (max(inherent[0], *(p[0] for p in points)), max(inherent[1], *(p[1] for p in points)))
    last = points[-1]
    target = None
    if template.target:
        target = _shifted(template.target, shift, bounds)
        target = (min(target[0], last[0]), min(target[1], last[1]))
    assessed_on = tuple(
        _day_between(rng, cycle.assess_from, cycle.assess_to) if p else None
        for cycle, p in zip(CYCLES, risk_path, strict=True)
    )
    start = next(d for d in assessed_on if d)
    specs = list(template.actions)
    if many:
        specs = specs[:ACTIONS_PER_GENERATED_RISK]
        generic = rng.sample(GENERIC_ACTIONS, ACTIONS_PER_GENERATED_RISK - len(specs))
        specs += [ActionSpec(text, _weighted_state(rng)) for text in generic]
    return PlannedRisk(
        index=index,
        template=template,
        unit=unit,
        slots=slots,
        path=(risk_path[0], risk_path[1], risk_path[2]),
        inherent=inherent,
        target=target,
        target_date=rng.choice((date(2027, 3, 31), date(2027, 6, 30), date(2027, 12, 31))) if target else None,
        assessed_on=(assessed_on[0], assessed_on[1], assessed_on[2]),
        control_tested_on=tuple(
            _day_between(rng, date(2026, 1, 12), start) if rng.random() < 0.8 else None for _ in template.controls
        ),
        actions=tuple(_plan_action(rng, spec, start) for spec in specs),
        rise_note=template.change_note if not variant and template.change_note else rng.choice(RISE_NOTES),
        fall_note=template.change_note if not variant and template.change_note else rng.choice(FALL_NOTES),
    )


def _plan_action(rng: random.Random, spec: ActionSpec, start: date) -> PlannedAction:
    state = spec.state
    if state in ("overdue", "revised", "done") and (DEMO_TODAY - start).days < 40:
        state = "on_track"  # a risk registered days ago cannot have an action long overdue or done
    revised_due = completed_on = None
    if state == "done":
        completed_on = _day_between(rng, start + timedelta(days=20), DEMO_TODAY - timedelta(days=3))
        due = completed_on + timedelta(days=rng.randint(0, 45))
    elif state == "overdue":
        due = _day_between(rng, start + timedelta(days=30), DEMO_TODAY - timedelta(days=5))
    elif state == "revised":
        due = _day_between(rng, start + timedelta(days=30), DEMO_TODAY - timedelta(days=10))
        revised_due = _day_between(rng, DEMO_TODAY + timedelta(days=30), date(2027, 4, 30))
    elif state == "not_started":
        due = _day_between(rng, date(2027, 3, 1), _LAST_PLANNING_DAY)
    else:
        due = _day_between(rng, DEMO_TODAY + timedelta(days=15), date(2027, 6, 30))
    return PlannedAction(
        description=spec.description,
        state=state,
        start=start,
        due=due,
        revised_due=revised_due,
        completed_on=completed_on,
        stalled_percent=rng.choice((20, 30, 40, 50, 60, 70)),
        expected_effect=spec.expected_effect or rng.choice(EXPECTED_EFFECTS),
        delay_reason=rng.choice(DELAY_REASONS),
    )


def _weighted_state(rng: random.Random) -> ActionState:
    states = list(_STATE_WEIGHTS)
    return rng.choices(states, weights=[_STATE_WEIGHTS[s] for s in states])[0]


def _shifted(p: Point, shift: Point, bounds: Point) -> Point:
    return min(bounds[0], max(1, p[0] + shift[0])), min(bounds[1], max(1, p[1] + shift[1]))


def _day_between(rng: random.Random, first: date, last: date) -> date:
    if last <= first:
        return first
    return first + timedelta(days=rng.randint(0, (last - first).days))
