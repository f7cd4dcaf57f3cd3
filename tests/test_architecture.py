"""The shape of the code (DESIGN.md "Architecture", conventions): a pure core, lazy heavy imports, no grab-bags.

Static checks over the source with `ast`; one subprocess checks what `create_app()` really imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "riskreg"

# Pure modules: the core that takes plain data and returns plain data (a module or a package of that name).
PURE = [
    "scoring",
    "appetite",
    "escalation",
    "snapshot",
    "movement",
    "heatmap",
    "heatmap_draw",
    "workbook",
    "importer",
    "textpolicy",
]
FORBIDDEN = ("flask", "flask_*", "sqlalchemy", "riskreg.extensions", "riskreg.models", "riskreg.web")
GRAB_BAG_NAMES = {"utils", "util", "helpers", "helper", "common", "misc"}
MAX_LINES = 1000


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _python_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, wherever it sits (functions, TYPE_CHECKING)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            yield node.lineno, origin
            for alias in node.names:
                yield node.lineno, f"{origin}.{alias.name}"


def _forbidden(name: str) -> bool:
    for rule in FORBIDDEN:
        if rule.endswith("*"):
            if name.split(".")[0].startswith(rule[:-1]):
                return True
        elif name == rule or name.startswith(rule + "."):
            return True
    return False


def _pure_files() -> list[Path]:
    found = []
    for name in PURE:
        module, package = PACKAGE / f"{name}.py", PACKAGE / name
        if module.is_file():
            found.append(module)
        if package.is_dir():
            found.extend(sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts))
    return found


def _riskreg_file(name: str) -> Path | None:
    parts = name.split(".")
    for end in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:end])
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def test_pure_modules_import_no_framework_directly_or_through_riskreg() -> None:
    files = _pure_files()
    assert len(files) >= 4, "the pure core (scoring, appetite, snapshot, ...) was not found"
    problems = []
    for start in files:
        # Follow riskreg imports (except the package __init__, which is the app factory) so that a pure module
        # cannot reach Flask or SQLAlchemy through a helper of its own.
        seen: set[Path] = set()
        todo = [start]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            for line, name in _imports(path):
                if _forbidden(name):
                    via = "" if path == start else f" (via {path.relative_to(ROOT)})"
                    problems.append(f"{start.relative_to(ROOT)}{via}:{line} imports {name}")
                elif name.startswith("riskreg."):
                    target = _riskreg_file(name)
                    if target is not None and target != PACKAGE / "__init__.py":
                        todo.append(target)
    assert not sorted(set(problems)), "\n".join(sorted(set(problems)))


def test_nothing_uses_pyplot() -> None:
    # pyplot keeps global state and a GUI backend; the heatmap builds a Figure with the Agg canvas.
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in _python_files()
        for line, name in _imports(path)
        if name == "matplotlib.pyplot" or name.startswith("matplotlib.pyplot.")
    ]
    assert not found


def test_the_checks_see_what_they_should() -> None:
    assert _forbidden("flask_login.utils")
    assert _forbidden("sqlalchemy.orm")
    assert _forbidden("riskreg.models.register")
    assert not _forbidden("riskreg.modelsx")
    assert not _forbidden("flasky")  # not flask, not flask_*
    names = {name for _, name in _imports(PACKAGE / "web.py")}
    assert "flask" in names
    assert "riskreg.extensions.db" in names


def test_app_start_does_not_import_matplotlib_or_openpyxl() -> None:
    code = (
        "import json, sys\n"
        "from riskreg import create_app\n"
        "app = create_app({'SECRET_KEY': 'k' * 40, 'SQLALCHEMY_DATABASE_URI': 'sqlite://'})\n"
        "app.test_client().get('/login')\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'openpyxl'))\n"
        "print(json.dumps(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_no_grab_bag_modules() -> None:
    found = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*")
        if "__pycache__" not in path.parts
        and (path.stem if path.is_file() and path.suffix == ".py" else path.name if path.is_dir() else "")
        in GRAB_BAG_NAMES
    ]
    assert not found


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_over_a_thousand_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES
