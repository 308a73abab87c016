"""Build small review stores fast: rows written directly, benign generated pictures as previews."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from itertools import count

from sqlalchemy.orm import Session

from safeguard.demo.pictures import render_picture
from safeguard.review import auth
from safeguard.review.previews import make_previews
from safeguard.store.cases import create_case, get_or_create_exhibit
from safeguard.store.models import DupGroup, ExhibitMedia, FileRecord, Media
from safeguard.store.previews import put_previews
from safeguard.store.review_models import FULL, THUMB, User
from safeguard.store.users import assign

PASSWORD = "correct horse battery"
_seeds = count(1)


@dataclass
class BuiltCase:
    case_id: int
    reference: str
    exhibit_id: int
    #: Media ids of each near-duplicate group of new items.
    groups: list[list[int]] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    perceptual: list[int] = field(default_factory=list)
    conflicting: list[int] = field(default_factory=list)
    exact: list[int] = field(default_factory=list)

    @property
    def reviewable(self) -> list[int]:
        return [m for g in self.groups for m in g] + self.perceptual + self.conflicting


def _jpeg(seed: int) -> bytes:
    out = io.BytesIO()
    render_picture(seed, (400, 300)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _media(
    session: Session,
    exhibit_id: int,
    seq: int,
    status: str,
    *,
    category: str | None = None,
    camera: tuple[str, str, str] | None = None,
    previews: bool = True,
) -> Media:
    data = _jpeg(next(_seeds))
    digest = hashlib.sha256(data).hexdigest()
    make, model, serial = camera or (None, None, None)
    media = Media(
        sha256=digest,
        sha1=hashlib.sha1(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        size=len(data),
        mime="image/jpeg",
        kind="image",
        format="jpeg",
        width=400,
        height=300,
        exif_make=make,
        exif_model=model,
        exif_serial=serial,
    )
    session.add(media)
    session.flush()
    session.add(
        FileRecord(
            exhibit_id=exhibit_id,
            seq=seq,
            logical_path=f"pictures/{seq:04d}.jpg",
            media_id=media.id,
            size=len(data),
        )
    )
    session.add(
        ExhibitMedia(exhibit_id=exhibit_id, media_id=media.id, status=status, category=category)
    )
    if previews:
        thumb, full = make_previews(data)
        put_previews(session, [(media.id, THUMB, 0, thumb), (media.id, FULL, 0, full)])
    session.flush()
    return media


def build_case(
    session: Session,
    reference: str,
    *,
    groups: tuple[int, ...] = (3, 1),
    perceptual: int = 1,
    conflicting: int = 0,
    exact: int = 1,
    shared_camera_group: int | None = None,
) -> BuiltCase:
    """A case with one exhibit: groups of new items, a perceptual match, exact matches."""
    case = create_case(session, reference)
    exhibit = get_or_create_exhibit(session, case, "EX1", "/nonexistent/exhibit")
    exhibit.state = "complete"
    built = BuiltCase(case.id, reference, exhibit.id)
    seq = count()
    camera = ("Canon", "Canon EOS 250D", "023021004817")
    for g, size in enumerate(groups):
        cam = camera if g == shared_camera_group else None
        members = [_media(session, exhibit.id, next(seq), "new", camera=cam) for _ in range(size)]
        group = DupGroup(exhibit_id=exhibit.id, representative_media_id=members[0].id, size=size)
        session.add(group)
        session.flush()
        for m in members:
            row = session.query(ExhibitMedia).filter_by(exhibit_id=exhibit.id, media_id=m.id).one()
            row.group_id = group.id
        built.groups.append([m.id for m in members])
        built.group_ids.append(group.id)
    for _ in range(perceptual):
        built.perceptual.append(
            _media(session, exhibit.id, next(seq), "graded_perceptual", category="B").id
        )
    for _ in range(conflicting):
        built.conflicting.append(_media(session, exhibit.id, next(seq), "conflicting").id)
    for _ in range(exact):
        built.exact.append(_media(session, exhibit.id, next(seq), "graded_exact", category="A").id)
    if shared_camera_group is not None:
        # The same camera on a picture the banks know: the device is "seen elsewhere".
        _media(session, exhibit.id, next(seq), "graded_exact", category="C", camera=camera)
    session.flush()
    return built


def make_user(
    session: Session, username: str, role: str, *case_ids: int, password: str = PASSWORD
) -> User:
    from safeguard.store.models import Case

    user = auth.add_user(session, username, password, role)
    for case_id in case_ids:
        assign(session, user, session.get(Case, case_id))
    return user
