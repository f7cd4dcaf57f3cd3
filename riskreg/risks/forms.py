"""Register forms: the shape and bounds of input only; the register's rules live in operations.

Field names match the model attributes they edit, so a conflict page can set each submitted value beside the
stored one. No form has a unit or reference field that edits an existing risk: those never change (security.md
B4). Choices that come from the database or the scales are set by the view before validation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from riskreg.models import (
    ActionStatus,
    ControlEffectiveness,
    ControlType,
    Nature,
    RiskLevel,
    Treatment,
    TrendReason,
)
from riskreg.models.register import TEXT_MAX, TITLE_MAX
from riskreg.scoring import Level
from riskreg.validation import StatementPart, TextPolicy, no_control_chars, single_line, strip_filter

SHORT_MAX = 200
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)

EFFECTIVENESS_LABELS = {
    ControlEffectiveness.EFFECTIVE: "Effective",
    ControlEffectiveness.PARTIALLY_EFFECTIVE: "Partially effective",
    ControlEffectiveness.INEFFECTIVE: "Ineffective",
    ControlEffectiveness.NOT_ASSESSED: "Not assessed",
}
TREATMENT_LABELS = {
    Treatment.TREAT: "Treat (reduce it with actions)",
    Treatment.TOLERATE: "Tolerate (accept it as it is)",
    Treatment.TRANSFER: "Transfer (insure or contract out)",
    Treatment.TERMINATE: "Terminate (stop the activity)",
    Treatment.EXPLOIT: "Exploit (opportunities only)",
}
ACTION_STATUS_LABELS = {
    ActionStatus.NOT_STARTED: "Not started",
    ActionStatus.ON_TRACK: "On track",
    ActionStatus.DELAYED: "Delayed",
    ActionStatus.COMPLETED: "Completed",
    ActionStatus.CANCELLED: "Cancelled",
}
TREND_LABELS = {
    TrendReason.CONTEXT_CHANGE: "The context changed",
    TrendReason.CONTROL_CHANGE: "Controls changed",
    TrendReason.ACTIONS_COMPLETED: "Actions were completed",
    TrendReason.AUDIT_FINDING: "An audit finding",
    TrendReason.INCIDENT_OCCURRED: "An incident occurred",
    TrendReason.REASSESSED_METHOD: "Reassessed with a new method",
    TrendReason.OTHER: "Other (say why in the rationale)",
}


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


def enum_options(
    members: Sequence[Any], labels: dict[Any, str] | None = None, *, blank: str | None = None
) -> list[Any]:
    """Select options for enum members (value = the stored word), optionally led by an empty "not set" option."""
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(m.value, (labels or {}).get(m) or _words(m.value)) for m in members]


def level_options(levels: Sequence[Level], *, blank: str | None = None) -> list[Any]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(level.value), f"{level.value} · {level.label}") for level in levels]


def plain_options(pairs: Sequence[tuple[object, str]], *, blank: str | None = None) -> list[Any]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(value), label) for value, label in pairs]


def optional_int(value: object) -> int | None:
    if value is None or value == "" or value == "None":
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    if len(text) > 6:
        raise ValueError("too long")
    return int(text)


def optional_enum(enum_class: type[Any]) -> Callable[[object], Any]:
    def coerce(value: object) -> Any:
        if value is None or value == "":
            return None
        return enum_class(value)

    return coerce


def within_years(form: Any, field: Any) -> None:
    if field.data is not None and not EARLIEST <= field.data <= LATEST:
        raise ValidationError(f"Enter a date between {EARLIEST.year} and {LATEST.year}.")


def not_in_future(form: Any, field: Any) -> None:
    if field.data is not None and field.data > date.today():
        raise ValidationError("This date cannot be in the future.")


def title_length(form: Any, field: Any) -> None:
    """Say how long the title is, rather than cutting it (a cut title ends mid-word)."""
    if field.data and len(field.data) > TITLE_MAX:
        raise ValidationError(
            f"The title has {len(field.data)} characters; shorten it to at most {TITLE_MAX} characters "
            "(the cause, event and consequence hold the detail)."
        )


def _invalid_choice(message: str) -> dict[str, Any]:
    # WTForms 3.3 takes this keyword; the published type stubs predate it.
    return {"invalid_choice_message": message}


def _text(label: str, *, required: bool = True, description: str = "") -> TextAreaField:
    validators: list[Any] = [DataRequired(message="This is required.")] if required else [Optional()]
    return TextAreaField(
        label,
        description=description,
        filters=[strip_filter],
        validators=[*validators, Length(max=TEXT_MAX), no_control_chars],
    )


def _part(label: str, part: str, name: str, description: str) -> TextAreaField:
    """A risk statement part: the text policy under the part's own name, then the statement's rules."""
    return TextAreaField(
        label,
        description=description,
        filters=[strip_filter],
        validators=[
            DataRequired(message="This is required."),
            Length(max=TEXT_MAX),
            TextPolicy(name),
            StatementPart(part, name),
        ],
    )


def _line(label: str, *, required: bool = True, limit: int = SHORT_MAX, description: str = "") -> StringField:
    validators: list[Any] = [DataRequired(message="This is required.")] if required else [Optional()]
    return StringField(
        label,
        description=description,
        filters=[strip_filter],
        validators=[*validators, Length(max=limit), no_control_chars, single_line],
    )


def _version() -> IntegerField:
    return IntegerField(
        widget=HiddenInput(),
        validators=[InputRequired(message="The form is incomplete; reload the page.")],
    )


class LevelField(RadioField):
    """A likelihood or impact level chosen from the scale (choices set by the view)."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, coerce=optional_int, **kwargs, **_invalid_choice("Choose one of the levels."))


# --------------------------------------------------------------------------- risks


class RiskForm(FlaskForm):
    """The description of a risk (edit); the unit and reference are not here and never change."""

    title = StringField(
        "Title",
        description=f"A short name for the risk, at most {TITLE_MAX} characters; the detail goes below.",
        filters=[strip_filter],
        validators=[DataRequired(message="This is required."), title_length, no_control_chars, single_line],
        # counter.js shows the count as the person types (riskreg/static/counter.js).
        render_kw={"data-counter": str(TITLE_MAX)},
    )
    cause = _part("Because…", "cause", "The cause", "The cause: what could bring the risk about.")
    event = _part("there is a risk that…", "event", "The event", "The event: what could happen.")
    consequence = _part(
        "which would…", "consequence", "The consequence", "The consequence for the organisation's objectives."
    )
    category_id = SelectField(
        "Category",
        coerce=optional_int,
        validators=[DataRequired(message="Choose a category.")],
        **_invalid_choice("Choose a category."),
    )
    owner_title = _line("Risk owner", description="The owner's functional title, e.g. 'Chief, Financial Resources'.")
    nature = SelectField("Nature", coerce=Nature, choices=enum_options(list(Nature)))
    level = SelectField("Level", coerce=RiskLevel, choices=enum_options(list(RiskLevel)))
    treatment = SelectField("Treatment", coerce=Treatment, choices=enum_options(list(Treatment), TREATMENT_LABELS))
    linked_objective = _line(
        "Linked objective", required=False, description="The strategic goal or objective code, e.g. 'SG2.3'."
    )
    target_likelihood = SelectField("Target likelihood", coerce=optional_int)
    target_impact = SelectField("Target impact", coerce=optional_int)
    target_date = DateField("Target date", validators=[Optional(), within_years])
    confirm_past_target = BooleanField("Keep this target date although it is in the past")
    is_confidential = BooleanField("Confidential (left out of the Council pack)")
    council_visible = BooleanField("Always show to the Council")

    # Set by the view: today for a new risk, the identification date for an existing one.
    earliest_target: date | None = None

    def validate_target_date(self, field: DateField) -> None:
        """A target date before the risk was identified is most likely a typing slip: warn, keep it if confirmed."""
        earliest = self.earliest_target or date.today()
        if field.data is not None and field.data < earliest and not self.confirm_past_target.data:
            when = "today" if earliest == date.today() else f"the risk was identified ({earliest:%d %b %Y})"
            raise ValidationError(
                f"The target date {field.data:%d %b %Y} is before {when}. Check it, or tick the box below to keep it."
            )


class EditRiskForm(RiskForm):
    version = _version()


# --------------------------------------------------------------------------- assessments


class AssessmentFields(FlaskForm):
    inherent_likelihood = LevelField("Inherent likelihood")
    inherent_impact = LevelField("Inherent impact")
    residual_likelihood = LevelField("Residual likelihood")
    residual_impact = LevelField("Residual impact")
    control_effectiveness = SelectField(
        "Control effectiveness",
        coerce=ControlEffectiveness,
        choices=enum_options(list(ControlEffectiveness), EFFECTIVENESS_LABELS),
        default=ControlEffectiveness.NOT_ASSESSED,
    )
    velocity = SelectField(
        "Velocity",
        coerce=optional_int,
        description="How fast the impact would be felt once the event happens (1 slow … 5 immediate).",
        choices=plain_options(
            [
                (1, "1 · Very slow (years)"),
                (2, "2 · Slow (months)"),
                (3, "3 · Moderate (weeks)"),
                (4, "4 · Fast (days)"),
                (5, "5 · Immediate"),
            ],
            blank="— not assessed —",
        ),
    )
    trend_reason = SelectField(
        "Reason for the change",
        coerce=optional_enum(TrendReason),
        choices=enum_options(list(TrendReason), TREND_LABELS, blank="— none / first assessment —"),
    )
    rationale = _text(
        "Rationale",
        required=False,
        description="Why these scores. Required when the residual is above the inherent, "
        "or the target above the residual.",
    )


class AssessmentForm(AssessmentFields):
    version = _version()


class NewRiskForm(RiskForm, AssessmentFields):
    """A new risk with its first assessment. `unit` is removed by the view for users fixed to their unit."""

    unit = SelectField("Unit", validators=[DataRequired(message="Choose a unit.")], **_invalid_choice("Choose a unit."))


# --------------------------------------------------------------------------- controls and actions


class ControlForm(FlaskForm):
    description = _text("Control", description="What is in place that reduces the likelihood or the impact.")
    type = SelectField("Type", coerce=ControlType, choices=enum_options(list(ControlType)))
    owner_title = _line("Control owner", required=False, description="A functional title.")
    effectiveness = SelectField(
        "Effectiveness",
        coerce=ControlEffectiveness,
        choices=enum_options(list(ControlEffectiveness), EFFECTIVENESS_LABELS),
        default=ControlEffectiveness.NOT_ASSESSED,
    )
    last_tested_on = DateField("Last tested on", validators=[Optional(), within_years, not_in_future])
    evidence_ref = _line("Evidence", required=False, description="A document or audit reference.")


class EditControlForm(ControlForm):
    version = _version()


class ActionForm(FlaskForm):
    description = _text("Action", description="What will be done to bring the risk to its target.")
    owner_title = _line("Action owner", description="A functional title, e.g. 'Head, ICT Security'.")
    due_date = DateField("Due date", validators=[InputRequired(message="Give a due date."), within_years])
    revised_due_date = DateField(
        "Revised due date", description="Only when the original date has moved.", validators=[Optional(), within_years]
    )
    status = SelectField("Status", coerce=ActionStatus, choices=enum_options(list(ActionStatus), ACTION_STATUS_LABELS))
    percent_complete = IntegerField(
        "Percent complete",
        default=0,
        validators=[InputRequired(message="Give a number from 0 to 100."), NumberRange(0, 100)],
    )
    expected_effect = _text("Expected effect", required=False, description="How the action changes the risk.")
    comment = _text("Progress comment", required=False)


class NewActionForm(ActionForm):
    """A new action: one already past its due date is most likely a typing slip, kept only when confirmed."""

    confirm_overdue = BooleanField("Keep this due date although the action is already overdue")

    def validate_due_date(self, field: DateField) -> None:
        due = self.revised_due_date.data or field.data
        if due is not None and due < date.today() and not self.confirm_overdue.data:
            days = (date.today() - due).days
            raise ValidationError(
                f"The action would be overdue by {days} day{'' if days == 1 else 's'} the moment it is added. "
                "Check the date, or tick the box below to keep it."
            )


class EditActionForm(ActionForm):
    version = _version()


# --------------------------------------------------------------------------- state changes


class VersionForm(FlaskForm):
    """Complete an action, retire a control, restore a risk: nothing but the version the user saw."""

    version = _version()


class DeleteForm(FlaskForm):
    reason = _text("Why is this risk deleted?", description="Kept in the audit trail. The risk can be restored.")
    version = _version()


# --------------------------------------------------------------------------- lifecycle (riskreg/risks/lifecycle.py)


class ReasonForm(FlaskForm):
    """Close or reopen a risk: the reason, kept on the risk and in its lifecycle."""

    reason = _text("Reason", description="Kept with the risk and in its audit trail.")
    version = _version()


class RealiseForm(FlaskForm):
    occurred_on = DateField(
        "When did it happen?", validators=[InputRequired(message="Give the date."), within_years, not_in_future]
    )
    what_happened = _text("What happened")
    impact = _text("Impact", description="The consequences as they turned out: cost, delay, harm, reputation.")
    follow_up = _text("Follow-up needed", description="Recovery, lessons, new risks to register — or 'none'.")
    version = _version()


class MergeForm(FlaskForm):
    survivor = _line(
        "Merge into (reference)",
        limit=40,
        description="The reference of the risk that carries on, e.g. FRMD-2026-004. It must be open.",
    )
    reason = _text("Reason", description="Why the two risks are one.")
    version = _version()


class AnswerForm(FlaskForm):
    """The owner answers a task force request (riskreg/risks/owner_requests.py) without reassessing."""

    answer = _text("Your answer to the task force")
