"""Shared steps of the server tests: ingest the demo exhibit, grade every card to consensus."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.corpus import DemoCorpus
from safeguard.review import grading
from safeguard.review.consensus import Grade
from safeguard.review.queue import case_cards
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import Case
from safeguard.store.review_models import User
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from tests.review.helpers import make_user

REVIEWERS = ("rev1", "rev2", "rev3")


def partial_bank(corpus: DemoCorpus, out: Path) -> Path:
    """The demo bank less every other known item (so review has more to grade)."""
    with corpus.bank_csv.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    kept = [rows[0]] + [r for r in rows[1:] if int(r[-1].rsplit("-", 1)[1]) % 2]
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(kept)
    return out


def ingest_demo(
    url: str,
    corpus: DemoCorpus,
    case: str,
    bank: Path | None,
    *,
    scheme: str = "uk",
    profile: str | None = None,
    workers: int = 1,
) -> None:
    with session_scope(url) as session:
        create_case(session, case).scheme = scheme
    if bank is not None:
        summary = import_bank_file(bank, "bank", profile=profile, database_url=url)
        assert summary.imported and not summary.errors
    ingest_exhibit(case, "EX1", corpus.exhibit_dir, IngestOptions(workers=workers, batch=16),
                   database_url=url)  # fmt: skip


def add_reviewers(url: str, case: str, names: tuple[str, ...] = REVIEWERS) -> dict[str, int]:
    with session_scope(url) as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == case))
        return {name: make_user(session, name, "reviewer", case_id).id for name in names}


def grade_everything(url: str, case: str, grades: tuple[str, ...]) -> dict[str, str]:
    """Three reviewers grade every card (cycling through ``grades``); card key -> grade."""
    users = add_reviewers(url, case)
    given: dict[str, str] = {}
    with session_scope(url) as session:
        case_row = session.scalar(select(Case).where(Case.reference == case))
        cards = case_cards(session, case_row.id)
    for number, card in enumerate(cards):
        bank = card.representative.bank_category
        category = bank if bank and bank in grades else grades[number % len(grades)]
        flags = {"victim_identified": number % 3 == 0, "series": number % 4 == 0}
        for name in REVIEWERS:
            with session_scope(url) as session:
                case_row = session.scalar(select(Case).where(Case.reference == case))
                user = session.get(User, users[name])
                grading.vote_card(session, user, case_row, card.key, Grade(category, **flags), 3)
        given[card.key] = category
    return given
