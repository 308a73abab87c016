"""Cards per reviewer on the demo case, against issue 16's target:

    cards a reviewer must see <= groups of new viewable media
                                 + groups of perceptual matches awaiting confirmation

The right-hand side is counted here straight from triage's rows (not through review.queue), and
the cards are those ``review_queue`` gives a reviewer under the default review policy.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from safeguard.banks.bank_files import import_bank_file
from safeguard.demo.corpus import generate_demo
from safeguard.demo.videos import generate_demo_videos
from safeguard.domain.review_policy import ReviewPolicy
from safeguard.reports.case_report import build_case_report
from safeguard.review.auth import add_user
from safeguard.review.queue import review_queue
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import Case, ExhibitMedia, Match, Media
from safeguard.store.users import assign
from safeguard.triage.ingest import IngestOptions, ingest_exhibit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, int]:
    """The demo as `./run demo` makes it (seed 1, 120 base pictures, the demo videos)."""
    root = tmp_path_factory.mktemp("demo-cards")
    old = os.environ.get("SAFEGUARD_INDEX_DIR")
    os.environ["SAFEGUARD_INDEX_DIR"] = str(root / "indexes")
    try:
        url = f"sqlite:///{root / 'store.sqlite'}"
        corpus = generate_demo(root / "demo")
        video_bank, _ = generate_demo_videos(root / "demo")
        with session_scope(url) as session:
            create_case(session, "DEMO-1", "Generated benign demo")
        import_bank_file(corpus.bank_csv, "demo-bank", database_url=url)
        import_bank_file(video_bank, "demo-video-bank", database_url=url)
        ingest_exhibit(
            "DEMO-1", "EXHIBIT-1", corpus.exhibit_dir, IngestOptions(workers=2), database_url=url
        )
        with session_scope(url) as session:
            case = session.scalar(select(Case).where(Case.reference == "DEMO-1"))
            user = add_user(session, "reviewer1", "a long enough password", "reviewer")
            assign(session, user, case)
            yield url, case.id, user.id
    finally:
        if old is None:
            os.environ.pop("SAFEGUARD_INDEX_DIR", None)
        else:
            os.environ["SAFEGUARD_INDEX_DIR"] = old


def _target(session, case_id: int, policy: ReviewPolicy) -> dict[str, int]:
    rows = session.execute(
        select(
            ExhibitMedia, Media.decode_error, Match.bank_entry_id, Match.distance, Match.hash_kind
        )
        .join(Media, Media.id == ExhibitMedia.media_id)
        .outerjoin(Match, Match.id == ExhibitMedia.deciding_match_id)
    ).all()
    new_groups, confirm_groups, perceptual, unviewable = set(), set(), 0, 0
    for em, decode_error, entry, distance, kind in rows:
        if em.status == "new" and decode_error is None:
            new_groups.add(("g", em.group_id) if em.group_id else ("m", em.media_id))
        elif em.status == "new":
            unviewable += 1
        if em.status == "graded_perceptual":
            perceptual += 1
            if distance is None or kind != "pdq" or distance >= policy.auto_accept_below:
                confirm_groups.add(entry)
    conflicting = sum(1 for em, *_ in rows if em.status == "conflicting")
    return {
        "new_groups": len(new_groups),
        "confirm_groups": len(confirm_groups),
        "perceptual_items": perceptual,
        "unviewable": unviewable,
        "conflicting": conflicting,
    }


@pytest.mark.parametrize(
    "policy", [ReviewPolicy(), ReviewPolicy(auto_accept_below=0)], ids=["default", "no-auto"]
)
def test_cards_per_reviewer_on_the_demo_meet_the_target(demo_store, policy) -> None:
    url, case_id, user_id = demo_store
    with session_scope(url) as session:
        cards = review_queue(session, case_id, user_id, policy)
        target = _target(session, case_id, policy)
        report = build_case_report(session, "DEMO-1", policy)
    assert target["unviewable"] > 0 and target["perceptual_items"] > target["confirm_groups"]
    allowed = target["new_groups"] + target["confirm_groups"] + target["conflicting"]
    print(f"\n{policy}: {len(cards)} cards per reviewer; target <= {allowed} ({target})")
    assert len(cards) <= allowed
    # the old count: one card per perceptual match and per unviewable file
    before = target["new_groups"] + target["perceptual_items"] + target["unviewable"]
    assert len(cards) < before
    assert not any(m.item.undecodable for c in cards for m in c.members)
    # the report says what waits, and lists what could not be viewed
    assert len(report.unviewable) == target["unviewable"]
    assert f"{report.awaiting_confirmation:,} perceptual match(es)" in report.summary_sentence()
    # the demo's videos: runtime per category, keyframe-strip cards for the new ones
    assert report.videos.unique_items >= 4 and report.videos.runtime_s > 0
    assert any(
        r.runtime_s > 0 for r in report.videos.rows.values() if r.category != "awaiting review"
    )
    videos = [c.status for c in cards if c.representative.kind == "video"]
    assert sorted(videos) == ["graded_perceptual", "graded_perceptual", "new", "new"]
