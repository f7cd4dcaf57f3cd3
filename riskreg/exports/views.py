"""The exports page: choose a cycle and audience, download the Council workbook, see the export history."""

from __future__ import annotations

from typing import Any, cast

from flask import redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from riskreg import jobs
from riskreg.access import Permission, requires
from riskreg.exports import bp, operations
from riskreg.exports.forms import ExportForm
from riskreg.exports.selection import council_selection
from riskreg.extensions import db
from riskreg.models import ExportRun, Job, ReviewCycle, User
from riskreg.review.forms import options
from riskreg.web import current_actor

HISTORY_LIMIT = 50


def db_session() -> Session:
    # Flask-SQLAlchemy's scoped session proxies a Session; typed as one for the operations' signatures.
    return cast(Session, db.session)


def _form() -> ExportForm:
    cycles = operations.closed_cycles(db_session())
    form = ExportForm(cycle=cycles[0].code if cycles else operations.NOW, prepared_by=_default_prepared_by())
    choices = [(c.code, f"{c.code} (closed)") for c in cycles]
    form.cycle.choices = options([*choices, (operations.NOW, "Now: the live register (DRAFT)")])
    return form


def _default_prepared_by() -> str:
    unit = cast(User, current_user).org_unit
    return unit.name if unit is not None else operations.DEFAULT_PREPARED_BY


def history(limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The latest export runs with the cycle code and the person's name (the page, not the workbook, names people)."""
    rows = db_session().execute(
        select(ExportRun, ReviewCycle.code, User.name)
        .outerjoin(ReviewCycle, ReviewCycle.id == ExportRun.review_cycle_id)
        .outerjoin(User, User.id == ExportRun.generated_by_id)
        .order_by(ExportRun.generated_at.desc(), ExportRun.id.desc())
        .limit(limit)
    )
    return [{"run": run, "cycle": code, "who": name} for run, code, name in rows]


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.EXPORT_COUNCIL)
def index() -> BaseResponse | tuple[str, int]:
    form = _form()
    if request.method == "POST":
        if form.validate():
            # Built by a background job (a 100,000-risk workbook takes a minute): its page shows the progress,
            # then the file, kept EXPORT_KEEP_HOURS and listed below with the export history.
            payload = {
                "cycle": form.cycle.data or "",
                "audience": form.audience.data or "",
                "symbol": form.symbol.data or "",
                "annex": form.annex.data or "",
                "classification": form.classification.data or "",
                "prepared_by": form.prepared_by.data or "",
            }
            job_id = jobs.submit(db_session(), current_actor(), "export", payload)
            return redirect(url_for("jobs.show", job_id=job_id), 303)
        return _page(form, 400)
    return _page(form, 200)


def _page(form: ExportForm, status: int) -> tuple[str, int]:
    # The audience hint names what the Council file keeps, counted for the cycle chosen (selection.py).
    try:
        chosen = operations.find_cycle(db_session(), form.cycle.data or "")
    except operations.ExportError:
        chosen = None  # an unknown choice was posted; the form says so, the hint gives the rule alone
    return render_template(
        "exports/index.html",
        form=form,
        runs=history(),
        kept=kept_exports(),
        audiences=operations.AUDIENCES,
        selection=council_selection(db_session(), chosen),
    ), status


def kept_exports(limit: int = HISTORY_LIMIT) -> list[Job]:
    """Export jobs of the last days, newest first: the finished ones' files can be downloaded while kept."""
    query = select(Job).where(Job.kind == "export").order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list(db_session().scalars(query))
