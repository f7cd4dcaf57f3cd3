"""Reading cell values as people write them: numbers, scale labels, High/Medium/Low, "4x3", dates and codes.

Pure. Each reader takes a raw cell value (None, text, number, bool, date or datetime, as openpyxl or the
CSV reader gives it) and returns a typed value, or raises `CellValueError` with a message for the user.

Likelihood and impact
    A whole number on the scale; a label of the scale in `scales.toml` ("Likely", "Almost certain"),
    optionally with its number ("4 - Likely", "Likely (4)"); a probability in percent for likelihood
    ("60%", placed by the levels' probability ranges); or one of the words below. Scale labels always win
    over the words ("Moderate" is impact 3 on the bundled scale, whatever the table says).

Words onto the scale (the stated table), by the number of levels of the scale:

    ======================================================  ===  ===  ===  ===  ===
    word (English / French)                                  3    4    5    6    7
    ======================================================  ===  ===  ===  ===  ===
    Very low, VL, Très faible, Très bas                      1    1    1    1    1
    Low, L, Faible, Bas, Basse                               1    1    2    2    3
    Medium, M, Moderate, Moyen(ne), Modéré(e)                2    2    3    4    4
    High, H, Élevé(e), Fort(e), Haut(e)                      3    3    4    5    6
    Very high, VH, Critical, Extreme, Très élevé, Critique   3    4    5    6    7
    ======================================================  ===  ===  ===  ===  ===

    A column that used this table gets one warning, so the person importing checks the ratings.

"4x3", "4 × 3", "4*3" or "4x3=12" in one cell is likelihood 4, impact 3 (in a score or "L x I" column, or
in a likelihood cell whose impact cell is empty). A score or a band alone cannot give likelihood and impact.

Dates: Excel dates; ISO text (2026-06-30); day/month/year text (30/06/2026, 30.06.26, 30-06-2026);
"30 June 2026" / "30 juin 2026"; "June 2026" and "Q2 2026" (the last day of the month or quarter).
"Ongoing", "TBD", "n/a", "-" and the like mean no date. Month/day/year is not guessed: 06/30/2026 is refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from types import MappingProxyType

from riskreg.scoring import Band, Level, Scales
from riskreg.textpolicy import TextPolicyError, check_text, is_invisible

# Longest text accepted per field, in characters; the forms use the same numbers (shared on purpose).
FIELD_LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "ref": 40,
        "title": 120,
        "cause": 4000,
        "event": 4000,
        "consequence": 4000,
        "category": 200,
        "unit": 200,
        "owner_title": 200,
        "rationale": 4000,
        "controls": 4000,
        "action": 4000,
        "nature": 40,
        "level": 40,
        "status": 40,
        "treatment": 40,
        "control_effectiveness": 40,
    }
)

# Longest cell read at all; Excel itself stops at 32,767 characters.
MAX_CELL_CHARS = 32_767

EXCEL_ERRORS = frozenset({"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!", "#CALC!"})

WORD_TABLE: Mapping[int, tuple[int, int, int, int, int]] = MappingProxyType(
    {3: (1, 1, 2, 3, 3), 4: (1, 1, 2, 3, 4), 5: (1, 2, 3, 4, 5), 6: (1, 2, 4, 5, 6), 7: (1, 3, 4, 6, 7)}
)
_WORDS: Mapping[str, int] = {  # folded word -> position in WORD_TABLE rows (0 = very low ... 4 = very high)
    **dict.fromkeys(("very low", "vl", "tres faible", "tres bas", "tres basse", "very unlikely"), 0),
    **dict.fromkeys(("low", "l", "faible", "bas", "basse"), 1),
    **dict.fromkeys(("medium", "m", "moderate", "moyen", "moyenne", "modere", "moderee", "med"), 2),
    **dict.fromkeys(("high", "h", "eleve", "elevee", "fort", "forte", "haut", "haute"), 3),
    **dict.fromkeys(
        ("very high", "vh", "critical", "extreme", "tres eleve", "tres elevee", "tres fort", "tres forte", "critique"),
        4,
    ),
}


class ExcelError(str):
    """A cell holding a spreadsheet error such as #N/A (a formula's result), as opposed to that text typed."""

    __slots__ = ()


class CellValueError(ValueError):
    """A cell whose value cannot be used; the message is shown to the user next to the cell."""


def fold(text: str) -> str:
    """Text for matching: accents removed, case folded, punctuation turned into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# ---------------------------------------------------------------------------------------------- text


@dataclass(frozen=True)
class Text:
    value: str
    removed: tuple[str, ...] = ()  # what the text policy removed (control characters), for a warning

    @property
    def cleaned(self) -> bool:
        return bool(self.removed)


def read_text(value: object, label: str = "The cell") -> Text:
    """Cell text under the text policy (`riskreg.textpolicy`): line ends normalised, blanks and invisible
    characters at both ends and control characters removed; text made only of invisible characters raises.

    Excel's own escapes (_x000B_ and the like) are decoded when the workbook is read (sources.py), so a
    control character Excel wrote that way is removed here like any other.
    """
    if isinstance(value, str) and len(value) <= MAX_CELL_CHARS and value.isprintable() and value.strip() == value:
        return Text(value) if value and not is_invisible(value[0]) else _checked(value, label)
    if isinstance(value, bool):
        text = "Yes" if value else "No"
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    if len(text) > MAX_CELL_CHARS:
        raise CellValueError(f"The cell holds {len(text):,} characters, more than a spreadsheet cell can hold.")
    return _checked(text, label)


def _checked(text: str, label: str) -> Text:
    try:
        checked = check_text(text, label)
    except TextPolicyError as refused:
        raise CellValueError(refused.message) from None
    return Text(checked.text, checked.removed)


def check_length(text: str, field: str, label: str) -> str:
    limit = FIELD_LIMITS.get(field)
    if limit is not None and len(text) > limit:
        raise CellValueError(f"{label} is {len(text):,} characters long; at most {limit:,} are accepted.")
    return text


_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/#-]*$")


def read_ref(value: object) -> str:
    if isinstance(value, float) and not value.is_integer():
        raise CellValueError(f"Reference {value} is not a reference; write it as text such as FIN-2026-001.")
    text = " ".join(read_text(value).value.split())
    check_length(text, "ref", "The reference")
    if not _REF.match(text):
        raise CellValueError(f"Reference {text[:60]!r} may only contain letters, digits, spaces and - _ . / #.")
    return text


# ---------------------------------------------------------------------------------------------- numbers


def _whole_number(value: object) -> int | None:
    """The whole number a cell holds ("4", 4, 4.0, "4,0"), None if it is not a number at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise CellValueError(f"{value:g} is not a whole number.")
        return int(value)
    if isinstance(value, str):
        text = value.strip().replace(",", ".")
        if re.fullmatch(r"[+-]?\d+(?:\.0*)?", text):
            return int(float(text))
        if re.fullmatch(r"[+-]?\d*\.\d+", text):
            raise CellValueError(f"{value.strip()} is not a whole number.")
    return None


class LevelReader:
    """Reads one scale (likelihood or impact) from numbers, labels, percentages and the stated words."""

    def __init__(self, levels: tuple[Level, ...], noun: str) -> None:
        self.noun = noun
        self.top = len(levels)
        self.labels = {fold(level.label): level.value for level in levels}
        row = WORD_TABLE.get(self.top)
        self.words = {word: row[position] for word, position in _WORDS.items()} if row else {}
        self.ranges = [
            (level.prob_min, level.prob_max, level.value)
            for level in levels
            if level.prob_min is not None and level.prob_max is not None
        ]

    def read(self, value: object) -> tuple[int, bool]:
        """The level, and whether the word table was used to get it."""
        number = _whole_number(value)
        if number is not None:
            return self._check(number), False
        text = read_text(value).value
        folded = fold(text)
        if folded in self.labels:
            return self.labels[folded], False
        percent = re.fullmatch(r"(\d+(?:[.,]\d+)?)\s*%", text)
        if percent and self.ranges:
            return self._from_percent(float(percent.group(1).replace(",", "."))), False
        found = re.fullmatch(r"(\d+)\s*[-–—:.)]?\s*(.+?)", text) or re.fullmatch(r"(.+?)\s*\(\s*(\d+)\s*\)", text)
        if found:
            return self._number_and_label(found, text), False
        if folded in self.words:
            return self.words[folded], True
        raise CellValueError(self._unknown(text))

    def _check(self, number: int) -> int:
        if not 1 <= number <= self.top:
            raise CellValueError(f"{self.noun.capitalize()} {number} is outside the scale (1 to {self.top}).")
        return number

    def _number_and_label(self, found: re.Match[str], text: str) -> int:
        first, second = found.group(1), found.group(2)
        number_text, label = (first, second) if first.isdigit() else (second, first)
        number = self._check(int(number_text))
        named = self.labels.get(fold(label))
        if named is None:
            raise CellValueError(self._unknown(text))
        if named != number:
            raise CellValueError(f"{text!r} contradicts itself: {label!r} is {self.noun} {named}, not {number}.")
        return number

    def _from_percent(self, percent: float) -> int:
        for low, high, level in self.ranges:
            if low <= percent < high or (percent == high == 100):
                return level
        raise CellValueError(f"{percent:g}% is not a probability between 0 and 100%.")

    def _unknown(self, text: str) -> str:
        labels = ", ".join(repr(label) for label in self.labels)
        return (
            f"{text[:60]!r} is not a {self.noun}: use a number from 1 to {self.top}, a label ({labels}) "
            "or High / Medium / Low."
        )


_PAIR = re.compile(r"^\s*(\d+)\s*[x×X*✕]\s*(\d+)\s*(?:=\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class Rating:
    """What a score, band or "L x I" cell says; factors only when the cell gave both."""

    likelihood: int | None = None
    impact: int | None = None
    score: int | None = None
    band: str | None = None


def read_pair(value: object) -> tuple[int, int, int | None] | None:
    """Likelihood, impact and the written score of a "4x3" or "4x3=12" cell; None for anything else."""
    if not isinstance(value, str):
        return None
    found = _PAIR.match(value)
    if not found:
        return None
    score = int(found.group(3)) if found.group(3) else None
    return int(found.group(1)), int(found.group(2)), score


def read_rating(value: object, scales: Scales) -> Rating:
    """A score, a band name, "12 (High)", or a "4x3" pair, as found in score, band and "L x I" columns."""
    pair = read_pair(value)
    if pair is not None:
        likelihood, impact, written = pair
        try:
            score = scales.score(likelihood, impact)
        except ValueError as exc:
            raise CellValueError(f"{value!r}: {exc}.") from exc
        if written is not None and written != score:
            raise CellValueError(f"{value!r} does not add up: {likelihood} × {impact} is {score}.")
        return Rating(likelihood, impact, score)
    number = _whole_number(value)
    if number is not None:
        return Rating(score=_check_score(number, scales))
    text = read_text(value).value
    band = _band_named(text, scales)
    if band is not None:
        return Rating(band=band.name)
    found = re.fullmatch(r"(\d+)\s*[-–—:(]?\s*([^)]+?)\)?", text)
    if found:
        score = _check_score(int(found.group(1)), scales)
        band = _band_named(found.group(2), scales)
        if band is not None:
            return Rating(score=score, band=band.name)
    names = ", ".join(b.name for b in scales.bands)
    raise CellValueError(
        f"{text[:60]!r} is not a score (1 to {scales.max_score}), a band ({names}) or a pair like 4x3."
    )


def _check_score(number: int, scales: Scales) -> int:
    if number not in scales.possible_scores():
        raise CellValueError(
            f"{number} is not a possible score on a {scales.max_likelihood}×{scales.max_impact} scale."
        )
    return number


def _band_named(text: str, scales: Scales) -> Band | None:
    wanted = fold(text)
    return next((band for band in scales.bands if fold(band.name) == wanted), None)


def read_small_int(value: object, low: int, high: int, noun: str) -> int:
    number = _whole_number(value)
    if number is None:
        raise CellValueError(f"{read_text(value).value[:60]!r} is not a whole number ({noun} is {low} to {high}).")
    if not low <= number <= high:
        raise CellValueError(f"{noun.capitalize()} {number} is outside {low} to {high}.")
    return number


# ---------------------------------------------------------------------------------------------- codes

ENUM_WORDS: Mapping[str, Mapping[str, str]] = {
    "nature": {
        **dict.fromkeys(("threat", "menace", "negative", "downside", "risk", "risque"), "threat"),
        **dict.fromkeys(("opportunity", "opportunite", "positive", "upside"), "opportunity"),
    },
    "level": {
        **dict.fromkeys(
            ("departmental", "department", "dept", "departemental", "departementale", "unit"), "departmental"
        ),
        **dict.fromkeys(("sector", "sectoral", "sectoriel", "sectorielle", "bureau"), "sector"),
        **dict.fromkeys(
            ("corporate", "organisational", "organizational", "institutional", "institutionnel", "entity", "strategic"),
            "corporate",
        ),
    },
    "status": {
        **dict.fromkeys(("draft", "brouillon", "proposed", "propose", "new", "nouveau"), "draft"),
        **dict.fromkeys(("submitted", "soumis", "for review", "under review"), "submitted"),
        **dict.fromkeys(
            ("active", "open", "opened", "current", "live", "ongoing", "ouvert", "actif", "active risk", "en cours"),
            "active",
        ),
        **dict.fromkeys(("escalated", "escalade", "remonte"), "escalated"),
        **dict.fromkeys(("closed", "close", "clos", "ferme", "cloture", "resolved", "retired", "inactive"), "closed"),
        **dict.fromkeys(("realised", "realized", "materialised", "materialized", "occurred", "survenu"), "realised"),
        **dict.fromkeys(("merged", "fusionne"), "merged"),
    },
    "treatment": {
        **dict.fromkeys(("treat", "reduce", "mitigate", "reduire", "attenuer", "traiter", "control"), "treat"),
        **dict.fromkeys(("tolerate", "accept", "retain", "accepter", "tolerer", "conserver"), "tolerate"),
        **dict.fromkeys(("transfer", "share", "insure", "transferer", "partager"), "transfer"),
        **dict.fromkeys(("terminate", "avoid", "eliminate", "eviter", "supprimer", "terminer"), "terminate"),
        **dict.fromkeys(("exploit", "exploiter", "enhance", "pursue"), "exploit"),
    },
    "control_effectiveness": {
        **dict.fromkeys(("effective", "efficace", "good", "strong"), "effective"),
        **dict.fromkeys(
            ("partially effective", "partly effective", "partial", "partiellement efficace", "adequate", "fair"),
            "partially_effective",
        ),
        **dict.fromkeys(("ineffective", "not effective", "inefficace", "weak", "poor"), "ineffective"),
        **dict.fromkeys(("not assessed", "non evalue", "unknown", "not tested"), "not_assessed"),
    },
}


class EnumReader:
    """Reads a code (level, status, treatment...) from its value, its label or a common synonym."""

    def __init__(self, field: str, label: str, extra: Mapping[str, str] | None = None) -> None:
        self.label = label
        words = dict(ENUM_WORDS[field])
        for code in set(words.values()):
            words[fold(code)] = code  # "partially_effective" and "Partially effective"
        for text, code in (extra or {}).items():
            words.setdefault(fold(text), code)
        self.words = words
        self.codes = sorted(set(words.values()))

    def read(self, value: object) -> str:
        text = read_text(value).value
        code = self.words.get(fold(text))
        if code is None:
            accepted = ", ".join(c.replace("_", " ") for c in self.codes)
            raise CellValueError(f"{text[:60]!r} is not a {self.label}; use one of: {accepted}.")
        return code


# ---------------------------------------------------------------------------------------------- dates

_NO_DATE = frozenset(
    fold(w)
    for w in (
        "-",
        "n/a",
        "na",
        "none",
        "tbd",
        "tbc",
        "to be determined",
        "ongoing",
        "on-going",
        "continuous",
        "continuing",
        "permanent",
        "recurrent",
        "en cours",
        "continu",
        "aucune",
        "aucun",
        "a definir",
        "ad hoc",
    )
)
_MONTHS: Mapping[str, int] = {
    **dict.fromkeys(("jan", "january", "janv", "janvier"), 1),
    **dict.fromkeys(("feb", "february", "fev", "fevr", "fevrier"), 2),
    **dict.fromkeys(("mar", "march", "mars"), 3),
    **dict.fromkeys(("apr", "april", "avr", "avril"), 4),
    **dict.fromkeys(("may", "mai"), 5),
    **dict.fromkeys(("jun", "june", "juin"), 6),
    **dict.fromkeys(("jul", "july", "juil", "juillet"), 7),
    **dict.fromkeys(("aug", "august", "aout"), 8),
    **dict.fromkeys(("sep", "sept", "september", "septembre"), 9),
    **dict.fromkeys(("oct", "october", "octobre"), 10),
    **dict.fromkeys(("nov", "november", "novembre"), 11),
    **dict.fromkeys(("dec", "december", "decembre"), 12),
}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_YMD_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_DMY = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})")
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_RANGE = (18_264, 73_051)  # 1950-01-01 .. 2099-12-31


def no_date(value: object) -> bool:
    return isinstance(value, str) and fold(value) in _NO_DATE


def read_date(value: object) -> date:
    """A calendar date from an Excel date, a serial number or text; see the module docstring."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, time | timedelta):
        raise CellValueError("The cell holds a time, not a date.")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(value)
    text = read_text(value).value
    for pattern, order in ((_ISO, "ymd"), (_YMD_SLASH, "ymd"), (_DMY, "dmy")):
        found = pattern.fullmatch(text)
        if found:
            return _build(found.groups(), order, text)
    return _from_words(text)


def _from_serial(value: float) -> date:
    if 1900 <= value <= 2100 and float(value).is_integer():
        raise CellValueError(f"{value:g} looks like a year; write a full date such as 31/12/{int(value)}.")
    if not _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
        raise CellValueError(f"{value:g} is not a date.")
    return _EXCEL_EPOCH + timedelta(days=int(value))


def _build(parts: tuple[str | None, ...], order: str, text: str) -> date:
    numbers = [int(p or 0) for p in parts]
    year, month, day = (numbers[0], numbers[1], numbers[2]) if order == "ymd" else (numbers[2], numbers[1], numbers[0])
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        if order == "dmy" and 1 <= numbers[0] <= 12 and 13 <= numbers[1] <= 31:
            raise CellValueError(
                f"{text!r} looks like month/day/year; dates are read as day/month/year. "
                f"Write it as {year:04d}-{numbers[0]:02d}-{numbers[1]:02d}."
            ) from None
        raise CellValueError(f"{text!r} is not a valid date.") from None


def _from_words(text: str) -> date:
    tokens = [re.sub(r"^(\d+)(?:st|nd|rd|th|er|e)$", r"\1", t) for t in fold(text).split()]
    try:
        if len(tokens) == 3 and tokens[1] in _MONTHS and tokens[0].isdigit() and tokens[2].isdigit():
            return _full_year_date(int(tokens[2]), _MONTHS[tokens[1]], int(tokens[0]))
        if len(tokens) == 3 and tokens[0] in _MONTHS and tokens[1].isdigit() and tokens[2].isdigit():
            return _full_year_date(int(tokens[2]), _MONTHS[tokens[0]], int(tokens[1]))
        if len(tokens) == 2 and tokens[0] in _MONTHS and tokens[1].isdigit():
            month, year = _MONTHS[tokens[0]], _year(int(tokens[1]))
            return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        if len(tokens) == 2 and re.fullmatch(r"[qt][1-4]", tokens[0]) and tokens[1].isdigit():
            quarter, year = int(tokens[0][1]), _year(int(tokens[1]))
            return date(year + quarter // 4, (quarter * 3) % 12 + 1, 1) - timedelta(days=1)
    except ValueError:
        raise CellValueError(f"{text[:60]!r} is not a valid date.") from None
    raise CellValueError(f"{text[:60]!r} is not a date; write it as 30/06/2026 or 2026-06-30.")


def _year(number: int) -> int:
    return number + 2000 if number < 100 else number


def _full_year_date(year: int, month: int, day: int) -> date:
    return date(_year(year), month, day)
