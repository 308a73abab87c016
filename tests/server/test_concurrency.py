"""Several reviewers at once, on both databases, with real threads (bounded in time).

* Concurrent votes on one card never lose or double-count a vote: the outcomes the voters get
  back count 1, 2, ..., n exactly once each, so consensus is reached exactly once.
* An ingest running while reviewers vote and read never blocks them for more than a moment.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safeguard.demo.corpus import DemoCorpus
from safeguard.reports.case_report import build_case_report
from safeguard.review import grading
from safeguard.review.consensus import DISPUTED, FINAL, Grade, Outcome
from safeguard.review.queue import case_cards
from safeguard.store import audit
from safeguard.store.cases import create_case
from safeguard.store.database import session_scope
from safeguard.store.models import Case
from safeguard.store.review_models import ReviewOutcome, User, Vote
from safeguard.triage.ingest import IngestOptions, ingest_exhibit
from tests.review.helpers import build_case, make_user

VOTERS = 5
#: A bound on blocking, not a speed target.
BOUND_S = 5.0


def _vote(url: str, user_id: int, case_id: int, key: str, category: str) -> list[Outcome]:
    with session_scope(url) as session:
        user = session.get(User, user_id)
        case = session.get(Case, case_id)
        return grading.vote_card(session, user, case, key, Grade(category), 3)


def test_concurrent_votes_are_counted_exactly_once(database_url: str) -> None:
    with session_scope(database_url) as session:
        built = build_case(session, "OP-RACE", groups=(3, 2, 2, 1), perceptual=0, exact=0)
        users = [make_user(session, f"rev{i}", "reviewer", built.case_id).id for i in range(VOTERS)]
    keys = [f"{built.exhibit_id}-g{g}" for g in built.group_ids]
    with ThreadPoolExecutor(VOTERS) as pool:
        for round_number, key in enumerate(keys):
            barrier = threading.Barrier(VOTERS, timeout=30)
            dissent = round_number == len(keys) - 1  # the last card: one reviewer disagrees

            def cast(i: int, key: str = key, barrier: threading.Barrier = barrier,
                     dissent: bool = dissent) -> list[Outcome]:  # fmt: skip
                barrier.wait()
                category = "B" if dissent and i == VOTERS - 1 else "A"
                return _vote(database_url, users[i], built.case_id, key, category)

            results = list(pool.map(cast, range(VOTERS), timeout=120))
            members = len(results[0])
            for position in range(members):
                seen = sorted(r[position].votes for r in results)
                assert seen == list(range(1, VOTERS + 1)), (key, seen)
                if dissent:
                    assert results_state(results, position)[-1] == DISPUTED
                else:
                    reached = [r[position] for r in results if r[position].votes == 3]
                    assert len(reached) == 1 and reached[0].state == FINAL
    with session_scope(database_url) as session:
        votes = Counter(session.scalars(select(Vote.media_id)))
        rows = session.scalars(select(ReviewOutcome)).all()
        assert audit.verify(session) is None
        assert session.scalar(select(func.count()).select_from(Vote)) == VOTERS * sum(
            len(g) for g in built.groups
        )
    assert set(votes.values()) == {VOTERS}
    assert len(rows) == sum(len(g) for g in built.groups)
    last = set(built.groups[-1])
    for row in rows:
        assert row.votes == VOTERS
        assert row.state == (DISPUTED if row.media_id in last else FINAL)


def results_state(results: list[list[Outcome]], position: int) -> list[str]:
    """States in the order the votes were counted."""
    return [o.state for o in sorted((r[position] for r in results), key=lambda o: o.votes)]


@pytest.mark.timeout(300)
def test_an_ingest_never_blocks_reviewers(
    database_url: str, demo_corpus: DemoCorpus, tmp_path: Path
) -> None:
    with session_scope(database_url) as session:
        built = build_case(session, "OP-REVIEW", groups=(1,) * 12, perceptual=0, exact=1)
        users = [make_user(session, f"r{i}", "reviewer", built.case_id).id for i in range(3)]
        create_case(session, "OP-INGEST")
    failures: list[BaseException] = []

    def run_ingest() -> None:
        try:
            options = IngestOptions(workers=2, batch=8)
            ingest_exhibit(
                "OP-INGEST", "EX1", demo_corpus.exhibit_dir, options, database_url=database_url
            )
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    ingest = threading.Thread(target=run_ingest, daemon=True)
    timings: dict[str, list[float]] = {"vote": [], "read": []}
    pending = [(u, f"{built.exhibit_id}-g{g}") for g in built.group_ids for u in users[:3]]
    started = time.monotonic()
    ingest.start()
    while ingest.is_alive() and time.monotonic() - started < 240:
        if pending:
            user_id, key = pending.pop(0)
            t0 = time.monotonic()
            _vote(database_url, user_id, built.case_id, key, "C")
            timings["vote"].append(time.monotonic() - t0)
        t0 = time.monotonic()
        with session_scope(database_url) as session:
            case_cards(session, built.case_id)
            build_case_report(session, "OP-REVIEW")
        timings["read"].append(time.monotonic() - t0)
    ingest.join(timeout=60)
    assert not ingest.is_alive() and not failures, failures
    assert len(timings["vote"]) >= 3 and len(timings["read"]) >= 3, timings
    worst = {name: max(values) for name, values in timings.items()}
    assert all(w < BOUND_S for w in worst.values()), worst
    with session_scope(database_url) as session:
        assert audit.verify(session) is None
        votes = session.scalar(select(func.count()).select_from(Vote))
    assert votes == len(timings["vote"])
