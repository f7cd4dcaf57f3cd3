"""Import forms: the upload (file, unit, sheet, column mapping) and the apply / cancel buttons.

The file's type is decided by the importer from its bytes, not by the form from its name, so a wrongly
named file gets the importer's precise refusal ("this is an old .xls file ...") instead of a generic one.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from riskreg.validation import no_control_chars, single_line, strip_filter

ACCEPT = ".xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv"
SHEET_NAME_MAX = 31  # Excel's limit


def _invalid_choice(message: str) -> dict[str, Any]:
    # WTForms 3.3 takes this keyword; the published type stubs predate it.
    return {"invalid_choice_message": message}


class UploadForm(FlaskForm):
    """`unit` is removed by the view for focal points, who import into their own unit only."""

    file = FileField(
        "Register file",
        validators=[FileRequired(message="Choose the register file (.xlsx or .csv).")],
        render_kw={"accept": ACCEPT},
    )
    unit = SelectField(
        "Unit",
        validators=[DataRequired(message="Choose the unit whose register this is.")],
        **_invalid_choice("Choose one of the units."),
    )
    sheet = StringField(
        "Sheet name (optional)",
        filters=[strip_filter],
        validators=[Optional(), Length(max=SHEET_NAME_MAX), no_control_chars, single_line],
        description="Leave empty to read every sheet that looks like a register.",
    )
    mapping = FileField(
        "Column mapping (optional)",
        render_kw={"accept": ".toml,text/plain"},
        description='A TOML file with a [columns] table of "Header as written" = "field" lines, '
        'for headers the import does not recognise (for example "Risk heading" = "title", or "ignore").',
    )


class TokenForm(FlaskForm):
    """Apply or cancel a previewed upload; the token names the stored file."""

    token = HiddenField(validators=[DataRequired(), Length(min=32, max=32)])


def file_bytes(storage: Any, limit: int) -> bytes:
    """At most `limit` + 1 bytes of an uploaded file (one more than allowed lets the importer say it is too big)."""
    stream = getattr(storage, "stream", None)
    return stream.read(limit + 1) if stream is not None else b""
