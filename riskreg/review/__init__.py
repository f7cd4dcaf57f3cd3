"""Review cycles, the task force heatmap, agenda, decisions and minutes."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("review", __name__, url_prefix="/review")


def init_app(app: Flask) -> None:
    from riskreg.review import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)
