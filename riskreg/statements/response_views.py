"""Pages of the responses to a breach: the breach register, acceptances and escalations.

Risks are found through `access.risk_scope`, so a focal point reaches only their unit's risks and gets
404 for any other. Whether a person holds the level a decision belongs to is the operation's rule
(`responses.NotAllowedError`), answered 403 with the reason.
"""

from __future__ import annotations

from datetime import date
from typing import NoReturn, cast

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]

from riskreg import policy
from riskreg.access import Permission, requires, risk_scope
from riskreg.extensions import db
from riskreg.models import Escalation, EscalationLevel, Risk, RiskAcceptance, Role, User
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.statements import bp, queries, responses, triggers
from riskreg.statements.forms import (
    AcceptanceForm,
    CandidatesForm,
    EscalationDecisionForm,
    RaiseEscalationForm,
    RevokeForm,
)
from riskreg.web import current_actor

Page = Response | str | tuple[str, int]
DECISIONS = ("confirm", "accept", "reject", "resolve", "further")


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _db() -> Session:
    # Flask-SQLAlchemy's scoped session stands in for a Session; the operations are typed against Session.
    return cast(Session, db.session)


def _risk_or_404(ref: str) -> Risk:
    risk = _db().scalars(select(Risk).where(Risk.ref == ref[:40], risk_scope(_user()))).first()
    if risk is None:
        abort(404)
    return risk


def _not_allowed(exc: responses.NotAllowedError) -> NoReturn:
    # The reason is shown on the 403 page; the denial itself is audited by the error handler.
    g.authz_failure = f"{request.endpoint}: {exc}"
    flash(str(exc), "error")
    abort(403)


def _field_error(form: object, exc: RuleViolation) -> None:
    field = getattr(form, exc.field, None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(exc)]
    else:
        flash(str(exc), "error")


# --------------------------------------------------------------------------- breach register


@bp.route("/breaches")
@requires(Permission.APPETITE_READ)
def breaches() -> str:
    scales = policy.current_scales(_db())
    today = date.today()
    rows = queries.breaches(_db(), risk_scope(_user()), scales, today)
    groups: dict[str, list[queries.Breach]] = {}
    for row in rows:
        groups.setdefault(f"{row.category_code} — {row.category_name}", []).append(row)
    return render_template(
        "statements/breaches.html",
        groups=groups,
        total=len(rows),
        outside=sum(1 for r in rows if r.zone.severity == 2),
        unanswered=sum(1 for r in rows if r.missing),
        expiring=sum(1 for r in rows if r.acceptance_expiring),
        candidates_form=CandidatesForm(),
        warning_days=responses.EXPIRY_WARNING_DAYS,
    )


@bp.route("/breaches/propose", methods=["POST"])
@requires(Permission.CYCLE_MANAGE)
def propose_escalations() -> Response:
    form = CandidatesForm()
    if not form.validate_on_submit():
        abort(400)
    created = triggers.escalation_candidates(_db(), current_actor())
    if created:
        flash(f"{len(created)} escalation(s) proposed; confirm or dismiss them below.", "success")
    else:
        flash("No new escalation is called for.", "info")
    return redirect(url_for("statements.escalations"))


# --------------------------------------------------------------------------- acceptances


@bp.route("/risks/<ref>/accept", methods=["GET", "POST"])
@requires(Permission.RISK_ACCEPT)
def accept(ref: str) -> Page:
    risk = _risk_or_404(ref)
    scales = policy.current_scales(_db())
    form = AcceptanceForm()
    status = 200
    if form.validate_on_submit():
        data = responses.AcceptanceInput(
            justification=form.justification.data or "",
            conditions=form.conditions.data or "",
            valid_until=form.valid_until.data or date.today(),
        )
        try:
            responses.record_acceptance(_db(), current_actor(), risk, data, scales=scales)
        except responses.NotAllowedError as exc:
            _db().rollback()
            return _not_allowed(exc)
        except RuleViolation as exc:
            _db().rollback()
            _field_error(form, exc)
            status = 422
        else:
            flash(f"{risk.ref} accepted above appetite until {data.valid_until:%d %b %Y}.", "success")
            return redirect(url_for("statements.accept", ref=risk.ref))
    elif request.method == "POST":
        status = 422
    assessment = risk.current_assessment
    level = responses.required_acceptance_level(scales, assessment.residual_score) if assessment is not None else None
    page = render_template(
        "statements/accept.html",
        risk=risk,
        assessment=assessment,
        level=level,
        may_decide=level is not None and responses.may_decide_at(current_actor(), level, risk),
        form=form,
        revoke_form=RevokeForm(formdata=None),
        acceptances=queries.acceptances_of(_db(), risk),
        escalations=queries.escalations_of(_db(), risk),
        latest=responses.add_months(date.today(), responses.ACCEPTANCE_MAX_MONTHS),
    )
    return (page, status) if status != 200 else page


@bp.route("/acceptances/<int:acceptance_id>/revoke", methods=["POST"])
@requires(Permission.RISK_ACCEPT)
def revoke(acceptance_id: int) -> Page:
    acceptance = _db().get(RiskAcceptance, acceptance_id)
    if acceptance is None:
        abort(404)
    risk = _risk_or_404(acceptance.risk.ref)
    form = RevokeForm()
    if not form.validate_on_submit():
        flash("Say why the acceptance is revoked.", "error")
        return redirect(url_for("statements.accept", ref=risk.ref))
    try:
        responses.revoke_acceptance(_db(), current_actor(), acceptance, form.reason.data or "")
    except responses.NotAllowedError as exc:
        _db().rollback()
        return _not_allowed(exc)
    except RuleViolation as exc:
        _db().rollback()
        flash(str(exc), "error")
    else:
        flash(f"Acceptance of {risk.ref} revoked.", "success")
    return redirect(url_for("statements.accept", ref=risk.ref))


# --------------------------------------------------------------------------- escalations


@bp.route("/escalations")
@requires(Permission.APPETITE_READ)
def escalations() -> str:
    view = request.args.get("view", "open")
    if view not in queries.ESCALATION_VIEWS:
        view = "open"
    items = queries.escalation_list(_db(), risk_scope(_user()), view)
    actor = current_actor()
    return render_template(
        "statements/escalations.html",
        items=items,
        view=view,
        views=queries.ESCALATION_VIEWS,
        may_confirm=lambda e: responses.may_confirm(actor, e.risk),
        may_decide=lambda e: responses.may_decide_at(actor, e.to_level, e.risk),
        is_coordinator=_user().role == Role.COORDINATOR,
        form=EscalationDecisionForm(formdata=None),
        ladder=list(EscalationLevel),
    )


@bp.route("/risks/<ref>/escalate", methods=["GET", "POST"])
@requires(Permission.ESCALATE)
def escalate(ref: str) -> Page:
    risk = _risk_or_404(ref)
    form = RaiseEscalationForm()
    held = responses.current_level(_db(), risk)
    form.to_level.choices = [
        SelectChoice(lv.value, lv.label)
        for lv in EscalationLevel
        if responses.LADDER.index(lv) > responses.LADDER.index(held)
    ]
    status = 200
    if form.validate_on_submit():
        try:
            responses.raise_escalation(
                _db(), current_actor(), risk, EscalationLevel(form.to_level.data), form.reason.data or ""
            )
        except responses.NotAllowedError as exc:
            _db().rollback()
            return _not_allowed(exc)
        except RuleViolation as exc:
            _db().rollback()
            _field_error(form, exc)
            status = 422
        else:
            flash(f"{risk.ref} escalated; it waits for the receiving level to accept.", "success")
            return redirect(url_for("statements.escalations"))
    elif request.method == "POST":
        status = 422
    page = render_template("statements/escalate.html", risk=risk, form=form, held=held)
    return (page, status) if status != 200 else page


@bp.route("/escalations/<int:escalation_id>/<decision>", methods=["POST"])
@requires(Permission.ESCALATE)
def decide(escalation_id: int, decision: str) -> Page:
    if decision not in DECISIONS:
        abort(404)
    escalation = (
        _db()
        .scalars(
            select(Escalation)
            .join(Risk, Risk.id == Escalation.risk_id)
            .where(Escalation.id == escalation_id, risk_scope(_user()))
        )
        .first()
    )
    if escalation is None:
        abort(404)
    form = EscalationDecisionForm()
    if not form.validate_on_submit() or form.version.data is None:
        flash("The form is incomplete; reload the page and try again.", "error")
        return redirect(url_for("statements.escalations"))
    actor, seen, reason = current_actor(), form.version.data, form.reason.data or ""
    try:
        if decision == "confirm":
            responses.confirm_escalation(_db(), actor, escalation, seen)
        elif decision == "accept":
            responses.accept_escalation(_db(), actor, escalation, seen)
        elif decision == "reject":
            responses.reject_escalation(_db(), actor, escalation, reason, seen)
        elif decision == "resolve":
            responses.resolve_escalation(_db(), actor, escalation, reason, seen)
        else:
            level = EscalationLevel(form.to_level.data) if form.to_level.data else None
            if level is None:
                raise RuleViolation("to_level", "Choose the level to escalate to.")
            responses.escalate_further(_db(), actor, escalation, level, reason, seen)
    except responses.NotAllowedError as exc:
        _db().rollback()
        return _not_allowed(exc)
    except StaleEdit:
        _db().rollback()
        text = (
            f"Escalation #{escalation_id} changed while you looked at it; nothing was saved. Reload and decide again."
        )
        return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409
    except RuleViolation as exc:
        _db().rollback()
        flash(str(exc), "error")
        return redirect(url_for("statements.escalations"))
    flash(f"Escalation #{escalation_id} of {escalation.risk.ref}: {decision} recorded.", "success")
    return redirect(url_for("statements.escalations"))
