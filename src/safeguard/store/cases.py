"""Cases and exhibits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safeguard.store.models import Case, Exhibit


class NotFound(LookupError):
    pass


class AlreadyExists(ValueError):
    pass


def create_case(session: Session, reference: str, title: str | None = None) -> Case:
    reference = reference.strip()
    if not reference:
        raise ValueError("a case reference cannot be empty")
    if session.scalar(select(Case).where(Case.reference == reference)) is not None:
        raise AlreadyExists(f"case {reference!r} already exists")
    case = Case(reference=reference, title=title)
    session.add(case)
    session.flush()
    return case


def get_case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise NotFound(f"no case {reference!r}; create it with 'safeguard case create'")
    return case


def list_cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).order_by(Case.reference)))


def get_or_create_exhibit(session: Session, case: Case, reference: str, source: str) -> Exhibit:
    exhibit = session.scalar(
        select(Exhibit).where(Exhibit.case_id == case.id, Exhibit.reference == reference)
    )
    if exhibit is None:
        exhibit = Exhibit(case_id=case.id, reference=reference, source_path=source)
        session.add(exhibit)
        session.flush()
    return exhibit
