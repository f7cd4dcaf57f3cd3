"""The task force's summary of recommendations: counts by type and status, as a table and as one sentence.

Pure: it counts (type, status) pairs handed to it, so the web page, the command line and the Council workbook
say exactly the same thing, and the sentence is tested without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from riskreg.models.oversight import RecStatus, RecType

STATUS_LABELS: Mapping[RecStatus, str] = {
    RecStatus.NOT_STARTED: "Not started",
    RecStatus.IN_PROGRESS: "In progress",
    RecStatus.ON_TRACK: "On track",
    RecStatus.IMPLEMENTED: "Implemented",
    RecStatus.UNDER_CONSIDERATION: "Under consideration by the governing bodies",
    RecStatus.NOT_ACCEPTED: "Not accepted",
    RecStatus.CLOSED_OVERTAKEN: "Closed as overtaken",
}

TYPE_LABELS: Mapping[RecType, str] = {RecType.FORMAL: "Formal", RecType.INFORMAL: "Informal"}

# How the sentence says each state, for one recommendation and for several.
_PHRASES: Mapping[RecStatus, tuple[str, str]] = {
    RecStatus.IMPLEMENTED: ("has been implemented", "have been implemented"),
    RecStatus.IN_PROGRESS: ("is in progress", "are in progress"),
    RecStatus.ON_TRACK: ("is on track", "are on track"),
    RecStatus.UNDER_CONSIDERATION: (
        "is under consideration by the governing bodies",
        "are under consideration by the governing bodies",
    ),
    RecStatus.NOT_STARTED: ("has not been started", "have not been started"),
    RecStatus.NOT_ACCEPTED: ("has not been accepted", "have not been accepted"),
    RecStatus.CLOSED_OVERTAKEN: ("has been closed as overtaken", "have been closed as overtaken"),
}

# The sentence names the done states first, as the task force's report does.
_SENTENCE_ORDER = (
    RecStatus.IMPLEMENTED,
    RecStatus.IN_PROGRESS,
    RecStatus.ON_TRACK,
    RecStatus.UNDER_CONSIDERATION,
    RecStatus.NOT_STARTED,
    RecStatus.NOT_ACCEPTED,
    RecStatus.CLOSED_OVERTAKEN,
)


@dataclass(frozen=True)
class TypeCounts:
    rec_type: RecType
    total: int
    by_status: Mapping[RecStatus, int]  # only the states that occur, in the sentence's order

    @property
    def label(self) -> str:
        return TYPE_LABELS[self.rec_type]


@dataclass(frozen=True)
class Summary:
    types: tuple[TypeCounts, ...]  # formal then informal, only those with recommendations

    @property
    def total(self) -> int:
        return sum(t.total for t in self.types)

    def count(self, rec_type: RecType, status: RecStatus | None = None) -> int:
        for counts in self.types:
            if counts.rec_type == rec_type:
                return counts.total if status is None else counts.by_status.get(status, 0)
        return 0

    @property
    def statuses(self) -> tuple[RecStatus, ...]:
        """The states that occur in any type: the table's columns."""
        seen = {s for t in self.types for s in t.by_status}
        return tuple(s for s in _SENTENCE_ORDER if s in seen)

    @property
    def sentence(self) -> str:
        return sentence(self)


def summarise(pairs: Iterable[tuple[RecType, RecStatus]]) -> Summary:
    counter = Counter(pairs)
    types = []
    for rec_type in RecType:
        by_status = {s: counter[(rec_type, s)] for s in _SENTENCE_ORDER if counter[(rec_type, s)]}
        if by_status:
            types.append(TypeCounts(rec_type, sum(by_status.values()), by_status))
    return Summary(tuple(types))


def sentence(summary: Summary) -> str:
    """'Out of the 11 formal recommendations addressed to the secretariat, 10 have been implemented and 1 is in
    progress; out of the 35 informal recommendations, 21 have been implemented, 12 are on track and 2 are under
    consideration by the governing bodies.'
    """
    if not summary.types:
        return "There are no recommendations to report."
    clauses = []
    for index, counts in enumerate(summary.types):
        noun = "recommendation" if counts.total == 1 else "recommendations"
        head = f"out of the {counts.total} {counts.rec_type.value} {noun}"
        if index == 0:
            head = head[0].upper() + head[1:] + " addressed to the secretariat"
        parts = [f"{n} {_PHRASES[s][0 if n == 1 else 1]}" for s, n in counts.by_status.items()]
        clauses.append(f"{head}, {_join(parts)}")
    return "; ".join(clauses) + "."


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
