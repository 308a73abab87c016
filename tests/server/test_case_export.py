"""Export of a case's final grades as a bank, and the round trip to a second instance."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.banks.case_export import export_case
from safeguard.demo.corpus import DemoCorpus
from safeguard.review.queue import case_cards
from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.models import BankEntry, Case, ExhibitMedia, Media
from safeguard.store.review_models import AuditEvent
from tests.server.flow import grade_everything, ingest_demo, partial_bank


def _final_grades(url: str) -> dict[str, tuple[str, str]]:
    """sha256 -> (status, category) of every item of the store's exhibits."""
    from safeguard.store.review_models import ReviewOutcome

    with session_scope(url) as session:
        rows = session.execute(
            select(Media.sha256, ExhibitMedia.status, ExhibitMedia.category, ReviewOutcome)
            .join(ExhibitMedia, ExhibitMedia.media_id == Media.id)
            .outerjoin(
                ReviewOutcome,
                (ReviewOutcome.media_id == Media.id)
                & (ReviewOutcome.exhibit_id == ExhibitMedia.exhibit_id),
            )
        ).all()
    out = {}
    for sha256, status, category, outcome in rows:
        if outcome is not None and outcome.state == "final":
            out[sha256] = ("review", outcome.category)
        elif status in ("graded_exact", "graded_perceptual"):
            out[sha256] = (status, category)
        else:
            out[sha256] = (status, None)
    return out


@pytest.mark.parametrize(
    ("profile", "fmt", "grades"),
    [("uk", "vics", ("A", "B", "C", "N")), ("us", "csv", ("1", "2", "3"))],
)
def test_round_trip_to_a_second_instance(
    database_url: str,
    second_database_url: str,
    demo_corpus: DemoCorpus,
    tmp_path: Path,
    profile: str,
    fmt: str,
    grades: tuple[str, ...],
) -> None:
    # Instance 1: a partial bank (UK only: the demo bank is UK-graded), ingest, review all.
    bank = partial_bank(demo_corpus, tmp_path / "partial.csv") if profile == "uk" else None
    ingest_demo(database_url, demo_corpus, "OP-ONE", bank, scheme=profile)
    given = grade_everything(database_url, "OP-ONE", grades)
    assert given
    first = _final_grades(database_url)
    graded = {h: c for h, (how, c) in first.items() if c is not None}
    assert any(how == "review" for how, _ in first.values())
    with session_scope(database_url) as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == "OP-ONE"))
        assert all(not c.open_for() or c.disputed() for c in case_cards(session, case_id))
    out = tmp_path / f"export.{'json' if fmt == 'vics' else fmt}"
    with out.open("w", encoding="utf-8", newline="") as fh:
        summary = export_case("OP-ONE", fh, fmt, profile=profile, database_url=database_url)
    assert summary.entries >= len(graded)
    if fmt == "vics":
        document = json.loads(out.read_text(encoding="utf-8"))
        assert profile.upper() in document["@odata.context"]
        assert len(document["value"]) == len(graded)
        assert any(
            h["HashName"] == "PDQ" and "Quality" in h
            for e in document["value"]
            for h in e.get("AlternativeHashes", [])
        )
    with session_scope(database_url) as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.seq)
        ).all()[-1]
        assert json.loads(event.body)["detail"]["sha256"] == summary.sha256
        assert audit.verify(session) is None

    # Instance 2: import the export as its only bank and ingest the same exhibit.
    imported = import_bank_file(out, "from-one", profile=profile, database_url=second_database_url)
    assert not imported.errors
    with session_scope(second_database_url) as session:
        entries = session.scalars(select(BankEntry)).all()
    assert any(e.victim_identified for e in entries)
    assert any(e.series == "OP-ONE" for e in entries)
    assert any(e.pdq for e in entries)
    ingest_demo(second_database_url, demo_corpus, "OP-TWO", None, scheme=profile)
    second = _final_grades(second_database_url)
    assert set(second) == set(first)
    for sha256, category in graded.items():
        assert second[sha256] == ("graded_exact", category), sha256
    with session_scope(second_database_url) as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == "OP-TWO"))
        cards = case_cards(session, case_id)
    assert not [m for c in cards for m in c.members if m.item.sha256 in graded]


def test_profile_must_code_the_case_scheme(database_url: str, demo_corpus: DemoCorpus) -> None:
    ingest_demo(database_url, demo_corpus, "OP-UK", None)
    with pytest.raises(ValueError, match="scheme"):
        export_case("OP-UK", io.StringIO(), "vics", profile="us", database_url=database_url)
