"""Pages of the statement itself: the version in force, versions, comparison, drafting, endorsement, what-if.

Thin: parse the form, call an operation, render or redirect. An endorsed or superseded version offers no
edit, and a request to change one answers 409 with the reason (the operations refuse it too, and so
does the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from riskreg import appetite, policy
from riskreg.access import Permission, requires, risk_scope
from riskreg.appetite import Zone
from riskreg.extensions import db
from riskreg.models import AppetiteStatement, StatementStatus, User
from riskreg.risks.operations import RuleViolation, StaleEdit
from riskreg.scoring import Scales
from riskreg.statements import bp, operations, queries
from riskreg.statements.forms import DraftForm, EndorseForm, NewDraftForm, VersionOnlyForm, WithdrawForm
from riskreg.web import current_actor

Page = Response | str | tuple[str, int]


@dataclass(frozen=True)
class GridCell:
    likelihood: int
    impact: int
    score: int
    zone: Zone


@dataclass(frozen=True)
class CategoryView:
    """One category of a statement as the page shows it: its appetite and its 5×5 zone grid."""

    code: str
    name: str
    appetite: appetite.CategoryAppetite
    grid: list[tuple[int, str, list[GridCell]]]


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _db() -> Session:
    # Flask-SQLAlchemy's scoped session stands in for a Session; the operations are typed against Session.
    return cast(Session, db.session)


def _category_views(statement: appetite.Statement, scales: Scales) -> list[CategoryView]:
    names = {c.code: c.name for c in queries.categories_in_order(_db())}
    order = [code for code in names if code in statement.categories]
    order += [code for code in statement.categories if code not in names]
    views = []
    for code in order:
        ca = statement.categories[code]
        zones = appetite.zone_grid(ca, scales)
        grid = []
        for row_index, row in enumerate(zones):
            likelihood = scales.max_likelihood - row_index
            cells = [GridCell(likelihood, im, likelihood * im, zone) for im, zone in enumerate(row, start=1)]
            grid.append((likelihood, scales.likelihood_level(likelihood).label, cells))
        views.append(CategoryView(code, names.get(code, code), ca, grid))
    return views


def _statement_or_404(version: str) -> AppetiteStatement:
    statement = operations.get_version(_db(), version)
    if statement is None:
        abort(404)
    return statement


def _locked(message: str) -> tuple[str, int]:
    return render_template("errors/error.html", code=409, title="This version cannot be changed", text=message), 409


def _stale(statement: AppetiteStatement) -> tuple[str, int]:
    event = queries.last_change(_db(), statement)
    who = f" by {event.actor_email} at {event.at:%d %b %Y %H:%M} UTC" if event else ""
    text = (
        f"Version {statement.version} was changed{who} while you were working on it; nothing was saved. "
        "Open it again to see the change, then repeat your action."
    )
    return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409


# --------------------------------------------------------------------------- reading


@bp.route("/")
@requires(Permission.APPETITE_READ)
def index() -> str:
    statement = policy.statement_in_force(_db(), date.today())
    return _render_statement(statement, in_force=True)


@bp.route("/versions/<version>")
@requires(Permission.APPETITE_READ)
def show(version: str) -> str:
    return _render_statement(_statement_or_404(version), in_force=False)


def _render_statement(statement: AppetiteStatement | None, *, in_force: bool) -> str:
    scales = policy.current_scales(_db())
    pure = policy.to_pure(statement) if statement else None
    return render_template(
        "statements/index.html",
        statement=statement,
        pure=pure,
        in_force=in_force,
        categories=_category_views(pure, scales) if pure else [],
        scales=scales,
        version_form=VersionOnlyForm(),
    )


@bp.route("/versions")
@requires(Permission.APPETITE_READ)
def versions() -> str:
    in_force = policy.statement_in_force(_db(), date.today())
    return render_template(
        "statements/versions.html",
        statements=queries.all_versions(_db()),
        in_force_id=in_force.id if in_force else None,
    )


@bp.route("/compare")
@requires(Permission.APPETITE_READ)
def compare() -> str:
    all_versions = queries.all_versions(_db())
    in_force = policy.statement_in_force(_db(), date.today())
    default_b = in_force.version if in_force else ""
    default_a = in_force.supersedes.version if in_force and in_force.supersedes else ""
    a_version = request.args.get("a", default_a)[:20]
    b_version = request.args.get("b", default_b)[:20]
    before = operations.get_version(_db(), a_version) if a_version else None
    after = operations.get_version(_db(), b_version) if b_version else None
    changes: list[appetite.CategoryChange] = []
    if before is not None and after is not None:
        order = [c.code for c in queries.categories_in_order(_db())]
        changes = appetite.compare(policy.to_pure(before), policy.to_pure(after), order)
    names = {c.code: c.name for c in queries.categories_in_order(_db())}
    return render_template(
        "statements/compare.html",
        versions=all_versions,
        before=before,
        after=after,
        a=a_version,
        b=b_version,
        changes=changes,
        names=names,
    )


# --------------------------------------------------------------------------- drafting


@bp.route("/drafts/new", methods=["GET", "POST"])
@requires(Permission.APPETITE_DRAFT)
def new_draft() -> Page:
    form = NewDraftForm()
    in_force = policy.statement_in_force(_db(), date.today())
    if form.validate_on_submit():
        try:
            draft = operations.create_draft(_db(), current_actor(), form.version.data or "")
        except RuleViolation as exc:
            _db().rollback()
            form.version.errors = [str(exc)]
        else:
            flash(f"Draft {draft.version} created as a copy of {in_force.version if in_force else 'the statement'}.")
            return redirect(url_for("statements.edit", version=draft.version))
    return render_template("statements/new_draft.html", form=form, in_force=in_force)


def _draft_form(statement: AppetiteStatement, scales: Scales) -> DraftForm:
    form = DraftForm()
    if request.method == "GET":
        form.lock_version.data = statement.lock_version
        form.title.data = statement.title
        form.preamble.data = statement.preamble
        form.overall.data = statement.overall_statement
        form.review_due_on.data = statement.review_due_on
        for ca in sorted(statement.categories, key=lambda c: (c.category.sort_order, c.category.code)):
            form.categories.append_entry(
                {
                    "code": ca.category.code,
                    "level": ca.level.value,
                    "appetite_max": ca.appetite_max,
                    "tolerance_max": ca.tolerance_max,
                    "zero_tolerance": ca.zero_tolerance,
                    "max_impact": ca.max_impact,
                    "narrative": ca.narrative,
                }
            )
    for entry in form.categories:
        for sub in (entry.appetite_max, entry.tolerance_max):
            sub.render_kw = {"min": 1, "max": scales.max_score, "type": "number"}
    return form


def _draft_input(form: DraftForm) -> operations.DraftInput:
    return operations.DraftInput(
        title=form.title.data or "",
        preamble=form.preamble.data or "",
        overall=form.overall.data or "",
        review_due_on=form.review_due_on.data,
        categories=tuple(
            operations.CategoryInput(
                code=entry.code.data or "",
                level=appetite.AppetiteLevel(entry.level.data),
                appetite_max=int(entry.appetite_max.data or 0),
                tolerance_max=int(entry.tolerance_max.data or 0),
                zero_tolerance=bool(entry.zero_tolerance.data),
                max_impact=entry.max_impact.data,
                narrative=entry.narrative.data or "",
            )
            for entry in form.categories
        ),
    )


@bp.route("/versions/<version>/edit", methods=["GET", "POST"])
@requires(Permission.APPETITE_DRAFT)
def edit(version: str) -> Page:
    statement = _statement_or_404(version)
    if statement.status != StatementStatus.DRAFT:
        return _locked(_not_editable(statement))
    scales = policy.current_scales(_db())
    form = _draft_form(statement, scales)
    category_errors: dict[str, list[str]] = {}
    status = 200
    if form.validate_on_submit():
        try:
            operations.update_draft(
                _db(), current_actor(), statement, _draft_input(form), int(form.lock_version.data or 0)
            )
        except operations.DraftInvalidError as exc:
            _db().rollback()
            category_errors = _attach(form, exc.problems)
            status = 422
        except StaleEdit:
            _db().rollback()
            _db().refresh(statement)
            event = queries.last_change(_db(), statement)
            form.lock_version.data = statement.lock_version
            flash(
                f"Version {statement.version} was changed by {event.actor_email if event else 'someone else'} "
                "while you edited it. Your input is kept below; the stored values are listed beside it. "
                "Saving again replaces them.",
                "warning",
            )
            status = 409
            return (
                render_template(
                    "statements/edit.html",
                    form=form,
                    statement=statement,
                    scales=scales,
                    category_errors={},
                    stored=policy.to_pure(statement),
                    names=_names(),
                ),
                status,
            )
        except operations.StatementLockedError as exc:
            _db().rollback()
            return _locked(str(exc))
        else:
            flash(f"Draft {statement.version} saved.", "success")
            return redirect(url_for("statements.show", version=statement.version))
    elif request.method == "POST":
        status = 422
    page = render_template(
        "statements/edit.html",
        form=form,
        statement=statement,
        scales=scales,
        category_errors=category_errors,
        stored=None,
        names=_names(),
    )
    return (page, status) if status != 200 else page


def _names() -> dict[str, str]:
    return {c.code: c.name for c in queries.categories_in_order(_db())}


def _attach(form: DraftForm, problems: list[RuleViolation]) -> dict[str, list[str]]:
    """Put each problem beside its field; category problems are returned per category code."""
    by_category: dict[str, list[str]] = {}
    for problem in problems:
        if problem.field.startswith("categories."):
            by_category.setdefault(problem.field.split(".", 1)[1], []).append(str(problem))
        elif problem.field in form:
            form[problem.field].errors = [*form[problem.field].errors, str(problem)]
        else:
            flash(str(problem), "error")
    return by_category


def _not_editable(statement: AppetiteStatement) -> str:
    if statement.status in operations.FROZEN:
        return (
            f"Version {statement.version} is {statement.status.value}: an endorsed statement can never be edited. "
            "Create a new draft to change the statement."
        )
    return f"Version {statement.version} is {statement.status.value}; only a draft can be edited."


@bp.route("/versions/<version>/submit", methods=["POST"])
@requires(Permission.APPETITE_DRAFT)
def submit(version: str) -> Page:
    statement = _statement_or_404(version)
    form = VersionOnlyForm()
    if not form.validate_on_submit() or form.lock_version.data is None:
        abort(400)
    try:
        operations.submit_draft(_db(), current_actor(), statement, int(form.lock_version.data or 0))
    except operations.StatementLockedError:
        _db().rollback()
        return _locked(_not_editable(statement))
    except StaleEdit:
        _db().rollback()
        return _stale(statement)
    except operations.DraftInvalidError as exc:
        _db().rollback()
        for problem in exc.problems:
            flash(str(problem), "error")
        return redirect(url_for("statements.edit", version=version))
    flash(f"Version {version} submitted for endorsement.", "success")
    return redirect(url_for("statements.show", version=version))


@bp.route("/versions/<version>/reopen", methods=["POST"])
@requires(Permission.APPETITE_DRAFT)
def reopen(version: str) -> Page:
    statement = _statement_or_404(version)
    form = VersionOnlyForm()
    if not form.validate_on_submit() or form.lock_version.data is None:
        abort(400)
    try:
        operations.reopen_draft(_db(), current_actor(), statement, int(form.lock_version.data or 0))
    except operations.StatementLockedError as exc:
        _db().rollback()
        return _locked(str(exc))
    except StaleEdit:
        _db().rollback()
        return _stale(statement)
    flash(f"Version {version} is a draft again.", "success")
    return redirect(url_for("statements.edit", version=version))


@bp.route("/versions/<version>/withdraw", methods=["GET", "POST"])
@requires(Permission.APPETITE_DRAFT)
def withdraw(version: str) -> Page:
    statement = _statement_or_404(version)
    if statement.status not in (StatementStatus.DRAFT, StatementStatus.SUBMITTED):
        return _locked(f"Version {version} is {statement.status.value} and cannot be withdrawn.")
    form = WithdrawForm()
    if request.method == "GET":
        form.lock_version.data = statement.lock_version
    if form.validate_on_submit():
        try:
            operations.withdraw(
                _db(), current_actor(), statement, form.reason.data or "", int(form.lock_version.data or 0)
            )
        except StaleEdit:
            _db().rollback()
            return _stale(statement)
        except operations.StatementLockedError as exc:
            _db().rollback()
            return _locked(str(exc))
        flash(f"Version {version} withdrawn.", "success")
        return redirect(url_for("statements.versions"))
    return render_template("statements/withdraw.html", form=form, statement=statement)


@bp.route("/versions/<version>/endorse", methods=["GET", "POST"])
@requires(Permission.APPETITE_ENDORSE)
def endorse(version: str) -> Page:
    statement = _statement_or_404(version)
    if statement.status != StatementStatus.SUBMITTED:
        return _locked(
            f"Version {version} is {statement.status.value}; only a submitted version can be endorsed."
            if statement.status not in operations.FROZEN
            else _not_editable(statement)
        )
    previous = operations.endorsed_version(_db())
    form = EndorseForm()
    if request.method == "GET":
        form.lock_version.data = statement.lock_version
        form.endorsing_body.data = previous.endorsing_body if previous else "Council"
    status = 200
    if form.validate_on_submit():
        data = operations.EndorsementInput(
            endorsing_body=form.endorsing_body.data or "",
            session=form.session.data or "",
            document_symbol=form.document_symbol.data or "",
            endorsed_on=form.endorsed_on.data or date.today(),
            effective_from=form.effective_from.data or date.today(),
        )
        try:
            operations.endorse(_db(), current_actor(), statement, data, int(form.lock_version.data or 0))
        except StaleEdit:
            return _stale(statement)
        except operations.StatementLockedError as exc:
            return _locked(str(exc))
        except operations.DraftInvalidError as exc:
            for problem in exc.problems:
                if problem.field in form:
                    form[problem.field].errors = [*form[problem.field].errors, str(problem)]
                else:
                    flash(str(problem), "error")
            status = 422
        else:
            flash(f"Version {version} is endorsed and takes effect on {data.effective_from:%d %b %Y}.", "success")
            return redirect(url_for("statements.show", version=version))
    elif request.method == "POST":
        status = 422
    page = render_template("statements/endorse.html", form=form, statement=statement, previous=previous)
    return (page, status) if status != 200 else page


@bp.route("/versions/<version>/whatif")
@requires(Permission.APPETITE_READ)
def whatif(version: str) -> str:
    statement = _statement_or_404(version)
    scales = policy.current_scales(_db())
    in_force = policy.statement_in_force(_db(), date.today())
    pure_in_force = policy.to_pure(in_force) if in_force else None
    result = queries.what_if(_db(), policy.to_pure(statement), pure_in_force, scales, risk_scope(_user()))
    order = [c.code for c in queries.categories_in_order(_db())]
    return render_template(
        "statements/whatif.html",
        statement=statement,
        in_force=in_force,
        result=result,
        groups=result.by_category(order),
        names=_names(),
        zones=queries.ZONE_ORDER,
    )
