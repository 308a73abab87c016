"""End to end on a generated benign exhibit: every file ends where its ground truth says."""

from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import func, select

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.corpus import DemoCorpus
from safeguard.reports.case_report import build_case_report
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import DupGroup, ExhibitMedia, FileRecord, Match, Media
from safeguard.triage.ingest import IngestOptions, ingest_exhibit


@pytest.fixture
def ingested(database_url: str, demo_corpus: DemoCorpus) -> str:
    with session_scope(database_url) as session:
        create_case(session, "OP-TEST")
    summary = import_bank_file(demo_corpus.bank_csv, "demo", database_url=database_url)
    assert summary.imported > 0 and not summary.errors
    ingest_exhibit(
        "OP-TEST",
        "EX1",
        demo_corpus.exhibit_dir,
        IngestOptions(workers=2, batch=16),
        database_url=database_url,
    )
    return database_url


def _outcomes(url: str) -> dict[str, tuple]:
    """logical path -> (status, category, deciding match kind, distance, media id, error)."""
    with session_scope(url) as session:
        rows = session.execute(
            select(
                FileRecord.logical_path,
                ExhibitMedia.status,
                ExhibitMedia.category,
                Match.kind,
                Match.distance,
                FileRecord.media_id,
                Media.decode_error,
                FileRecord.error,
            )
            .outerjoin(Media, Media.id == FileRecord.media_id)
            .outerjoin(
                ExhibitMedia,
                (ExhibitMedia.media_id == FileRecord.media_id)
                & (ExhibitMedia.exhibit_id == FileRecord.exhibit_id),
            )
            .outerjoin(Match, Match.id == ExhibitMedia.deciding_match_id)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def test_every_file_is_recorded_once(ingested: str, demo_corpus: DemoCorpus) -> None:
    outcomes = _outcomes(ingested)
    planned = {f.logical_path for f in demo_corpus.files}
    assert planned <= set(outcomes)
    with session_scope(ingested) as session:
        paths = session.scalars(select(FileRecord.logical_path)).all()
    assert len(paths) == len(set(paths))


def test_known_items_are_graded_exactly(ingested: str, demo_corpus: DemoCorpus) -> None:
    outcomes = _outcomes(ingested)
    known = demo_corpus.by_role("known_exact")
    assert known
    for planned in known:
        status, category, kind, distance, *_ = outcomes[planned.logical_path]
        assert (status, kind, distance) == ("graded_exact", "exact", 0), planned
        assert category == demo_corpus.known[planned.source_id] == planned.category


def test_transformed_known_items_match_perceptually(ingested: str, demo_corpus: DemoCorpus):
    outcomes = _outcomes(ingested)
    transformed = demo_corpus.by_role("known_transformed")
    assert {p.transform for p in transformed} >= {"resize", "recompress", "rotate90", "flip_h"}
    for planned in transformed:
        status, category, kind, distance, *_ = outcomes[planned.logical_path]
        assert status == "graded_perceptual", planned
        assert kind == "perceptual" and 0 <= distance <= 31
        assert category == demo_corpus.known[planned.source_id]


def test_unseen_items_are_first_generation(ingested: str, demo_corpus: DemoCorpus) -> None:
    outcomes = _outcomes(ingested)
    for planned in demo_corpus.by_role("unseen") + demo_corpus.by_role("unseen_near_dup"):
        assert outcomes[planned.logical_path][0] == "new", planned


def test_copies_are_one_media_item_with_several_files(ingested: str, demo_corpus: DemoCorpus):
    outcomes = _outcomes(ingested)
    copies = demo_corpus.by_role("copy")
    assert copies
    with session_scope(ingested) as session:
        counts = dict(
            session.execute(
                select(FileRecord.media_id, func.count()).group_by(FileRecord.media_id)
            ).all()
        )
    for planned in copies:
        media_id = outcomes[planned.logical_path][4]
        assert counts[media_id] >= 2


def test_bad_files_are_recorded_as_errors_and_the_run_goes_on(
    ingested: str, demo_corpus: DemoCorpus
):
    outcomes = _outcomes(ingested)
    bad = demo_corpus.by_role("corrupt") + demo_corpus.by_role("truncated")
    assert bad
    for planned in bad:
        decode_error = outcomes[planned.logical_path][5]
        assert decode_error, planned
    for planned in demo_corpus.by_role("non_image"):
        assert outcomes[planned.logical_path][0] == "not_media"
    report = build_case_report_for(ingested)
    reported = {e.path for e in report.errors}
    assert {p.logical_path for p in bad} <= reported


def build_case_report_for(url: str):  # noqa: ANN201
    with session_scope(url) as session:
        return build_case_report(session, "OP-TEST")


def test_near_duplicates_of_new_media_share_a_group(ingested: str, demo_corpus: DemoCorpus):
    with session_scope(ingested) as session:
        group_of = dict(
            session.execute(
                select(FileRecord.logical_path, ExhibitMedia.group_id).join(
                    ExhibitMedia,
                    (ExhibitMedia.media_id == FileRecord.media_id)
                    & (ExhibitMedia.exhibit_id == FileRecord.exhibit_id),
                )
            ).all()
        )
        sizes = dict(session.execute(select(DupGroup.id, DupGroup.size)).all())
    by_source = defaultdict(set)
    for planned in demo_corpus.by_role("unseen") + demo_corpus.by_role("unseen_near_dup"):
        by_source[planned.source_id].add(group_of[planned.logical_path])
    near_dups = {p.source_id for p in demo_corpus.by_role("unseen_near_dup")}
    assert near_dups
    for source, groups in by_source.items():
        assert len(groups) == 1, f"{source} split over groups {groups}"
        if source in near_dups:
            assert sizes[next(iter(groups))] >= 2
    groups = [next(iter(g)) for g in by_source.values()]
    assert len(groups) == len(set(groups)), "distinct pictures must not share a group"


def test_rerunning_an_ingest_changes_nothing(ingested: str, demo_corpus: DemoCorpus) -> None:
    from tests.triage.store_dump import dump

    before = dump(ingested)
    summary = ingest_exhibit(
        "OP-TEST", "EX1", demo_corpus.exhibit_dir, IngestOptions(workers=1), database_url=ingested
    )
    assert summary.files_stored == 0
    assert summary.files_already_stored == len(before["files"])
    assert dump(ingested) == before


def test_bank_indexes_are_persisted_and_reused(
    ingested: str, demo_corpus: DemoCorpus, tmp_path
) -> None:
    import os
    from pathlib import Path

    from tests.triage.store_dump import dump

    files = sorted(Path(os.environ["SAFEGUARD_INDEX_DIR"]).glob("bank-*.pdq"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    before = dump(ingested)
    from safeguard.triage.exhibit_matching import match_exhibit

    with session_scope(ingested) as session:
        exhibit_id = session.scalar(select(FileRecord.exhibit_id).limit(1))
    match_exhibit(exhibit_id, database_url=ingested)
    assert files[0].stat().st_mtime_ns == stamp, "the saved index must be reused, not rebuilt"
    assert dump(ingested) == before
    files[0].write_bytes(b"garbage")
    match_exhibit(exhibit_id, database_url=ingested)
    assert dump(ingested) == before, "an unreadable index file is rebuilt, not trusted"
