"""Statistics for a year of a large force: ``--actions`` actions (1M by default) over
``--subjects`` people (100k) with their safeguarded children and crime outcomes, in a scratch
PostgreSQL database (bulk-loaded with COPY), then every layout of ``safeguard stats`` timed.

Side by side, in the same run, the peer: the obvious implementation that reads the year's
current rows out of the database and counts them in Python with the definitions themselves
(``outcomes.statistics.reference_figures``); both must give the same figures. Target: the
year's statistics in under 5 s. Writes bench/results/stats.json.

    .venv/bin/python bench/bench_stats.py [--actions 1000000] [--subjects 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta

from rich.progress import Progress
from sqlalchemy import create_engine, func, select, text

from common import table, write_result
from safeguard.outcomes import services as svc
from safeguard.outcomes.periods import Period
from safeguard.outcomes.statistics import ActionFact, OutcomeFact, reference_figures
from safeguard.outcomes.synthetic import year_rows
from safeguard.store.database import engine_for, session_scope, upgrade
from safeguard.store.outcome_models import Action, ActionChild, CrimeOutcome
from safeguard.store.outcomes import ALL, _current_action

ADMIN_URL = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
COLUMNS = (
    "id", "ref", "version", "withdrawn", "kind", "occurred_at", "force", "team", "operation",
    "target_kind", "target_ref", "person_key", "counted_key", "quantity", "flag", "band",
    "referral_received_at", "details", "recorded_by", "recorded_at", "supersedes_id", "reason",
)  # fmt: skip
#: The share of actions corrected once (a superseding version 2 row), as real records are.
CORRECTED = 0.01
YEAR = 2025


def load(url: str, actions: int, subjects: int, seed: int) -> dict[str, float]:
    """COPY the generated year into the store; returns seconds per step and row counts."""
    engine = engine_for(url)
    started = time.perf_counter()
    raw = engine.raw_connection()
    children = outcomes = 0
    try:
        cursor = raw.cursor()
        with Progress() as progress:
            task = progress.add_task("loading actions", total=actions)
            kids: list[tuple[int, int, str]] = []
            rng = random.Random(seed)
            corrections: list[tuple] = []
            with cursor.copy(f"COPY actions ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i, (row, keys) in enumerate(year_rows(actions, subjects, YEAR, seed=seed)):
                    row = {**row, "supersedes_id": None, "reason": None}
                    copy.write_row((i + 1, *(row[c] for c in COLUMNS[1:])))
                    action_id = i + 1
                    if rng.random() < CORRECTED:  # the corrected version replaces this one
                        action_id = actions + len(corrections) + 1
                        fixed = {**row, "version": 2, "supersedes_id": i + 1, "reason": "bench"}
                        fixed["occurred_at"] += timedelta(hours=rng.randint(-48, 48))
                        corrections.append((action_id, *(fixed[c] for c in COLUMNS[1:])))
                    for key in keys:
                        children += 1
                        kids.append((children, action_id, key))
                    if i % 10000 == 0:
                        progress.update(task, completed=i)
                progress.update(task, completed=actions)
                for row in corrections:
                    copy.write_row(row)
            with cursor.copy("COPY action_children (id, action_id, child_key) FROM STDIN") as copy:
                for kid in kids:
                    copy.write_row(kid)
            start = datetime(YEAR, 1, 1, tzinfo=UTC)
            cols = (
                "id, crime_ref, version, withdrawn, code, decided_at, force, details, "
                "recorded_by, recorded_at, referral_received_at"
            )
            with cursor.copy(f"COPY crime_outcomes ({cols}) FROM STDIN") as copy:
                for n in range(actions // 20):
                    when = start + timedelta(seconds=rng.randrange(365 * 86400))
                    copy.write_row(
                        (n + 1, f"CR-{n}", 1, False, rng.randint(1, 20), when, "BENCH", "{}",
                         "bench", when, when - timedelta(days=rng.randint(1, 200)))
                    )  # fmt: skip
                    outcomes += 1
        for name in ("actions", "action_children", "crime_outcomes"):
            cursor.execute(f"SELECT setval('{name}_id_seq', (SELECT max(id) FROM {name}))")
        raw.commit()
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return {
        "load_s": time.perf_counter() - started,
        "children": children,
        "outcomes": outcomes,
        "corrections": len(corrections),
    }


def timed(fn, repeat: int = 3):  # noqa: ANN001, ANN201
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def peer(url: str, period: Period) -> dict[str, int]:
    """Read the current rows and count with the definitions in Python."""
    with session_scope(url) as session:
        kids: dict[int, list[str]] = {}
        for action_id, key in session.execute(select(ActionChild.action_id, ActionChild.child_key)):
            kids.setdefault(action_id, []).append(key)
        facts = [
            ActionFact(r.ref, r.kind, r.occurred_at, r.person_key, r.counted_key, r.quantity,
                       r.flag, tuple(kids.get(r.id, ())))
            for r in session.execute(
                select(Action.id, Action.ref, Action.kind, Action.occurred_at, Action.person_key,
                       Action.counted_key, Action.quantity, Action.flag).where(_current_action())
            )
        ]  # fmt: skip
        outcomes = [
            OutcomeFact(c, code, d)
            for c, code, d in session.execute(
                select(CrimeOutcome.crime_ref, CrimeOutcome.code, CrimeOutcome.decided_at)
            )
        ]
    return reference_figures(facts, outcomes, period)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-peer", action="store_true", help="Skip the Python peer.")
    parser.add_argument("--name", default="stats", help="Results file bench/results/NAME.json.")
    args = parser.parse_args()
    name = f"sg_bench_stats_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        loaded = load(url, args.actions, args.subjects, args.seed)
        period = Period(date(YEAR, 1, 1), date(YEAR, 12, 31))
        admin_actor = svc.Actor(None, "bench", "admin")
        rows, results = [], {}
        with session_scope(url) as session:
            # the floor on this machine: one bare pass over the year's rows
            seconds, _ = timed(
                lambda: session.execute(
                    select(func.count())
                    .select_from(Action)
                    .where(
                        Action.occurred_at >= period.start_utc, Action.occurred_at < period.end_utc
                    )
                ).scalar(),
                args.repeat,
            )
            results["bare_scan_s"] = round(seconds, 3)
            rows.append(("floor: one bare COUNT(*) pass over the year", f"{seconds:.2f}"))
            for layout in ("snapshot", "yoy", "timing", "outcomes"):
                seconds, _ = timed(
                    lambda layout=layout: svc.statistics_table(
                        session, admin_actor, period, ALL, layout
                    ),
                    args.repeat,
                )
                results[f"layout_{layout}_s"] = round(seconds, 3)
                rows.append((f"stats --layout {layout}", f"{seconds:.2f}"))
            seconds, ours = timed(lambda: svc.figures(session, period, ALL).values, args.repeat)
            results["figures_s"] = round(seconds, 3)
            seconds, _ = timed(lambda: svc.dashboard(session, admin_actor, period, ALL), 1)
            results["dashboard_s"] = round(seconds, 3)
            rows.append(("dashboard (12 months, bands, outcomes)", f"{seconds:.2f}"))
            seconds, _ = timed(lambda: svc.force_figures(session, period, "BENCH"), 1)
            results["rollup_figures_s"] = round(seconds, 3)
            rows.append(("roll-up figures with person keys", f"{seconds:.2f}"))
        rows.insert(1, ("every statistic (SQL)", f"{results['figures_s']:.2f}"))
        results["figures_over_bare_scan"] = round(results["figures_s"] / results["bare_scan_s"], 1)
        if not args.skip_peer:
            seconds, theirs = timed(lambda: peer(url, period), 1)
            assert theirs == ours, (theirs, ours)
            results["peer_python_s"] = round(seconds, 3)
            results["ratio_peer_over_sql"] = round(seconds / results["figures_s"], 1)
            rows.append(("peer: read rows, count in Python", f"{seconds:.2f}"))
        print(
            table(
                ("what", "seconds"), rows, f"{args.actions:,} actions, {args.subjects:,} subjects"
            )
        )
        if "ratio_peer_over_sql" in results:
            print(f"SQL is {results['ratio_peer_over_sql']}x the peer; same figures: yes")
        target = results["layout_snapshot_s"] < 5.0
        print(f"target (snapshot under 5 s): {'met' if target else 'NOT met'}")
        write_result(
            args.name,
            {
                "database": "postgresql",
                "actions": args.actions,
                "subjects": args.subjects,
                **{k: round(v, 2) if isinstance(v, float) else v for k, v in loaded.items()},
                "figures": ours,
                **results,
                "target_snapshot_under_5s": target,
                "load_average_before": os.getloadavg()[0],
                "note": "measured on the shared 2-core development machine while other "
                "engineers' builds and tests ran (load average about 14); best of --repeat "
                "runs; bare_scan_s is one COUNT(*) pass over the same rows in the same run",
            },
        )
    finally:
        engine_for(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
