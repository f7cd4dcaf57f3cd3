r"""The one text policy: what every form and the importer do with the text people type or paste.

Pure (no Flask, no WTForms): `riskreg.validation` applies it to form fields, `riskreg.importer` to cells.

1. Line ends become "\n" (browsers send "\r\n"; a workbook's XML turns "\r" into "\n" anyway), and
   blanks and invisible format characters (zero-width space, BOM, word joiner...) are removed at both ends.
2. Text made only of invisible characters is refused: it looks empty but is not.
3. Bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C) and other
   control characters (C0 except tab and line feed, DEL, C1, U+FFFE/U+FFFF, lone surrogates) are removed,
   and the user is told, naming the field, before anything is stored: a form shows the cleaned text again
   with the message (saving it again accepts it); an import preview shows a warning on the cell.
   Removal rather than refusal because nobody can see these characters to delete them by hand.
4. Risk statement parts (cause, event, consequence) lose a trailing full stop (the statement adds its own),
   and may not contain the words that join them: a cause may not contain ", there is a risk that" and an
   event may not contain ", which would". That keeps "Because <cause>, there is a risk that <event>, which
   would <consequence>." readable back into exactly the same three parts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Characters that show nothing (beyond the format characters, category Cf): fillers, blank patterns and
# selectors that only modify a neighbour.
_BLANK_LOOKING = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180e\u2800\u3164\uffa0") | frozenset(
    chr(c) for c in (*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))
)
_BIDI = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
# C0 controls except tab and line feed (carriage returns are turned into line feeds first), DEL, C1,
# the two non-characters XML refuses, and lone surrogates (not text at all).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
_EDGES = "\ufeff\u200b\u200c\u200d\u2060\u180e"  # invisible characters removed at both ends, like blanks
# Anything check_text might change beyond blanks at the ends: the rest of the text goes the fast way.
_SUSPECT = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff-\uffff\ud800-\udfff]"
)

STATEMENT_JOINS = {
    "cause": re.compile(r",\s*there is a risk that", re.I),
    "event": re.compile(r",\s*which would", re.I),
}
STATEMENT_PARTS = ("cause", "event", "consequence")
# The statement as RiskReg writes it, read back: cause up to the first ", there is a risk that", event up
# to the first ", which would", the consequence to the end, and the one full stop the statement adds.
STATEMENT = re.compile(r"because\s*(.*?),\s*there is a risk that\s*(.*?),\s*which would\s*(.*?)\.?", re.S | re.I)


class TextPolicyError(ValueError):
    """Text the policy does not accept; `message` names the field and says what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Checked:
    """Text after the policy, and what was removed from it (empty when nothing the user should know)."""

    text: str
    removed: tuple[str, ...] = ()

    def message(self, label: str) -> str:
        return f"{label}: {' and '.join(self.removed)} were removed; check the text."


def is_invisible(char: str) -> bool:
    """True for a character that shows nothing on its own: blanks, format characters and fillers."""
    # Not private-use or unassigned characters: an icon font glyph or an emoji newer than Python's tables shows.
    return char.isspace() or char in _BLANK_LOOKING or unicodedata.category(char) in ("Cf", "Cc", "Cs")


def normalise_line_ends(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_text(value: str, label: str) -> Checked:
    """Apply the policy to one value; raises TextPolicyError for text made only of invisible characters."""
    text = normalise_line_ends(value)
    removed = []
    if _SUSPECT.search(text):
        without_bidi = _BIDI.sub("", text)
        if without_bidi != text:
            removed.append("bidirectional control characters (they can show text in another order than stored)")
        clean = _CONTROL.sub("", without_bidi)
        if clean != without_bidi:
            removed.append("invisible control characters")
        clean = _strip_edges(clean)
    else:
        clean = text.strip()  # the usual case: nothing to remove
    # Any visible character ends the scan, so ordinary text costs one look at its first character.
    if text.strip() and not any(not is_invisible(c) for c in clean):
        raise TextPolicyError(f"{label} is made only of invisible characters; type visible text.")
    return Checked(clean, tuple(removed))


def _strip_edges(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, text.strip().strip(_EDGES)
    return text


def statement_part(text: str, part: str, label: str) -> str:
    """A cause, event or consequence as stored: without a trailing full stop, without the joining words."""
    while text.endswith(".") or text[-1:].isspace():
        text = text.rstrip().rstrip(".")
    join = STATEMENT_JOINS.get(part)
    if join is not None:
        found = join.search(text)
        if found:
            raise TextPolicyError(
                f"{label} may not contain {found.group(0)!r}: the risk statement adds those words itself. "
                "Rephrase it (for example without the comma)."
            )
    return text


def read_statement(text: str) -> tuple[str, str, str] | None:
    """(cause, event, consequence) of a statement written as RiskReg writes it (`RiskRow.statement`:
    "Because <cause>, there is a risk that <event>, which would <consequence>."), None for any other text.
    """
    found = STATEMENT.fullmatch(text.strip())
    if found is None:
        return None
    cause, event, consequence = (part.strip() for part in found.groups())
    return cause, event, consequence
