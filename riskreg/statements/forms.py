"""Forms of the appetite feature: drafting and endorsing statements, acceptances and escalations.

Shape of input only: the rules (thresholds, who may decide, 12-month limit) live in the operations, which
name the field a problem belongs to. Every form that changes a record carries the version the user saw.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import HiddenInput

from riskreg.appetite import AppetiteLevel
from riskreg.models import EscalationLevel
from riskreg.validation import no_control_chars, single_line, strip_filter

TEXT_MAX = 4000
LINE_MAX = 200


def _version_field() -> IntegerField:
    return IntegerField(widget=HiddenInput(), validators=[InputRequired(message="The form is incomplete; reload it.")])


def _line(label: str, *, required: bool = True, limit: int = LINE_MAX, description: str = "") -> StringField:
    validators: list[Any] = [DataRequired(message="This is required.")] if required else [Optional()]
    return StringField(
        label,
        description=description,
        filters=[strip_filter],
        validators=[*validators, Length(max=limit), no_control_chars, single_line],
    )


def _text(label: str, *, required: bool = True, description: str = "") -> TextAreaField:
    validators: list[Any] = [DataRequired(message="This is required.")] if required else [Optional()]
    return TextAreaField(
        label,
        description=description,
        filters=[strip_filter],
        validators=[*validators, Length(max=TEXT_MAX), no_control_chars],
    )


# --------------------------------------------------------------------------- statements


class NewDraftForm(FlaskForm):
    version = StringField(
        "New version",
        description="The version string of the draft, e.g. 3.0. It must not exist yet.",
        filters=[strip_filter],
        validators=[
            DataRequired(message="This is required."),
            Length(max=20),
            Regexp(r"^[0-9A-Za-z][0-9A-Za-z.\-]*$", message="Use letters, digits, dots or hyphens."),
        ],
    )


class CategoryForm(Form):
    """One category row of a draft (a sub-form: the CSRF token is on the parent)."""

    code = HiddenField()
    level = SelectField("Level", choices=[SelectChoice(lv.value, lv.label) for lv in AppetiteLevel])
    appetite_max = IntegerField(
        "Appetite up to", validators=[InputRequired(message="Give a score."), NumberRange(min=1, max=49)]
    )
    tolerance_max = IntegerField(
        "Tolerance up to", validators=[InputRequired(message="Give a score."), NumberRange(min=1, max=49)]
    )
    zero_tolerance = BooleanField("Zero tolerance")
    max_impact = IntegerField("Impact cap", validators=[Optional(), NumberRange(min=1, max=7)])
    narrative = _text("Narrative", required=False)


class DraftForm(FlaskForm):
    lock_version = _version_field()
    title = _line("Title")
    preamble = _text("Preamble", required=False, description="Purpose and scope of the statement.")
    overall = _text("Overall position")
    review_due_on = DateField("Review due on", validators=[Optional()])
    categories = FieldList(FormField(CategoryForm))


class VersionOnlyForm(FlaskForm):
    """Submit or reopen: nothing to type, only the version seen."""

    lock_version = _version_field()


class WithdrawForm(FlaskForm):
    lock_version = _version_field()
    reason = _text("Why is this version withdrawn?")


class EndorseForm(FlaskForm):
    lock_version = _version_field()
    endorsing_body = _line("Endorsing body", description="e.g. Council")
    session = _line("Session", limit=100, description="e.g. Council 2026")
    document_symbol = _line("Document or decision symbol", limit=100, description="e.g. C26/12 or Decision D-2026/4")
    endorsed_on = DateField("Endorsed on", validators=[InputRequired(message="Give the date of the decision.")])
    effective_from = DateField(
        "Effective from",
        description="The day the statement takes effect; the version in force ends the day before.",
        validators=[InputRequired(message="Give the date it takes effect.")],
    )


# --------------------------------------------------------------------------- responses


class AcceptanceForm(FlaskForm):
    justification = _text("Justification", description="Why the organisation tolerates this risk above appetite.")
    conditions = _text(
        "Conditions", description="What must hold while the acceptance lasts: monitoring, limits, review triggers."
    )
    valid_until = DateField(
        "Valid until",
        description="At most 12 months from today.",
        validators=[InputRequired(message="Give the date the acceptance ends.")],
    )


class RevokeForm(FlaskForm):
    reason = _text("Why is the acceptance revoked?")


_LADDER_CHOICES = [SelectChoice(lv.value, lv.label) for lv in EscalationLevel if lv != EscalationLevel.OWNER]


class RaiseEscalationForm(FlaskForm):
    to_level = SelectField("Escalate to", choices=_LADDER_CHOICES)
    reason = _text("Reason")


class EscalationDecisionForm(FlaskForm):
    """Confirm, accept, reject, resolve or escalate further; the reason is required by some of them."""

    version = _version_field()
    reason = _text("Reason or resolution", required=False)
    to_level = SelectField("Escalate to", choices=_LADDER_CHOICES, validators=[Optional()])


class CandidatesForm(FlaskForm):
    """Ask for the automatic escalation proposals (a button)."""
