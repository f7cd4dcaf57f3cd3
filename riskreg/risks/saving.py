"""One submitted register form saved: success flashes and redirects, a broken rule goes beside its field, a stale
version answers with the 409 conflict page.

Shared by the risk, control and action pages so each view only says what to save and where to go next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash, redirect
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from riskreg.risks import lookup
from riskreg.risks.operations import RuleViolation, StaleEdit

Page = Response | str | tuple[str, int]

T = TypeVar("T")

# Rules name the operation's field; a few sit under another name in the forms.
_FIELD_ALIASES = {"org_unit": "unit"}


def show_violation(form: FlaskForm, exc: RuleViolation) -> None:
    """Put a rule's message beside its field, or at the top of the page when the form has no such field."""
    field = getattr(form, _FIELD_ALIASES.get(exc.field, exc.field), None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "error")


def save_or_conflict(
    form: FlaskForm,
    save: Callable[[], T],
    *,
    success: str | Callable[[T], str],
    redirect_url: str,
    on_conflict: Callable[[], Page] | None = None,
) -> Page | None:
    """Run `save` (an operation that commits); None means "re-render the form", now showing the rule it broke.

    `success` is a message, or makes one from what `save` returned: it is built after the commit so it can name
    the saved values. `on_conflict` is called only after the rollback, so the page it renders shows the version
    and values stored now; without it a stale version is not expected here and propagates.
    """
    try:
        result = save()
    except (StaleEdit, StaleDataError):
        if on_conflict is None:
            raise
        lookup.session().rollback()
        return on_conflict()
    except RuleViolation as exc:
        lookup.session().rollback()
        show_violation(form, exc)
        return None
    flash(success if isinstance(success, str) else success(result), "success")
    return redirect(redirect_url, 303)
