"""Where the data folders live: `riskreg/_bundled/<name>` in an installed wheel, else the checkout.

Pure: no Flask. `templates/`, `appetite/` and `exports/` are data, never imported as Python.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_folder(name: str) -> Path:
    bundled = _PACKAGE / "_bundled" / name
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / name


TEMPLATES = _data_folder("templates")
APPETITE = _data_folder("appetite")
EXPORTS = _data_folder("exports")
SCALES_FILE = APPETITE / "scales.toml"
CATEGORIES_FILE = APPETITE / "categories.toml"
STATEMENTS_DIR = APPETITE / "statements"
COUNCIL_LAYOUT = EXPORTS / "council.toml"
