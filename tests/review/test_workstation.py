"""Issue 16's review workstation services on both databases: perceptual matches grouped by bank
entry under a review policy, unviewable items out of the queue, undo and changed votes, remembered
skips, filters, notes, exposure counted per item, the break wording, and the charging schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from safeguard.domain.review_policy import ReviewPolicy
from safeguard.reports.case_report import UNVIEWABLE, build_case_report
from safeguard.reports.render import as_dict, render
from safeguard.review import grading, media
from safeguard.review.consensus import Grade
from safeguard.review.exposure import BreakState, break_message, exposure
from safeguard.review.grading import ReviewError
from safeguard.review.queue import QueueView, arrange, card_details, case_cards, review_queue
from safeguard.store.database import session_scope
from safeguard.store.models import Bank, BankEntry, Case, ExhibitMedia, Match, Media
from safeguard.store.review_models import AuditEvent, ReviewOutcome, User
from tests.review.helpers import _media, build_case, make_user

#: (bank entry, PDQ distance, rotation/flip variant) of the perceptual matches below.
PERCEPTUAL = ((0, 4, 0), (0, 18, 1), (0, 22, 4), (1, 12, 0), (1, 30, 2))


def _with_matches(session, built) -> dict[str, list[int]]:
    """Five perceptual matches on two bank entries, and one new item that cannot be decoded."""
    bank = Bank(name="bank-1", scheme="uk", source="test")
    session.add(bank)
    session.flush()
    entries = [
        BankEntry(bank_id=bank.id, category=c, external_id=f"E-{i}", victim_identified=i == 0)
        for i, c in enumerate(("B", "C"))
    ]
    session.add_all(entries)
    session.flush()
    ids: dict[str, list[int]] = {"perceptual": [], "unviewable": []}
    for n, (entry, distance, variant) in enumerate(PERCEPTUAL):
        m = _media(session, built.exhibit_id, 100 + n, "graded_perceptual", category="BC"[entry])
        match = Match(
            exhibit_id=built.exhibit_id,
            media_id=m.id,
            bank_entry_id=entries[entry].id,
            kind="perceptual",
            hash_kind="pdq",
            distance=distance,
            variant=variant,
        )
        session.add(match)
        session.flush()
        row = session.scalar(
            select(ExhibitMedia).where(
                ExhibitMedia.exhibit_id == built.exhibit_id, ExhibitMedia.media_id == m.id
            )
        )
        row.deciding_match_id = match.id
        ids["perceptual"].append(m.id)
    broken = _media(session, built.exhibit_id, 200, "new", previews=False)
    broken.decode_error = "truncated JPEG"
    ids["unviewable"].append(broken.id)
    session.flush()
    return ids


@pytest.fixture
def store(database_url: str) -> dict:
    with session_scope(database_url) as session:
        built = build_case(session, "OP-WS", groups=(3, 1), perceptual=0, exact=1)
        ids = _with_matches(session, built)
        users = {
            name: make_user(session, name, role, built.case_id).id
            for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("sup", "supervisor"))
        }
    return {"url": database_url, "built": built, "users": users, **ids}


def _session_objects(session, store, name="rev1"):
    return session.get(User, store["users"][name]), session.get(Case, store["built"].case_id)


# --- the policy (pure) ----------------------------------------------------------------------


@given(st.integers(0, 256), st.integers(0, 256), st.sampled_from(["new", "graded_perceptual"]))
def test_only_perceptual_matches_closer_than_the_threshold_skip_a_person(below, d, status):
    policy = ReviewPolicy(auto_accept_below=below)
    assert policy.auto_accepted(status, d) == (status == "graded_perceptual" and d < below)
    assert not policy.auto_accepted(status, None)


def test_a_known_grade_needs_confirmations_and_a_new_grade_needs_votes() -> None:
    policy = ReviewPolicy(votes_required=3, confirmations_required=2, auto_accept_below=0)
    assert policy.required("new") == 3 and policy.required("conflicting") == 3
    assert policy.required("graded_perceptual") == 2
    assert "2 confirmation(s)" in policy.describe()
    assert "every perceptual match is confirmed by a person" in policy.describe()
    with pytest.raises(ValueError):
        ReviewPolicy(confirmations_required=0)


# --- cards ----------------------------------------------------------------------------------


def test_perceptual_matches_are_one_card_per_bank_entry_and_close_ones_need_nobody(store):
    with session_scope(store["url"]) as session:
        everyone = ReviewPolicy(auto_accept_below=0)
        cards = case_cards(session, store["built"].case_id, policy=everyone)
        confirm = [c for c in cards if c.status == "graded_perceptual"]
        assert sorted(c.size for c in confirm) == [2, 3]  # five matches, two bank entries
        card = next(c for c in confirm if c.size == 3)
        assert card.key.split("-")[1].startswith("p")
        assert card.suggestion.bank == "bank-1" and card.suggestion.entry_ref == "E-0"
        # the representative is the first member; its match was as stored (variant 0)
        assert card.suggestion.variant == "as stored" and card.suggestion.distance == 4
        default = case_cards(session, store["built"].case_id, policy=ReviewPolicy())
        sizes = sorted(c.size for c in default if c.status == "graded_perceptual")
        assert sizes == [2, 2]  # distance 4 (entry 0) is accepted without a person; 12 is not
        strict = ReviewPolicy(auto_accept_below=20)
        left = [c for c in case_cards(session, store["built"].case_id, policy=strict)]
        assert sorted(c.size for c in left if c.status == "graded_perceptual") == [1, 1]
        # the undecodable item is never a card, whatever the policy
        members = {m.item.media_id for c in cards for m in c.members}
        assert not members & set(store["unviewable"])


def test_one_confirmation_makes_a_known_grade_final_for_the_whole_card(store):
    policy = ReviewPolicy(votes_required=3, confirmations_required=1, auto_accept_below=0)
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        card = next(
            c
            for c in case_cards(session, case.id, policy=policy)
            if c.status == "graded_perceptual" and c.size == 3
        )
        outcomes = grading.vote_card(session, user, case, card.key, Grade("B"), policy)
        assert [o.state for o in outcomes] == ["final"] * 3
        group = next(c for c in case_cards(session, case.id, policy=policy) if "-g" in c.key)
        assert [
            o.state for o in grading.vote_card(session, user, case, group.key, Grade("A"), policy)
        ] == ["pending"] * group.size


def test_the_report_states_the_policy_and_lists_what_could_not_be_viewed(store):
    policy = ReviewPolicy(auto_accept_below=10)
    with session_scope(store["url"]) as session:
        report = build_case_report(session, "OP-WS", policy)
    assert report.awaiting_confirmation == 4 and report.exhibits[0].auto_accepted == 1
    assert [u.sha256 for u in report.unviewable] and report.unviewable[0].reason == "truncated JPEG"
    assert report.images.rows[UNVIEWABLE].unique_items == 1
    sentence = report.summary_sentence()
    assert "4 perceptual match(es) awaiting confirmation" in sentence
    assert "1 item(s) could not be viewed" in sentence
    data = as_dict(report)
    assert data["review_policy"]["auto_accept_below"] == 10
    assert "closer than 10 bits" in data["review_policy"]["statement"]
    assert data["could_not_be_viewed"][0]["paths"] == ["pictures/0200.jpg"]
    assert "Could not be viewed" in render(report, "html")


# --- votes: undo and change until final ----------------------------------------------------


def test_a_reviewer_can_take_back_and_change_votes_until_final(store):
    url, policy = store["url"], ReviewPolicy(3, 1, 0)
    with session_scope(url) as session:
        user, case = _session_objects(session, store)
        key = f"{store['built'].exhibit_id}-g{store['built'].group_ids[0]}"
        grading.vote_card(session, user, case, key, Grade("A"), policy)
        assert not any(c.key == key for c in review_queue(session, case.id, user.id, policy))
        grading.withdraw_votes(session, user, case, key, policy)
        assert any(c.key == key for c in review_queue(session, case.id, user.id, policy))
        grading.vote_card(session, user, case, key, Grade("A"), policy)
        grading.change_votes(session, user, case, key, Grade("B"), policy)
        rows = session.scalars(select(ReviewOutcome).where(ReviewOutcome.state == "pending"))
        assert {r.votes for r in rows} == {1}
        # a final grade cannot change
        confirm = next(c for c in case_cards(session, case.id, policy=policy) if "-p" in c.key)
        grading.vote_card(session, user, case, confirm.key, Grade("B"), policy)
        with pytest.raises(ReviewError):
            grading.withdraw_votes(session, user, case, confirm.key, policy)
    with session_scope(url) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions.count("vote_withdrawn") == 2  # the undo and the change
        body = json.loads(
            session.scalars(
                select(AuditEvent.body).where(AuditEvent.action == "vote_withdrawn")
            ).first()
        )
        assert {w["grade"] for w in body["detail"]["withdrawn"]} == {"A"}


# --- skips, filters, notes -----------------------------------------------------------------


def test_a_skipped_card_stays_last_until_graded(store):
    policy = ReviewPolicy(3, 1, 0)
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        first = review_queue(session, case.id, user.id, policy)[0]
        grading.skip_card(session, user, case, first.key, policy)
    with session_scope(store["url"]) as session:  # a new request: the skip is remembered
        user, case = _session_objects(session, store)
        keys = [c.key for c in review_queue(session, case.id, user.id, policy)]
        assert keys[-1] == first.key and len(keys) == 4
        other = [c.key for c in review_queue(session, case.id, store["users"]["rev2"], policy)]
        assert other[0] == first.key  # another reviewer's queue is not affected


def test_filters_and_sorts(store):
    policy = ReviewPolicy(3, 1, 0)
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        queue = review_queue(session, case.id, user.id, policy)
        assert {c.status for c in arrange(queue, QueueView(status="new"))} == {"new"}
        assert all(c.suggestion for c in arrange(queue, QueueView(bank="yes")))
        assert not any(c.suggestion for c in arrange(queue, QueueView(bank="no")))
        sizes = [c.size for c in arrange(queue, QueueView(sort="size-asc"))]
        assert sizes == sorted(sizes)
        in_folder = review_queue(session, case.id, user.id, policy, QueueView(folder="pictures"))
        assert len(in_folder) == len(queue)
        assert not review_queue(session, case.id, user.id, policy, QueueView(folder="Users/x"))
        assert not arrange(queue, QueueView(exhibit="EX9"))


def test_notes_are_kept_per_item_and_shown_with_the_files(store):
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        item = store["built"].groups[0][1]
        grading.add_note(session, user, case, store["built"].exhibit_id, item, "  same room  ")
        with pytest.raises(ReviewError):
            grading.add_note(session, user, case, store["built"].exhibit_id, item, "   ")
        cards = case_cards(session, case.id)
        files, notes = card_details(session, cards)
        assert [n.text for n in notes[(store["built"].exhibit_id, item)]] == ["same room"]
        assert files[item][0].path.startswith("pictures/")


# --- wellbeing -------------------------------------------------------------------------------


def test_a_reveal_and_a_full_view_of_one_item_count_once(store):
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        a, b = store["built"].groups[0][:2]
        for item, full in ((a, False), (a, True), (b, True)):
            media.reveal(session, user, case, store["built"].exhibit_id, item, full=full)
        assert exposure(session, user.id).today == 2


@pytest.mark.parametrize(
    ("reveals", "minutes", "text"),
    [
        (40, 0, "40 images unblurred since your last break, less than a minute ago."),
        (1, 1, "1 image unblurred since your last break, 1 minute ago."),
        (0, 45, "0 images unblurred since your last break, 45 minutes ago."),
        (3, 150, "3 images unblurred since your last break, 2 hours 30 minutes ago."),
    ],
)
def test_the_break_prompt_reads_right(reveals: int, minutes: int, text: str) -> None:
    assert break_message(BreakState(True, reveals, minutes)).endswith(text)


# --- the charging schedule ------------------------------------------------------------------


def test_the_schedule_lists_every_graded_item_and_how(store):
    policy = ReviewPolicy(3, 1, 10)
    url = store["url"]
    with session_scope(url) as session:
        user, case = _session_objects(session, store)
        key = f"{store['built'].exhibit_id}-g{store['built'].group_ids[1]}"  # a single item
        for name in ("rev1", "rev2", "sup"):
            who = session.get(User, store["users"][name])
            grading.vote_card(session, who, case, key, Grade("C", ai_generated=True), policy)
    with session_scope(url) as session:
        report = build_case_report(session, "OP-WS", policy)
        sha = {m.id: m.sha256 for m in session.scalars(select(Media))}
    lines = {line.sha256: line for line in report.schedule}
    exact = lines[sha[store["built"].exact[0]]]
    assert exact.method == "exact match" and exact.category == "A"
    reviewed = lines[sha[store["built"].groups[1][0]]]
    assert reviewed.method == "review (consensus)" and reviewed.basis.startswith("3 reviewer")
    assert reviewed.flags == ["AI-generated suspected"] and reviewed.paths
    auto = lines[sha[store["perceptual"][0]]]
    assert auto.method.startswith("perceptual match (accepted by policy")
    assert "E-0" in auto.basis and "distance 4" in auto.basis
    assert auto.flags == ["victim identified"]
    waiting = lines[sha[store["perceptual"][1]]]
    assert waiting.method == "perceptual match (awaiting confirmation)"
    assert sha[store["unviewable"][0]] not in lines
    assert sha[store["built"].groups[0][0]] not in lines  # not graded yet
    assert len(report.schedule) == 1 + 1 + len(PERCEPTUAL)
    csv_text = render(report, "csv")
    assert csv_text.count("\nschedule,") == len(report.schedule)


def test_a_pending_vote_can_change_however_old_it_is(store):
    """The rule is the state (not final), not the clock."""
    policy = ReviewPolicy(3, 1, 0)
    with session_scope(store["url"]) as session:
        user, case = _session_objects(session, store)
        key = f"{store['built'].exhibit_id}-g{store['built'].group_ids[0]}"
        grading.vote_card(session, user, case, key, Grade("A"), policy)
        for row in session.scalars(select(ReviewOutcome)):
            row.updated_at = datetime.now(UTC) - timedelta(days=30)
        assert grading.change_votes(session, user, case, key, Grade("C"), policy)


def test_the_case_export_carries_the_ai_generated_flag(store, tmp_path):
    from safeguard.banks.case_export import final_grade_records
    from safeguard.interchange.vics import read_vics, write_vics

    policy = ReviewPolicy(3, 1, 10)
    with session_scope(store["url"]) as session:
        _, case = _session_objects(session, store)
        key = f"{store['built'].exhibit_id}-g{store['built'].group_ids[1]}"
        for name in ("rev1", "rev2", "sup"):
            who = session.get(User, store["users"][name])
            grading.vote_card(session, who, case, key, Grade("C", ai_generated=True), policy)
        records = final_grade_records(session, case)
        flagged = session.get(Media, store["built"].groups[1][0]).sha256
    by_sha = {r.sha256: r for r in records}
    assert by_sha[flagged].ai_generated
    assert not any(r.ai_generated for s, r in by_sha.items() if s != flagged)
    path = tmp_path / "export.json"
    with path.open("w", encoding="utf-8") as out:
        write_vics(records, out, profile="uk")
    assert path.read_text().count('"AIGenerated":true') == 1
    back = {r.sha256: r for r in read_vics(path, "uk") if hasattr(r, "sha256")}
    assert back[flagged].ai_generated and not back[store_sha(records, flagged)].ai_generated


def store_sha(records, flagged: str) -> str:
    return next(r.sha256 for r in records if r.sha256 != flagged)
