"""Scales, scores and rating bands: the organisation's methodology as data.

Pure: no Flask, no database session. `load_scales()` reads `appetite/scales.toml` and
validates it; `Scales.score()` and `Scales.band()` are what every other module uses.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

MIN_LEVELS = 3
MAX_LEVELS = 7


class ScalesError(ValueError):
    """A scales file that cannot be used, with the file and key that are wrong."""


@dataclass(frozen=True)
class Level:
    """One step of a likelihood or impact scale."""

    value: int
    label: str
    description: str
    prob_min: float | None = None
    prob_max: float | None = None
    criteria: Mapping[str, str] = field(default_factory=dict)

    @property
    def probability_text(self) -> str:
        """Probability range in words, e.g. '20–50%'; empty for impact levels."""
        if self.prob_min is None or self.prob_max is None:
            return ""
        if self.prob_min <= 0:
            return f"< {self.prob_max:g}%"
        if self.prob_max >= 100:
            return f"> {self.prob_min:g}%"
        return f"{self.prob_min:g}–{self.prob_max:g}%"


@dataclass(frozen=True)
class Band:
    """A rating band: a closed score range with its colours and review frequency."""

    name: str
    min_score: int
    max_score: int
    fill: str
    font: str
    colourblind_fill: str
    review_days: int
    critical: bool = False

    def contains(self, score: int) -> bool:
        return self.min_score <= score <= self.max_score


@dataclass(frozen=True)
class Scales:
    """A validated likelihood × impact methodology."""

    version: str
    title: str
    horizon_months: int
    likelihood: tuple[Level, ...]
    impact: tuple[Level, ...]
    dimensions: tuple[str, ...]
    bands: tuple[Band, ...]

    @property
    def max_likelihood(self) -> int:
        return len(self.likelihood)

    @property
    def max_impact(self) -> int:
        return len(self.impact)

    @property
    def max_score(self) -> int:
        return self.max_likelihood * self.max_impact

    def possible_scores(self) -> list[int]:
        """Every score a risk can have on these scales, ascending."""
        return sorted({li * im for li in range(1, self.max_likelihood + 1) for im in range(1, self.max_impact + 1)})

    def check_point(self, likelihood: int, impact: int) -> None:
        """Raise ValueError when (likelihood, impact) is off the scales."""
        if not 1 <= likelihood <= self.max_likelihood:
            raise ValueError(f"likelihood must be between 1 and {self.max_likelihood}, not {likelihood}")
        if not 1 <= impact <= self.max_impact:
            raise ValueError(f"impact must be between 1 and {self.max_impact}, not {impact}")

    def score(self, likelihood: int, impact: int) -> int:
        self.check_point(likelihood, impact)
        return likelihood * impact

    def band(self, score: int) -> Band:
        for band in self.bands:
            if band.contains(score):
                return band
        raise ValueError(f"score {score} is outside every rating band")

    @property
    def critical_band(self) -> Band:
        """The highest band: always critical, always outside tolerance (the universal ceiling)."""
        return self.bands[-1]

    def is_critical(self, score: int) -> bool:
        """Is the score in the highest band? Decided by position, never by a flag in the data."""
        return score >= self.critical_band.min_score

    def band_at(self, likelihood: int, impact: int) -> Band:
        return self.band(self.score(likelihood, impact))

    def band_named(self, name: str) -> Band:
        for band in self.bands:
            if band.name == name:
                return band
        raise KeyError(name)

    def likelihood_level(self, value: int) -> Level:
        return self.likelihood[value - 1]

    def impact_level(self, value: int) -> Level:
        return self.impact[value - 1]

    def band_rank(self, name: str) -> int:
        """Position of a band from the lowest (0) up; used to compare bands."""
        return [b.name for b in self.bands].index(name)


def load_scales(path: Path | str) -> Scales:
    """Read and validate a scales TOML file; errors name the file and the key."""
    path = Path(path)
    try:
        with path.open("rb") as file:  # TOML is UTF-8 by definition: tomllib decodes it
            data = tomllib.load(file)
    except OSError as exc:
        raise ScalesError(f"{path}: cannot read file ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise ScalesError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScalesError(f"{path}: not valid TOML ({exc})") from exc
    return parse_scales(data, source=str(path))


def parse_scales(data: Mapping[str, Any], source: str = "<scales>") -> Scales:
    """Validate a parsed scales document (see `appetite/README.md` for the format)."""
    reader = _Reader(source)
    version = reader.text(data, "version")
    title = reader.text(data, "title")
    horizon = reader.integer(data, "horizon_months", default=12, low=1, high=120)
    dimensions = tuple(reader.text_list(data, "dimensions"))
    likelihood = _levels(reader, data, "likelihood", probabilities=True, dimensions=())
    impact = _levels(reader, data, "impact", probabilities=False, dimensions=dimensions)
    bands = _bands(reader, data)
    scales = Scales(version, title, horizon, likelihood, impact, dimensions, bands)
    _check_coverage(reader, scales)
    return scales


class _Reader:
    """Typed access to a parsed TOML mapping with messages naming file and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ScalesError:
        return ScalesError(f"{self.source}: {key}: {problem}")

    def text(self, data: Mapping[str, Any], key: str, where: str = "", required: bool = True) -> str:
        name = f"{where}{key}"
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(name, "is missing")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(name, "must be a non-empty text")
        return value.strip()

    def integer(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str = "",
        default: int | None = None,
        low: int = 0,
        high: int = 10**6,
    ) -> int:
        name = f"{where}{key}"
        value = data.get(key, default)
        if value is None:
            raise self.fail(name, "is missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, f"must be a whole number, not {value!r}")
        if not low <= value <= high:
            raise self.fail(name, f"must be between {low} and {high}, not {value}")
        return value

    def number(self, data: Mapping[str, Any], key: str, where: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise self.fail(f"{where}{key}", f"must be a percentage between 0 and 100, not {value!r}")
        return float(value)

    def text_list(self, data: Mapping[str, Any], key: str) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, "must be a list of names")
        return [v.strip() for v in value]

    def colour(self, data: Mapping[str, Any], key: str, where: str) -> str:
        value = self.text(data, key, where)
        if len(value) != 7 or value[0] != "#" or any(c not in "0123456789abcdefABCDEF" for c in value[1:]):
            raise self.fail(f"{where}{key}", f"must be a colour like #92D050, not {value!r}")
        return value.upper()

    def table_list(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be a list of [[{key}]] tables")
        return value


def _levels(
    reader: _Reader, data: Mapping[str, Any], key: str, *, probabilities: bool, dimensions: tuple[str, ...]
) -> tuple[Level, ...]:
    rows = reader.table_list(data, key)
    if not MIN_LEVELS <= len(rows) <= MAX_LEVELS:
        raise reader.fail(key, f"must have between {MIN_LEVELS} and {MAX_LEVELS} levels, not {len(rows)}")
    levels = []
    for position, row in enumerate(rows, start=1):
        where = f"{key}[{position}]."
        value = reader.integer(row, "value", where, low=1, high=MAX_LEVELS)
        if value != position:
            raise reader.fail(
                f"{where}value", f"levels must be numbered 1, 2, 3… in order; expected {position}, got {value}"
            )
        prob_min = reader.number(row, "prob_min", where) if probabilities else None
        prob_max = reader.number(row, "prob_max", where) if probabilities else None
        if prob_min is not None and prob_max is not None and prob_min >= prob_max:
            raise reader.fail(f"{where}prob_max", "must be greater than prob_min")
        criteria = row.get("criteria", {})
        if not isinstance(criteria, dict) or not all(isinstance(v, str) for v in criteria.values()):
            raise reader.fail(f"{where}criteria", "must be a table of texts, one per dimension")
        unknown = sorted(set(criteria) - set(dimensions))
        if unknown:
            raise reader.fail(f"{where}criteria", f"names unknown dimension(s) {', '.join(unknown)}")
        levels.append(
            Level(
                value=value,
                label=reader.text(row, "label", where),
                description=reader.text(row, "description", where, required=False),
                prob_min=prob_min,
                prob_max=prob_max,
                criteria=dict(criteria),
            )
        )
    labels = [level.label.casefold() for level in levels]
    if len(set(labels)) != len(labels):
        raise reader.fail(key, "labels must be unique")
    return tuple(levels)


def _bands(reader: _Reader, data: Mapping[str, Any]) -> tuple[Band, ...]:
    rows = reader.table_list(data, "bands")
    placed = []  # (band, its place in the file): messages name the key as the file has it
    for position, row in enumerate(rows, start=1):
        where = f"bands[{position}]."
        low = reader.integer(row, "min_score", where, low=1, high=MAX_LEVELS**2)
        high = reader.integer(row, "max_score", where, low=1, high=MAX_LEVELS**2)
        if low > high:
            raise reader.fail(f"{where}max_score", f"must not be below min_score ({high} < {low})")
        critical = row.get("critical", False)
        if not isinstance(critical, bool):
            raise reader.fail(f"{where}critical", "must be true or false")
        fill = reader.colour(row, "fill", where)
        band = Band(
            name=reader.text(row, "name", where),
            min_score=low,
            max_score=high,
            fill=fill,
            font=reader.colour(row, "font", where),
            colourblind_fill=reader.colour(row, "colourblind_fill", where) if "colourblind_fill" in row else fill,
            review_days=reader.integer(row, "review_days", where, low=1, high=3660),
            critical=critical,
        )
        placed.append((band, position))
    placed.sort(key=lambda item: item[0].min_score)
    bands = [band for band, _ in placed]
    for lower, upper in pairwise(bands):
        if upper.min_score <= lower.max_score:
            raise reader.fail("bands", f"{lower.name} and {upper.name} overlap")
    names = [b.name.casefold() for b in bands]
    if len(set(names)) != len(names):
        raise reader.fail("bands", "band names must be unique")
    _check_critical(reader, placed)
    return tuple(bands)


def _check_critical(reader: _Reader, placed: list[tuple[Band, int]]) -> None:
    """Exactly the highest band is critical: the universal ceiling must not hang on a flag someone forgot."""
    if not placed:
        raise reader.fail("bands", "must have at least one band")
    *lower, (top, top_position) = placed
    for band, position in lower:
        if band.critical:
            raise reader.fail(
                f"bands[{position}].critical",
                f"only the highest band may be critical, not {band.name} ({band.min_score}–{band.max_score})",
            )
    if not top.critical:
        raise reader.fail(
            f"bands[{top_position}].critical",
            f"the highest band, {top.name}, must be marked critical = true (it is always outside tolerance)",
        )


def _check_coverage(reader: _Reader, scales: Scales) -> None:
    """Every possible score in exactly one band, and every band reachable by some score."""
    scores = scales.possible_scores()
    for score in scores:
        holders = [b.name for b in scales.bands if b.contains(score)]
        if len(holders) != 1:
            raise reader.fail("bands", f"score {score} must fall in exactly one band, found {len(holders)}")
    for band in scales.bands:
        # An empty band above the highest score would make the critical band unreachable.
        if not any(band.contains(score) for score in scores):
            raise reader.fail(
                "bands",
                f"{band.name} ({band.min_score}–{band.max_score}) holds no possible score on "
                f"{scales.max_likelihood}×{scales.max_impact} scales",
            )
