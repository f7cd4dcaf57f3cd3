"""The wheel carries the app and its data folders, and runs outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return next(out.glob("riskreg-*.whl"))


def test_wheel_holds_only_the_riskreg_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("riskreg-")}
    assert top == {"riskreg"}
    for needed in (
        "riskreg/_bundled/templates/base.html",
        "riskreg/_bundled/appetite/scales.toml",
        "riskreg/_bundled/appetite/statements/2.0.toml",
        "riskreg/migrations/env.py",
        "riskreg/static/style.css",
        "riskreg/demo/data/oversight.toml",
        "riskreg/demo/data/risks_secretariat.toml",
        "riskreg/demo/data/organisation.toml",
    ):
        assert needed in names


def test_installed_wheel_serves_the_login_page_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import riskreg, riskreg.paths as p;"
        "assert '_bundled' in str(p.TEMPLATES) and p.SCALES_FILE.is_file(), p.TEMPLATES;"
        "app = riskreg.create_app({'SECRET_KEY': 'x' * 40, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'});"
        "r = app.test_client().get('/login'); assert r.status_code == 200, r.status_code;"
        # The demo's content is data beside its code (riskreg/demo/data/*.toml): it must ship too.
        "import riskreg.demo.plan as d, riskreg.demo.oversight as o; assert len(d.TEMPLATES) == 60, len(d.TEMPLATES);"
        "assert o.DATA.is_file(), o.DATA;"
        "print(riskreg.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{site}:{':'.join(p for p in sys.path if 'site-packages' in p)}"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert str(site) in result.stdout
