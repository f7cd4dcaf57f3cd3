"""The exports page's form: which register, for whom, and the document details printed on every page.

Shape of input only; `riskreg.exports.operations.check_options` applies the same limits for the CLI.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from riskreg.exports.operations import (
    ANNEX_MAX,
    AUDIENCES,
    CLASSIFICATIONS,
    DEFAULT_ANNEX,
    DEFAULT_CLASSIFICATION,
    PREPARED_BY_MAX,
    SYMBOL_MAX,
)
from riskreg.review.forms import options
from riskreg.validation import no_control_chars, single_line, strip_filter


class ExportForm(FlaskForm):
    """POSTed with its CSRF token: each download is logged, so it is a state change (security.md C2)."""

    cycle = SelectField(
        "Review cycle",
        description="A closed cycle exports its frozen snapshot; 'now' exports the live register, marked DRAFT.",
        choices=[],
        validators=[InputRequired(message="Choose a cycle.")],
    )
    audience = SelectField(
        "Audience",
        description="The Council selection leaves out confidential risks and shows people by functional title.",
        choices=options(AUDIENCES.items()),
        default="council",
        validators=[InputRequired(message="Choose the audience.")],
    )
    symbol = StringField(
        "Document symbol",
        description="E.g. C26/12. Printed in the page header and used in the file name.",
        filters=[strip_filter],
        validators=[Optional(), Length(max=SYMBOL_MAX), no_control_chars, single_line],
    )
    annex = StringField(
        "Annex number",
        default=DEFAULT_ANNEX,
        filters=[strip_filter],
        validators=[
            Optional(),
            Length(max=ANNEX_MAX),
            Regexp(r"^[A-Za-z0-9.-]*$", message="Use letters, digits, '.' or '-' only, e.g. 2 or B."),
        ],
    )
    classification = SelectField(
        "Classification",
        description="Printed in the footer of every page.",
        choices=options((c, c) for c in CLASSIFICATIONS),
        default=DEFAULT_CLASSIFICATION,
    )
    prepared_by = StringField(
        "Prepared by",
        description="The preparing unit, as printed on the cover.",
        filters=[strip_filter],
        validators=[
            DataRequired(message="Say which unit prepared the document."),
            Length(max=PREPARED_BY_MAX),
            no_control_chars,
            single_line,
        ],
    )
