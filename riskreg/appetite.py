"""Risk appetite statements and the judgement of a residual score against them.

Pure: no Flask, no database session. A statement is a versioned document endorsed by
the governing body; for each risk category it sets a level, an appetite maximum and a
tolerance maximum on the residual score. `judge()` applies domain.md (b).2.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import tomli_w

from riskreg.scoring import Scales


class AppetiteError(ValueError):
    """A statement or category file that cannot be used; the message names file and key."""


class Zone(enum.StrEnum):
    """Where a residual score sits against its category appetite, best first."""

    WITHIN_APPETITE = "within_appetite"
    ABOVE_APPETITE = "above_appetite"
    OUTSIDE_TOLERANCE = "outside_tolerance"
    NOT_EVALUATED = "not_evaluated"

    @property
    def label(self) -> str:
        return _ZONE_LABELS[self]

    @property
    def severity(self) -> int:
        """0 within, 1 above, 2 outside; not evaluated counts as within."""
        return _ZONE_SEVERITY[self]


_ZONE_LABELS = {
    Zone.WITHIN_APPETITE: "Within appetite",
    Zone.ABOVE_APPETITE: "Above appetite",
    Zone.OUTSIDE_TOLERANCE: "Outside tolerance",
    Zone.NOT_EVALUATED: "Not evaluated",
}
_ZONE_SEVERITY = {Zone.NOT_EVALUATED: 0, Zone.WITHIN_APPETITE: 0, Zone.ABOVE_APPETITE: 1, Zone.OUTSIDE_TOLERANCE: 2}


class AppetiteLevel(enum.StrEnum):
    """The five appetite levels of the Risk Appetite Guidance Note, most cautious first."""

    AVERSE = "averse"
    MINIMAL = "minimal"
    CAUTIOUS = "cautious"
    OPEN = "open"
    EAGER = "eager"

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Default thresholds per level on a 5×5 scale (domain.md (b).1); a statement may override them within the
# range `level_range()` allows, so that the level a Council reads agrees with the numbers that judge.
DEFAULT_MAX_SCORE = 25
LEVEL_DEFAULTS: Mapping[AppetiteLevel, tuple[int, int]] = {
    AppetiteLevel.AVERSE: (3, 4),
    AppetiteLevel.MINIMAL: (4, 6),
    AppetiteLevel.CAUTIOUS: (6, 9),
    AppetiteLevel.OPEN: (9, 12),
    AppetiteLevel.EAGER: (12, 16),
}

LEVEL_MEANINGS: Mapping[AppetiteLevel, str] = {
    AppetiteLevel.AVERSE: "Avoid risk; no decisions outside the usual processes.",
    AppetiteLevel.MINIMAL: "Only low-risk options that support priorities; strong controls expected.",
    AppetiteLevel.CAUTIOUS: "Options where benefits outweigh risks, taken carefully.",
    AppetiteLevel.OPEN: "Willing to take difficult decisions, with considered risk-taking.",
    AppetiteLevel.EAGER: "Ready to take difficult decisions, with informed risk-taking.",
}


@dataclass(frozen=True)
class CategoryAppetite:
    """A statement's position on one risk category."""

    category: str
    level: AppetiteLevel
    appetite_max: int
    tolerance_max: int
    zero_tolerance: bool = False
    max_impact: int | None = None
    narrative: str = ""


@dataclass(frozen=True)
class Statement:
    """One version of a risk appetite statement."""

    version: str
    title: str
    organisation: str
    status: str
    endorsing_body: str
    session: str
    document_symbol: str
    endorsed_on: date | None
    effective_from: date | None
    effective_to: date | None
    supersedes: str
    review_due_on: date | None
    preamble: str
    overall: str
    categories: Mapping[str, CategoryAppetite] = field(default_factory=dict)

    def for_category(self, code: str) -> CategoryAppetite | None:
        return self.categories.get(code)


@dataclass(frozen=True)
class CategoryDefinition:
    """A risk category of the taxonomy in `appetite/categories.toml`."""

    code: str
    name: str
    definition: str
    sort_order: int


def judge(
    likelihood: int | None,
    impact: int | None,
    appetite: CategoryAppetite | None,
    scales: Scales,
    *,
    opportunity: bool = False,
) -> Zone:
    """Judge a residual (likelihood, impact) against a category's appetite (domain.md (b).2).

    Opportunities are rated but never judged against threat appetite, and a missing residual is
    not evaluated. The highest band is outside tolerance whatever the statement says, including
    when no statement covers the category (`appetite` None): the universal ceiling is part of the
    methodology, not of a statement. Otherwise a category the statement does not cover is not
    evaluated. Zero tolerance has no band above appetite: a score over the appetite maximum, or an
    impact over the category's impact cap, is outside tolerance.
    """
    if opportunity or likelihood is None or impact is None:
        return Zone.NOT_EVALUATED
    score = scales.score(likelihood, impact)
    if scales.is_critical(score):
        return Zone.OUTSIDE_TOLERANCE
    if appetite is None:
        return Zone.NOT_EVALUATED
    over_cap = appetite.max_impact is not None and impact > appetite.max_impact
    if score <= appetite.appetite_max and not over_cap:
        return Zone.WITHIN_APPETITE
    if appetite.zero_tolerance or score > appetite.tolerance_max:
        return Zone.OUTSIDE_TOLERANCE
    return Zone.ABOVE_APPETITE


def threshold_problems(appetite: CategoryAppetite, scales: Scales) -> list[str]:
    """What is wrong with one category's thresholds on these scales (empty when fine)."""
    problems = []
    top = scales.max_score
    if not 1 <= appetite.appetite_max <= top:
        problems.append(f"appetite maximum must be between 1 and {top}")
    if not 1 <= appetite.tolerance_max <= top:
        problems.append(f"tolerance maximum must be between 1 and {top}")
    if appetite.appetite_max > appetite.tolerance_max:
        problems.append("appetite maximum must not exceed the tolerance maximum")
    critical = scales.critical_band
    if appetite.tolerance_max >= critical.min_score:
        problems.append(
            f"tolerance maximum must be below the {critical.name} band ({critical.min_score}), "
            "which is always outside tolerance"
        )
    if appetite.zero_tolerance and appetite.tolerance_max != appetite.appetite_max:
        problems.append(
            "a zero-tolerance category has no band above appetite: tolerance maximum must equal appetite maximum"
        )
    if appetite.max_impact is not None and not 1 <= appetite.max_impact <= scales.max_impact:
        problems.append(f"impact cap must be between 1 and {scales.max_impact}")
    problems.extend(level_problems(appetite, scales))
    return problems


def level_range(level: AppetiteLevel, scales: Scales) -> tuple[int, int, int]:
    """(lowest appetite max, highest appetite max, highest tolerance max) a level allows on these scales.

    From the default table of domain.md (b).1, scaled to the scales' highest score: a level's
    appetite maximum lies above the default of the next more cautious level and at most the default
    of the next more open one; its tolerance maximum is at most the next more open level's default
    tolerance. Eager, the most open, reaches up to just below the critical band.
    """
    levels = list(AppetiteLevel)
    index = levels.index(level)
    below_critical = scales.critical_band.min_score - 1
    if index == 0:
        low = 1
    else:
        low = _scaled(LEVEL_DEFAULTS[levels[index - 1]][0], scales) + 1
    if index == len(levels) - 1:
        high, tolerance = below_critical, below_critical
    else:
        more_open = LEVEL_DEFAULTS[levels[index + 1]]
        high, tolerance = _scaled(more_open[0], scales), _scaled(more_open[1], scales)
    return low, min(high, below_critical), min(tolerance, below_critical)


def _scaled(default: int, scales: Scales) -> int:
    """A 5×5 default threshold on scales of another size (rounded down, at least 1)."""
    return max(1, default * scales.max_score // DEFAULT_MAX_SCORE)


def level_problems(appetite: CategoryAppetite, scales: Scales) -> list[str]:
    """Does the declared level agree with the thresholds? ("averse" with 16/20 does not.)"""
    low, high, tolerance = level_range(appetite.level, scales)
    problems = []
    if not low <= appetite.appetite_max <= high:
        problems.append(
            f"level {appetite.level.value} needs an appetite maximum between {low} and {high}, "
            f"not {appetite.appetite_max}"
        )
    if appetite.tolerance_max > tolerance:
        problems.append(
            f"level {appetite.level.value} allows a tolerance maximum up to {tolerance}, not {appetite.tolerance_max}"
        )
    return problems


def zone_grid(appetite: CategoryAppetite, scales: Scales) -> list[list[Zone]]:
    """Zone of every cell, rows from the highest likelihood down, columns impact 1→max."""
    return [
        [judge(li, im, appetite, scales) for im in range(1, scales.max_impact + 1)]
        for li in range(scales.max_likelihood, 0, -1)
    ]


# --------------------------------------------------------------------------- files


def load_statement(path: Path | str, scales: Scales, category_codes: Iterable[str] | None = None) -> Statement:
    path = Path(path)
    return parse_statement(_read_toml(path), scales, source=str(path), category_codes=category_codes)


def parse_statement(
    data: Mapping[str, Any],
    scales: Scales,
    source: str = "<statement>",
    category_codes: Iterable[str] | None = None,
) -> Statement:
    """Validate a parsed statement document (format in `appetite/README.md`)."""
    reader = _StatementReader(source)
    status = reader.text(data, "status") or "draft"
    if status not in STATEMENT_STATUSES:
        raise reader.fail("status", f"must be one of {', '.join(STATEMENT_STATUSES)}, not {status!r}")
    endorsed = status in ("endorsed", "superseded")
    statement = Statement(
        version=reader.text(data, "version", required=True),
        title=reader.text(data, "title", required=True),
        organisation=reader.text(data, "organisation"),
        status=status,
        endorsing_body=reader.text(data, "endorsing_body", required=endorsed),
        session=reader.text(data, "session", required=endorsed),
        document_symbol=reader.text(data, "document_symbol", required=endorsed),
        endorsed_on=reader.day(data, "endorsed_on", required=endorsed),
        effective_from=reader.day(data, "effective_from", required=endorsed),
        effective_to=reader.day(data, "effective_to"),
        supersedes=reader.text(data, "supersedes"),
        review_due_on=reader.day(data, "review_due_on"),
        preamble=reader.text(data, "preamble"),
        overall=reader.text(data, "overall", required=True),
    )
    if len(statement.version) > 20:
        raise reader.fail("version", "must be at most 20 characters")
    if statement.effective_from and statement.effective_to and statement.effective_to <= statement.effective_from:
        raise reader.fail("effective_to", "must be after effective_from")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, dict) or not raw_categories:
        raise reader.fail("categories", "must hold one [categories.CODE] table per risk category")
    known = set(category_codes) if category_codes is not None else None
    categories: dict[str, CategoryAppetite] = {}
    for code, row in raw_categories.items():
        if known is not None and code not in known:
            raise reader.fail(f"categories.{code}", f"is not a known risk category ({', '.join(sorted(known))})")
        categories[code] = _parse_category(reader, code, row, scales)
    return replace(statement, categories=categories)


class _StatementReader:
    """Typed access to a parsed statement document, with messages naming the file and the key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> AppetiteError:
        return AppetiteError(f"{self.source}: {key}: {problem}")

    def text(self, where: Mapping[str, Any], key: str, required: bool = False, prefix: str = "") -> str:
        value = where.get(key, "")
        if not isinstance(value, str):
            raise self.fail(prefix + key, "must be a text")
        if required and not value.strip():
            raise self.fail(prefix + key, "is missing")
        return value.strip()

    def day(self, where: Mapping[str, Any], key: str, required: bool = False) -> date | None:
        value = where.get(key)
        if value is None:
            if required:
                raise self.fail(key, "is missing")
            return None
        # TOML datetimes are date subclasses: refuse them, a statement's dates are whole days.
        if not isinstance(value, date) or hasattr(value, "hour"):
            raise self.fail(key, f"must be a date written as 2020-10-05, not {value!r}")
        return value

    def whole(self, where: Mapping[str, Any], key: str, default: int, prefix: str) -> int:
        value = self.optional_whole(where, key, prefix)
        return default if value is None else value

    def optional_whole(self, where: Mapping[str, Any], key: str, prefix: str) -> int | None:
        value = where.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(prefix + key, f"must be a whole number, not {value!r}")
        return value


def _parse_category(reader: _StatementReader, code: str, row: object, scales: Scales) -> CategoryAppetite:
    prefix = f"categories.{code}."
    if not isinstance(row, dict):
        raise reader.fail(f"categories.{code}", "must be a table")
    level_text = reader.text(row, "level", required=True, prefix=prefix).lower()
    try:
        level = AppetiteLevel(level_text)
    except ValueError:
        raise reader.fail(prefix + "level", f"must be one of {', '.join(lv.value for lv in AppetiteLevel)}") from None
    default_appetite, default_tolerance = LEVEL_DEFAULTS[level]
    zero = row.get("zero_tolerance", False)
    if not isinstance(zero, bool):
        raise reader.fail(prefix + "zero_tolerance", "must be true or false")
    appetite = CategoryAppetite(
        category=code,
        level=level,
        appetite_max=reader.whole(row, "appetite_max", default_appetite, prefix),
        tolerance_max=reader.whole(row, "tolerance_max", default_tolerance, prefix),
        zero_tolerance=zero,
        max_impact=reader.optional_whole(row, "max_impact", prefix),
        narrative=reader.text(row, "narrative", prefix=prefix),
    )
    problems = threshold_problems(appetite, scales)
    if problems:
        raise reader.fail(f"categories.{code}", "; ".join(problems))
    return appetite


STATEMENT_STATUSES = ("draft", "submitted", "endorsed", "superseded", "withdrawn")


def dump_statement(statement: Statement) -> str:
    """Write a statement as TOML that `parse_statement` reads back to an equal Statement."""
    doc: dict[str, Any] = {
        "version": statement.version,
        "title": statement.title,
        "organisation": statement.organisation,
        "status": statement.status,
        "endorsing_body": statement.endorsing_body,
        "session": statement.session,
        "document_symbol": statement.document_symbol,
        "supersedes": statement.supersedes,
        "preamble": statement.preamble,
        "overall": statement.overall,
    }
    for key in ("endorsed_on", "effective_from", "effective_to", "review_due_on"):
        value = getattr(statement, key)
        if value is not None:
            doc[key] = value
    doc["categories"] = {
        code: {
            "level": ca.level.value,
            "appetite_max": ca.appetite_max,
            "tolerance_max": ca.tolerance_max,
            "zero_tolerance": ca.zero_tolerance,
            **({"max_impact": ca.max_impact} if ca.max_impact is not None else {}),
            "narrative": ca.narrative,
        }
        for code, ca in statement.categories.items()
    }
    return tomli_w.dumps(doc, multiline_strings=True)


def load_categories(path: Path | str) -> list[CategoryDefinition]:
    """Read the risk category taxonomy (`appetite/categories.toml`)."""
    path = Path(path)
    data = _read_toml(path)
    rows = data.get("categories")
    if not isinstance(rows, list) or not rows:
        raise AppetiteError(f"{path}: categories: must be a list of [[categories]] tables")
    result = []
    for position, row in enumerate(rows, start=1):
        where = f"{path}: categories[{position}]"
        if not isinstance(row, dict):
            raise AppetiteError(f"{where}: must be a table")
        code, name = row.get("code"), row.get("name")
        if not isinstance(code, str) or not code.isalnum() or not code.isupper() or len(code) > 10:
            raise AppetiteError(f"{where}.code: must be up to 10 capital letters or digits, not {code!r}")
        if not isinstance(name, str) or not name.strip():
            raise AppetiteError(f"{where}.name: is missing")
        definition = row.get("definition", "")
        if not isinstance(definition, str):
            raise AppetiteError(f"{where}.definition: must be a text")
        result.append(CategoryDefinition(code, name.strip(), definition.strip(), position))
    codes = [c.code for c in result]
    if len(set(codes)) != len(codes):
        raise AppetiteError(f"{path}: categories: codes must be unique")
    return result


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:  # TOML is UTF-8 by definition: tomllib decodes it
            return tomllib.load(file)
    except OSError as exc:
        raise AppetiteError(f"{path}: cannot read file ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise AppetiteError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise AppetiteError(f"{path}: not valid TOML ({exc})") from exc


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class CategoryChange:
    """How one category differs between two statement versions."""

    category: str
    before: CategoryAppetite | None
    after: CategoryAppetite | None

    @property
    def level_changed(self) -> bool:
        return (self.before.level if self.before else None) != (self.after.level if self.after else None)

    @property
    def thresholds_changed(self) -> bool:
        def key(ca: CategoryAppetite | None) -> tuple[object, ...] | None:
            return (ca.appetite_max, ca.tolerance_max, ca.zero_tolerance, ca.max_impact) if ca else None

        return key(self.before) != key(self.after)

    @property
    def narrative_changed(self) -> bool:
        return (self.before.narrative if self.before else "") != (self.after.narrative if self.after else "")

    @property
    def changed(self) -> bool:
        return self.level_changed or self.thresholds_changed or self.narrative_changed


def compare(before: Statement, after: Statement, order: Iterable[str] | None = None) -> list[CategoryChange]:
    """Category-by-category comparison of two statements, in taxonomy order when given."""
    codes = list(order) if order is not None else []
    for code in [*before.categories, *after.categories]:
        if code not in codes:
            codes.append(code)
    return [
        CategoryChange(code, before.categories.get(code), after.categories.get(code))
        for code in codes
        if code in before.categories or code in after.categories
    ]
