"""The demo organisation's fixed content: units, people, and the shapes risk templates are written in.

IUCS (International Union for Connectivity Standards) is fictitious. Its structure follows a typical
intergovernmental standards and telecommunication organisation so that the demo reads like a real register;
none of it describes any real organisation. The risk templates themselves live in `risks_secretariat.py`
and `risks_sectors.py`; this module holds what they are made of.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from riskreg.models import ControlEffectiveness, ControlType, Decision, Nature, RiskLevel, Role, Treatment, UnitKind

ORGANISATION = "International Union for Connectivity Standards (IUCS), illustrative"
DEMO_PASSWORD = "riskreg-demo-2026"  # documented in the README; every demo account uses it
DEMO_TODAY = date(2026, 11, 29)  # the day the demo story is told from; generated dates never pass it
EMAIL_DOMAIN = "demo.riskreg.org"

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


_GS = UnitKind.GENERAL_SECRETARIAT_DEPT
_RO = UnitKind.REGIONAL_OFFICE

UNITS: tuple[UnitSpec, ...] = (
    UnitSpec(
        "GS-FRMD", "Financial Resources Management Department", _GS, "Chief, Financial Resources Management Department"
    ),
    UnitSpec("GS-HRMD", "Human Resources Management Department", _GS, "Chief, Human Resources Management Department"),
    UnitSpec("GS-ISD", "Information Services Department", _GS, "Chief, Information Services Department"),
    UnitSpec(
        "GS-CSD", "Conferences and Publications Department", _GS, "Chief, Conferences and Publications Department"
    ),
    UnitSpec(
        "GS-SPM",
        "Strategic Planning and Membership Department",
        _GS,
        "Chief, Strategic Planning and Membership Department",
    ),
    UnitSpec("GS-LAU", "Legal Affairs Unit", _GS, "Head, Legal Affairs Unit"),
    UnitSpec("BR", "Radiocommunication Bureau", UnitKind.BUREAU, "Director, Radiocommunication Bureau"),
    UnitSpec(
        "TSB",
        "Telecommunication Standardization Bureau",
        UnitKind.BUREAU,
        "Director, Telecommunication Standardization Bureau",
    ),
    UnitSpec(
        "BDT", "Telecommunication Development Bureau", UnitKind.BUREAU, "Director, Telecommunication Development Bureau"
    ),
    UnitSpec("RO-AFR", "Regional Office for Africa", _RO, "Regional Director for Africa", parent="BDT"),
    UnitSpec(
        "RO-ASP", "Regional Office for Asia and the Pacific", _RO, "Regional Director for Asia-Pacific", parent="BDT"
    ),
    UnitSpec("RO-AMS", "Regional Office for the Americas", _RO, "Regional Director for the Americas", parent="BDT"),
)
UNITS_BY_CODE: Mapping[str, UnitSpec] = {u.code: u for u in UNITS}


@dataclass(frozen=True)
class UserSpec:
    email: str
    name: str
    title: str
    role: Role
    unit: str | None


_FP = Role.FOCAL_POINT


def _people() -> tuple[UserSpec, ...]:
    central = (
        UserSpec(
            f"admin@{EMAIL_DOMAIN}",
            "Demo Administrator",
            "Applications Administrator, Information Services Department",
            Role.ADMIN,
            "GS-ISD",
        ),
        UserSpec(
            f"coordinator@{EMAIL_DOMAIN}",
            "Demo Risk Coordinator",
            "Senior Risk Management Officer, Strategic Planning and Membership Department",
            Role.COORDINATOR,
            "GS-SPM",
        ),
        UserSpec(
            f"taskforce@{EMAIL_DOMAIN}",
            "Demo Task Force Chair",
            "Deputy Secretary-General, Chair of the Inter-Sectoral Risk Management Task Force",
            Role.TASKFORCE,
            None,
        ),
        UserSpec(
            f"secretariat@{EMAIL_DOMAIN}",
            "Demo Council Secretary",
            "Council Secretary, Strategic Planning and Membership Department",
            Role.SECRETARIAT,
            "GS-SPM",
        ),
        UserSpec(f"viewer@{EMAIL_DOMAIN}", "Demo Internal Auditor", "Head, Internal Audit Unit", Role.VIEWER, None),
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


CYCLES: tuple[CycleSpec, CycleSpec, CycleSpec] = (
    CycleSpec(
        "2026-Q2",
        date(2026, 4, 1),
        date(2026, 6, 30),
        date(2026, 6, 12),
        date(2026, 6, 24),
        "Council 2026",
        date(2026, 5, 4),
        date(2026, 6, 12),
        closed=True,
        narrative="First quarterly review on the corporate register. Cyber and conference-hosting risks were escalated "
        "to the task force; the register was validated for the Council 2026 risk report.",
    ),
    CycleSpec(
        "2026-Q3",
        date(2026, 7, 1),
        date(2026, 9, 30),
        date(2026, 9, 11),
        date(2026, 9, 23),
        "Council 2027",
        date(2026, 8, 3),
        date(2026, 9, 11),
        closed=True,
        narrative="The ransomware risk reached the critical band and a procurement integrity concern breached zero "
        "tolerance; both went to the Secretary-General. Conference hosting and data protection returned within "
        "tolerance. The task force accepted the AI-standards relevance risk above appetite for twelve months.",
    ),
    CycleSpec(
        "2026-Q4",
        date(2026, 10, 1),
        date(2026, 12, 31),
        date(2026, 12, 4),
        date(2026, 12, 16),
        "Council 2027",
        date(2026, 10, 5),
        date(2026, 11, 27),
        closed=False,
    ),
)


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
SLOTS: Mapping[str, tuple[str, ...]] = {
    "conf": (
        "the World Radiocommunication Conference 2027",
        "the World Telecommunication Standardization Assembly 2028",
        "the World Telecommunication Development Conference 2029",
        "the Plenipotentiary Conference 2030",
        "the Global Symposium for Regulators",
    ),
    "system": (
        "the enterprise resource planning system",
        "the document management system",
        "the meeting registration platform",
        "the electronic voting system",
        "the satellite filings database",
    ),
    "amount": ("12", "8", "15", "20", "6"),
    "months": ("three", "two", "four", "six"),
    "share": ("18", "12", "25", "30"),
    "partner": ("philanthropic foundations", "regional development banks", "industry sponsors", "host governments"),
    "tech": ("artificial intelligence", "quantum-safe networking", "digital identity", "smart-city platforms"),
}

OBJECTIVES: Mapping[str, str] = {
    "STR": "Goal 2: Trusted standards for the digital transformation",
    "INN": "Goal 2: Trusted standards for the digital transformation",
    "PAR": "Goal 1: Universal and meaningful connectivity",
    "FIN": "Enabler B: Sound financial and human resources",
    "OPS": "Enabler A: Efficient conferences and member services",
    "ICT": "Enabler C: Secure and resilient information services",
    "PPL": "Enabler B: Sound financial and human resources",
    "SAF": "Enabler B: Sound financial and human resources",
    "LEG": "Enabler D: Compliance with the basic instruments",
    "INT": "Enabler D: Compliance with the basic instruments",
    "REP": "Goal 3: An engaged and confident membership",
}

# Actions that any treatment plan may carry (generated registers give every risk three actions).
GENERIC_ACTIONS: tuple[str, ...] = (
    "Review the risk with the department's management team and confirm the owner of each control",
    "Test the key controls and record the evidence in the control library",
    "Update the business continuity plan for the activities this risk affects",
    "Brief the inter-sectoral task force on progress and on any change in the rating",
    "Agree key risk indicators with green, amber and red limits and report them quarterly",
    "Include the risk in the department's operational plan and budget proposal",
    "Run a lessons-learned review with the staff concerned and share the results",
    "Map the dependencies on other departments and agree service levels with them",
    "Train the staff concerned on the revised procedure and record attendance",
    "Ask the Internal Audit Unit to include the area in its next risk-based audit plan",
)

EXPECTED_EFFECTS: tuple[str, ...] = (
    "Lowers the likelihood of the event",
    "Limits the impact if the event occurs",
    "Earlier warning through better detection",
    "Brings the residual rating to the target",
)

DELAY_REASONS: tuple[str, ...] = (
    "Delayed by the conference workload of the responsible team.",
    "Delayed while the responsible post was vacant.",
    "Waiting for funding in the next budget cycle.",
    "Depends on a reply from the host country.",
    "The procurement took longer than planned.",
    "Rescheduled after the task force asked for a wider scope.",
)

RISE_NOTES: tuple[str, ...] = (
    "the context changed since the last review",
    "an incident during the quarter showed the controls are weaker than assessed",
    "an audit finding questioned the design of a key control",
    "the workload and exposure increased this quarter",
)

FALL_NOTES: tuple[str, ...] = (
    "planned actions were completed and the controls tested",
    "a new control is now operating",
    "the exposure fell after the event it depended on passed",
    "the department strengthened supervision and reporting",
)
