"""Services: make an intelligence package (JSON, HTML, PDF; SHA-256 of each recorded) and
record its dissemination. Both refuse while the referral is held for a supervisor."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.referrals import package as package_content
from safeguard.referrals import priority_service, workflow
from safeguard.referrals.subjects import CAN_LINK, Refused, advance, ensure_not_held, require
from safeguard.reports.intel_package import render
from safeguard.store import audit
from safeguard.store import subjects as repo
from safeguard.store.referral_models import Referral
from safeguard.store.review_models import User
from safeguard.store.subject_models import Dissemination, IntelPackage


def make_package(
    session: Session, user: User, referral: Referral, *, pdf: bool = True
) -> IntelPackage:
    require(user, CAN_LINK)
    ensure_not_held(session, referral)
    assessment, _changed = priority_service.score(session, user, referral)
    n = len(repo.packages_for(session, referral.id)) + 1
    reference = f"PKG-{referral.id:06d}-{n}"
    content = package_content.content(
        session, referral, assessment, reference=reference, generated_by=user.username
    )
    rendered = render(content, pdf=pdf)
    sha = rendered.sha256()
    row = IntelPackage(
        reference=reference,
        referral_id=referral.id,
        created_by=user.username,
        json_bytes=rendered.json,
        html_bytes=rendered.html,
        pdf_bytes=rendered.pdf,
        json_sha256=sha["json"],
        html_sha256=sha["html"],
        pdf_sha256=sha.get("pdf"),
    )
    session.add(row)
    session.flush()
    advance(session, user, referral, workflow.PACKAGED, f"package {reference}")
    audit.append(
        session,
        "package_created",
        user_id=user.id,
        username=user.username,
        detail={"referral": repo.referral_label(referral), "package": reference, "sha256": sha},
    )
    return row


def disseminate(
    session: Session, user: User, package: IntelPackage, recipient: str, note: str | None = None
) -> Dissemination:
    require(user, CAN_LINK)
    referral = session.get(Referral, package.referral_id)
    ensure_not_held(session, referral)
    if not recipient.strip():
        raise Refused("name the force or team it goes to")
    row = Dissemination(
        package_id=package.id, recipient=recipient.strip(), note=note, sent_by=user.username
    )
    session.add(row)
    session.flush()
    advance(session, user, referral, workflow.DISSEMINATED, f"sent to {row.recipient}")
    audit.append(
        session,
        "package_disseminated",
        user_id=user.id,
        username=user.username,
        detail={
            "package": package.reference,
            "referral": repo.referral_label(referral),
            "recipient": row.recipient,
            "sha256": {
                "json": package.json_sha256,
                "html": package.html_sha256,
                "pdf": package.pdf_sha256,
            },
        },
    )
    return row
