from __future__ import annotations

import pytest
from flask import Flask

from riskreg import ConfigurationError, create_app
from riskreg.extensions import db
from riskreg.models import Base


def test_models_share_flask_sqlalchemy_metadata() -> None:
    assert db.metadata is Base.metadata


def test_config_mapping_replaces_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKREG_ORGANISATION", "From the environment")
    app = create_app({"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["ORGANISATION"] != "From the environment"


def test_environment_configures_when_no_mapping(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RISKREG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("RISKREG_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("RISKREG_DATABASE_URL", "postgresql://user@db.example/riskreg")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.example/riskreg"


def test_missing_secret_key_refuses_to_start(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RISKREG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("RISKREG_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="secret key"):
        create_app()


def test_secret_key_is_read_from_instance_folder(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RISKREG_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("RISKREG_SECRET_KEY", raising=False)
    (tmp_path / "secret_key").write_text("z" * 48)
    assert create_app().config["SECRET_KEY"] == "z" * 48


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SECRET_KEY": "dev"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short-key"}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"DEBUG": True}, "DEBUG"),
        ({"SESSION_COOKIE_SECURE": False}, "Secure"),
        ({"REMEMBER_COOKIE_SECURE": False}, "Secure"),
        ({"SESSION_COOKIE_SAMESITE": None}, "SAMESITE"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict, message: str) -> None:
    config = {"PRODUCTION": True, "SECRET_KEY": "p" * 48, "SQLALCHEMY_DATABASE_URI": "sqlite://", **overrides}
    with pytest.raises(ConfigurationError, match=message):
        create_app(config)


def test_production_defaults_to_secure_cookies() -> None:
    app: Flask = create_app({"PRODUCTION": True, "SECRET_KEY": "p" * 48, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
