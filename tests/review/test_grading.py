"""Grading on a real store (SQLite and PostgreSQL): cards, votes, consensus, moderation, splits,
reveals, and the case report counting what people graded."""

from __future__ import annotations

from itertools import permutations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from safeguard.reports.case_report import build_case_report
from safeguard.review import grading, media
from safeguard.review.access import NotAllowed, require_case
from safeguard.review.consensus import DISPUTED, FINAL, PENDING, Grade
from safeguard.review.exposure import Exposure, exposure
from safeguard.review.queue import case_cards, moderation_queue, review_queue
from safeguard.store import audit
from safeguard.store.database import session_scope
from safeguard.store.models import Case
from safeguard.store.previews import get_preview
from safeguard.store.review_models import THUMB, AuditEvent, ReviewOutcome, Vote
from tests.review.helpers import build_case, make_user


@pytest.fixture
def store(database_url: str) -> dict:
    with session_scope(database_url) as session:
        built = build_case(session, "OP-GRADE", groups=(3, 1), perceptual=1, exact=1)
        users = {
            name: make_user(session, name, role, built.case_id).id
            for name, role in (
                ("rev1", "reviewer"),
                ("rev2", "reviewer"),
                ("rev3", "reviewer"),
                ("sup", "supervisor"),
                ("ana", "analyst"),
            )
        }
    return {"url": database_url, "built": built, "users": users}


def _vote(url: str, user_id: int, case_id: int, key: str, category: str, **flags) -> list:
    from safeguard.store.review_models import User

    with session_scope(url) as session:
        user = session.get(User, user_id)
        case = session.get(Case, case_id)
        return grading.vote_card(session, user, case, key, Grade(category, **flags), 3)


def _group_key(built) -> str:
    return f"{built.exhibit_id}-g{built.group_ids[0]}"


def _report_row(url: str, reference: str, category: str):
    with session_scope(url) as session:
        report = build_case_report(session, reference)
    return report, report.images.rows.get(category)


def test_a_grade_applies_to_the_group_and_three_agreeing_votes_make_it_final(store) -> None:
    url, built, users = store["url"], store["built"], store["users"]
    key = _group_key(built)
    before, row = _report_row(url, built.reference, "A")
    assert row.unique_items == 1  # the exact match
    outcomes = _vote(url, users["rev1"], built.case_id, key, "A", series=True)
    assert [o.state for o in outcomes] == [PENDING] * 3
    _vote(url, users["rev2"], built.case_id, key, "A")
    outcomes = _vote(url, users["rev3"], built.case_id, key, "A", victim_identified=True)
    assert [o.state for o in outcomes] == [FINAL] * 3
    assert all(o.grade.series and o.grade.victim_identified for o in outcomes)
    report, row = _report_row(url, built.reference, "A")
    assert row.unique_items == 4
    assert report.exhibits[0].graded_by_review == 3
    assert report.first_generation == before.first_generation - 3
    awaiting = report.images.rows["awaiting review"].unique_items
    assert awaiting == before.images.rows["awaiting review"].unique_items - 3
    with session_scope(url) as session:
        assert not any(c.key == key for c in review_queue(session, built.case_id, users["rev1"]))
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "grade")).all()
        assert len(events) == 3 and audit.verify(session) is None


def test_a_reviewer_votes_once_per_item(store) -> None:
    url, built, users = store["url"], store["built"], store["users"]
    key = _group_key(built)
    _vote(url, users["rev1"], built.case_id, key, "B")
    with pytest.raises(grading.ReviewError):
        _vote(url, users["rev1"], built.case_id, key, "B")
    with pytest.raises(IntegrityError), session_scope(url) as session:
        session.add(
            Vote(
                exhibit_id=built.exhibit_id,
                media_id=built.groups[0][0],
                user_id=users["rev1"],
                category="C",
            )
        )
        session.flush()


def test_disagreement_goes_to_the_supervisor_whose_decision_is_final(store) -> None:
    from safeguard.store.review_models import User

    url, built, users = store["url"], store["built"], store["users"]
    key = _group_key(built)
    _vote(url, users["rev1"], built.case_id, key, "A")
    outcomes = _vote(url, users["rev2"], built.case_id, key, "C")
    assert {o.state for o in outcomes} == {DISPUTED}
    with session_scope(url) as session:
        assert [c.key for c in moderation_queue(session, built.case_id)] == [key]
        case = session.get(Case, built.case_id)
        with pytest.raises(NotAllowed):
            grading.moderate(session, session.get(User, users["rev3"]), case, key, Grade("A"), 3)
        outcomes = grading.moderate(
            session, session.get(User, users["sup"]), case, key, Grade("C"), 3, "looked closely"
        )
        assert {(o.state, o.method, o.grade.category) for o in outcomes} == {
            (FINAL, "moderation", "C")
        }
        assert moderation_queue(session, built.case_id) == []
    _, row = _report_row(url, built.reference, "C")
    assert row.unique_items == 3


def test_a_group_can_be_split(store) -> None:
    from safeguard.store.review_models import User

    url, built, users = store["url"], store["built"], store["users"]
    key, member = _group_key(built), built.groups[0][2]
    with session_scope(url) as session:
        case = session.get(Case, built.case_id)
        new_key = grading.split_off(session, session.get(User, users["rev1"]), case, key, member)
    assert new_key == f"{built.exhibit_id}-m{member}"
    with session_scope(url) as session:
        sizes = {c.key: c.size for c in case_cards(session, built.case_id)}
    assert sizes[key] == 2 and sizes[new_key] == 1
    outcomes = _vote(url, users["rev1"], built.case_id, key, "N")
    assert len(outcomes) == 2


def test_analysts_cannot_grade_or_reveal(store) -> None:
    from safeguard.store.review_models import User

    url, built, users = store["url"], store["built"], store["users"]
    with session_scope(url) as session:
        analyst, case = session.get(User, users["ana"]), session.get(Case, built.case_id)
        with pytest.raises(NotAllowed):
            grading.vote_card(session, analyst, case, _group_key(built), Grade("A"), 3)
        with pytest.raises(NotAllowed):
            media.reveal(session, analyst, case, built.exhibit_id, built.groups[0][0])


def test_reveals_are_audited_counted_and_limited_to_items_needing_review(store) -> None:
    from safeguard.store.review_models import User

    url, built, users = store["url"], store["built"], store["users"]
    with session_scope(url) as session:
        user, case = session.get(User, users["rev1"]), session.get(Case, built.case_id)
        item = built.groups[0][0]
        images = media.reveal(session, user, case, built.exhibit_id, item)
        assert images == [get_preview(session, item, THUMB)]
        assert len(media.reveal(session, user, case, built.exhibit_id, item, full=True)) == 1
        blurred = media.blurred_preview(session, user, case, built.exhibit_id, item)
        assert blurred and blurred != images[0]
        with pytest.raises(NotAllowed):  # known material is never shown
            media.reveal(session, user, case, built.exhibit_id, built.exact[0])
    with session_scope(url) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["reveal", "full_view"]
        # a reveal and then a full view of the same item are one item seen
        assert exposure(session, users["rev1"]) == Exposure(1, 1)
        assert exposure(session, users["rev2"]) == Exposure(0, 0)


def test_cases_are_reachable_only_through_an_assignment(store) -> None:
    url, built = store["url"], store["built"]
    with session_scope(url) as session:
        other = build_case(session, "OP-OTHER", groups=(1,), perceptual=0, exact=0)
        outsider = make_user(session, "outsider", "reviewer", other.case_id)
        assert require_case(session, outsider, other.case_id).reference == "OP-OTHER"
        with pytest.raises(NotAllowed):
            require_case(session, outsider, built.case_id)
        with pytest.raises(NotAllowed):
            require_case(session, outsider, 999_999)


def test_the_queue_puts_self_produced_then_first_generation_first(database_url: str) -> None:
    with session_scope(database_url) as session:
        built = build_case(
            session,
            "OP-ORDER",
            groups=(1, 2, 3),
            perceptual=1,
            conflicting=1,
            exact=1,
            shared_camera_group=0,
        )
        user = make_user(session, "rev", "reviewer", built.case_id)
        cards = review_queue(session, built.case_id, user.id)
    e = built.exhibit_id
    assert [c.key for c in cards] == [
        f"{e}-g{built.group_ids[0]}",  # possibly self-produced: the camera is on known media
        f"{e}-g{built.group_ids[2]}",  # first generation, larger groups first
        f"{e}-g{built.group_ids[1]}",
        f"{e}-m{built.conflicting[0]}",
        f"{e}-m{built.perceptual[0]}",
    ]
    assert cards[0].possibly_self_produced and not cards[1].possibly_self_produced
    assert [c.size for c in cards] == [1, 3, 2, 1, 1]
    assert cards[-1].representative.bank_category == "B"


def test_votes_in_any_order_leave_the_same_stored_outcome(database_url: str) -> None:
    from safeguard.store.review_models import User

    orders = list(permutations(["A", "A", "A", "B"]))
    orders = sorted(set(orders))  # the 4 distinct orders of this multiset
    agreeing = [("C", "C", "C")]
    with session_scope(database_url) as session:
        built = build_case(
            session, "OP-ORDERLESS", groups=(len(orders) + 1,), perceptual=0, exact=0
        )
        voters = [make_user(session, f"r{i}", "reviewer", built.case_id) for i in range(4)]
        case = session.get(Case, built.case_id)
        items = built.groups[0]
        for item, order in zip(items, orders + agreeing, strict=True):
            for user, category in zip(voters, order, strict=False):
                grading.vote_item(
                    session,
                    session.get(User, user.id),
                    case,
                    built.exhibit_id,
                    item,
                    Grade(category),
                    3,
                )
        states = dict(session.execute(select(ReviewOutcome.media_id, ReviewOutcome.state)).all())
    assert {states[i] for i in items[: len(orders)]} == {DISPUTED}
    assert states[items[-1]] == FINAL


def test_videos_show_as_blurred_keyframe_strips_and_reveal_whole(database_url: str) -> None:
    from safeguard.review.previews import make_previews
    from safeguard.store.models import ExhibitMedia, Media
    from safeguard.store.previews import put_previews
    from safeguard.store.video_models import KEYFRAME
    from tests.review.helpers import _jpeg

    with session_scope(database_url) as session:
        built = build_case(session, "OP-VIDEO", groups=(), perceptual=0, exact=0)
        video = Media(
            sha256="f" * 64,
            sha1="f" * 40,
            md5="f" * 32,
            size=1,
            mime="video/mp4",
            kind="video",
            duration_s=12.0,
        )
        session.add(video)
        session.flush()
        session.add(ExhibitMedia(exhibit_id=built.exhibit_id, media_id=video.id, status="new"))
        frames = [make_previews(_jpeg(900 + i))[0] for i in range(3)]
        put_previews(session, [(video.id, KEYFRAME, i, f) for i, f in enumerate(frames)])
        user = make_user(session, "rev", "reviewer", built.case_id)
        case = session.get(Case, built.case_id)
        (card,) = review_queue(session, built.case_id, user.id)
        assert card.representative.kind == "video"
        strip = [
            media.blurred_preview(session, user, case, built.exhibit_id, video.id, i)
            for i in range(4)
        ]
        assert all(strip[:3]) and strip[3] is None
        assert media.reveal(session, user, case, built.exhibit_id, video.id) == frames
