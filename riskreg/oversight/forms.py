"""Forms of the recommendations: register filters and summary date (GET), status update, risk links, import.

Shape of input only; the rules (evidence to mark implemented, who may update) live in operations and queries.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from riskreg.models import RecStatus, RecType
from riskreg.oversight.summary import STATUS_LABELS, TYPE_LABELS
from riskreg.review.forms import options
from riskreg.validation import no_control_chars, single_line

TEXT_MAX = 4000

STATUS_CHOICES = options((s.value, STATUS_LABELS[s]) for s in RecStatus)
TYPE_CHOICES = options((t.value, TYPE_LABELS[t]) for t in RecType)


class RegisterFilterForm(FlaskForm):
    """The register's filters; read from the query string, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    body = SelectField("Body", choices=[], default="", validators=[Optional()])
    report = SelectField("Report", choices=[], default="", validators=[Optional()])
    rec_type = SelectField(
        "Type", choices=options([("", "Formal and informal")]) + TYPE_CHOICES, default="", validators=[Optional()]
    )
    status = SelectField(
        "Status", choices=options([("", "Any status")]) + STATUS_CHOICES, default="", validators=[Optional()]
    )
    unit = SelectField("Unit", choices=[], default="", validators=[Optional()])
    overdue = SelectField(
        "Overdue", choices=options([("", "Overdue or not"), ("1", "Overdue only")]), default="", validators=[Optional()]
    )


class SummaryForm(FlaskForm):
    class Meta:
        csrf = False

    as_at = DateField("As at", validators=[Optional()], description="Leave empty for today.")


class StatusForm(FlaskForm):
    version = HiddenField(validators=[DataRequired()])
    status = SelectField("New status", choices=STATUS_CHOICES, validators=[DataRequired()])
    evidence = TextAreaField(
        "Evidence of implementation",
        description="Required to mark it implemented: the document, decision or link that shows it.",
        validators=[Optional(), Length(max=TEXT_MAX), no_control_chars],
    )
    reason = TextAreaField(
        "Comment", description="What changed and why.", validators=[Optional(), Length(max=TEXT_MAX), no_control_chars]
    )
    target_date = DateField("Target date", validators=[Optional()])


class LinksForm(FlaskForm):
    version = HiddenField()
    refs = StringField(
        "Risks addressed",
        description="Risk references separated by commas, e.g. GS-FRMD-2026-001, BR-2026-002. Empty removes all.",
        validators=[Optional(), Length(max=2000), no_control_chars, single_line],
    )


class ImportForm(FlaskForm):
    file = FileField("Recommendations list", validators=[FileRequired("Choose a file to upload.")])


class ApplyForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=100)])
