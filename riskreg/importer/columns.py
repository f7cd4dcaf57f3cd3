"""Finding the register table in a sheet and deciding which column holds which field.

Pure. Headers are matched after folding (accents, case and punctuation ignored) against English and French
synonyms, against the headers of RiskReg's own Council workbook (`exports/council.toml`, read when it exists,
so a workbook exported by RiskReg imports back), and against the user's mapping, which wins over both.
A rating header may carry a qualifier ("Inherent likelihood", "Probabilité résiduelle", or "L" under a
merged "Residual risk" cell); an unqualified "Likelihood" means the residual (current) rating, unless the
sheet also has explicit residual columns, in which case it is the inherent one.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from riskreg.importer.safety import ImportRejected
from riskreg.importer.values import fold

QUALIFIERS = ("inherent", "residual", "target")
FACTORS = ("likelihood", "impact", "score", "band")
DERIVED = "derived"  # a column RiskReg computes (appetite status, trend...): recognised, not imported
IGNORE = "ignore"  # a user mapping may send a column nowhere
MULTI_COLUMN = frozenset({"actions", "action_due", "controls"})  # several columns may feed these

FIELD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "ref": "Reference",
        "title": "Title",
        "statement": "Risk statement",
        "cause": "Cause",
        "event": "Event",
        "consequence": "Consequence",
        "category": "Category",
        "unit": "Unit",
        "owner_title": "Owner",
        "nature": "Nature",
        "level": "Level",
        "status": "Status",
        "treatment": "Treatment option",
        "actions": "Actions",
        "action_due": "Action due date",
        "target_date": "Target date",
        "rationale": "Rationale",
        "controls": "Existing controls",
        "control_effectiveness": "Control effectiveness",
        "velocity": "Velocity",
        **{f"{q}_{f}": f"{q.capitalize()} {f}" for q in QUALIFIERS for f in FACTORS},
        DERIVED: "Computed by RiskReg (not imported)",
    }
)
MAPPABLE_FIELDS = frozenset(FIELD_LABELS) | {IGNORE}


def _phrases(text: str) -> tuple[str, ...]:
    """Phrases written "a | b | c" (compact and easy to extend), as a tuple."""
    return tuple(p.strip() for p in text.split("|"))


_SOURCE: Mapping[str, tuple[str, ...]] = {
    "ref": _phrases(
        "ref | reference | risk ref | risk reference | risk id | id | risk no | risk number | no | nr | n | num | "
        "number | numero | code | risk code | ref no | identifier | reference du risque | ref risque | n du risque | "
        "numero du risque | no du risque | identifiant | ref du risque"
    ),
    "title": _phrases(
        "title | risk title | risk | risk name | name | short title | short name | intitule | intitule du risque | "
        "titre | titre du risque | risque | nom du risque | libelle | libelle du risque | risk summary"
    ),
    "statement": _phrases(
        "description | risk description | risk statement | statement | description du risque | enonce du risque | "
        "enonce | detail | details | risk details | description of risk | risk detail"
    ),
    "cause": _phrases(
        "cause | causes | root cause | root causes | risk cause | risk causes | drivers | risk drivers | source | "
        "sources | causes du risque | cause du risque | facteurs | origine"
    ),
    "event": _phrases("event | risk event | evenement | evenement redoute | event description"),
    "consequence": _phrases(
        "consequence | consequences | effect | effects | impact description | potential impact | potential impacts | "
        "description of impact | consequences potentielles | effets | impact potentiel | description de l impact | "
        "description of consequences"
    ),
    "category": _phrases(
        "category | risk category | categorie | categorie de risque | type | risk type | risk area | area | domain | "
        "domaine | theme | category code"
    ),
    "unit": _phrases(
        "department | dept | unit | org unit | organisational unit | organizational unit | service | division | "
        "sector | bureau | lead unit | responsible unit | departement | unite | direction | entite | entity | "
        "office | unit code | department code | secteur"
    ),
    "owner_title": _phrases(
        "owner | risk owner | owner title | proprietaire | proprietaire du risque | responsable | "
        "responsable du risque | responsible | accountable | risk owner title | titulaire"
    ),
    "nature": _phrases("nature | threat or opportunity | threat opportunity | menace ou opportunite | risk nature"),
    "level": _phrases("level | register level | risk register level | niveau | niveau du registre"),
    "status": _phrases("status | risk status | statut | etat | statut du risque | state"),
    "treatment": _phrases(
        "treatment option | treatment strategy | response strategy | risk response strategy | strategy | "
        "option de traitement | strategie | 4t | 4 t | response option | approach | strategie de traitement | "
        "treatment type | response type"
    ),
    "actions": _phrases(
        "mitigation | mitigations | mitigating actions | mitigation actions | mitigation measures | "
        "mitigation plan | action | actions | action plan | treatment | treatment plan | treatment actions | "
        "response | risk response | planned actions | further actions | additional actions | mesures | "
        "mesures d attenuation | plan d action | actions prevues | key actions | key actions summary | traitement | "
        "actions d attenuation | mesures prevues | actions de traitement | planned mitigation"
    ),
    "action_due": _phrases(
        "due date | due | deadline | echeance | date limite | target completion date | by when | action due date | "
        "timeline | delai | completion date | date d echeance | due by"
    ),
    "target_date": _phrases("target date | date cible | target resolution date | target risk date"),
    "rationale": _phrases(
        "rationale | justification | assessment rationale | rationale for rating | basis of rating | "
        "justification de la cotation | justification de l evaluation"
    ),
    "controls": _phrases(
        "controls | existing controls | key controls | key existing controls | current controls | control measures | "
        "controles | controles existants | mesures existantes | internal controls | existing measures | "
        "dispositif de maitrise | controls in place"
    ),
    "control_effectiveness": _phrases(
        "control effectiveness | effectiveness of controls | efficacite des controles | controls effectiveness | "
        "control rating | efficacite"
    ),
    "velocity": _phrases("velocity | velocite | speed of onset | vitesse"),
    "likelihood": _phrases(
        "likelihood | probability | probabilite | vraisemblance | occurrence | frequency | frequence | l | p | "
        "prob | chance | probabilite d occurrence"
    ),
    "impact": _phrases(
        "impact | severity | gravite | magnitude | i | g | impact rating | consequence rating | consequence level | "
        "severity rating"
    ),
    "score": _phrases(
        "score | exposure | criticality | criticite | cotation | l x i | lxi | l i | p x i | pxi | p i | i x l | "
        "likelihood x impact | likelihood impact | probability x impact | probability impact | "
        "probabilite x impact | probabilite impact | p x g | pxg | probabilite x gravite | probabilite gravite | "
        "rating | risk score | risk rating | risk level | niveau de risque | overall rating | overall risk | "
        "risk exposure | overall score | risk value"
    ),
    "band": _phrases("band | risk band | rating band | rag | rag status | colour | color | couleur | bande"),
    DERIVED: _phrases(
        "appetite | risk appetite | appetite level | appetite status | appetite zone | zone | within appetite | "
        "trend | tendance | movement | actions overdue | overdue actions | days overdue | last validated | "
        "last reviewed | last assessed | assessed on | date assessed | gap | appetite gap | tolerance | "
        "appetite max | tolerance max | next review | next review date | appetite statut | statut appetence"
    ),
}
_QUALIFIER_WORDS: Mapping[str, tuple[str, ...]] = {
    "inherent": _phrases(
        "inherent | initial | gross | raw | before controls | pre control | pre controls | pre mitigation | "
        "untreated | unmitigated | inherente | brut | brute | initiale | avant controles | avant mesures"
    ),
    "residual": _phrases(
        "residual | current | net | after controls | post control | post controls | post mitigation | controlled | "
        "residuel | residuelle | actuel | actuelle | nette | apres controles | apres mesures"
    ),
    "target": _phrases(
        "target | desired | future | after actions | planned | post treatment | cible | vise | visee | souhaite | "
        "souhaitee | apres actions"
    ),
}
_QUALIFIED_FACTORS: Mapping[str, tuple[str, ...]] = {
    "likelihood": _phrases(
        "likelihood | probability | probabilite | vraisemblance | occurrence | frequency | frequence | l | p | "
        "prob | chance"
    ),
    "impact": _phrases("impact | severity | gravite | magnitude | i | g | s | consequence | consequences | effect"),
    "score": _phrases(
        "score | exposure | criticality | criticite | cotation | l x i | lxi | l i | p x i | pxi | p i | i x l | "
        "likelihood x impact | likelihood impact | probability x impact | probability impact | "
        "probabilite x impact | probabilite impact | p x g | pxg | probabilite x gravite | probabilite gravite | "
        "total | value | valeur | note | niveau | assessment | evaluation"
    ),
    "band": _phrases("band | bande | colour | color | couleur | rag"),
}
_FILLER = frozenset(_phrases("risk | risks | risque | risques | rating | level | de | du | des | la | le | the | of"))
# Headers whose column is decided by its values: an "Impact" column may hold consequence prose, and a
# "Treatment" column either the option (Treat, Tolerate...) or the actions themselves.
AMBIGUOUS: Mapping[str, str] = MappingProxyType(
    dict.fromkeys(("treatment", "traitement", "response", "risk response"), "treatment") | {"impact": "impact"}
)

BUILTIN: Mapping[str, str] = MappingProxyType({fold(p): key for key, phrases in _SOURCE.items() for p in phrases})
_QUALIFIER_PHRASES = sorted(((p, q) for q, ps in _QUALIFIER_WORDS.items() for p in ps), key=lambda x: -len(x[0]))
_FACTOR_PHRASES: Mapping[str, str] = {p: f for f, ps in _QUALIFIED_FACTORS.items() for p in ps}


def _strip_filler(folded: str) -> str:
    return " ".join(t for t in folded.split() if t not in _FILLER and not t.isdigit())


def builtin_field(folded: str) -> str | None:
    """The field a folded header names by the built-in synonyms, qualifiers included."""
    found = BUILTIN.get(folded)
    if found:
        return found
    for phrase, qualifier in _QUALIFIER_PHRASES:
        if folded == phrase:
            return f"{qualifier}_score"
        if folded.startswith(phrase + " "):
            rest = folded[len(phrase) + 1 :]
        elif folded.endswith(" " + phrase):
            rest = folded[: -len(phrase) - 1]
        else:
            continue
        rest = _strip_filler(rest)
        factor = "score" if not rest else _FACTOR_PHRASES.get(rest)
        if factor:
            return f"{qualifier}_{factor}"
    stripped = _strip_filler(folded)
    if stripped and stripped != folded:
        return BUILTIN.get(stripped)
    return None


# ---------------------------------------------------------------------------------------------- council.toml

# Fields of the Council layout (riskreg/workbook/fields.py RISK_FIELDS) as import fields.
_COUNCIL_FIELDS: Mapping[str, str] = {
    "ref": "ref",
    "title": "title",
    "statement": "statement",
    "cause": "cause",
    "event": "event",
    "consequence": "consequence",
    "category": "category",
    "category_code": "category",
    "unit": "unit",
    "unit_code": "unit",
    "level": "level",
    "nature": "nature",
    "status": "status",
    "owner": "owner_title",
    "treatment": "treatment",
    "target_date": "target_date",
    "controls": "controls",
    "control_effectiveness": "control_effectiveness",
    "velocity": "velocity",
    "rationale": "rationale",
    "key_actions": "actions",
    **{f"{q}_{f}": f"{q}_{f}" for q in QUALIFIERS for f in FACTORS},
}
_LABEL_GROUPS = ("level", "nature", "status", "treatment", "control_effectiveness")


@dataclass(frozen=True)
class CouncilVocabulary:
    """What RiskReg's Council workbook layout says about its Register sheet (empty when unknown)."""

    register_sheet: str = ""
    synonyms: Mapping[str, str] = field(default_factory=dict)  # folded header -> import field
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # group -> label text -> code

    def is_register(self, sheet: str, folded_headers: set[str]) -> bool:
        """A sheet named like the Council Register sheet whose headers are (nearly all) the layout's.

        Either audience counts: the Council one shows fewer columns than the task force one.
        """
        if not self.register_sheet or fold(sheet) != fold(self.register_sheet):
            return False
        known = folded_headers & set(self.synonyms)
        return len(known) >= 5 and len(known) >= 0.8 * len(folded_headers)


def load_council_vocabulary(path: Path) -> CouncilVocabulary:
    """Read the layout tolerantly: a missing or half-written file (another engineer edits it) gives nothing."""
    try:
        stat = path.stat()
    except OSError:
        return CouncilVocabulary()
    return _load_council(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load_council(path: str, mtime_ns: int, size: int) -> CouncilVocabulary:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return CouncilVocabulary()
    register = _table(_table(data, "sheets"), "register")
    synonyms: dict[str, str] = {}
    columns = register.get("columns", [])
    for column in columns if isinstance(columns, list) else []:
        if not isinstance(column, dict):
            continue
        header, name = column.get("header"), column.get("field")
        if isinstance(header, str) and isinstance(name, str) and "{" not in header and fold(header):
            synonyms[fold(header)] = _COUNCIL_FIELDS.get(name, DERIVED)
    labels: dict[str, dict[str, str]] = {}
    for group in _LABEL_GROUPS:
        table = _table(_table(data, "labels"), group)
        labels[group] = {text: code for code, text in table.items() if isinstance(text, str)}
    sheet_name = register.get("name")
    return CouncilVocabulary(sheet_name if isinstance(sheet_name, str) else "", synonyms, labels)


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------- matching


class ColumnMatcher:
    """Header text -> field, by the user's mapping, then the Council layout, then the built-in synonyms."""

    def __init__(self, council: CouncilVocabulary, mapping: Mapping[str, str] | None) -> None:
        self.council = council
        self.user: dict[str, str] = {}
        for header, name in (mapping or {}).items():
            wanted = name.strip().lower()
            if wanted not in MAPPABLE_FIELDS:
                known = ", ".join(sorted(MAPPABLE_FIELDS - {DERIVED}))
                raise ImportRejected(
                    f"The column mapping sends {header!r} to {name!r}, which is not a field ({known})."
                )
            self.user[fold(header)] = wanted
        self.used_user_headers: set[str] = set()
        self._cache: dict[str, str | None] = {}

    def match(self, header: str) -> str | None:
        if header in self._cache:
            return self._cache[header]
        folded = fold(header)
        found: str | None
        if folded in self.user:
            self.used_user_headers.add(folded)
            found = self.user[folded]
        elif not folded:
            found = "ref" if header.strip() in ("#", "№", "N°", "n°") else None
        else:
            found = self.council.synonyms.get(folded) or builtin_field(folded)
        self._cache[header] = found
        return found


@dataclass(frozen=True)
class HeaderColumn:
    """One column of the table: where it is, what its header says, and the field it feeds ("" = none)."""

    index: int  # 0-based position in the row
    letter: str
    header: str
    field: str
    ambiguous: str = ""  # "impact" or "treatment": the values decide (see AMBIGUOUS)
    note: str = ""


@dataclass(frozen=True)
class Table:
    """Where a sheet's register table starts and how its columns map."""

    header_row: int  # the (lower) header row, 1-based; data starts below it
    columns: tuple[HeaderColumn, ...]
    fields: frozenset[str]
    notes: tuple[str, ...] = ()
    raw: tuple[HeaderColumn, ...] = ()  # the columns as matched, before qualifiers and duplicates were settled

    @property
    def score(self) -> int:
        return len(self.fields - {DERIVED, IGNORE})


IDENTITY_FIELDS = frozenset({"ref", "title", "statement", "event"})
DESCRIPTIVE_FIELDS = frozenset(
    {"title", "statement", "event", "cause"}
)  # what a register has and a list of refs has not


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _header_text(value: object) -> str:
    # Headers are short texts; numbers, dates and long prose in the first rows are data or notes.
    if isinstance(value, str) and 0 < len(value) <= 200:
        return " ".join(value.split())
    return ""


def find_table(rows: Sequence[tuple[int, Sequence[object]]], matcher: ColumnMatcher) -> Table | None:
    """The row (among those given, the first rows of a sheet) that names most fields, or None.

    Each row is also tried together with the row above it, its texts carried to the right across
    merged cells, so "L" under a merged "Inherent risk" reads as "Inherent risk L".
    """
    best: Table | None = None
    for position, (number, values) in enumerate(rows):
        texts = [_header_text(v) for v in values]
        if sum(1 for t in texts if t) < 2:
            continue
        above = _carried(rows[position - 1][1]) if position else []
        table = _table_from(number, texts, above, matcher)
        if table is not None and (best is None or table.score > best.score):
            best = table
    return best


def _carried(values: Sequence[object]) -> list[str]:
    carried: list[str] = []
    current = ""
    for value in values:
        text = _header_text(value)
        current = text or current
        carried.append(current)
    return carried


def _table_from(number: int, texts: list[str], above: list[str], matcher: ColumnMatcher) -> Table | None:
    columns = []
    for index, text in enumerate(texts):
        if not text:
            continue
        group = above[index] if index < len(above) else ""
        header, found = text, matcher.match(text)
        if group and group != text:
            combined = matcher.match(f"{group} {text}")
            if combined and combined != found and (found is None or _qualified(combined)):
                header, found = f"{group} {text}", combined
        ambiguous = AMBIGUOUS.get(fold(text), "") if found in ("impact", "treatment", "actions") else ""
        columns.append(HeaderColumn(index, column_letter(index), header, found or "", ambiguous))
    fields = frozenset(c.field for c in columns if c.field)
    if len(fields - {DERIVED, IGNORE}) < 2 or not fields & IDENTITY_FIELDS:
        return None
    return settle(number, columns)


def settle(number: int, columns: Sequence[HeaderColumn]) -> Table:
    """The table with qualifiers given to unqualified ratings and each field fed by one column."""
    resolved, notes = _resolve(columns)
    fields = frozenset(c.field for c in resolved if c.field)
    return Table(number, tuple(resolved), fields, tuple(notes), tuple(columns))


def _qualified(name: str) -> bool:
    return name.split("_", 1)[0] in QUALIFIERS


def _resolve(columns: Sequence[HeaderColumn]) -> tuple[list[HeaderColumn], list[str]]:
    """Unqualified ratings get their qualifier; a field fed by two columns keeps the first."""
    explicit = {c.field for c in columns}
    qualifier = "inherent" if any(f"residual_{f}" in explicit for f in FACTORS) else "residual"
    out: list[HeaderColumn] = []
    used: dict[str, str] = {}
    notes: list[str] = []
    for column in columns:
        name = column.field
        if name in FACTORS:
            name = f"{qualifier}_{name}"
        if name and name not in MULTI_COLUMN and name not in (DERIVED, IGNORE):
            if name in used:
                first = f"column {used[name]} is used"
                note = f"column {column.letter} ({column.header!r}) also looks like {FIELD_LABELS[name]}; {first}"
                notes.append(note)
                out.append(HeaderColumn(column.index, column.letter, column.header, "", "", note))
                continue
            used[name] = column.letter
        out.append(HeaderColumn(column.index, column.letter, column.header, name, column.ambiguous))
    return out, notes


def parse_mapping(text: str) -> dict[str, str]:
    """A column mapping file: TOML with a [columns] table of "Header as written" = "field" (or "ignore")."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ImportRejected(f"The column mapping file is not valid TOML: {exc}.") from exc
    table = data.get("columns", data)
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ImportRejected('The column mapping file must hold a [columns] table of "Header" = "field" lines.')
    ColumnMatcher(CouncilVocabulary(), table)  # refuses unknown field names with the list of known ones
    return dict(table)
