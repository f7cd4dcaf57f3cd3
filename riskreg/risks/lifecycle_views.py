"""Pages that change a risk's life: close, mark realised, merge into another risk, reopen; and the owner's
answer to a task force request. Thin: parse the form, call `riskreg.risks.lifecycle`, redirect or re-render.

Out of the user's unit, or for a role that may not, the risk answers 404 like every other register page.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from riskreg.access import Permission, requires, risk_scope
from riskreg.models import OwnerRequest, Risk
from riskreg.risks import bp, forms, lifecycle, lookup, owner_requests, queries
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.risks.saving import Page, show_violation
from riskreg.web import current_actor

_MAX_ID = 2**31 - 1


def _risk_for_lifecycle(ref: str, *, open_needed: bool) -> Risk:
    """A live risk in scope whose life the user may change, in the state the verb needs; else 404."""
    risk = queries.find_risk(lookup.session(), lookup.user(), ref)
    if risk is None or not lifecycle.may_change_lifecycle(current_actor(), risk):
        abort(404)
    if risk.status.is_open != open_needed:
        abort(404)
    return risk


def _save(form: FlaskForm, risk: Risk, save: Callable[[], object], success: str) -> Page | None:
    """Run a lifecycle operation: success goes back to the risk, a broken rule beside its field, a stale version 409."""
    try:
        save()
    except (StaleEdit, StaleDataError):
        lookup.session().rollback()
        text = f"{risk.ref} changed after you opened this page. Open the risk again and retry if still needed."
        return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409
    except RuleViolation as exc:
        lookup.session().rollback()
        show_violation(form, exc)
        return None
    flash(success, "success")
    return redirect(url_for("risks.detail", ref=risk.ref), 303)


def _page(verb: str, risk: Risk, form: FlaskForm) -> str:
    return render_template("risks/lifecycle.html", verb=verb, risk=risk, form=form)


@bp.route("/risks/<ref>/close", methods=["GET", "POST"])
@requires(Permission.RISK_LIFECYCLE)
def close(ref: str) -> Page:
    risk = _risk_for_lifecycle(ref, open_needed=True)
    form = forms.ReasonForm(version=risk.version)
    if form.validate_on_submit():
        page = _save(
            form,
            risk,
            lambda: lifecycle.close_risk(
                lookup.session(), current_actor(), risk, form.reason.data or "", form.version.data or 0
            ),
            f"{risk.ref} closed. It has left the active register; its history stays on this page.",
        )
        if page is not None:
            return page
    return _page("close", risk, form)


@bp.route("/risks/<ref>/realise", methods=["GET", "POST"])
@requires(Permission.RISK_LIFECYCLE)
def realise(ref: str) -> Page:
    risk = _risk_for_lifecycle(ref, open_needed=True)
    form = forms.RealiseForm(version=risk.version)
    if form.validate_on_submit() and form.occurred_on.data is not None:
        data = lifecycle.RealisationInput(
            occurred_on=form.occurred_on.data,
            what_happened=form.what_happened.data or "",
            impact=form.impact.data or "",
            follow_up=form.follow_up.data or "",
        )
        page = _save(
            form,
            risk,
            lambda: lifecycle.realise_risk(lookup.session(), current_actor(), risk, data, form.version.data or 0),
            f"{risk.ref} marked as realised.",
        )
        if page is not None:
            return page
    return _page("realise", risk, form)


@bp.route("/risks/<ref>/merge", methods=["GET", "POST"])
@requires(Permission.RISK_LIFECYCLE)
def merge(ref: str) -> Page:
    risk = _risk_for_lifecycle(ref, open_needed=True)
    form = forms.MergeForm(version=risk.version)
    if form.validate_on_submit():
        wanted = (form.survivor.data or "").strip()
        # Out of scope and unknown read the same (no hint that another unit's reference exists).
        survivor = (
            lookup.session()
            .scalars(select(Risk).where(func.lower(Risk.ref) == wanted.lower(), risk_scope(lookup.user())))
            .first()
        )
        if survivor is None:
            form.survivor.errors = [f"No open risk {wanted} that you may merge into."]
        else:
            page = _save(
                form,
                risk,
                lambda: lifecycle.merge_risk(
                    lookup.session(), current_actor(), risk, survivor, form.reason.data or "", form.version.data or 0
                ),
                f"{risk.ref} merged into {survivor.ref}. Its reference now leads here.",
            )
            if page is not None:
                return page  # the merged risk's page now leads to the survivor
    return _page("merge", risk, form)


@bp.route("/risks/<ref>/reopen", methods=["GET", "POST"])
@requires(Permission.RISK_LIFECYCLE)
def reopen(ref: str) -> Page:
    risk = _risk_for_lifecycle(ref, open_needed=False)
    form = forms.ReasonForm(version=risk.version)
    if form.validate_on_submit():
        page = _save(
            form,
            risk,
            lambda: lifecycle.reopen_risk(
                lookup.session(), current_actor(), risk, form.reason.data or "", form.version.data or 0
            ),
            f"{risk.ref} reopened: it is back in the active register.",
        )
        if page is not None:
            return page
    return _page("reopen", risk, form)


@bp.route("/risks/<ref>/requests/<int:request_id>/answer", methods=["POST"])
@requires(Permission.RISK_WRITE)
def answer_request(ref: str, request_id: int) -> Page:
    risk = lookup.editable_risk(ref)
    found = lookup.session().get(OwnerRequest, request_id) if 0 < request_id <= _MAX_ID else None
    if found is None or found.risk_id != risk.id:
        abort(404)
    form = forms.AnswerForm()
    if not form.validate_on_submit():
        flash(" ".join(form.answer.errors) or "Write the answer.", "error")
        return redirect(url_for("risks.detail", ref=risk.ref) + "#requests", 303)
    try:
        owner_requests.answer_request(lookup.session(), current_actor(), risk, found, form.answer.data or "")
    except owner_requests.RequestError as exc:
        lookup.session().rollback()
        flash(str(exc), "error")
    else:
        flash("Answer recorded; the task force's request is cleared.", "success")
    return redirect(url_for("risks.detail", ref=risk.ref), 303)
