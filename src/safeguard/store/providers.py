"""Provider repository: providers and their ranges, communications-data requests, returns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from safeguard.store.models import utcnow
from safeguard.store.referral_models import (
    Identifier,
    Provider,
    ProviderRange,
    ProviderRequest,
    ProviderReturn,
)


class RequestNotFound(LookupError):
    pass


def upsert_provider(
    session: Session, name: str, retention_days: int, contact: str | None
) -> tuple[Provider, bool]:
    """(the provider, whether it is new)."""
    row = session.scalar(select(Provider).where(Provider.name == name))
    if row is None:
        row = Provider(name=name, retention_days=retention_days, contact=contact)
        session.add(row)
        session.flush()
        return row, True
    row.retention_days = retention_days
    row.contact = contact
    row.updated_at = utcnow()
    return row, False


def set_range(
    session: Session,
    provider_id: int,
    kind: str,
    value: str,
    start_hex: str | None = None,
    end_hex: str | None = None,
    prefix_len: int | None = None,
) -> bool:
    """Attach a range to a provider (moving it from another provider if needed); True when
    anything changed."""
    row = session.scalar(
        select(ProviderRange).where(ProviderRange.kind == kind, ProviderRange.value == value)
    )
    if row is None:
        session.add(
            ProviderRange(
                provider_id=provider_id,
                kind=kind,
                value=value,
                start_hex=start_hex,
                end_hex=end_hex,
                prefix_len=prefix_len,
            )
        )
        return True
    if row.provider_id != provider_id:
        row.provider_id = provider_id
        return True
    return False


def clear_ranges(session: Session, provider_id: int) -> None:
    session.execute(delete(ProviderRange).where(ProviderRange.provider_id == provider_id))


def providers(session: Session) -> list[Provider]:
    return list(session.scalars(select(Provider).order_by(Provider.name)))


def get_provider(session: Session, name: str) -> Provider | None:
    return session.scalar(select(Provider).where(Provider.name == name))


def ranges(session: Session) -> list[ProviderRange]:
    return list(session.scalars(select(ProviderRange).order_by(ProviderRange.id)))


def range_counts(session: Session) -> dict[int, int]:
    return dict(
        session.execute(
            select(ProviderRange.provider_id, func.count()).group_by(ProviderRange.provider_id)
        ).all()
    )


def resolvable_identifiers(session: Session, referral_id: int) -> list[Identifier]:
    """Identifiers of a referral a provider could resolve: valid IPs, emails and phones."""
    return list(
        session.scalars(
            select(Identifier)
            .where(
                Identifier.referral_id == referral_id,
                Identifier.kind.in_(("ip", "email", "phone")),
                Identifier.valid.is_(True),
                Identifier.origin != "return",
            )
            .order_by(Identifier.id)
        )
    )


def find_request(session: Session, identifier_id: int, provider_id: int) -> ProviderRequest | None:
    return session.scalar(
        select(ProviderRequest).where(
            ProviderRequest.identifier_id == identifier_id,
            ProviderRequest.provider_id == provider_id,
        )
    )


def next_reference(session: Session) -> str:
    last = session.scalar(select(func.max(ProviderRequest.id))) or 0
    return f"CDR-{last + 1:06d}"


def add_request(session: Session, **values: object) -> ProviderRequest:
    row = ProviderRequest(reference=next_reference(session), **values)
    session.add(row)
    session.flush()
    return row


def get_request(session: Session, reference: str) -> ProviderRequest:
    row = session.scalar(select(ProviderRequest).where(ProviderRequest.reference == reference))
    if row is None:
        raise RequestNotFound(f"no request {reference!r}")
    return row


def list_requests(
    session: Session,
    *,
    states: Sequence[str] = (),
    provider: str | None = None,
    referral_id: int | None = None,
    due_before: datetime | None = None,
) -> list[ProviderRequest]:
    query = select(ProviderRequest).join(Provider, Provider.id == ProviderRequest.provider_id)
    if states:
        query = query.where(ProviderRequest.state.in_(list(states)))
    if provider:
        query = query.where(Provider.name == provider)
    if referral_id is not None:
        query = query.where(ProviderRequest.referral_id == referral_id)
    if due_before is not None:
        query = query.where(ProviderRequest.deadline <= due_before)
    return list(
        session.scalars(query.order_by(Provider.name, ProviderRequest.deadline, ProviderRequest.id))
    )


def requests_matching(
    session: Session, value: str, provider_id: int | None = None
) -> list[ProviderRequest]:
    query = select(ProviderRequest).where(ProviderRequest.value == value)
    if provider_id is not None:
        query = query.where(ProviderRequest.provider_id == provider_id)
    return list(session.scalars(query.order_by(ProviderRequest.id)))


def return_exists(session: Session, request_id: int, document_sha256: str, line: int) -> bool:
    return (
        session.scalar(
            select(ProviderReturn.id).where(
                ProviderReturn.request_id == request_id,
                ProviderReturn.document_sha256 == document_sha256,
                ProviderReturn.line == line,
            )
        )
        is not None
    )


def add_return(session: Session, **values: object) -> ProviderReturn:
    row = ProviderReturn(**values)
    session.add(row)
    session.flush()
    return row


def returns_for(session: Session, request_ids: Sequence[int]) -> list[ProviderReturn]:
    if not request_ids:
        return []
    return list(
        session.scalars(
            select(ProviderReturn)
            .where(ProviderReturn.request_id.in_(list(request_ids)))
            .order_by(ProviderReturn.id)
        )
    )


def add_identifier(session: Session, **values: object) -> Identifier:
    row = Identifier(**values)
    session.add(row)
    return row
