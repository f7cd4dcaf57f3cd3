"""Sign-in, sign-out and user administration."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    from riskreg.auth import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)
