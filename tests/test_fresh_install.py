"""The `riskreg` command on a fresh install: no key, no database, no `make run` (issue R10 item 4).

The installed entry point runs as a subprocess in an empty temporary folder (RISKREG_INSTANCE_PATH), with no
RISKREG_* setting inherited from the test environment, exactly as a new user would after `pip install`.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

RISKREG = Path(sys.executable).parent / "riskreg"


def _run(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RISKREG_", "FLASK_"))}
    clean.update(RISKREG_INSTANCE_PATH=str(folder / "instance"), **env)
    return subprocess.run(
        [str(RISKREG), *args], cwd=folder, env=clean, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_fresh_install_help_setup_demo_user(tmp_path: Path) -> None:
    instance = tmp_path / "instance"

    help_run = _run(tmp_path, "--help")
    assert help_run.returncode == 0, help_run.stderr
    assert "Traceback" not in help_run.stderr + help_run.stdout
    for command in ("setup", "db", "user", "demo", "appetite", "export", "import", "backup", "restore"):
        assert f"\n  {command} " in help_run.stdout, command
    assert not (instance / "secret_key").exists(), "--help must not write anything but the instance folder"

    setup = _run(tmp_path, "setup", "--no-demo")
    assert setup.returncode == 0, setup.stderr
    key_file = instance / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text(encoding="utf-8")
    assert len(key) >= 32
    assert (instance / "riskreg.sqlite").is_file()

    again = _run(tmp_path, "setup", "--no-demo")
    assert again.returncode == 0, again.stderr
    assert key_file.read_text(encoding="utf-8") == key, "a second setup must keep the key"

    current = _run(tmp_path, "db", "current")
    assert current.returncode == 0, current.stderr
    assert "(head)" in current.stdout

    demo = _run(tmp_path, "demo", "--risks", "5")
    assert demo.returncode == 0, demo.stderr
    assert "@demo.riskreg.org" in demo.stdout

    user = _run(
        tmp_path,
        "user",
        "create",
        "first.admin@example.org",
        "--role",
        "admin",
        RISKREG_PASSWORD="a long fresh password 42",
    )
    assert user.returncode == 0, user.stderr
    assert "created first.admin@example.org" in user.stdout

    # The web app now starts from the same folder with the key setup wrote, and serves the sign-in page.
    serve = subprocess.run(
        [
            sys.executable,
            "-c",
            "from riskreg import create_app; c = create_app().test_client(); print(c.get('/login').status_code)",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith(("RISKREG_", "FLASK_"))}
        | {"RISKREG_INSTANCE_PATH": str(instance)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert serve.stdout.strip() == "200", serve.stderr


def test_errors_before_setup_are_one_line(tmp_path: Path) -> None:
    # A command that needs the database before `setup` ran fails cleanly, never with a traceback.
    result = _run(
        tmp_path, "user", "create", "x@example.org", "--role", "viewer", RISKREG_PASSWORD="a long password 42"
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
