"""Sign-in pages and the user administration pages."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from riskreg.access import Permission, public, requires
from riskreg.auth import bp, operations, throttle
from riskreg.auth.forms import LoginForm, UserForm
from riskreg.extensions import db
from riskreg.models import OrgUnit, Role, User
from riskreg.web import current_actor, signed_in_user


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (security.md F1; Django's checks, CVE-2014-3730/2015-2317)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target) or target != target.strip():
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("risks.home"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = throttle.attempt_of(request, form.email.data or "")
        if throttle.refused(attempt):
            abort(429)
        user = operations.authenticate(
            db.session(), form.email.data or "", form.password.data or "", request.remote_addr or ""
        )
        if user is not None:
            # A fresh session on sign-in (no fixation): clear what the anonymous session held.
            session.clear()
            login_user(user)
            session["since"] = int(time.time())  # start of the absolute session limit (web._start_request)
            response = redirect(safe_next(request.args.get("next")) or url_for("risks.home"))
            throttle.record_success(attempt, response, request)
            return response
        throttle.record_failure(attempt)
        # One message for unknown email and wrong password alike (security.md A4).
        form.password.errors = ["The email or password is not right."]
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@requires(Permission.SESSION)
def logout() -> Response:
    operations.end_sessions(db.session(), current_actor(), signed_in_user(), "signed out")
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/healthz")
@public
def healthz() -> dict[str, str]:
    db.session.execute(select(1))
    return {"status": "ok"}


@bp.route("/admin/users")
@requires(Permission.ADMIN_USERS)
def users() -> str:
    rows = db.session.execute(
        select(User, OrgUnit.code).outerjoin(OrgUnit, User.org_unit_id == OrgUnit.id).order_by(User.email)
    ).all()
    return render_template("auth/users.html", rows=rows)


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=None)
    units = db.session.scalars(select(OrgUnit).where(OrgUnit.active).order_by(OrgUnit.code)).all()
    form.unit.choices = {"": "— none (all units) —", **{u.code: f"{u.code} — {u.name}" for u in units}}
    if user is not None and request.method == "GET":
        form.email.data = user.email
        form.name.data = user.name
        form.title.data = user.title
        form.role.data = user.role.value
        form.unit.data = user.org_unit.code if user.org_unit else ""
        form.is_active.data = user.is_active
    return form


def _data(form: UserForm) -> operations.UserData:
    return operations.UserData(
        email=form.email.data or "",
        name=form.name.data or "",
        title=form.title.data or "",
        role=Role(form.role.data),
        unit_code=form.unit.data or None,
        is_active=bool(form.is_active.data),
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def user_new() -> Response | str:
    form = _user_form()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = ["Set a first password for the new user."]
        else:
            try:
                user = operations.create_user(db.session(), current_actor(), _data(form), form.password.data)
            except operations.UserError as exc:
                db.session.rollback()
                _show_error(form, exc)
            else:
                flash(f"User {user.email} created.", "success")
                return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.ADMIN_USERS)
def user_edit(user_id: int) -> Response | str:
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            operations.update_user(db.session(), current_actor(), user, _data(form), form.password.data or None)
        except operations.UserError as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            flash(f"User {user.email} updated.", "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user)


def _show_error(form: UserForm, error: operations.UserError) -> None:
    """Put the message beside the field it is about (or at the top of the page when it is about none)."""
    field = form._fields.get(error.field)
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")
