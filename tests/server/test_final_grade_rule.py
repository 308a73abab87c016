"""One final-grade rule (domain/grades.py) for the case report and the case export.

The case where the old rules differed: an exact match to a graded bank entry that also has a
final review outcome with another category (e.g. left over from before the bank was imported).
The report kept the bank's grade while the export took the review's; both now keep the bank's,
and both take the review's grade for an item triage left for review.
"""

from __future__ import annotations

from safeguard.banks.case_export import final_grade_records
from safeguard.reports.case_report import build_case_report
from safeguard.store.cases import get_case
from safeguard.store.database import session_scope
from safeguard.store.review_models import ReviewOutcome
from tests.review.helpers import build_case


def _final(exhibit_id: int, media_id: int, category: str) -> ReviewOutcome:
    return ReviewOutcome(
        exhibit_id=exhibit_id,
        media_id=media_id,
        state="final",
        category=category,
        method="consensus",
        votes=3,
    )


def test_report_and_export_apply_the_same_rule(database_url: str) -> None:
    with session_scope(database_url) as session:
        built = build_case(session, "OP-RULE", groups=(1,), perceptual=0, exact=1)
        new_item, exact_item = built.groups[0][0], built.exact[0]
        session.add(_final(built.exhibit_id, new_item, "B"))  # triage left it for review
        session.add(_final(built.exhibit_id, exact_item, "C"))  # the bank said A
    with session_scope(database_url) as session:
        records = final_grade_records(session, get_case(session, "OP-RULE"))
        report = build_case_report(session, "OP-RULE")
    exported = {int(r.external_id): r.category for r in records}
    assert exported == {new_item: "B", exact_item: "A"}
    counted = {code: row.unique_items for code, row in report.images.rows.items()}
    assert counted.get("A") == 1 and counted.get("B") == 1 and "C" not in counted
