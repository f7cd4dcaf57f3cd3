"""Pages that write risks: register (with the first assessment), edit, assess, delete and restore.

Thin: parse the form, call an operation, redirect or re-render. A rule broken in the operation comes back as a
`RuleViolation` shown beside its field; a stale version as the 409 conflict page.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from riskreg.access import Permission, requires, sees_all_units
from riskreg.models import OrgUnit, Risk
from riskreg.risks import bp, conflict, forms, lookup, operations, queries
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.risks.saving import Page, save_or_conflict, show_violation
from riskreg.scoring import Scales
from riskreg.web import current_actor


def set_risk_choices(form: forms.RiskForm, scales: Scales) -> None:
    categories = queries.category_options(lookup.session(), active_only=True)
    form.category_id.choices = forms.plain_options(
        [(id_, f"{code} — {name}") for id_, code, name in categories], blank="— choose a category —"
    )
    form.target_likelihood.choices = forms.level_options(scales.likelihood, blank="— not set —")
    form.target_impact.choices = forms.level_options(scales.impact, blank="— not set —")


def set_assessment_choices(form: forms.AssessmentFields, scales: Scales) -> None:
    for prefix in ("inherent", "residual"):
        getattr(form, f"{prefix}_likelihood").choices = forms.level_options(scales.likelihood)
        getattr(form, f"{prefix}_impact").choices = forms.level_options(scales.impact)


def risk_input(form: forms.RiskForm) -> operations.RiskInput:
    return operations.RiskInput(
        title=form.title.data or "",
        cause=form.cause.data or "",
        event=form.event.data or "",
        consequence=form.consequence.data or "",
        category_id=int(form.category_id.data),
        owner_title=form.owner_title.data or "",
        nature=form.nature.data,
        level=form.level.data,
        treatment=form.treatment.data,
        linked_objective=form.linked_objective.data or "",
        target_likelihood=form.target_likelihood.data,
        target_impact=form.target_impact.data,
        target_date=form.target_date.data,
        is_confidential=bool(form.is_confidential.data),
        council_visible=bool(form.council_visible.data),
    )


def assessment_input(form: forms.AssessmentFields) -> operations.AssessmentInput:
    return operations.AssessmentInput(
        inherent_likelihood=int(form.inherent_likelihood.data),
        inherent_impact=int(form.inherent_impact.data),
        residual_likelihood=int(form.residual_likelihood.data),
        residual_impact=int(form.residual_impact.data),
        control_effectiveness=form.control_effectiveness.data,
        velocity=form.velocity.data,
        trend_reason=form.trend_reason.data,
        rationale=form.rationale.data or "",
    )


def risk_changed_by(risk: Risk) -> conflict.ChangedBy:
    who = risk.updated_by
    name = f"{who.name} ({who.email})" if who is not None else "someone else"
    return conflict.ChangedBy(name, risk.updated_at)


@bp.route("/risks/new", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def new() -> Page:
    user = lookup.user()
    scales = lookup.scales()
    form = forms.NewRiskForm()
    set_risk_choices(form, scales)
    set_assessment_choices(form, scales)
    fixed_unit = not sees_all_units(user)
    if fixed_unit:
        if user.org_unit_id is None:
            abort(403)
        del form.unit  # focal points register for their own unit only; nothing posted can change that
    else:
        units = [(code, label) for code, label in queries.unit_options(lookup.session(), user, active_only=True)]
        form.unit.choices = forms.plain_options(units, blank="— choose a unit —")
    if form.validate_on_submit():
        unit_id = (
            user.org_unit_id
            if fixed_unit
            else lookup.session().scalar(select(OrgUnit.id).where(OrgUnit.code == form.unit.data))
        )
        try:
            if unit_id is None:
                raise RuleViolation("unit", "Choose a unit.")
            risk = operations.create_risk(
                lookup.session(), current_actor(), risk_input(form), unit_id, assessment=assessment_input(form)
            )
        except RuleViolation as exc:
            lookup.session().rollback()
            show_violation(form, exc)
        else:
            flash(f"Risk {risk.ref} registered: {risk.residual_band} residual, {risk.zone.label.lower()}.", "success")
            return redirect(url_for("risks.detail", ref=risk.ref), 303)
    unit_name = user.org_unit.code if fixed_unit and user.org_unit else ""
    return render_template("risks/form.html", form=form, risk=None, scales=scales, fixed_unit=unit_name)


@bp.route("/risks/<ref>/edit", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def edit(ref: str) -> Page:
    risk = lookup.editable_risk(ref)
    scales = lookup.scales()
    form = forms.EditRiskForm(obj=risk if request.method == "GET" else None)
    form.earliest_target = risk.identified_on
    set_risk_choices(form, scales)
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.update_risk(
                lookup.session(), current_actor(), risk, risk_input(form), form.version.data or 0
            ),
            success=f"{risk.ref} saved.",
            redirect_url=url_for("risks.detail", ref=risk.ref),
            on_conflict=lambda: conflict.render_conflict(
                form,
                stored=risk,
                current_version=risk.version,
                changed=risk_changed_by(risk),
                heading=f"{risk.ref} was changed while you were editing it",
                fields_template="risks/_risk_fields.html",
                back_url=url_for("risks.detail", ref=risk.ref),
                action_url=url_for("risks.edit", ref=risk.ref),
                risk=risk,
                scales=scales,
            ),
        )
        if page is not None:
            return page
    return render_template("risks/form.html", form=form, risk=risk, scales=scales, fixed_unit="")


@bp.route("/risks/<ref>/assess", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def assess(ref: str) -> Page:
    risk = lookup.editable_risk(ref)
    scales = lookup.scales()
    form = forms.AssessmentForm()
    set_assessment_choices(form, scales)
    current = risk.current_assessment
    if request.method == "GET":
        form.version.data = risk.version
        if current is not None:
            # Start from the current scores: most reassessments change one or two of them.
            for name in ("inherent_likelihood", "inherent_impact", "residual_likelihood", "residual_impact"):
                getattr(form, name).data = getattr(current, name)
            form.control_effectiveness.data = current.control_effectiveness
            form.velocity.data = current.velocity
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.record_assessment(
                lookup.session(), current_actor(), risk, assessment_input(form), expected_version=form.version.data or 0
            ),
            # Built after the commit: it names the scores just saved.
            success=lambda _: (
                f"Assessment saved: residual {risk.residual_score} {risk.residual_band}, {risk.zone.label.lower()}."
            ),
            redirect_url=url_for("risks.detail", ref=risk.ref),
            on_conflict=lambda: conflict.render_conflict(
                form,
                stored=risk.current_assessment,
                current_version=risk.version,
                changed=risk_changed_by(risk),
                heading=f"{risk.ref} was reassessed or changed while you were assessing it",
                fields_template="risks/_assessment_fields.html",
                back_url=url_for("risks.detail", ref=risk.ref),
                action_url=url_for("risks.assess", ref=risk.ref),
                submit_label="Save my assessment",
                risk=risk,
                scales=scales,
            ),
        )
        if page is not None:
            return page
    return render_template("risks/assess.html", form=form, risk=risk, scales=scales, current=current)


@bp.route("/risks/<ref>/delete", methods=["GET", "POST"])
@requires(Permission.RISK_WRITE)
def delete(ref: str) -> Page:
    risk = lookup.editable_risk(ref)
    form = forms.DeleteForm()
    if request.method == "GET":
        form.version.data = risk.version
    if form.validate_on_submit():
        page = save_or_conflict(
            form,
            lambda: operations.delete_risk(
                lookup.session(), current_actor(), risk, form.reason.data or "", form.version.data or 0
            ),
            success=f"{risk.ref} deleted. It can be restored by a risk coordinator.",
            redirect_url=url_for("risks.index"),
            on_conflict=lambda: conflict.render_conflict(
                form,
                stored=None,
                current_version=risk.version,
                changed=risk_changed_by(risk),
                heading=f"{risk.ref} was changed after you opened this page",
                fields_template="risks/_delete_fields.html",
                back_url=url_for("risks.detail", ref=risk.ref),
                action_url=url_for("risks.delete", ref=risk.ref),
                submit_label="Delete anyway",
                risk=risk,
            ),
        )
        if page is not None:
            return page
    return render_template("risks/delete.html", form=form, risk=risk)


@bp.route("/risks/<ref>/restore", methods=["POST"])
@requires(Permission.RISK_RESTORE)
def restore(ref: str) -> Page:
    risk = queries.find_risk(lookup.session(), lookup.user(), ref, include_deleted=True)
    if risk is None or not risk.is_deleted:
        abort(404)
    form = forms.VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.restore_risk(lookup.session(), current_actor(), risk, form.version.data or 0)
    except (StaleEdit, StaleDataError):
        lookup.session().rollback()
        text = f"{risk.ref} changed after you loaded the page. Reload the list and restore it again if still needed."
        return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409
    flash(f"{risk.ref} restored to the register.", "success")
    return redirect(url_for("risks.detail", ref=risk.ref), 303)
