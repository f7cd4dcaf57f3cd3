"""Input rules shared by every form: the text policy (`riskreg.textpolicy`), lengths inside database and
Excel limits.

`text_policy` is the validator every free-text field carries (`no_control_chars` is its older name, kept
for forms written before the policy): it normalises line ends and blanks at both ends, refuses text made
only of invisible characters, and removes bidirectional and other control characters, showing the cleaned
text again with a message that names the field, so nothing is stored that the user has not seen.
"""

from __future__ import annotations

from typing import Any

from wtforms import ValidationError

from riskreg.textpolicy import TextPolicyError, check_text, statement_part


def has_control_chars(text: str) -> bool:
    """True when the text policy would remove something from `text` (or refuse it)."""
    try:
        return bool(check_text(text, "").removed)
    except TextPolicyError:
        return True


def _label(field: Any) -> str:
    label = getattr(field, "label", None)
    text = getattr(label, "text", "") or field.name
    return str(text).rstrip("…:. ") or "This field"


class TextPolicy:
    """WTForms validator: the text policy on one field; `name` replaces the label in messages."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __call__(self, form: Any, field: Any) -> None:
        if not isinstance(field.data, str):
            return
        label = self.name or _label(field)
        try:
            checked = check_text(field.data, label)
        except TextPolicyError as refused:
            raise ValidationError(refused.message) from None
        field.data = checked.text
        if checked.removed:
            raise ValidationError(checked.message(label) + " Save again to keep it as shown.")


text_policy = TextPolicy()
no_control_chars = text_policy


class StatementPart:
    """WTForms validator for a risk statement part (cause, event or consequence), after the text policy."""

    def __init__(self, part: str, name: str) -> None:
        self.part = part
        self.name = name

    def __call__(self, form: Any, field: Any) -> None:
        if not isinstance(field.data, str):
            return
        try:
            field.data = statement_part(field.data, self.part, self.name)
        except TextPolicyError as refused:
            raise ValidationError(refused.message) from None
        if not field.data and field.flags.required:
            raise ValidationError("This is required.")


def single_line(form: Any, field: Any) -> None:
    if isinstance(field.data, str) and ("\n" in field.data or "\r" in field.data):
        raise ValidationError("Use a single line.")


def strip_filter(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
