"""Importing a department's existing Excel register: upload, preview, apply (web and `riskreg import register`).

planning.py    the preview: existing_for_import, plan_for_unit (the pure plan checked against the database)
operations.py  apply_import: the plan written in one transaction, with an ImportRun and its audit event
uploads.py     uploads kept on disk between preview and apply, under random tokens
preview.py     the plan as display rows (web page and command line)
queries.py     units a user may import into; recent imports
views.py, forms.py, commands.py
"""

from __future__ import annotations

import importlib.util
import os
import sys

from flask import Blueprint, Flask

bp = Blueprint("imports", __name__, url_prefix="/import")


def init_app(app: Flask) -> None:
    problem = xml_safety_problem()
    if problem:
        from riskreg import ConfigurationError

        raise ConfigurationError(problem)
    from riskreg.imports import views  # noqa: F401 - registers the routes on bp

    app.register_blueprint(bp)


def xml_safety_problem() -> str | None:
    """Why openpyxl would parse workbooks without defusedxml (security.md G4), or None when it would not.

    When openpyxl is loaded, its own flag is asked (`riskreg.importer.xml_is_safe`). At app start it is not
    loaded, and loading it would cost start-up time on every worker: the same two facts openpyxl decides
    DEFUSEDXML from (openpyxl/xml/__init__.py) are checked instead, so the answer is the same.
    """
    if "openpyxl" in sys.modules:
        from riskreg.importer import xml_is_safe

        if not xml_is_safe():
            return "refusing to start: openpyxl does not use defusedxml (openpyxl.DEFUSEDXML is False)"
    if importlib.util.find_spec("defusedxml") is None:
        return "refusing to start: the defusedxml package is missing (it protects the Excel import; install it)"
    if os.environ.get("OPENPYXL_DEFUSEDXML", "True") != "True":
        return "refusing to start: OPENPYXL_DEFUSEDXML switches defusedxml off in openpyxl; unset it"
    return None
