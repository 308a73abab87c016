"""What the browser may receive of an item: blurred greyscale by default, the picture on reveal.

Only items of a case the user is assigned to, and only items that need review, are served. A
reveal or full view returns the unblurred previews and appends an audit event in the same
transaction, so no unblurred byte leaves without its entry in the log.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from safeguard.review.access import CAN_REVIEW, NotAllowed, require_role
from safeguard.review.previews import blurred
from safeguard.store import audit
from safeguard.store import referrals as referral_store
from safeguard.store.models import Case, Media
from safeguard.store.previews import get_preview, preview_counts
from safeguard.store.review_items import REVIEW_STATUSES, item_in_case
from safeguard.store.review_models import FULL, THUMB, User
from safeguard.store.video_models import KEYFRAME

REVEAL, FULL_VIEW = "reveal", "full_view"


class AuthorityRequired(PermissionError):
    """The file came in a referral whose provider did not view it (``fileViewedByEsp`` false):
    nobody may see it until the authority to view it is recorded on the referral."""


def _media(session: Session, case: Case, exhibit_id: int, media_id: int) -> Media:
    if item_in_case(session, case.id, exhibit_id, media_id) not in REVIEW_STATUSES:
        raise NotAllowed("no such item")
    media = session.get(Media, media_id)
    if media is None:
        raise NotAllowed("no such item")
    return media


def preview_kinds(media: Media, full: bool) -> str:
    if media.kind == "video":
        return KEYFRAME
    return FULL if full else THUMB


def frame_count(session: Session, media: Media) -> int:
    return preview_counts(session, [media.id], preview_kinds(media, False)).get(media.id, 0)


def blurred_preview(
    session: Session, user: User, case: Case, exhibit_id: int, media_id: int, idx: int = 0
) -> bytes | None:
    """The blurred greyscale thumbnail (or keyframe ``idx``); None when there is no preview."""
    require_role(user, CAN_REVIEW)
    media = _media(session, case, exhibit_id, media_id)
    jpeg = get_preview(session, media.id, preview_kinds(media, False), idx)
    return blurred(jpeg) if jpeg else None


def reveal(
    session: Session, user: User, case: Case, exhibit_id: int, media_id: int, full: bool = False
) -> list[bytes]:
    """The unblurred preview(s) of one item - the thumbnail, the large view, or a video's
    keyframes - audited as a reveal or a full view."""
    require_role(user, CAN_REVIEW)
    media = _media(session, case, exhibit_id, media_id)
    gated = referral_store.gated_file(session, exhibit_id, media.id)
    if gated is not None:
        raise AuthorityRequired(
            f"not viewed by the service provider: record the authority to view it on referral"
            f" {gated.referral_id} first"
        )
    kind = preview_kinds(media, full)
    count = preview_counts(session, [media.id], kind).get(media.id, 0)
    images = [j for i in range(count) if (j := get_preview(session, media.id, kind, i))]
    if not images:
        return []
    audit.append(
        session,
        FULL_VIEW if full else REVEAL,
        user_id=user.id,
        username=user.username,
        case_id=case.id,
        detail={"exhibit_id": exhibit_id, "media_id": media.id, "sha256": media.sha256},
    )
    return images
