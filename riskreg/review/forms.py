"""Forms of the review: the heatmap filters (a GET form), cycles, the narrative and task force decisions.

Shape of input only; the review rules live in `riskreg.review.operations`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from riskreg.appetite import Zone
from riskreg.models import Decision
from riskreg.review.operations import ADDENDUM_MAX, COMMENT_MAX, MINUTE_REF_MAX
from riskreg.validation import no_control_chars, single_line


def options(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """(value, label) pairs as the select options WTForms 3.3 expects."""
    return [SelectChoice(value, label) for value, label in pairs]


KIND_CHOICES = options([("residual", "Residual (current)"), ("inherent", "Inherent"), ("target", "Target")])
ZONE_CHOICES = options([("", "Any zone")] + [(z.value, z.label) for z in Zone])
NATURE_CHOICES = options([("threat", "Threats"), ("opportunity", "Opportunities"), ("all", "Both")])
ARROW_CHOICES = options([("1", "Show"), ("0", "Hide")])
PALETTE_CHOICES = options([("standard", "Standard"), ("colourblind", "Colour-blind safe")])
CYCLE_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$"


class ReviewFilterForm(FlaskForm):
    """The review page's choices; read from the query string, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    # No "required" marker: a select always holds a value, and a missing one falls back to the default cycle.
    cycle = SelectField("Review cycle", choices=[])
    kind = SelectField("Assessment", choices=KIND_CHOICES, default="residual")
    unit = SelectField("Unit", choices=[], default="")
    category = SelectField("Category", choices=[], default="")
    zone = SelectField("Appetite zone", choices=ZONE_CHOICES, default="")
    nature = SelectField("Nature", choices=NATURE_CHOICES, default="threat")
    overlay = SelectField("Appetite outline", choices=[], default="")
    arrows = SelectField("Movement arrows", choices=ARROW_CHOICES, default="1")
    palette = SelectField("Colours", choices=PALETTE_CHOICES, default="standard")


class CellForm(ReviewFilterForm):
    """A heatmap cell: the review filters plus the cell's likelihood and impact."""

    l = IntegerField("Likelihood", validators=[InputRequired()])  # noqa: E741 - the URL's short name
    i = IntegerField("Impact", validators=[InputRequired()])
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=100_000)])


class CycleForm(FlaskForm):
    code = StringField(
        "Cycle code",
        description="Short and unique, e.g. 2026-Q3.",
        validators=[
            DataRequired(),
            Length(max=20),
            Regexp(CYCLE_CODE, message="Use letters, digits, '-', '.' or '_', like 2026-Q3."),
        ],
    )
    period_start = DateField("Period starts", validators=[DataRequired()])
    period_end = DateField("Period ends", validators=[DataRequired()])
    submission_deadline = DateField(
        "Submission deadline", description="Departments update their risks by this date.", validators=[Optional()]
    )
    taskforce_meeting_on = DateField("Task force meeting", validators=[Optional()])
    target_session = StringField(
        "Target Council session",
        description="E.g. Council 2026; shown on the Council workbook.",
        validators=[Optional(), Length(max=100), no_control_chars, single_line],
    )


class NarrativeForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    narrative = TextAreaField(
        "Cycle narrative",
        description="The coordinator's summary of the cycle; it opens the Council workbook.",
        validators=[Optional(), Length(max=8000), no_control_chars],
    )


class CycleStepForm(FlaskForm):
    """Move to task force review, or close: the version seen, and for closing an explicit confirmation."""

    version = HiddenField(validators=[DataRequired()])
    confirm = BooleanField("I understand that closing freezes the register for this cycle and cannot be undone.")
    # Asked only when the period has not ended or the task force has not met yet (operations.not_yet_due).
    confirm_early = BooleanField("Close before those dates anyway.")


class AddendumForm(FlaskForm):
    """A correction to a closed cycle's minutes; signed with the signed-in user's name and dated today."""

    text = TextAreaField(
        "Addendum",
        description="What the record should have said, and why. It is printed after the minutes, dated and "
        "signed with your name; it cannot be edited or removed afterwards.",
        validators=[DataRequired(), Length(max=ADDENDUM_MAX), no_control_chars],
    )


class DecisionForm(FlaskForm):
    decision = SelectField(
        "Decision", choices=options((d.value, d.label) for d in Decision), validators=[DataRequired()]
    )
    comment = TextAreaField(
        "Comment",
        description="Required except for Noted and Validated: the reason, and what happens next.",
        validators=[Optional(), Length(max=COMMENT_MAX), no_control_chars],
    )
    minute_ref = StringField(
        "Minute reference",
        description="Where the minutes record it, e.g. TF-2026-3/7.",
        validators=[Optional(), Length(max=MINUTE_REF_MAX), no_control_chars, single_line],
    )
    decided_on = DateField("Decided on", default=date.today, validators=[DataRequired()])
    # Only some decisions read these; the operation says when one it needs is missing.
    merge_into = StringField(
        "Merge into (reference)",
        description="Merge only: the reference of the risk that carries on, e.g. FRMD-2026-004.",
        validators=[Optional(), Length(max=40), no_control_chars, single_line],
    )
    accept_until = DateField(
        "Acceptance ends on",
        description="Accept above appetite only: at most 12 months after the decision.",
        validators=[Optional()],
    )
    accept_conditions = TextAreaField(
        "Acceptance conditions",
        description="Accept above appetite only: monitoring, limits, what triggers a new review.",
        validators=[Optional(), Length(max=COMMENT_MAX), no_control_chars],
    )
