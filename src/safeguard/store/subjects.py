"""Queries for subjects, links, decisions, deconfliction, priority, KIRAT and packages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from safeguard.store.referral_models import (
    Identifier,
    ProviderRequest,
    ProviderReturn,
    Referral,
    ReferralFile,
    ReferralParty,
)
from safeguard.store.subject_models import (
    DeconflictionHit,
    Dissemination,
    ExternalHolding,
    IntelPackage,
    KiratRecord,
    LinkDecision,
    PriorityAssessment,
    ReferralHold,
    Subject,
    SubjectFact,
    SubjectLink,
    SubjectMember,
)


def referral_label(r: Referral) -> str:
    return f"{r.source}:{r.external_id}"


def find_referral(session: Session, ref: str) -> Referral | None:
    """By 'source:external id', by external id alone (when unique), or by numeric id."""
    if ":" in ref:
        source, _, ext = ref.partition(":")
        found = session.scalars(
            select(Referral).where(Referral.source == source, Referral.external_id == ext)
        ).first()
        if found:
            return found
    rows = session.scalars(select(Referral).where(Referral.external_id == ref).limit(2)).all()
    if len(rows) == 1:
        return rows[0]
    if ref.isdigit():
        return session.get(Referral, int(ref))
    return None


def all_referrals(session: Session) -> list[Referral]:
    return list(session.scalars(select(Referral).order_by(Referral.id)))


def identifiers_by_referral(session: Session) -> dict[int, list[Identifier]]:
    out: dict[int, list[Identifier]] = defaultdict(list)
    for row in session.scalars(select(Identifier).order_by(Identifier.id)):
        out[row.referral_id].append(row)
    return out


def reported_parties(session: Session) -> dict[int, ReferralParty]:
    out: dict[int, ReferralParty] = {}
    rows = session.scalars(
        select(ReferralParty)
        .where(ReferralParty.role == "reported")
        .order_by(ReferralParty.referral_id, ReferralParty.ordinal)
    )
    for row in rows:
        out.setdefault(row.referral_id, row)
    return out


def decisions(session: Session) -> list[LinkDecision]:
    return list(session.scalars(select(LinkDecision).order_by(LinkDecision.id)))


def decisions_for(session: Session, referral_ids: Iterable[int]) -> list[LinkDecision]:
    """Analyst decisions that name any of these referrals (either side)."""
    ids = list(referral_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(LinkDecision)
            .where(LinkDecision.referral_a_id.in_(ids) | LinkDecision.referral_b_id.in_(ids))
            .order_by(LinkDecision.id)
        )
    )


def upsert_decision(
    session: Session, a: int, b: int, same: bool, reason: str, by: str
) -> LinkDecision:
    a, b = min(a, b), max(a, b)
    row = session.scalars(
        select(LinkDecision).where(LinkDecision.referral_a_id == a, LinkDecision.referral_b_id == b)
    ).first()
    if row is None:
        row = LinkDecision(
            referral_a_id=a, referral_b_id=b, same=same, reason=reason, decided_by=by
        )
        session.add(row)
    else:
        row.same, row.reason, row.decided_by = same, reason, by
        row.decided_at = func.now()
    session.flush()
    return row


def current_membership(session: Session) -> dict[int, int]:
    """referral id -> subject id."""
    return dict(session.execute(select(SubjectMember.referral_id, SubjectMember.subject_id)).all())


def clear_links(session: Session) -> None:
    session.execute(delete(SubjectLink))
    session.execute(delete(SubjectMember))


def new_subject(session: Session) -> Subject:
    subject = Subject(reference="pending")
    session.add(subject)
    session.flush()
    subject.reference = f"SUB-{subject.id:06d}"
    return subject


def subject(session: Session, ref: str) -> Subject | None:
    row = session.scalars(select(Subject).where(Subject.reference == ref)).first()
    if row is None and ref.isdigit():
        row = session.get(Subject, int(ref))
    return row


def subject_of(session: Session, referral_id: int) -> Subject | None:
    sid = session.scalar(
        select(SubjectMember.subject_id).where(SubjectMember.referral_id == referral_id)
    )
    return session.get(Subject, sid) if sid is not None else None


def members(session: Session, subject_id: int) -> list[Referral]:
    return list(
        session.scalars(
            select(Referral)
            .join(SubjectMember, SubjectMember.referral_id == Referral.id)
            .where(SubjectMember.subject_id == subject_id)
            .order_by(Referral.received_at, Referral.id)
        )
    )


def links(session: Session, subject_id: int) -> list[SubjectLink]:
    return list(
        session.scalars(
            select(SubjectLink).where(SubjectLink.subject_id == subject_id).order_by(SubjectLink.id)
        )
    )


def subjects(session: Session, active: bool = True) -> list[Subject]:
    return list(
        session.scalars(select(Subject).where(Subject.active == active).order_by(Subject.id))
    )


def returns_for(
    session: Session, referral_ids: Iterable[int]
) -> list[tuple[ProviderRequest, ProviderReturn]]:
    ids = list(referral_ids)
    if not ids:
        return []
    return [
        (req, ret)
        for req, ret in session.execute(
            select(ProviderRequest, ProviderReturn)
            .join(ProviderReturn, ProviderReturn.request_id == ProviderRequest.id)
            .where(ProviderRequest.referral_id.in_(ids))
            .order_by(ProviderReturn.id)
        ).all()
    ]


def requests_for(session: Session, referral_id: int) -> list[ProviderRequest]:
    return list(
        session.scalars(
            select(ProviderRequest)
            .where(ProviderRequest.referral_id == referral_id)
            .order_by(ProviderRequest.id)
        )
    )


def files_for(session: Session, referral_id: int) -> list[ReferralFile]:
    return list(
        session.scalars(
            select(ReferralFile)
            .where(ReferralFile.referral_id == referral_id)
            .order_by(ReferralFile.ordinal, ReferralFile.id)
        )
    )


def facts_for(session: Session, referral_ids: Iterable[int]) -> list[SubjectFact]:
    ids = list(referral_ids)
    return (
        list(
            session.scalars(
                select(SubjectFact).where(SubjectFact.referral_id.in_(ids)).order_by(SubjectFact.id)
            )
        )
        if ids
        else []
    )


def latest_kirat(session: Session, referral_ids: Iterable[int]) -> KiratRecord | None:
    ids = list(referral_ids)
    if not ids:
        return None
    return session.scalars(
        select(KiratRecord).where(KiratRecord.referral_id.in_(ids)).order_by(KiratRecord.id.desc())
    ).first()


def latest_assessment(session: Session, referral_id: int) -> PriorityAssessment | None:
    return session.scalars(
        select(PriorityAssessment)
        .where(PriorityAssessment.referral_id == referral_id)
        .order_by(PriorityAssessment.id.desc())
    ).first()


def assessments(session: Session, referral_id: int) -> list[PriorityAssessment]:
    return list(
        session.scalars(
            select(PriorityAssessment)
            .where(PriorityAssessment.referral_id == referral_id)
            .order_by(PriorityAssessment.id)
        )
    )


def open_hold(session: Session, referral_id: int) -> ReferralHold | None:
    return session.scalars(
        select(ReferralHold).where(
            ReferralHold.referral_id == referral_id, ReferralHold.released_at.is_(None)
        )
    ).first()


def hits_for(session: Session, referral_id: int) -> list[DeconflictionHit]:
    return list(
        session.scalars(
            select(DeconflictionHit)
            .where(DeconflictionHit.referral_id == referral_id)
            .order_by(DeconflictionHit.id)
        )
    )


def has_hit(session: Session, referral_id: int, holder: str, their_reference: str) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(DeconflictionHit)
            .where(
                DeconflictionHit.referral_id == referral_id,
                DeconflictionHit.holder == holder,
                DeconflictionHit.their_reference == their_reference,
            )
        )
        > 0
    )


def external_holdings(session: Session) -> list[ExternalHolding]:
    return list(session.scalars(select(ExternalHolding).order_by(ExternalHolding.id)))


def holding_exists(session: Session, force: str, key_id: str, digest: str, ref: str) -> bool:
    return (
        session.scalar(
            select(func.count())
            .select_from(ExternalHolding)
            .where(
                ExternalHolding.force == force,
                ExternalHolding.key_id == key_id,
                ExternalHolding.digest == digest,
                ExternalHolding.reference == ref,
            )
        )
        > 0
    )


def packages_for(session: Session, referral_id: int) -> list[IntelPackage]:
    return list(
        session.scalars(
            select(IntelPackage)
            .where(IntelPackage.referral_id == referral_id)
            .order_by(IntelPackage.id)
        )
    )


def package(session: Session, reference: str) -> IntelPackage | None:
    return session.scalars(select(IntelPackage).where(IntelPackage.reference == reference)).first()


def disseminations(session: Session, package_id: int) -> list[Dissemination]:
    return list(
        session.scalars(
            select(Dissemination)
            .where(Dissemination.package_id == package_id)
            .order_by(Dissemination.id)
        )
    )
