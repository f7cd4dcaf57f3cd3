"""The demo's risk templates, read from data/risks_secretariat.toml and data/risks_sectors.toml.

Each [[risks]] entry becomes a `RiskTemplate` (content.py), with the shorthands of the data files: a path
"23 24 -" of residual likelihood and impact per cycle, points "45", controls as {prevent|detect|direct|correct
= "text", effectiveness = "partial"}, actions as {text, state, effect}. An unknown key stops the demo with the
file and the title named, so a typo in the data cannot pass silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from riskreg.demo.content import (
    ActionSpec,
    ControlSpec,
    RiskTemplate,
    correct,
    detect,
    direct,
    path,
    point,
    prevent,
    read_data,
)
from riskreg.models import Decision, Nature, RiskLevel, Treatment

_CONTROLS: Mapping[str, Callable[..., ControlSpec]] = {
    "prevent": prevent,
    "detect": detect,
    "direct": direct,
    "correct": correct,
}
_TEXT_KEYS = ("unit", "category", "title", "cause", "event", "consequence")
_PLAIN_KEYS = (
    "velocity",
    "owner",
    "objective",
    "confidential",
    "council_visible",
    "accepted",
    "promoted",
    "closed_reason",
    "change_note",
)
_KNOWN = {*_TEXT_KEYS, *_PLAIN_KEYS, "path", "inherent", "target", "nature", "level", "treatment"}
_KNOWN |= {"decision", "extra", "controls", "actions"}


def load_templates(name: str) -> tuple[RiskTemplate, ...]:
    """The templates of data/NAME.toml, in file order."""
    return tuple(_template(name, entry) for entry in read_data(name)["risks"])


def _template(name: str, entry: Mapping[str, Any]) -> RiskTemplate:
    unknown = set(entry) - _KNOWN
    if unknown:
        raise ValueError(f"data/{name}.toml, risk {entry.get('title')!r}: unknown key(s) {sorted(unknown)}")
    fields: dict[str, Any] = {k: entry[k] for k in _TEXT_KEYS}
    fields |= {k: entry[k] for k in _PLAIN_KEYS if k in entry}
    fields["path"] = path(entry["path"])
    fields["inherent"] = point(entry["inherent"])
    if "target" in entry:
        fields["target"] = point(entry["target"])
    for key, kind in (("nature", Nature), ("level", RiskLevel), ("treatment", Treatment)):
        if key in entry:
            fields[key] = kind(entry[key])
    if "decision" in entry:
        fields["decision"] = (Decision(entry["decision"]["decision"]), entry["decision"]["comment"])
    if "extra" in entry:
        fields["extra"] = dict(entry["extra"])
    fields["controls"] = tuple(_control(c) for c in entry.get("controls", ()))
    fields["actions"] = tuple(ActionSpec(a["text"], a["state"], a.get("effect", "")) for a in entry.get("actions", ()))
    return RiskTemplate(**fields)


def _control(entry: Mapping[str, str]) -> ControlSpec:
    (kind,) = (k for k in entry if k in _CONTROLS)
    return _CONTROLS[kind](entry[kind], entry.get("effectiveness", "effective"))


SECRETARIAT: tuple[RiskTemplate, ...] = load_templates("risks_secretariat")
SECTORS: tuple[RiskTemplate, ...] = load_templates("risks_sectors")
