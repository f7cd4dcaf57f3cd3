"""The fields a layout column may show, per table, and how each is read from the data.

Pure. A layout names fields (`field = "residual_band"`); `load_layout` checks the name
against the vocabularies here, and the sheet builders call `Field.get` for every row.
Getters return plain values (text, numbers, dates) or codes that the builders turn into
labels and colours (the `kind`): a band name, an appetite zone, a label-group code.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar

from riskreg.appetite import CategoryAppetite, Statement, Zone
from riskreg.movement import MovementKind, MovementRow
from riskreg.scoring import Scales
from riskreg.snapshot import ActionRow, RiskRow

Value = str | int | float | date | None
R = TypeVar("R")

# How many open actions the register's "Key actions" cell lists before "+N more".
KEY_ACTIONS_SHOWN = 3


class Kind(enum.StrEnum):
    """What a field's value is, which decides its cell style and number format."""

    TEXT = "text"  # short text, one line
    WRAP = "wrap"  # prose, wrapped
    INT = "int"
    DECIMAL = "decimal"
    PERCENT = "percent"  # a whole number 0–100 shown with a % sign
    DATE = "date"
    BAND = "band"  # a rating band name: filled with the band colour, name as text
    ZONE = "zone"  # an appetite zone code: label text, zone colour
    LABEL = "label"  # a code shown through a label group (labels.<group> in the layout)
    YESNO = "yesno"


@dataclass(frozen=True)
class Field(Generic[R]):
    kind: Kind
    get: Callable[[R, Context], Any]
    group: str = ""  # label group, for Kind.LABEL


@dataclass(frozen=True)
class Context:
    """What getters need beyond the row: the as-at date, labels, trends, name lookups."""

    as_at: date
    scales: Scales
    statement: Statement
    labels: Mapping[str, Mapping[str, str]]
    trends: Mapping[str, str]  # risk ref -> movement kind value; empty without a previous cycle
    category_names: Mapping[str, str]
    unit_names: Mapping[str, str]
    risks: Mapping[str, RiskRow] = field(default_factory=dict)  # risks shown, by ref

    def label(self, group: str, code: str) -> str:
        """The layout's label for a code, else the code in sentence case ("on_track" -> "On track")."""
        if not code:
            return ""
        found = self.labels.get(group, {}).get(code)
        return found if found is not None else code.replace("_", " ").capitalize()


def day_text(value: date | None) -> str:
    """A date inside running text, e.g. '30 Jun 2026' (cells hold real dates instead)."""
    return "" if value is None else f"{value.day} {value:%b %Y}"


# ------------------------------------------------------------------------------ risks


def _key_actions(row: RiskRow, ctx: Context) -> str:
    open_actions = row.open_actions()
    lines = []
    for action in open_actions[:KEY_ACTIONS_SHOWN]:
        due = action.revised_due_date or action.due_date
        status = ctx.label("action_status", action.status).lower()
        details = ", ".join(p for p in (f"due {day_text(due)}" if due else "", status) if p)
        lines.append(f"• {action.description} ({details})" if details else f"• {action.description}")
    if len(open_actions) > KEY_ACTIONS_SHOWN:
        lines.append(f"+ {len(open_actions) - KEY_ACTIONS_SHOWN} more (see Action plan)")
    return "\n".join(lines)


def _response(row: RiskRow, ctx: Context) -> str:
    """Treatment, acceptance, escalation and the owner's rationale, as one sentence group."""
    parts = [ctx.label("treatment", row.treatment)] if row.treatment else []
    if row.acceptance_until is not None:
        by = f" by {ctx.label('acceptance_level', row.acceptance_level).lower()}" if row.acceptance_level else ""
        parts.append(f"Accepted{by} until {day_text(row.acceptance_until)}")
    if row.escalation_level:
        parts.append(f"Escalated to {ctx.label('escalation_level', row.escalation_level).lower()}")
    open_actions = row.open_actions()
    if open_actions:
        overdue = len(row.overdue_actions(ctx.as_at))
        plural = "s" if len(open_actions) != 1 else ""
        parts.append(f"{len(open_actions)} open action{plural}" + (f", {overdue} overdue" if overdue else ""))
    text = ". ".join(parts)
    if row.rationale.strip():
        text = f"{text}. {row.rationale.strip()}" if text else row.rationale.strip()
    return text


def _category(row: RiskRow, ctx: Context) -> str:
    return row.category_name or ctx.category_names.get(row.category_code, row.category_code)


def _unit(row: RiskRow, ctx: Context) -> str:
    return row.unit_name or ctx.unit_names.get(row.unit_code, row.unit_code)


def _attr(name: str) -> Callable[[Any, Context], Any]:
    def get(row: Any, ctx: Context) -> Any:
        return getattr(row, name)

    return get


RISK_FIELDS: Mapping[str, Field[RiskRow]] = {
    "ref": Field(Kind.TEXT, _attr("ref")),
    "title": Field(Kind.WRAP, _attr("title")),
    "statement": Field(Kind.WRAP, lambda r, c: r.statement),
    "cause": Field(Kind.WRAP, _attr("cause")),
    "event": Field(Kind.WRAP, _attr("event")),
    "consequence": Field(Kind.WRAP, _attr("consequence")),
    "category": Field(Kind.TEXT, _category),
    "category_code": Field(Kind.TEXT, _attr("category_code")),
    "unit": Field(Kind.TEXT, _unit),
    "unit_code": Field(Kind.TEXT, _attr("unit_code")),
    "level": Field(Kind.LABEL, _attr("level"), "level"),
    "nature": Field(Kind.LABEL, _attr("nature"), "nature"),
    "status": Field(Kind.LABEL, _attr("status"), "status"),
    "owner": Field(Kind.TEXT, _attr("owner_title")),
    "treatment": Field(Kind.LABEL, _attr("treatment"), "treatment"),
    "inherent_likelihood": Field(Kind.INT, _attr("inherent_likelihood")),
    "inherent_impact": Field(Kind.INT, _attr("inherent_impact")),
    "inherent_score": Field(Kind.INT, _attr("inherent_score")),
    "inherent_band": Field(Kind.BAND, _attr("inherent_band")),
    "residual_likelihood": Field(Kind.INT, _attr("residual_likelihood")),
    "residual_impact": Field(Kind.INT, _attr("residual_impact")),
    "residual_score": Field(Kind.INT, _attr("residual_score")),
    "residual_band": Field(Kind.BAND, _attr("residual_band")),
    "target_likelihood": Field(Kind.INT, _attr("target_likelihood")),
    "target_impact": Field(Kind.INT, _attr("target_impact")),
    "target_score": Field(Kind.INT, _attr("target_score")),
    "target_band": Field(Kind.BAND, _attr("target_band")),
    "target_date": Field(Kind.DATE, _attr("target_date")),
    "appetite_level": Field(Kind.LABEL, _attr("appetite_level"), "appetite_level"),
    "appetite_max": Field(Kind.INT, _attr("appetite_max")),
    "tolerance_max": Field(Kind.INT, _attr("tolerance_max")),
    "zone": Field(Kind.ZONE, _attr("zone")),
    "gap": Field(Kind.INT, lambda r, c: r.gap),
    "statement_version": Field(Kind.TEXT, _attr("statement_version")),
    "controls": Field(Kind.WRAP, _attr("controls_summary")),
    "control_effectiveness": Field(Kind.LABEL, _attr("control_effectiveness"), "control_effectiveness"),
    "velocity": Field(Kind.INT, _attr("velocity")),
    "trend": Field(Kind.LABEL, lambda r, c: c.trends.get(r.ref, ""), "trend"),
    "trend_reason": Field(Kind.LABEL, _attr("trend_reason"), "trend_reason"),
    "rationale": Field(Kind.WRAP, _attr("rationale")),
    "response": Field(Kind.WRAP, _response),
    "assessed_on": Field(Kind.DATE, _attr("assessed_on")),
    "closed_reason": Field(Kind.WRAP, _attr("closed_reason")),
    "acceptance_until": Field(Kind.DATE, _attr("acceptance_until")),
    "acceptance_level": Field(Kind.LABEL, _attr("acceptance_level"), "acceptance_level"),
    "escalation_level": Field(Kind.LABEL, _attr("escalation_level"), "escalation_level"),
    "escalation_status": Field(Kind.LABEL, _attr("escalation_status"), "escalation_status"),
    "key_actions": Field(Kind.WRAP, _key_actions),
    "actions_open": Field(Kind.INT, lambda r, c: len(r.open_actions())),
    "actions_overdue": Field(Kind.INT, lambda r, c: len(r.overdue_actions(c.as_at))),
}

# ------------------------------------------------------------------------------ actions


def _risk_of(action: ActionRow, ctx: Context) -> RiskRow | None:
    return ctx.risks.get(action.risk_ref)


ACTION_FIELDS: Mapping[str, Field[ActionRow]] = {
    "ref": Field(Kind.TEXT, _attr("ref")),
    "risk_ref": Field(Kind.TEXT, _attr("risk_ref")),
    "risk_title": Field(Kind.WRAP, lambda a, c: r.title if (r := _risk_of(a, c)) else ""),
    "risk_band": Field(Kind.BAND, lambda a, c: r.residual_band if (r := _risk_of(a, c)) else ""),
    "description": Field(Kind.WRAP, _attr("description")),
    "owner": Field(Kind.TEXT, _attr("owner_title")),
    "unit": Field(Kind.TEXT, lambda a, c: c.unit_names.get(a.unit_code, a.unit_code)),
    "unit_code": Field(Kind.TEXT, _attr("unit_code")),
    "due_date": Field(Kind.DATE, _attr("due_date")),
    "revised_due_date": Field(Kind.DATE, _attr("revised_due_date")),
    "completed_on": Field(Kind.DATE, _attr("completed_on")),
    "status": Field(Kind.LABEL, _attr("status"), "action_status"),
    "percent_complete": Field(Kind.PERCENT, _attr("percent_complete")),
    "days_overdue": Field(Kind.INT, lambda a, c: a.days_overdue(c.as_at) or None),
    "expected_effect": Field(Kind.WRAP, _attr("expected_effect")),
    "comment": Field(Kind.WRAP, _attr("comment")),
}

# ------------------------------------------------------------------------------ movement


def _zone_label(ctx: Context, zone: Zone | None) -> str:
    return "" if zone is None else ctx.label("zone", zone.value)


def _zone_change(move: MovementRow, ctx: Context) -> str:
    before, after = _zone_label(ctx, move.previous_zone), _zone_label(ctx, move.current_zone)
    if move.kind is MovementKind.NEW:
        return f"→ {after}"
    if move.kind is MovementKind.CLOSED:
        return f"{before} →"
    return after if before == after else f"{before} → {after}"


MOVEMENT_FIELDS: Mapping[str, Field[MovementRow]] = {
    "movement": Field(Kind.LABEL, lambda m, c: m.kind.value, "movement"),
    "ref": Field(Kind.TEXT, _attr("ref")),
    "title": Field(Kind.WRAP, _attr("title")),
    "category": Field(Kind.TEXT, lambda m, c: c.category_names.get(m.category_code, m.category_code)),
    "unit_code": Field(Kind.TEXT, _attr("unit_code")),
    "previous_score": Field(Kind.INT, _attr("previous_score")),
    "previous_band": Field(Kind.BAND, lambda m, c: m.previous_band or ""),
    "previous_zone": Field(Kind.ZONE, lambda m, c: m.previous_zone.value if m.previous_zone else ""),
    "current_score": Field(Kind.INT, _attr("current_score")),
    "current_band": Field(Kind.BAND, lambda m, c: m.current_band or ""),
    "current_zone": Field(Kind.ZONE, lambda m, c: m.current_zone.value if m.current_zone else ""),
    "delta": Field(Kind.INT, _attr("delta")),
    "zone_change": Field(Kind.WRAP, _zone_change),
    "flags": Field(Kind.WRAP, lambda m, c: "; ".join(sorted(f.label for f in m.flags))),
    "reason": Field(Kind.LABEL, _attr("trend_reason"), "trend_reason"),
    "rationale": Field(Kind.WRAP, _attr("rationale")),
    "closed_reason": Field(Kind.WRAP, _attr("closed_reason")),
    "explanation": Field(Kind.WRAP, lambda m, c: m.closed_reason if m.kind is MovementKind.CLOSED else m.rationale),
}

# ------------------------------------------------------------------------------ pivots


@dataclass(frozen=True)
class PivotRow:
    """One line of the By category / By unit sheets (or their total line)."""

    code: str
    name: str
    bands: Mapping[str, int]  # residual band name -> risks
    total: int
    average_residual: float | None
    within: int
    above_appetite: int
    outside_tolerance: int
    open_actions: int
    overdue_actions: int
    appetite_level: str = ""

    @property
    def not_within(self) -> int:
        return self.above_appetite + self.outside_tolerance


# "bands" is special: the builders expand it into one column per rating band.
BANDS_FIELD = "bands"

PIVOT_FIELDS: Mapping[str, Field[PivotRow]] = {
    "name": Field(Kind.TEXT, _attr("name")),
    "code": Field(Kind.TEXT, _attr("code")),
    BANDS_FIELD: Field(Kind.INT, lambda p, c: None),
    "total": Field(Kind.INT, _attr("total")),
    "average_residual": Field(Kind.DECIMAL, _attr("average_residual")),
    "within": Field(Kind.INT, _attr("within")),
    "above_appetite": Field(Kind.INT, _attr("above_appetite")),
    "outside_tolerance": Field(Kind.INT, _attr("outside_tolerance")),
    "not_within": Field(Kind.INT, lambda p, c: p.not_within),
    "open_actions": Field(Kind.INT, _attr("open_actions")),
    "overdue_actions": Field(Kind.INT, _attr("overdue_actions")),
    "appetite_level": Field(Kind.LABEL, _attr("appetite_level"), "appetite_level"),
}
UNIT_PIVOT_FIELDS: Mapping[str, Field[PivotRow]] = {k: v for k, v in PIVOT_FIELDS.items() if k != "appetite_level"}

# ------------------------------------------------------------------------------ statement categories


@dataclass(frozen=True)
class CategoryLine:
    """One category of the statement in force, with the number of risks shown in it."""

    code: str
    name: str
    appetite: CategoryAppetite
    risks: int
    above_appetite: int
    outside_tolerance: int


CATEGORY_FIELDS: Mapping[str, Field[CategoryLine]] = {
    "category": Field(Kind.TEXT, _attr("name")),
    "code": Field(Kind.TEXT, _attr("code")),
    "level": Field(Kind.LABEL, lambda c, ctx: c.appetite.level.value, "appetite_level"),
    "appetite_max": Field(Kind.INT, lambda c, ctx: c.appetite.appetite_max),
    "tolerance_max": Field(Kind.INT, lambda c, ctx: c.appetite.tolerance_max),
    "zero_tolerance": Field(Kind.YESNO, lambda c, ctx: c.appetite.zero_tolerance),
    "max_impact": Field(Kind.INT, lambda c, ctx: c.appetite.max_impact),
    "narrative": Field(Kind.WRAP, lambda c, ctx: c.appetite.narrative),
    "risks": Field(Kind.INT, _attr("risks")),
    "above_appetite": Field(Kind.INT, _attr("above_appetite")),
    "outside_tolerance": Field(Kind.INT, _attr("outside_tolerance")),
}

# Label groups a layout may set ([labels.<group>]); values not listed default to sentence case.
LABEL_GROUPS = (
    "level",
    "nature",
    "status",
    "treatment",
    "appetite_level",
    "zone",
    "control_effectiveness",
    "trend",
    "trend_reason",
    "movement",
    "acceptance_level",
    "escalation_level",
    "escalation_status",
    "action_status",
)

DEFAULT_LABELS: Mapping[str, Mapping[str, str]] = {
    "zone": {zone.value: zone.label for zone in Zone},
    "movement": {kind.value: f"{kind.glyph} {kind.label}" for kind in MovementKind},
    "trend": {
        "increased": "▲ Increased",
        "decreased": "▼ Decreased",
        "unchanged": "► Stable",
        "new": "★ New",
    },
    "escalation_level": {"task_force": "Task force", "governing_body": "Council"},
}
