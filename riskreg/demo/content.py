"""The demo organisation's fixed content: units, people, cycles, words, and the shapes risk templates take.

IUCS (International Union for Connectivity Standards) is fictitious. Its structure follows a typical
intergovernmental standards and telecommunication organisation so that the demo reads like a real register;
none of it describes any real organisation. The content itself is data beside this module (data/*.toml):
organisation.toml and vocabulary.toml are read here; the risk templates (risks_*.toml) by `templates.py`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from riskreg.models import ControlEffectiveness, ControlType, Decision, Nature, RiskLevel, Role, Treatment, UnitKind

DATA = Path(__file__).parent / "data"


def read_data(name: str) -> dict[str, Any]:
    """One of the demo's data files (data/NAME.toml), parsed."""
    return tomllib.loads((DATA / f"{name}.toml").read_text(encoding="utf-8"))


_ORGANISATION = read_data("organisation")
_VOCABULARY = read_data("vocabulary")

ORGANISATION: str = _ORGANISATION["organisation"]
DEMO_PASSWORD: str = _ORGANISATION["password"]  # documented in the README; every demo account uses it
DEMO_TODAY: date = _ORGANISATION["today"]  # the day the demo story is told from; generated dates never pass it
EMAIL_DOMAIN: str = _ORGANISATION["email_domain"]

Point = tuple[int, int]  # (likelihood, impact)


# --------------------------------------------------------------------------- organisation


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    kind: UnitKind
    head_title: str
    parent: str | None = None

    @property
    def short(self) -> str:
        """The code's last segment, lower case, as used in focal-point emails (GS-FRMD -> frmd)."""
        return self.code.rsplit("-", 1)[-1].lower()


UNITS: tuple[UnitSpec, ...] = tuple(
    UnitSpec(u["code"], u["name"], UnitKind(u["kind"]), u["head_title"], u.get("parent"))
    for u in _ORGANISATION["units"]
)
UNITS_BY_CODE: Mapping[str, UnitSpec] = {u.code: u for u in UNITS}


@dataclass(frozen=True)
class UserSpec:
    email: str
    name: str
    title: str
    role: Role
    unit: str | None


def _people() -> tuple[UserSpec, ...]:
    central = tuple(
        UserSpec(f"{p['login']}@{EMAIL_DOMAIN}", p["name"], p["title"], Role(p["role"]), p.get("unit"))
        for p in _ORGANISATION["people"]
    )
    focal_points = tuple(
        UserSpec(
            f"focal.{u.short}@{EMAIL_DOMAIN}",
            f"Focal Point {u.code}",
            f"Risk Focal Point, {u.name}",
            Role.FOCAL_POINT,
            u.code,
        )
        for u in UNITS
    )
    return central + focal_points


USERS: tuple[UserSpec, ...] = _people()


# --------------------------------------------------------------------------- review cycles


@dataclass(frozen=True)
class CycleSpec:
    code: str
    period_start: date
    period_end: date
    submission_deadline: date
    taskforce_meeting_on: date
    target_session: str
    assess_from: date  # assessments of the cycle are dated in [assess_from, assess_to]
    assess_to: date
    closed: bool
    narrative: str = ""


def _cycles() -> tuple[CycleSpec, CycleSpec, CycleSpec]:
    cycles = tuple(CycleSpec(**c) for c in _ORGANISATION["cycles"])
    if len(cycles) != 3:
        raise ValueError("the demo story has three review cycles")
    return cycles[0], cycles[1], cycles[2]


CYCLES: tuple[CycleSpec, CycleSpec, CycleSpec] = _cycles()


# --------------------------------------------------------------------------- risk templates


ActionState = Literal["done", "on_track", "overdue", "revised", "not_started"]


@dataclass(frozen=True)
class ControlSpec:
    description: str
    type: ControlType
    effectiveness: ControlEffectiveness


@dataclass(frozen=True)
class ActionSpec:
    description: str
    state: ActionState
    expected_effect: str = ""


@dataclass(frozen=True)
class RiskTemplate:
    """One register line with its history over the three demo cycles.

    `path` holds the residual (likelihood, impact) at each cycle, None where the risk was not yet
    registered (or was closed). Texts may use the `{slot}` names of SLOTS; the template's own register
    line uses the first value of each slot, generated variants draw others.
    """

    unit: str
    category: str
    title: str
    cause: str
    event: str
    consequence: str
    path: tuple[Point | None, Point | None, Point | None]
    inherent: Point
    controls: tuple[ControlSpec, ...]
    actions: tuple[ActionSpec, ...] = ()
    target: Point | None = None
    nature: Nature = Nature.THREAT
    level: RiskLevel = RiskLevel.DEPARTMENTAL
    treatment: Treatment = Treatment.TREAT
    velocity: int = 3
    owner: str = ""  # defaults to the unit head's title
    objective: str = ""  # defaults to the category's strategic objective
    confidential: bool = False
    council_visible: bool = False
    accepted: bool = False  # the task force accepts it above appetite in the last closed cycle
    promoted: bool = False  # promoted to a corporate risk by the task force in the last closed cycle
    closed_reason: str = ""  # set when the risk is closed in the second cycle
    change_note: str = ""  # why the rating moved, used in the assessment rationale
    decision: tuple[Decision, str] | None = None  # an extra task force decision in the last closed cycle
    extra: Mapping[str, str] = field(default_factory=dict)


def path(text: str) -> tuple[Point | None, Point | None, Point | None]:
    """'13 23 -' -> ((1, 3), (2, 3), None): residual likelihood and impact per cycle, '-' when absent."""
    points = [None if part == "-" else (int(part[0]), int(part[1])) for part in text.split()]
    if len(points) != len(CYCLES):
        raise ValueError(f"a path names {len(CYCLES)} cycles: {text!r}")
    return points[0], points[1], points[2]


def point(text: str) -> Point:
    return int(text[0]), int(text[1])


_EFFECTIVENESS = {
    "effective": ControlEffectiveness.EFFECTIVE,
    "partial": ControlEffectiveness.PARTIALLY_EFFECTIVE,
    "ineffective": ControlEffectiveness.INEFFECTIVE,
}


def prevent(text: str, effectiveness: str = "effective") -> ControlSpec:
    return ControlSpec(text, ControlType.PREVENTIVE, _EFFECTIVENESS[effectiveness])


def detect(text: str, effectiveness: str = "effective") -> ControlSpec:
    return ControlSpec(text, ControlType.DETECTIVE, _EFFECTIVENESS[effectiveness])


def direct(text: str, effectiveness: str = "effective") -> ControlSpec:
    return ControlSpec(text, ControlType.DIRECTIVE, _EFFECTIVENESS[effectiveness])


def correct(text: str, effectiveness: str = "effective") -> ControlSpec:
    return ControlSpec(text, ControlType.CORRECTIVE, _EFFECTIVENESS[effectiveness])


# Values a generated variant may put in a template's `{slot}`; the first is the template's own.
SLOTS: Mapping[str, tuple[str, ...]] = {k: tuple(v) for k, v in _VOCABULARY["slots"].items()}
OBJECTIVES: Mapping[str, str] = dict(_VOCABULARY["objectives"])
# Actions that any treatment plan may carry (generated registers give every risk three actions).
GENERIC_ACTIONS: tuple[str, ...] = tuple(_VOCABULARY["generic_actions"])
EXPECTED_EFFECTS: tuple[str, ...] = tuple(_VOCABULARY["expected_effects"])
DELAY_REASONS: tuple[str, ...] = tuple(_VOCABULARY["delay_reasons"])
RISE_NOTES: tuple[str, ...] = tuple(_VOCABULARY["rise_notes"])
FALL_NOTES: tuple[str, ...] = tuple(_VOCABULARY["fall_notes"])
