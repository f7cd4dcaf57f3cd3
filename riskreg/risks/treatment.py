"""Pages that write a risk's treatment: controls (add, edit, retire) and actions (add, edit, complete).

Each control and action is reached through its risk's reference, so the risk's scope check covers it; an id
that belongs to another risk answers 404 like an unknown one.
"""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm.exc import StaleDataError

from riskreg.access import Permission, requires
from riskreg.risks import bp, conflict, forms, lookup, operations
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.risks.saving import Page, save_or_conflict
from riskreg.web import current_actor


def _control_input(form: forms.ControlForm) -> operations.ControlInput:
    return operations.ControlInput(
        description=form.description.data or "",
        type=form.type.data,
        owner_title=form.owner_title.data or "",
        effectiveness=form.effectiveness.data,
        last_tested_on=form.last_tested_on.data,
        evidence_ref=form.evidence_ref.data or "",
    )


def _required_date(value: date | None) -> date:
    if value is None:  # the form's InputRequired makes this unreachable; keeps the type honest
        raise RuleViolation("due_date", "Give a due date.")
    return value


def _action_input(form: forms.ActionForm) -> operations.ActionInput:
    return operations.ActionInput(
        description=form.description.data or "",
        owner_title=form.owner_title.data or "",
        due_date=_required_date(form.due_date.data),
        revised_due_date=form.revised_due_date.data,
        status=form.status.data,
        percent_complete=int(form.percent_complete.data or 0),
        expected_effect=form.expected_effect.data or "",
        comment=form.comment.data or "",
    )


def _back(ref: str, anchor: str) -> str:
    return url_for("risks.detail", ref=ref, _anchor=anchor)


def _stale_page(message: str) -> tuple[str, int]:
    return render_template("errors/error.html", code=409, title="Changed by someone else", text=message), 409


# --------------------------------------------------------------------------- controls


@bp.route("/risks/<ref>/controls/new", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def control_new(ref: str) -> Page:
    risk = lookup.editable_risk(ref)
    form = forms.ControlForm()
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.add_control(lookup.session(), current_actor(), risk, _control_input(form)),
            success="Control added.",
            redirect_url=_back(risk.ref, "controls"),
        )
        if page is not None:
            return page
    return render_template("risks/item_form.html", form=form, risk=risk, kind="control", item=None)


@bp.route("/risks/<ref>/controls/<int:control_id>/edit", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def control_edit(ref: str, control_id: int) -> Page:
    risk = lookup.editable_risk(ref)
    control = lookup.control_of(risk, control_id)
    form = forms.EditControlForm(obj=control if request.method == "GET" else None)
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.update_control(
                lookup.session(), current_actor(), control, _control_input(form), form.version.data or 0
            ),
            success="Control saved.",
            redirect_url=_back(risk.ref, "controls"),
            on_conflict=lambda: conflict.render_conflict(
                form,
                stored=control,
                current_version=control.version,
                changed=conflict.last_change("control", control.id),
                heading=f"This control of {risk.ref} was changed while you were editing it",
                fields_template="risks/_control_fields.html",
                back_url=_back(risk.ref, "controls"),
                action_url=url_for("risks.control_edit", ref=risk.ref, control_id=control.id),
                risk=risk,
            ),
        )
        if page is not None:
            return page
    return render_template("risks/item_form.html", form=form, risk=risk, kind="control", item=control)


@bp.route("/risks/<ref>/controls/<int:control_id>/retire", methods=["POST"])
@requires(Permission.RISK_WRITE)
def control_retire(ref: str, control_id: int) -> Page:
    risk = lookup.editable_risk(ref)
    control = lookup.control_of(risk, control_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        flash("The form was incomplete; nothing was changed.", "error")
        return redirect(_back(risk.ref, "controls"), 303)
    if control.retired_at is not None:
        flash("That control is already retired.", "info")
        return redirect(_back(risk.ref, "controls"), 303)
    try:
        operations.retire_control(lookup.session(), current_actor(), control, form.version.data or 0)
    except (StaleEdit, StaleDataError):
        lookup.session().rollback()
        return _stale_page("The control changed after you loaded the page. Reload the risk, check it, and retry.")
    flash("Control retired; it stays in the risk's history.", "success")
    return redirect(_back(risk.ref, "controls"), 303)


# --------------------------------------------------------------------------- actions


@bp.route("/risks/<ref>/actions/new", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def action_new(ref: str) -> Page:
    risk = lookup.editable_risk(ref)
    form = forms.NewActionForm()
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.add_action(lookup.session(), current_actor(), risk, _action_input(form)),
            success=lambda action: f"Action {action.ref} added.",
            redirect_url=_back(risk.ref, "actions"),
        )
        if page is not None:
            return page
    return render_template("risks/item_form.html", form=form, risk=risk, kind="action", item=None)


@bp.route("/risks/<ref>/actions/<int:action_id>/edit", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def action_edit(ref: str, action_id: int) -> Page:
    risk = lookup.editable_risk(ref)
    action = lookup.action_of(risk, action_id)
    form = forms.EditActionForm(obj=action if request.method == "GET" else None)
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.update_action(
                lookup.session(), current_actor(), action, _action_input(form), form.version.data or 0
            ),
            success=f"Action {action.ref} saved.",
            redirect_url=_back(risk.ref, "actions"),
            on_conflict=lambda: conflict.render_conflict(
                form,
                stored=action,
                current_version=action.version,
                changed=conflict.last_change("action", action.ref),
                heading=f"Action {action.ref} was changed while you were editing it",
                fields_template="risks/_action_fields.html",
                back_url=_back(risk.ref, "actions"),
                action_url=url_for("risks.action_edit", ref=risk.ref, action_id=action.id),
                risk=risk,
            ),
        )
        if page is not None:
            return page
    return render_template("risks/item_form.html", form=form, risk=risk, kind="action", item=action)


@bp.route("/risks/<ref>/actions/<int:action_id>/complete", methods=["POST"])
@requires(Permission.RISK_WRITE)
def action_complete(ref: str, action_id: int) -> Page:
    risk = lookup.editable_risk(ref)
    action = lookup.action_of(risk, action_id)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        flash("The form was incomplete; nothing was changed.", "error")
        return redirect(_back(risk.ref, "actions"), 303)
    if not action.status.is_open:
        flash(f"Action {action.ref} is already {action.status.value}.", "info")
        return redirect(_back(risk.ref, "actions"), 303)
    try:
        operations.complete_action(lookup.session(), current_actor(), action, form.version.data or 0)
    except (StaleEdit, StaleDataError):
        lookup.session().rollback()
        return _stale_page(f"Action {action.ref} changed after you loaded the page. Reload the risk and retry.")
    flash(f"Action {action.ref} completed.", "success")
    return redirect(_back(risk.ref, "actions"), 303)
