"""Linking referrals imported through the intake (the demo generator's XML, JSON and fragment
CSVs) and measured against its ground truth."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from safeguard.demo.referrals import generate_referrals
from safeguard.referrals import subjects
from safeguard.referrals.linking import pairwise_quality
from safeguard.referrals.service import Actor, import_referrals
from safeguard.store import subjects as repo
from safeguard.store.database import session_scope


@pytest.mark.slow
def test_imported_referrals_link_against_the_generators_truth(
    sqlite_url: str, tmp_path: Path
) -> None:
    generated = generate_referrals(tmp_path / "gen", 150, uploads=False)
    for folder, source in (("xml", "ncmec"), ("json", "ncmec"), ("fragments", "public")):
        report = import_referrals(
            tmp_path / "gen" / folder,
            source=source,
            actor=Actor("t"),
            database_url=sqlite_url,
            match_uploads=False,
        )
        assert report.errors == []
    with session_scope(sqlite_url) as session:
        summary = subjects.relink(session, None)
        assert summary.referrals == 150
        clusters = [
            [r.external_id for r in repo.members(session, s.id)] for s in repo.subjects(session)
        ]
    q = pairwise_quality(clusters, generated.truth)
    # This generator draws phone numbers from one drama block of 1,000 numbers at random, so
    # two of its people can hold the same number; a shared E.164 phone is a deterministic link
    # by the rule, so such a pair is linked. With this seed one number is shared.
    wrong = [c for c in clusters if len({generated.truth[k] for k in c}) > 1]
    assert len(wrong) <= 1
    assert q.precision >= 0.98, q
    # What is left unlinked here are fragments whose only tie is an IP address and port seen
    # months apart (not evidence behind carrier-grade NAT) or a username on another service.
    assert q.recall >= 0.93, q
    sizes = Counter(len(c) for c in clusters)
    assert sizes[1] < 30
