"""Pages of the recommendations: register, summary, a recommendation with its history, status update, risk links.

Out-of-scope recommendations answer 404 (a focal point cannot learn another unit's exist), like risks.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from riskreg.access import Permission, has_permission, requires, risk_scope, sees_all_units
from riskreg.extensions import db
from riskreg.models import Recommendation, RecStatus, Risk, User
from riskreg.oversight import bp, operations, queries
from riskreg.oversight.forms import LinksForm, RegisterFilterForm, StatusForm, SummaryForm
from riskreg.oversight.summary import STATUS_LABELS, TYPE_LABELS
from riskreg.review.forms import options
from riskreg.web import current_actor, signed_in_user


def db_session() -> Session:
    return cast(Session, db.session)


@bp.app_template_global("recommendations_for_risk")
def recommendations_for_risk(risk_id: int) -> list[Recommendation]:
    """For the risk page: the recommendations addressing it that the reader may see."""
    user = signed_in_user()
    if not has_permission(user, Permission.OVERSIGHT_READ):
        return []
    return queries.for_risk(db_session(), user, risk_id)


@bp.app_template_global("oversight_standing")
def oversight_standing() -> queries.Standing | None:
    """For the task force review page: its standing section, or None for a reader without access."""
    user = signed_in_user()
    if not has_permission(user, Permission.OVERSIGHT_READ):
        return None
    return queries.standing(db_session(), user, date.today())


@bp.app_context_processor
def _oversight_labels() -> dict[str, Any]:
    return {"oversight_status_labels": STATUS_LABELS, "oversight_type_labels": TYPE_LABELS}


def _found(rec_id: int) -> Recommendation:
    rec = queries.get(db_session(), signed_in_user(), rec_id)
    if rec is None:
        abort(404)
    return rec


# --------------------------------------------------------------------------- register


@bp.get("/")
@requires(Permission.OVERSIGHT_READ)
def index() -> str:
    session, user = db_session(), signed_in_user()
    bodies, reports, units = queries.choices(session, user)
    form = RegisterFilterForm(formdata=request.args)
    form.body.choices = options([("", "All bodies")] + [(c, f"{c} — {n}") for c, n in bodies])
    form.report.choices = options([("", "All reports")] + [(s, s) for s in reports])
    form.unit.choices = options([("", "All units")] + [(c, f"{c} — {n}") for c, n in units])
    form.validate()
    # A filter value that is not one of the options is ignored (and shown as such), never an error page.
    # Optional() lets blank-looking values ("  ") through unchecked against the choices: they mean "all" too.
    clean = {
        name: (f.data.strip() if isinstance(f.data, str) and not f.errors else "") for name, f in form._fields.items()
    }
    filters = queries.Filters(
        body=clean["body"] or "",
        report=clean["report"] or "",
        rec_type=clean["rec_type"] or "",
        status=clean["status"] or "",
        unit=clean["unit"] or "",
        overdue=clean["overdue"] == "1",
    )
    today = date.today()
    recs = queries.register(session, user, filters, today)
    summary = queries.summary_of([_as_counted(r) for r in recs])
    return render_template(
        "oversight/index.html", form=form, recs=recs, summary=summary, today=today, all_units=sees_all_units(user)
    )


def _as_counted(rec: Recommendation) -> queries.Counted:
    body = rec.report.body
    return queries.Counted(rec.id, body.code, body.name, rec.report.symbol, rec.rec_type, rec.status)


# --------------------------------------------------------------------------- summary


@bp.get("/summary")
@requires(Permission.OVERSIGHT_READ)
def summary() -> str:
    session, user = db_session(), signed_in_user()
    form = SummaryForm(formdata=request.args)
    as_at = form.as_at.data if form.validate() else None
    if as_at is not None and as_at > date.today():
        form.as_at.errors = ["Choose today or a past date."]
        as_at = None
    rows = queries.counted(session, user, as_at)
    previous = queries.previous_cycle(session)
    movement = None
    if previous is not None and as_at is None:
        before = queries.counted(session, user, previous.period_end)
        movement = (previous, queries.summary_of(before))
    return render_template(
        "oversight/summary.html",
        form=form,
        as_at=as_at,
        overall=queries.summary_of(rows),
        reports=queries.by_report(rows),
        bodies=queries.by_body(rows),
        movement=movement,
    )


# --------------------------------------------------------------------------- one recommendation


@bp.get("/<int:rec_id>")
@requires(Permission.OVERSIGHT_READ)
def detail(rec_id: int) -> Any:
    rec = _found(rec_id)
    session, user = db_session(), signed_in_user()
    links = LinksForm(version=rec.version, refs=", ".join(r.ref for r in queries.linked_risks(session, user, rec.id)))
    return _detail_page(rec, links_form=links)


def _detail_page(rec: Recommendation, *, links_form: LinksForm | None = None, code: int = 200) -> Any:
    session, user = db_session(), signed_in_user()
    return (
        render_template(
            "oversight/detail.html",
            rec=rec,
            history=queries.history(session, rec.id),
            risks=queries.linked_risks(session, user, rec.id),
            may_update=queries.may_update(user, rec),
            may_link=has_permission(user, Permission.OVERSIGHT_MANAGE),
            links_form=links_form,
            overdue=bool(rec.target_date and rec.target_date < date.today() and rec.status.is_open),
        ),
        code,
    )


@bp.route("/<int:rec_id>/status", methods=["GET", "POST"])
@requires(Permission.OVERSIGHT_UPDATE)
def update_status(rec_id: int) -> Any:
    rec = _found(rec_id)
    user = signed_in_user()
    if not queries.may_update(user, rec):
        abort(404)
    form = StatusForm(status=rec.status.value, version=rec.version, target_date=rec.target_date)
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("oversight/status.html", rec=rec, form=form), 200 if request.method == "GET" else 400
    try:
        version = int(form.version.data or 0)
    except ValueError:
        abort(400)
    update = operations.StatusUpdate(
        status=RecStatus(form.status.data),
        reason=form.reason.data or "",
        evidence=form.evidence.data or "",
        target_date=form.target_date.data,
    )
    try:
        operations.update_status(db_session(), current_actor(), rec, version, update)
    except operations.OversightError as exc:
        db_session().rollback()
        form.evidence.errors = [str(exc)] if "evidence" in str(exc) else []
        if not form.evidence.errors:
            form.status.errors = [str(exc)]
        return render_template("oversight/status.html", rec=rec, form=form), 400
    except (operations.StaleEdit, StaleDataError):
        db_session().rollback()
        text = "Someone else updated this recommendation while you were editing. Reload it; nothing was saved."
        return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409
    flash(f"Recommendation {rec.report.symbol} {rec.number} is now {STATUS_LABELS[rec.status].lower()}.", "success")
    return redirect(url_for("oversight.detail", rec_id=rec.id))


@bp.post("/<int:rec_id>/risks")
@requires(Permission.OVERSIGHT_MANAGE)
def link_risks(rec_id: int) -> BaseResponse | tuple[Any, int]:
    rec = _found(rec_id)
    form = LinksForm()
    if not form.validate_on_submit():
        return cast(tuple[Any, int], _detail_page(rec, links_form=form, code=400))
    refs = [r.strip() for r in (form.refs.data or "").split(",") if r.strip()]
    user: User = signed_in_user()
    stmt = select(Risk.ref, Risk.id).where(Risk.ref.in_(refs), risk_scope(user))
    found: dict[str, int] = {ref: id_ for ref, id_ in db_session().execute(stmt)}
    unknown = [r for r in refs if r not in found]
    if unknown:
        form.refs.errors = [f"No risk {unknown[0]} in the register."]
        return cast(tuple[Any, int], _detail_page(rec, links_form=form, code=400))
    operations.set_risk_links(db_session(), current_actor(), rec, found.values())
    flash("The risks addressed were saved.", "success")
    return redirect(url_for("oversight.detail", rec_id=rec.id))
