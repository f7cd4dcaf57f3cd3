"""Web policy shared by every page: sign-in loading, security headers, error pages, template globals."""

from __future__ import annotations

import logging
import secrets
import time
from datetime import date
from typing import Any, cast

from flask import Flask, Response, current_app, g, render_template, request, session
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from riskreg import access, audit, request_values
from riskreg.extensions import db, login_manager
from riskreg.models import Role, User

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def init_app(app: Flask) -> None:
    request_values.init_app(app)  # first: no before-request function may query with an unchecked value
    hops = int(app.config["PROXY_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    app.before_request(_start_request)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(StaleDataError, _stale_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.context_processor(_template_globals)
    app.jinja_env.filters["dmy"] = _format_date
    app.jinja_env.add_extension("jinja2.ext.do")


def signed_in_user() -> User:
    """The User row behind `current_user` (the proxy itself is not a User to SQLAlchemy)."""
    return cast(User, current_user._get_current_object())


def current_actor() -> audit.Actor:
    """The signed-in user as an audit actor, with the request's IP and id."""
    return audit.Actor.of(signed_in_user(), ip=request.remote_addr or "", request_id=g.get("request_id", ""))


def _load_user(user_id: str) -> User | None:
    # The id carries the session token: rotating it (logout, password change) ends every copied session.
    numeric, _, token = user_id.partition(":")
    if not numeric.isdecimal() or not token:
        return None
    user = db.session.get(User, int(numeric))
    if user is None or not user.is_active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def _start_request() -> None:
    g.request_id = secrets.token_hex(8)
    g.started = time.perf_counter()
    if current_user.is_authenticated:
        # Idle and absolute limits (security.md A7). The cookie is re-signed on every request, so its own
        # max-age would slide: the absolute limit counts from the sign-in time kept in the session.
        now = int(time.time())
        idle = now - int(session.get("seen", now))
        age = now - int(session.setdefault("since", now))
        if (
            idle > current_app.config["SESSION_IDLE_MINUTES"] * 60
            or age > current_app.permanent_session_lifetime.total_seconds()
        ):
            logout_user()
            session.clear()
            return
        session["seen"] = now
        session.permanent = True


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config["PRODUCTION"]:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


_MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "Your role does not allow this. An administrator manages roles."),
    404: ("Not found", "There is nothing here, or it is not in your unit's register."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    413: ("File too large", "The upload is larger than the limit. Split the register or remove images and retry."),
    429: ("Too many attempts", "Too many attempts in a short time. Wait a minute and try again."),
}


def _http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    if code == 403 and current_user.is_authenticated:
        _audit_denied(g.get("authz_failure", request.endpoint or request.path))
    elif code == 429:
        # Throttled sign-in attempts are logged, not audited: the audit table must not grow at an attacker's pace.
        log.warning("throttled %s %s from %s", request.method, request.path, request.remote_addr)
    title, text = _MESSAGES.get(code, (error.name, error.description or ""))
    if code == 403 and current_user.is_authenticated:
        text = denied_text(signed_in_user(), g.get("authz_permission"))
    return render_template("errors/error.html", code=code, title=title, text=text), code


def denied_text(user: User, permission: access.Permission | None) -> str:
    """The 403 explanation for this user: their role, what it lacks, who has it, and whom to ask."""
    if permission is None:  # refused by a rule of the page itself; the page flashed the reason
        return f"Your role ({user.role.label}) does not allow this here. An administrator manages roles."
    holders = [r.label for r in access.roles_with(permission) if r != user.role]
    who = f" It is for: {', '.join(holders)}." if holders else ""
    ask = "another administrator" if user.role == Role.ADMIN else "an administrator, who manages roles"
    purpose = access.PERMISSION_PURPOSES.get(permission, "this")
    return f"Your role ({user.role.label}) does not include {purpose}.{who} If you need it, ask {ask}."


def _csrf_error(error: CSRFError) -> tuple[str, int]:
    text = "The form expired or was sent from elsewhere. Reload the page and submit it again; nothing was saved."
    return render_template("errors/error.html", code=400, title="Form expired", text=text), 400


def _stale_error(error: StaleDataError) -> tuple[str, int]:
    db.session.rollback()
    text = "Someone else changed this record while you were editing. Reload it to see their change; nothing was saved."
    return render_template("errors/error.html", code=409, title="Changed by someone else", text=text), 409


def _unexpected_error(error: Exception) -> tuple[str, int]:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unexpected error on %s %s", request.method, request.path)
    db.session.rollback()
    text = f"Something went wrong on our side and nothing was saved. Reference: {g.get('request_id', '-')}."
    return render_template("errors/error.html", code=500, title="Unexpected error", text=text), 500


def _audit_denied(what: str) -> None:
    # Authorization failures are part of the trail (security.md B7); written in their own transaction.
    try:
        db.session.rollback()
        audit.record(db.session(), current_actor(), "authorization_failure", "route", request.path, what)
        db.session.commit()
    except Exception:  # noqa: BLE001 - the denial itself must still be answered
        db.session.rollback()
        log.exception("could not audit an authorization failure")


def _template_globals() -> dict[str, Any]:
    user = current_user if current_user.is_authenticated else None
    return {
        "can": lambda permission: access.has_permission(user, access.Permission(permission)),
        "Role": Role,
        "organisation": current_app.config["ORGANISATION"],
        "organisation_short": current_app.config["ORGANISATION_SHORT"],
        "today": date.today(),
    }


def _format_date(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"
