"""RiskReg: an enterprise risk register for intergovernmental organisations.

`create_app()` is the table of contents: config, extensions, web policy, blueprints, CLI. No I/O beyond
reading configuration: no create_all, no migrations, no network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from riskreg import paths
from riskreg.config import WEAK_SECRET_KEYS, DefaultConfig


class ConfigurationError(RuntimeError):
    """The configuration is not safe or not usable; the message says what to change."""


def create_app(config: Mapping[str, Any] | None = None, *, require_secret_key: bool = True) -> Flask:
    """Build the app. `config` (tests) replaces instance/config.py and RISKREG_* variables.

    The `riskreg` command builds it with `require_secret_key=False`: on a fresh install no key exists yet, and
    `riskreg setup` is the command that writes one (no CLI command signs a cookie).
    """
    app = Flask(
        __name__,
        instance_path=os.environ.get("RISKREG_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(paths.TEMPLATES),
    )
    app.config.from_object(DefaultConfig)
    if config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("RISKREG")
        _read_secret_key_file(app)
    else:
        app.config.update(config)
    _finalise_config(app, require_secret_key)

    from riskreg import database, extensions, web

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(Path(__file__).parent / "migrations"))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    database.init_app(app)
    web.init_app(app)

    from riskreg import auth, exports, imports, jobs, oversight, review, risks, statements

    for feature in (auth, risks, statements, review, exports, imports, oversight, jobs):
        feature.init_app(app)

    from riskreg import cli

    cli.init_app(app)
    return app


def _read_secret_key_file(app: Flask) -> None:
    if app.config.get("SECRET_KEY"):
        return
    key_file = Path(app.instance_path) / "secret_key"
    if key_file.is_file():
        app.config["SECRET_KEY"] = key_file.read_text(encoding="utf-8").strip()


def _finalise_config(app: Flask, require_secret_key: bool = True) -> None:
    if app.config.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    uri = str(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    for cookie in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        # None means "automatic": Secure in production (behind HTTPS), not on a plain-HTTP local server.
        if app.config.get(cookie) is None:
            app.config[cookie] = bool(app.config["PRODUCTION"])
    if app.config["PRODUCTION"]:
        if app.config["SESSION_COOKIE_NAME"] == DefaultConfig.SESSION_COOKIE_NAME:
            # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only and Path=/ (ASVS 7, A8).
            app.config["SESSION_COOKIE_NAME"] = "__Host-" + DefaultConfig.SESSION_COOKIE_NAME
        _check_production(app, require_secret_key)
    elif require_secret_key and not app.config.get("SECRET_KEY"):
        raise ConfigurationError(
            "no secret key: run `riskreg setup` (writes instance/secret_key) or set RISKREG_SECRET_KEY"
        )


def _check_production(app: Flask, require_secret_key: bool = True) -> None:
    key = app.config.get("SECRET_KEY") or ""
    problems = []
    missing_allowed = not key and not require_secret_key
    if not missing_allowed and (not isinstance(key, str) or len(key) < 32 or key.lower() in WEAK_SECRET_KEYS):
        problems.append("SECRET_KEY must be a random value of at least 32 characters")
    if app.config.get("DEBUG"):
        problems.append("DEBUG must be off")
    if not app.config.get("SESSION_COOKIE_SECURE") or not app.config.get("REMEMBER_COOKIE_SECURE"):
        problems.append("cookies must be Secure")
    if app.config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        problems.append("SESSION_COOKIE_SAMESITE must be Lax or Strict")
    if problems:
        raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
