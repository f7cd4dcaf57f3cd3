"""Sign-in, sign-out and user administration."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    from riskreg.auth import throttle, views  # noqa: F401 - views registers the routes on bp

    throttle.init_app(app)

    app.register_blueprint(bp)
