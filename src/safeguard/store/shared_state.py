"""Shared state of many server processes: the lookup rate limit and the bank version.

Both are single rows changed by single statements, so they cost one round trip and hold a row
lock only for the length of that statement's transaction.
"""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from safeguard.store.shared_models import BankVersion

#: One upsert decides a request atomically, on the database's clock (so the servers' clocks need
#: not agree): refill the bucket for the time since its last request, then take one request if a
#: whole one is there. In an ON CONFLICT update, ``b.*`` are the row's values before it.
_TAKE = text(
    """
    insert into lookup_rate_buckets as b (token_id, level, updated_at, granted)
    values (:token, greatest(:burst - 1, 0), statement_timestamp(), :burst >= 1)
    on conflict (token_id) do update set
        level = case when least(:burst, b.level + :rate * greatest(0, extract(epoch from
                    statement_timestamp() - b.updated_at))) >= 1
                then least(:burst, b.level + :rate * greatest(0, extract(epoch from
                    statement_timestamp() - b.updated_at))) - 1
                else least(:burst, b.level + :rate * greatest(0, extract(epoch from
                    statement_timestamp() - b.updated_at))) end,
        updated_at = statement_timestamp(),
        granted = least(:burst, b.level + :rate * greatest(0, extract(epoch from
                    statement_timestamp() - b.updated_at))) >= 1
    returning level, granted
    """
)


def take_request(session: Session, token_id: int, rate: float, burst: float) -> float:
    """Take one request from the token's shared bucket (PostgreSQL): 0 when it may go ahead,
    else the seconds until it could. Commit promptly: the row stays locked until then.

    The commit does not wait for the WAL to reach disk (``synchronous_commit`` off for this
    transaction only): a crash can lose the last few bucket updates, which only forgets a
    little of a rate, and no lookup pays for an fsync.
    """
    session.execute(text("set local synchronous_commit to off"))
    level, granted = session.execute(
        _TAKE, {"token": token_id, "rate": float(rate), "burst": float(burst)}
    ).one()
    if granted:
        return 0.0
    return (1 - level) / rate if rate > 0 else 3600.0


def bank_version(session: Session) -> int:
    """The counter every change to the set of (enabled) banks moves on."""
    return session.scalar(select(BankVersion.version).where(BankVersion.id == 1)) or 0


def bump_bank_version(session: Session) -> None:
    """Move the bank version on, in the caller's transaction (so it commits with the change).

    On PostgreSQL the update also serialises concurrent bank changes on this one row.
    """
    moved = session.execute(
        update(BankVersion).where(BankVersion.id == 1).values(version=BankVersion.version + 1)
    )
    if moved.rowcount == 0:  # a store created without the migration's seed row
        session.add(BankVersion(id=1, version=1))
        session.flush()
