"""Pages of the review: the task force heatmap and agenda, heatmap cells, images, cycles, decisions, minutes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from riskreg import heatmap
from riskreg.access import Permission, has_permission, requires, sees_all_units
from riskreg.audit import Actor
from riskreg.extensions import db
from riskreg.models import (
    AuditEvent,
    CycleSnapshot,
    CycleStatus,
    Decision,
    OrgUnit,
    ReviewCycle,
    Risk,
    RiskCategory,
    TaskForceDecision,
    User,
)
from riskreg.review import agenda, bp, effects, heatcache, operations, page, queries
from riskreg.review.forms import (
    AddendumForm,
    CellForm,
    CycleForm,
    CycleStepForm,
    DecisionForm,
    NarrativeForm,
    ReviewFilterForm,
    options,
)
from riskreg.risks.operations import StaleEdit
from riskreg.web import current_actor, signed_in_user


def db_session() -> Session:
    # Flask-SQLAlchemy's scoped session proxies a Session; typed as one for the operations' signatures.
    return cast(Session, db.session)


IMMUTABLE = "private, max-age=31536000, immutable"
MIMETYPES = {"png": "image/png", "svg": "image/svg+xml"}
_HASH = re.compile(r"^[0-9a-f]{64}$")
LIST_LIMIT = 300  # rows on the cycle page's review list

FormT = TypeVar("FormT", bound=ReviewFilterForm)
T = TypeVar("T")


@bp.context_processor
def _review_globals() -> dict[str, Any]:
    return {
        "risk_url": risk_url,
        "status_labels": queries.STATUS_LABELS,
        "kind_labels": queries.KIND_LABELS,
        # The review page's help and the decision form say what each decision does (riskreg/review/effects.py).
        "decision_effects": [(d.value, d.label, effects.DESCRIPTIONS[d]) for d in Decision],
    }


def risk_url(ref: str) -> str:
    """The register's page of a risk (/risks/<ref>), where its task force decisions are listed too."""
    return url_for("risks.detail", ref=ref)


# --------------------------------------------------------------------------- the review page


def _filter_form(form_class: type[FormT], default_cycle: str | None) -> FormT:
    form = form_class(formdata=request.args, cycle=default_cycle)
    form.cycle.choices = options(
        (c.code, f"{c.code} · {queries.STATUS_LABELS[c.status]}") for c in queries.cycles(db_session())
    )
    units = db_session().execute(select(OrgUnit.code, OrgUnit.name).order_by(OrgUnit.code)).all()
    form.unit.choices = options([("", "All units")] + [(code, f"{code} — {name}") for code, name in units])
    categories = (
        db_session()
        .execute(select(RiskCategory.code, RiskCategory.name).order_by(RiskCategory.sort_order, RiskCategory.code))
        .all()
    )
    named = [(code, f"{code} — {name}") for code, name in categories]
    form.category.choices = options([("", "All categories"), *named])
    form.overlay.choices = options([("", "None"), *named])
    return form


def _review_request(form: ReviewFilterForm) -> queries.ReviewRequest:
    unit = form.unit.data or ""
    if not sees_all_units(cast(User, current_user)):
        unit = current_user.org_unit.code if current_user.org_unit else "-"
    return queries.ReviewRequest(
        cycle=form.cycle.data or "",
        filters=queries.HeatFilters(
            unit=unit, category=form.category.data or "", zone=form.zone.data or "", nature=form.nature.data
        ),
        options=queries.HeatOptions(
            kind=form.kind.data,
            arrows=form.arrows.data == "1",
            overlay=form.overlay.data or "",
            palette=form.palette.data,
        ),
    )


def _load_facts(review: queries.ReviewRequest) -> tuple[page.Register, queries.HeatmapView]:
    cycle = queries.cycle_by_code(db_session(), review.cycle)
    queries.check_codes(db_session(), review)
    register = page.load_register(db_session(), cycle)
    return register, page.build_heatmap(register, review, current_app.config["ORGANISATION_SHORT"])


@bp.route("/")
@requires(Permission.REVIEW_READ)
def index() -> BaseResponse | str:
    default = queries.default_cycle(db_session())
    if default is None:
        return render_template("review/empty.html")
    form = _filter_form(ReviewFilterForm, default.code)
    if not form.validate():
        flash("Those review choices are not available; showing the default view.", "warning")
        return redirect(url_for("review.index"))
    review = _review_request(form)
    try:
        found = queries.cycle_by_code(db_session(), review.cycle)
        queries.check_codes(db_session(), review)
        # Computed from a dozen columns per risk, not from every row (riskreg/review/page.py).
        shown = page.review_page(db_session(), found, review, current_app.config["ORGANISATION_SHORT"])
    except queries.ReviewError:
        abort(404)
    data = shown.register.data
    on_agenda = {item.row.ref for section in shown.agenda for item in section.items}
    entries = agenda.decisions(db_session(), data.cycle, refs=on_agenda)
    return render_template(
        "review/index.html",
        form=form,
        review=review,
        data=data,
        view=shown.view,
        scales=data.scales,
        summary=shown.summary,
        agenda=shown.agenda,
        decided=agenda.decisions_by_ref(entries),
        decision_count=agenda.decision_count(db_session(), data.cycle),
        image_args=review.args(),
        cell_args=review.filter_args(),
        zone_grid=queries.overlay_zones(data, review.options.overlay),
    )


@bp.route("/heatmap/<key>.<any(png, svg):fmt>")
@requires(Permission.REVIEW_READ)
def heatmap_image(key: str, fmt: str) -> BaseResponse:
    """The image, by the hash of its inputs: served from the shared cache, or drawn once and stored."""
    if not _HASH.match(key):
        abort(404)
    if request.if_none_match.contains_weak(key):
        return _image_headers(Response(status=304), key)
    cache = heatcache.cache_for(current_app)
    body = cache.get(key, fmt)
    hit = body is not None
    if body is None:
        form = _filter_form(ReviewFilterForm, None)
        if not form.validate():
            abort(404)
        review = _review_request(form)
        try:
            _register, view = _load_facts(review)
        except queries.ReviewError:
            abort(404)
        if view.key != key:
            # The register (of an open cycle) changed since the page was drawn, or the URL was edited.
            args: dict[str, Any] = review.args()
            return redirect(url_for("review.heatmap_image", key=view.key, fmt=fmt, **args))
        body = heatmap.render_png(view.spec) if fmt == "png" else heatmap.render_svg(view.spec)
        cache.put(key, fmt, body)
    response = Response(body, mimetype=MIMETYPES[fmt])
    response.headers["X-Heatmap-Cache"] = "hit" if hit else "miss"
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f'attachment; filename="heatmap-{key[:12]}.{fmt}"'
    return _image_headers(response, key)


def _image_headers(response: Response, key: str) -> Response:
    response.set_etag(key)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


@bp.route("/cell")
@requires(Permission.REVIEW_READ)
def cell() -> str:
    """Exactly the risks counted in one heatmap cell."""
    form = _filter_form(CellForm, None)
    if not form.validate():
        abort(404)
    review = _review_request(form)
    try:
        register, view = _load_facts(review)
        listed = page.cell_rows(db_session(), register, view, form.l.data or 0, form.i.data or 0, form.page.data or 1)
    except queries.ReviewError:
        abort(404)
    likelihood, impact = form.l.data or 0, form.i.data or 0
    data = register.data
    return render_template(
        "review/cell.html",
        review=review,
        data=data,
        rows=listed.rows,
        listed=listed,
        cell_args={**review.filter_args(), "l": str(likelihood), "i": str(impact)},
        moves=page.moves_of(db_session(), register, listed.rows),
        likelihood=data.scales.likelihood_level(likelihood),
        impact=data.scales.impact_level(impact),
        band=data.scales.band_at(likelihood, impact),
        back_args=review.args(),
    )


# --------------------------------------------------------------------------- cycles


@bp.route("/cycles")
@requires(Permission.REVIEW_READ)
def cycles() -> str:
    snapshots = {
        cycle_id: (count, content_hash)
        for cycle_id, count, content_hash in db_session().execute(
            select(CycleSnapshot.review_cycle_id, CycleSnapshot.risk_count, CycleSnapshot.content_hash)
        )
    }
    decisions = dict(
        db_session()
        .execute(select(TaskForceDecision.review_cycle_id, func.count()).group_by(TaskForceDecision.review_cycle_id))
        .all()
    )
    return render_template(
        "review/cycles.html", cycles=queries.cycles(db_session()), snapshots=snapshots, decisions=decisions
    )


@bp.route("/cycles/new", methods=["GET", "POST"])
@requires(Permission.CYCLE_MANAGE)
def cycle_new() -> BaseResponse | str:
    form = CycleForm()
    if form.validate_on_submit():
        data = operations.CycleInput(
            code=(form.code.data or "").strip(),
            period_start=form.period_start.data or date.today(),
            period_end=form.period_end.data or date.today(),
            submission_deadline=form.submission_deadline.data,
            taskforce_meeting_on=form.taskforce_meeting_on.data,
            target_session=(form.target_session.data or "").strip(),
        )
        try:
            cycle = operations.open_cycle(db_session(), current_actor(), data)
        except operations.CycleError as exc:
            db_session().rollback()
            target = form.period_end if "period" in str(exc) else form.code
            target.errors = [str(exc)]
        else:
            flash(f"Cycle {cycle.code} is open. Below: the risks to review in it.", "success")
            return redirect(url_for("review.cycle", code=cycle.code))
    return render_template("review/cycle_form.html", form=form)


def _cycle_or_404(code: str) -> ReviewCycle:
    try:
        return queries.cycle_by_code(db_session(), code)
    except queries.ReviewError:
        abort(404)


@bp.route("/cycles/<code>")
@requires(Permission.REVIEW_READ)
def cycle(code: str) -> str:
    found = _cycle_or_404(code)
    return _render_cycle(found)


def _render_cycle(
    found: ReviewCycle,
    narrative: NarrativeForm | None = None,
    step: CycleStepForm | None = None,
    *,
    early: list[str] | None = None,
    addendum: AddendumForm | None = None,
) -> str:
    register = page.load_register(db_session(), found)  # from facts: no row built for the whole register
    data = register.data
    if narrative is None:
        narrative = NarrativeForm(formdata=None, version=str(found.version), narrative=found.narrative)
    snapshot = db_session().scalars(select(CycleSnapshot).where(CycleSnapshot.review_cycle_id == found.id)).first()
    return render_template(
        "review/cycle.html",
        cycle=found,
        data=data,
        lists=page.opening_lists(db_session(), register, LIST_LIMIT),
        limit=LIST_LIMIT,
        snapshot=snapshot,
        narrative_form=narrative,
        step_form=step or CycleStepForm(formdata=None, version=str(found.version)),
        can_manage=has_permission(cast(User, current_user), Permission.CYCLE_MANAGE),
        period=queries.period_text(found),
        early=early if early is not None else operations.not_yet_due(found, date.today()),
        addenda=agenda.addenda(db_session(), found),
        addendum_form=addendum or AddendumForm(formdata=None),
        may_amend=has_permission(cast(User, current_user), Permission.CYCLE_AMEND),
    )


def _conflict(found: ReviewCycle, what: str, yours: str) -> tuple[str, int]:
    db_session().rollback()
    db_session().refresh(found)
    last = (
        db_session()
        .scalars(
            select(AuditEvent)
            .where(AuditEvent.entity == "review_cycle", AuditEvent.entity_id == found.code)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
        .first()
    )
    return render_template("review/conflict.html", cycle=found, what=what, yours=yours, last=last), 409


@bp.route("/cycles/<code>/narrative", methods=["POST"])
@requires(Permission.CYCLE_MANAGE)
def cycle_narrative(code: str) -> BaseResponse | str | tuple[str, int]:
    found = _cycle_or_404(code)
    form = NarrativeForm()
    if found.status == CycleStatus.CLOSED:
        return _closed(operations.CycleClosedError(found, "its narrative"))
    if not form.validate_on_submit() or not (form.version.data or "").isdecimal():
        return _render_cycle(found, narrative=form)
    try:
        operations.set_narrative(
            db_session(), current_actor(), found, form.narrative.data or "", int(form.version.data or 0)
        )
    except StaleEdit:
        return _conflict(found, "the narrative", form.narrative.data or "")
    except operations.CycleClosedError as exc:
        return _closed(exc)
    except operations.CycleError as exc:
        db_session().rollback()
        form.narrative.errors = [str(exc)]
        return _render_cycle(found, narrative=form)
    flash("Narrative saved.", "success")
    return redirect(url_for("review.cycle", code=found.code))


def _step_form() -> CycleStepForm:
    form = CycleStepForm()
    if not form.validate_on_submit() or not (form.version.data or "").isdecimal():
        abort(400)
    return form


def _cycle_step(
    found: ReviewCycle,
    form: CycleStepForm,
    step: Callable[[Session, Actor, ReviewCycle, int], T],
    *,
    yours: str,
    success: Callable[[T], str],
) -> BaseResponse | tuple[str, int]:
    """Move the cycle's status on: a refused move flashes why, a stale version answers with the conflict page."""
    try:
        result = step(db_session(), current_actor(), found, int(form.version.data or 0))
    except StaleEdit:
        return _conflict(found, "the cycle's status", yours)
    except operations.CycleClosedError as exc:
        return _closed(exc)
    except operations.CycleError as exc:
        db_session().rollback()
        flash(str(exc), "error")
    else:
        flash(success(result), "success")
    return redirect(url_for("review.cycle", code=found.code))


@bp.route("/cycles/<code>/taskforce-review", methods=["POST"])
@requires(Permission.CYCLE_MANAGE)
def cycle_review(code: str) -> BaseResponse | str | tuple[str, int]:
    found = _cycle_or_404(code)
    form = _step_form()
    return _cycle_step(
        found,
        form,
        operations.start_taskforce_review,
        yours="Move to task force review",
        success=lambda _: f"Cycle {found.code} is now under task force review.",
    )


@bp.route("/cycles/<code>/close", methods=["POST"])
@requires(Permission.CYCLE_MANAGE)
def cycle_close(code: str) -> BaseResponse | str | tuple[str, int]:
    found = _cycle_or_404(code)
    form = _step_form()
    if found.status == CycleStatus.CLOSED:
        return _closed(operations.CycleClosedError(found, "its status"))
    if not form.confirm.data:
        form.confirm.errors = ["Tick the box to confirm that the register is frozen for this cycle."]
        return _render_cycle(found, step=form)
    try:
        frozen = operations.close_cycle(
            db_session(),
            current_actor(),
            found,
            int(form.version.data or 0),
            confirmed_early=bool(form.confirm_early.data),
        )
    except StaleEdit:
        return _conflict(found, "the cycle's status", "Close the cycle")
    except operations.CycleNotDueError as exc:
        # Asked, not refused: the page comes back with the dates and a second box to tick.
        db_session().rollback()
        form.confirm_early.errors = [str(exc)]
        return _render_cycle(found, step=form, early=exc.pending)
    except operations.CycleError as exc:
        db_session().rollback()
        form.confirm.errors = [str(exc)]
        return _render_cycle(found, step=form)
    flash(f"Cycle {found.code} is closed: {frozen.risk_count} risks frozen.", "success")
    return redirect(url_for("review.cycle", code=found.code))


@bp.route("/cycles/<code>/addenda", methods=["POST"])
@requires(Permission.CYCLE_AMEND)
def addendum(code: str) -> BaseResponse | str:
    """A dated, signed correction appended to a closed cycle's minutes."""
    found = _cycle_or_404(code)
    form = AddendumForm()
    if found.status != CycleStatus.CLOSED:
        # An open cycle has no addenda section: its record is still corrected directly.
        flash(f"Cycle {found.code} is not closed: correct its record directly; addenda follow a closing.", "error")
        return redirect(url_for("review.cycle", code=found.code))
    if not form.validate_on_submit():
        return _render_cycle(found, addendum=form)
    try:
        added = operations.add_addendum(db_session(), current_actor(), found, form.text.data or "", signed_in_user())
    except operations.CycleError as exc:
        db_session().rollback()
        form.text.errors = [str(exc)]
        return _render_cycle(found, addendum=form)
    flash(f"Addendum {added.number} appended to the minutes of {found.code}.", "success")
    return redirect(url_for("review.cycle", code=found.code) + "#addenda")


def _closed(exc: operations.CycleClosedError) -> tuple[str, int]:
    """409: the cycle is closed. Says why, and where a correction goes instead."""
    db_session().rollback()
    may_amend = has_permission(cast(User, current_user), Permission.CYCLE_AMEND)
    return render_template("review/closed.html", cycle=exc.cycle, message=str(exc), may_amend=may_amend), 409


# --------------------------------------------------------------------------- decisions and minutes


@bp.route("/cycles/<code>/decide/<ref>", methods=["GET", "POST"])
@requires(Permission.REVIEW_DECIDE)
def decide(code: str, ref: str) -> BaseResponse | str | tuple[str, int]:
    found = _cycle_or_404(code)
    if found.status == CycleStatus.CLOSED:
        return _closed(operations.CycleClosedError(found, "its decisions"))
    risk = db_session().scalars(select(Risk).where(Risk.ref == ref, Risk.deleted_at.is_(None))).first()
    if risk is None:
        abort(404)
    row, move = agenda.risk_in_cycle(db_session(), found, risk)
    if row is None:
        abort(404)
    form = DecisionForm()
    # The example follows the references already in the minutes, so it matches the format in use.
    form.minute_ref.description = f"Where the minutes record it, e.g. {agenda.minute_ref_example(db_session(), found)}."
    if request.method == "GET":
        meeting = found.taskforce_meeting_on
        form.decided_on.data = meeting if meeting and found.period_start <= meeting <= date.today() else date.today()
    if form.validate_on_submit():
        data = operations.DecisionInput(
            decision=Decision(form.decision.data),
            comment=form.comment.data or "",
            minute_ref=form.minute_ref.data or "",
            decided_on=form.decided_on.data,
            effect=effects.EffectInput(
                merge_into=form.merge_into.data or "",
                accept_until=form.accept_until.data,
                accept_conditions=form.accept_conditions.data or "",
            ),
        )
        try:
            recorded = operations.record_decision(db_session(), current_actor(), found, risk, data)
        except operations.CycleClosedError as exc:
            return _closed(exc)
        except DBAPIError:
            # The cycle closed between the check and the insert: the database's trigger refused the row.
            db_session().rollback()
            stored = db_session().scalar(select(ReviewCycle.status).where(ReviewCycle.id == found.id))
            if stored != CycleStatus.CLOSED:
                raise
            db_session().refresh(found)
            return _closed(operations.CycleClosedError(found, "its decisions"))
        except operations.CycleError as exc:
            db_session().rollback()
            target = form.decided_on if "decision date" in str(exc) else form.comment
            field = exc.field if isinstance(exc, operations.DecisionRefused) else ""
            named = getattr(form, field, None) if field and field != "decision" else None
            if named is not None and hasattr(named, "errors"):
                target = named
            target.errors = [str(exc)]
        else:
            # Shown beside the agenda the page returns to (base.html leaves "decided" messages to the page).
            flash(f"Decision on {risk.ref} recorded: {data.decision.label}. {recorded.effect}.", "decided")
            return redirect(_back_to_review(found.code))
    return render_template(
        "review/decide.html",
        cycle=found,
        row=row,
        move=move,
        form=form,
        earlier=agenda.decisions(db_session(), found, risk.ref),
        back=_back_to_review(found.code),
    )


def _back_to_review(code: str) -> str:
    """The review page the user came from (same filters), else the cycle's review page; at the decision notice."""
    target = request.args.get("next", "").partition("#")[0]
    if target.startswith("/review/") and not target.startswith("//") and "\\" not in target:
        return target + "#decided"
    return url_for("review.index", cycle=code) + "#decided"


@bp.route("/cycles/<code>/minutes")
@requires(Permission.REVIEW_READ)
def minutes(code: str) -> str:
    found = _cycle_or_404(code)
    entries = agenda.decisions(db_session(), found)
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.decision_label] = counts.get(entry.decision_label, 0) + 1
    snapshot = db_session().scalars(select(CycleSnapshot).where(CycleSnapshot.review_cycle_id == found.id)).first()
    return render_template(
        "review/minutes.html",
        cycle=found,
        entries=entries,
        counts=counts,
        snapshot=snapshot,
        period=queries.period_text(found),
        frozen=found.status == CycleStatus.CLOSED,
        addenda=agenda.addenda(db_session(), found),
    )
