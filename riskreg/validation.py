"""Input rules shared by every form: no control characters, lengths inside database and Excel limits."""

from __future__ import annotations

import re
from typing import Any

from wtforms import ValidationError

# C0 controls except tab, newline and carriage return, and the two noncharacters XML forbids: openpyxl
# cannot write them to a workbook, and nobody types them on purpose.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def has_control_chars(text: str) -> bool:
    return bool(_CONTROL.search(text))


def no_control_chars(form: Any, field: Any) -> None:
    """WTForms validator: refuse invisible control characters (pasted from other tools)."""
    if isinstance(field.data, str) and has_control_chars(field.data):
        raise ValidationError("Remove the invisible control characters (often pasted from other programs).")


def single_line(form: Any, field: Any) -> None:
    if isinstance(field.data, str) and ("\n" in field.data or "\r" in field.data):
        raise ValidationError("Use a single line.")


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
