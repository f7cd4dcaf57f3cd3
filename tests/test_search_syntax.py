"""Search syntax ("phrase", prefix*, -exclude, NOT, OR) and search parity: one table of queries, one fixed
corpus, the same risks found on SQLite (FTS5) and PostgreSQL (tsvector); nothing typed is an error or silence.
"""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from riskreg.extensions import db
from riskreg.models import Risk
from riskreg.risks.search import Group, Term, parse_query, text_condition
from tests.factories import make_risk, make_unit

# name: (title, cause, event, consequence)
CORPUS = {
    "ransom": (
        "Ransomware locks the file servers",
        "phishing emails reach staff",
        "attackers encrypt shared drives",
        "services stop for a week",
    ),
    "cashflow": (
        "Cash flow shortfall",
        "member contributions arrive late",
        "reserves fall below three months",
        "programmes are delayed",
    ),
    "flowofcash": (
        "Flow of cash to field offices interrupted",
        "the correspondent bank closes",
        "transfers fail",
        "field staff go unpaid",
    ),
    "budget": ("Budget 50% funded", "donor pledges lapse", "the budget is cut", "draft plans are shelved"),
    "flood": ("Data centre flood", "the basement floods", "servers are damaged", "email and files are offline"),
    "policy": (
        "Draft policy never endorsed",
        "the council session is postponed",
        "the policy stays in draft",
        "staff apply old rules",
    ),
    "column": ("Column a_b missing in report", "export mapping changed", "the report is wrong", "decisions slip"),
    "cyber": ("Cyber attack on email", "a ransomware gang targets staff", "mailboxes are read", "cash is stolen"),
    # A phrase must not run from one field into the next: "cash" ends the title, "flow" starts the cause.
    "petty": ("Petty cash", "flow meters fail in the boiler room", "the heating stops", "offices close"),
    "accents": ("Sécurité des données compromise", "mots de passe faibles", "fuite de données", "amendes"),
    "planb": ("Plan B fails", "the fallback site is shared", "plan b is not tested", "recovery takes weeks"),
    "apostrophe": ("Supplier's contract can't be renewed", "the market is thin", "no bid arrives", "works stop"),
}
ALL = frozenset(CORPUS)

QUERIES: list[tuple[str, frozenset[str]]] = [
    # plain words: every word, as a prefix, in any field, case ignored
    ("ransom", frozenset({"ransom", "cyber"})),
    ("RANSOMWARE", frozenset({"ransom", "cyber"})),
    ("ransomware week", frozenset({"ransom"})),
    ("serv", frozenset({"ransom", "flood"})),
    ("file", frozenset({"ransom", "flood"})),
    ("cash flow", frozenset({"cashflow", "flowofcash", "petty"})),
    ("budget AND draft", frozenset({"budget"})),
    ("sécurité", frozenset({"accents"})),
    ("SÉCURITÉ données", frozenset({"accents"})),
    ("can't", frozenset({"apostrophe"})),
    ("supplier", frozenset({"apostrophe"})),
    # explicit prefixes
    ("ransom*", frozenset({"ransom", "cyber"})),
    ("flood*", frozenset({"flood"})),
    ("encr* drive*", frozenset({"ransom"})),
    # phrases: adjacent, in order, within one field
    ('"cash flow"', frozenset({"cashflow"})),
    ('"flow of cash"', frozenset({"flowofcash"})),
    ('"cash flo*"', frozenset({"cashflow"})),
    ('"cash flo"*', frozenset({"cashflow"})),
    ('"servers are damaged"', frozenset({"flood"})),
    ('"SERVERS ARE   DAMAGED"', frozenset({"flood"})),
    ('"servers damaged"', frozenset()),
    ('"fall-below"', frozenset({"cashflow"})),  # punctuation between the words of a phrase does not matter
    ('"file servers" -"cash flow"', frozenset({"ransom"})),
    ('"file"', frozenset({"ransom"})),
    ('"plan b"', frozenset({"planb"})),
    ('"fuite de données"', frozenset({"accents"})),
    # exclusions
    ("cash -flow", frozenset({"cyber"})),
    ("cash NOT flow", frozenset({"cyber"})),
    ('cash -"cash flow"', frozenset({"flowofcash", "cyber", "petty"})),
    ('-"file"', ALL - {"ransom"}),
    ("-ransomware -flood -cash", ALL - {"ransom", "cyber", "flood", "cashflow", "flowofcash", "petty"}),
    ("-50%", ALL - {"budget"}),
    # OR
    ("flood OR ransomware", frozenset({"flood", "ransom", "cyber"})),
    ("flood OR ransomware -week", frozenset({"flood", "cyber"})),
    ('"cash flow" OR "plan b"', frozenset({"cashflow", "planb"})),
    ("ransom* OR", frozenset({"ransom", "cyber"})),
    ("OR flood", frozenset({"flood"})),
    ("flood OR OR policy", frozenset({"flood", "policy"})),
    ("flood or", frozenset()),  # lower-case "or" is a word
    # punctuation and one-letter words: as typed
    ("50%", frozenset({"budget"})),
    ("%", frozenset({"budget"})),
    ("a_b", frozenset({"column"})),
    ("_", frozenset({"column"})),
    # syntax that does not pair up reads as plain words, never as nothing
    ('"cash flow', frozenset({"cashflow", "flowofcash", "petty"})),
    ('cash" flow', frozenset({"cashflow", "flowofcash", "petty"})),
    ("-", ALL),  # the hyphens of every reference
    ("*", frozenset()),
    ('"', frozenset()),
    ('""', frozenset()),
    ("NEAR(flood)", frozenset()),
    ("title:flood", frozenset()),
    ("flood:*", frozenset()),  # tsquery's prefix syntax is text here
    ("(flood)", frozenset({"flood"})),
    ("(flood OR ransomware) week", frozenset({"flood", "ransom"})),  # no grouping: flood OR (ransomware week)
    ("a & b | !c", frozenset()),
]


@pytest.fixture
def corpus(app: Flask) -> dict[str, str]:
    """The corpus in the unit GS-SYNTAX: name -> reference."""
    with app.app_context():
        unit = make_unit(code="GS-SYNTAX")
        refs = {}
        for name, (title, cause, event, consequence) in CORPUS.items():
            risk = make_risk(unit=unit, title=title, cause=cause, event=event, consequence=consequence)
            refs[name] = risk.ref
        return refs


def found(app: Flask, query: str) -> set[str]:
    with app.app_context():
        rows = db.session.scalars(select(Risk.ref).where(text_condition(query), Risk.deleted_at.is_(None)))
        return set(rows)


def test_every_query_of_the_table_finds_the_same_risks_on_this_database(app: Flask, corpus: dict[str, str]) -> None:
    names = {ref: name for name, ref in corpus.items()}
    wrong = {}
    for query, expected in QUERIES:
        got = {names[ref] for ref in found(app, query)}
        if got != expected:
            wrong[query] = (sorted(got - expected), sorted(expected - got))  # (unexpected, missing)
    assert wrong == {}
    assert len(QUERIES) >= 50


@pytest.mark.parametrize("query", ["flood OR ransomware", '"cash flow" OR "plan b"', "cash -flow", "sécurité"])
def test_the_register_page_lists_the_same_risks(app: Flask, corpus: dict[str, str], query: str) -> None:
    import re

    from riskreg.models import Role
    from tests.conftest import login
    from tests.factories import make_user

    with app.app_context():
        make_user(role=Role.COORDINATOR, email="syntax@example.org")
    client = app.test_client()
    login(client, "syntax@example.org")
    response = client.get("/risks", query_string={"q": query})
    assert response.status_code == 200
    listed = set(re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', response.text))
    assert listed == found(app, query)


def test_ranking_puts_title_matches_first_for_or_queries(app: Flask, corpus: dict[str, str]) -> None:
    import re

    from riskreg.models import Role
    from tests.conftest import login
    from tests.factories import make_user

    with app.app_context():
        make_user(role=Role.COORDINATOR, email="rank@example.org")
    client = app.test_client()
    login(client, "rank@example.org")
    listed = re.findall(r'<td class="ref"><a href="/risks/([^"]+)">', client.get("/risks?q=ransomware+OR+zzz").text)
    # "Ransomware" in a title outranks "ransomware" in a cause.
    assert listed == [corpus["ransom"], corpus["cyber"]]


# --------------------------------------------------------------------------- the parser alone


def test_the_parser_reads_each_piece_of_syntax() -> None:
    assert parse_query("ransom budget").groups == (Group((Term(("ransom",)), Term(("budget",)))),)
    assert parse_query("ransom*").groups == parse_query("ransom").groups
    (phrase,) = parse_query('"Cash  Flow"').groups[0].include
    assert phrase == Term(("cash", "flow"), prefix=False, phrase=True)
    assert parse_query('"cash flo*"').groups[0].include[0].prefix
    assert parse_query("cash -flow").groups == (Group((Term(("cash",)),), (Term(("flow",)),)),)
    assert parse_query("cash NOT flow").groups == parse_query("cash -flow").groups
    assert parse_query("a b OR c").groups == (
        Group((Term(literal="a"), Term(literal="b"))),
        Group((Term(literal="c"),)),
    )
    assert parse_query("flood OR").groups == parse_query("flood").groups
    assert parse_query("50%").groups[0].include == (Term(("50",), literal="50%"),)
    assert parse_query("*").groups == (Group((Term(literal="*"),)),)
    assert parse_query("").groups == ()


def test_words_reach_the_engines_quoted_or_as_bare_lexemes() -> None:
    query = parse_query('ransom* "cash flo"* -"plan b" OR flood')
    assert query.fts5() == '(("ransom"*) AND ("cash flo"*)) OR (("flood"*))'
    assert query.tsquery() == "((ransom:*) & ((cash <-> flo:*))) | ((flood:*))"
    hostile = parse_query('x" OR 1=1; DROP TABLE risks; --')
    for group in hostile.groups:
        for term in group.include + group.exclude:
            assert all(w.isalnum() for w in term.words)


def test_too_many_words_are_checked_as_typed_rather_than_dropped() -> None:
    query = parse_query(" ".join(f"word{n}" for n in range(20)))
    (group,) = query.groups
    assert len(group.include) == 20
    assert sum(len(t.words) for t in group.include) == 16
    assert [t.literal for t in group.include[16:]] == [f"word{n}" for n in range(16, 20)]


# Markup pasted into a search: quotes inside a word are text, so each finds the risk that holds it.
MARKUP = [
    '<a href="javascript:alert(10)">click</a>',
    '<iframe src="javascript:alert(11)"></iframe>',
    '<img src="x" onerror="&#97;&#108;(22)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(30)">',
    '<noscript><p title="</noscript><img src=x onerror=alert(37)>">',
    '" autofocus onfocus="alert(7)',
    '";alert(35);//',
    "{{7*7}} {{config}} {% print(7*7) %}",
]


def test_pasted_markup_finds_the_risk_that_holds_it(app: Flask) -> None:
    with app.app_context():
        unit = make_unit(code="GS-MARKUP")
        refs = {text: make_risk(unit=unit, title=text[:120], cause=text).ref for text in MARKUP}
    missing = [text for text, ref in refs.items() if ref not in found(app, text)]
    assert missing == []
