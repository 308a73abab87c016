"""Render a case report as text, JSON, CSV or HTML."""

from __future__ import annotations

import dataclasses
import io
import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from safeguard.domain.csvcells import SafeDictWriter
from safeguard.reports.case_report import CaseReport, Tally, format_runtime
from safeguard.reports.pdf import html_to_pdf

FORMATS = ("text", "json", "csv", "html", "pdf")


def _tally_rows(tally: Tally) -> list[dict[str, Any]]:
    return [
        {
            "category": r.category,
            "label": r.label,
            "unique_items": r.unique_items,
            "files": r.files,
            "runtime_s": round(r.runtime_s, 3),
            "runtime": format_runtime(r.runtime_s),
        }
        for r in _ordered(tally, None)
    ]


def _ordered(tally: Tally, report: CaseReport | None):  # noqa: ANN202
    def key(row):  # noqa: ANN001, ANN202
        return (
            -(
                report.scheme.get(row.category).severity
                if report and row.category in report.scheme
                else -50
            ),
            row.category,
        )

    return sorted(tally.rows.values(), key=key)


def as_dict(report: CaseReport) -> dict[str, Any]:
    return {
        "case": report.case,
        "title": report.title,
        "generated_at": report.generated_at,
        "scheme": report.scheme.name,
        "summary": report.summary_sentence(),
        "images": {
            "by_category": _tally_rows(report.images),
            "unique_items": report.images.unique_items,
            "files": report.images.files,
        },
        "videos": {
            "by_category": _tally_rows(report.videos),
            "unique_items": report.videos.unique_items,
            "files": report.videos.files,
            "runtime_s": round(report.videos.runtime_s, 3),
            "runtime": format_runtime(report.videos.runtime_s),
        },
        "first_generation": report.first_generation,
        "awaiting_confirmation": report.awaiting_confirmation,
        "review_policy": {
            **dataclasses.asdict(report.policy),
            "statement": report.policy.describe(),
        },
        "exhibits": [
            {
                **{k: v for k, v in dataclasses.asdict(s).items() if k not in ("images", "videos")},
                "images": _tally_rows(s.images),
                "videos": _tally_rows(s.videos),
            }
            for s in report.exhibits
        ],
        "automatic_grades": [dataclasses.asdict(c) for c in report.citations],
        "schedule": [dataclasses.asdict(line) for line in report.schedule],
        "could_not_be_viewed": [dataclasses.asdict(u) for u in report.unviewable],
        "errors": [dataclasses.asdict(e) for e in report.errors],
        "not_perceptually_matchable": [dataclasses.asdict(n) for n in report.not_matchable],
        "recovered_files": [dataclasses.asdict(r) for r in report.recovered],
    }


def render_json(report: CaseReport) -> str:
    return json.dumps(as_dict(report), indent=2, sort_keys=False) + "\n"


CSV_FIELDS = (
    "record",
    "exhibit",
    "kind",
    "category",
    "label",
    "unique_items",
    "files",
    "runtime_s",
    "sha256",
    "paths",
    "bank",
    "bank_entry_id",
    "bank_entry_external_id",
    "match_kind",
    "hash_kind",
    "distance",
    "path",
    "error",
    "runtime",
    "clip",
    "orientation",
    "deleted",
    "unallocated",
    "carved",
    "physical_offset",
    "inode",
    "created",
    "modified",
    "accessed",
    "changed",
    "detail",
    "method",
    "basis",
    "flags",
    "size",
)

#: Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet shows as text: formula starters get a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _image_detail(image: dict[str, Any]) -> str:
    """The acquisition metadata as one "key: value; ..." cell."""
    return "; ".join(f"{k}: {v}" for k, v in image.items() if v not in (None, ""))


def render_csv(report: CaseReport) -> str:
    """One table: 'count' rows per exhibit/kind/category, 'grade' rows, 'error' rows."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    scopes = [("(case)", report.images, report.videos)] + [
        (s.reference, s.images, s.videos) for s in report.exhibits
    ]
    for exhibit, images, videos in scopes:
        for kind, tally in (("image", images), ("video", videos)):
            for row in _tally_rows(tally):
                writer.writerow(
                    {
                        "record": "count",
                        "exhibit": exhibit,
                        "kind": kind,
                        **{
                            k: row[k]
                            for k in (
                                "category",
                                "label",
                                "unique_items",
                                "files",
                                "runtime_s",
                                "runtime",
                            )
                        },
                    }
                )
    for c in report.citations:
        writer.writerow(
            {
                "record": "grade",
                "exhibit": c.exhibit,
                "category": c.category,
                "sha256": c.sha256,
                "paths": "|".join(c.paths),
                "bank": c.bank,
                "bank_entry_id": c.bank_entry_id,
                "bank_entry_external_id": c.bank_entry_external_id or "",
                "match_kind": c.match_kind,
                "hash_kind": c.hash_kind,
                "distance": c.distance,
                "clip": c.clip or "",
                "orientation": c.orientation or "",
            }
        )
    for n in report.not_matchable:
        writer.writerow(
            {
                "record": "not_perceptually_matchable",
                "exhibit": n.exhibit,
                "kind": "image",
                "sha256": n.sha256,
                "paths": "|".join(n.paths),
                "error": n.reason,
            }
        )
    for line in report.schedule:
        writer.writerow(
            {
                "record": "schedule",
                "exhibit": line.exhibit,
                "kind": line.kind,
                "category": line.category,
                "label": line.label,
                "sha256": line.sha256,
                "paths": "|".join(line.paths),
                "modified": "|".join(line.modified),
                "method": line.method,
                "basis": line.basis,
                "flags": "|".join(line.flags),
                "size": line.size if line.size is not None else "",
                "runtime": format_runtime(line.runtime_s) if line.runtime_s else "",
            }
        )
    for u in report.unviewable:
        writer.writerow(
            {
                "record": "not_viewable",
                "exhibit": u.exhibit,
                "kind": u.kind,
                "sha256": u.sha256,
                "paths": "|".join(u.paths),
                "error": u.reason,
            }
        )
    for e in report.errors:
        writer.writerow({"record": "error", "exhibit": e.exhibit, "path": e.path, "error": e.error})
    for s in report.exhibits:
        if s.image is not None:
            writer.writerow(
                {
                    "record": "image",
                    "exhibit": s.reference,
                    "detail": _image_detail(dataclasses.asdict(s.image)),
                }
            )
    for r in report.recovered:
        writer.writerow(
            {
                "record": "recovered",
                **{k: v for k, v in dataclasses.asdict(r).items() if k in CSV_FIELDS},
            }
        )
    return out.getvalue()


def render_html(report: CaseReport, paged: bool = False) -> str:
    env = Environment(
        loader=PackageLoader("safeguard.reports", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env.get_template("case_report.html").render(report=as_dict(report), paged=paged)


def _table(title: str, tally: dict[str, Any], video: bool) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("Category", "Unique items", "Files") + (("Runtime",) if video else ()):
        table.add_column(column, justify="left" if column == "Category" else "right")
    for row in tally["by_category"]:
        cells = [escape(row["label"]), f"{row['unique_items']:,}", f"{row['files']:,}"]
        table.add_row(*cells, *([row["runtime"]] if video else []))
    if video:
        table.add_section()
        table.add_row(
            "Total", f"{tally['unique_items']:,}", f"{tally['files']:,}", tally["runtime"]
        )
    return table


_IMAGE_ROWS = (
    ("Format", "format"),
    ("Segments", "segments"),
    ("Media size (bytes)", "media_size"),
    ("Case number", "case_number"),
    ("Evidence number", "evidence_number"),
    ("Examiner", "examiner"),
    ("Description", "description"),
    ("Notes", "notes"),
    ("Acquired", "acquired"),
    ("Acquisition tool", "acquisition_tool"),
    ("Acquisition OS", "acquisition_os"),
    ("Stored MD5", "stored_md5"),
    ("Stored SHA-1", "stored_sha1"),
    ("Verification", "verification"),
    ("Verification detail", "verification_detail"),
    ("Computed MD5", "computed_md5"),
    ("Computed SHA-1", "computed_sha1"),
    ("Verified at", "verified_at"),
)


def _image_table(exhibit: str, image: Any, deleted: int, carved: int) -> Table:
    table = Table(title=escape(f"Disk image of {exhibit}"), title_justify="left")
    table.add_column("Field")
    table.add_column("Value", overflow="fold")
    values = dataclasses.asdict(image)
    for label, key in _IMAGE_ROWS:
        value = values[key]
        if key == "verification" and value is None:
            value = "not verified (ingest with --verify)"
        if value not in (None, ""):
            table.add_row(label, escape(str(value)))
    table.add_row("Deleted files recovered", f"{deleted:,}")
    table.add_row("Carved files", f"{carved:,}")
    return table


def _recovered_table(report: CaseReport) -> Table:
    table = Table(
        title=f"Deleted and carved files ({len(report.recovered):,})", title_justify="left"
    )
    for column in ("Exhibit", "Path", "Flags", "Physical offset", "Inode/MFT", "Times (UTC)"):
        table.add_column(column, overflow="fold")
    for r in report.recovered:
        flags = ", ".join(
            name for name, on in (
                ("deleted", r.deleted), ("unallocated", r.unallocated), ("carved", r.carved)
            ) if on
        )  # fmt: skip
        times = "\n".join(
            f"{label} {value}"
            for label, value in (
                ("created", r.created),
                ("modified", r.modified),
                ("accessed", r.accessed),
                ("changed", r.changed),
            )
            if value
        )
        table.add_row(
            escape(r.exhibit),
            escape(r.path),
            flags,
            "" if r.physical_offset is None else f"{r.physical_offset:,}",
            "" if r.inode is None else str(r.inode),
            times,
        )
    return table


def render_text(report: CaseReport, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False, color_system=None)
    data = as_dict(report)
    # Every outside string (case and exhibit references, paths, bank values, error messages
    # quoting file names) is escaped: Rich reads "[...]" as markup.
    console.print(escape(f"Case {report.case}" + (f" - {report.title}" if report.title else "")))
    console.print(escape(report.summary_sentence()))
    console.print(_table("Images", data["images"], False))
    if data["videos"]["by_category"]:
        console.print(_table("Videos", data["videos"], True))
    exhibits = Table(title="Exhibits", title_justify="left")
    for column in (
        "Exhibit",
        "Files",
        "Unique",
        "First generation",
        "Groups",
        "Conflicting",
        "Not media",
        "Not perceptually matchable",
        "Errors",
        "State",
    ):
        exhibits.add_column(column)
    for s in report.exhibits:
        exhibits.add_row(
            escape(s.reference),
            f"{s.files:,}",
            f"{s.unique_media:,}",
            f"{s.first_generation:,}",
            f"{s.near_duplicate_groups:,}",
            f"{s.conflicting:,}",
            f"{s.not_media:,}",
            f"{s.not_perceptually_matchable:,}",
            f"{s.errors:,}",
            escape(s.state),
        )
    console.print(exhibits)
    for s in report.exhibits:
        if s.image is not None:
            console.print(_image_table(s.reference, s.image, s.deleted_files, s.carved_files))
    grades = Table(title=f"Automatic grades ({len(report.citations):,})", title_justify="left")
    grades.add_column("SHA-256", no_wrap=True, min_width=64)
    for column in ("Category", "Bank entry", "Match", "Distance", "Paths"):
        grades.add_column(column, overflow="fold")
    for c in report.citations:
        entry = f"{c.bank}#{c.bank_entry_id}" + (
            f" ({c.bank_entry_external_id})" if c.bank_entry_external_id else ""
        )
        grades.add_row(
            c.sha256,
            escape(c.category),
            escape(entry),
            escape(
                f"{c.match_kind}/{c.hash_kind}"
                + (f"\n{c.clip}" if c.clip else "")
                + (f"\n{c.orientation}" if c.orientation else "")
            ),
            str(c.distance),
            escape("\n".join(c.paths)),
        )
    console.print(grades)
    if report.not_matchable:
        weak = Table(
            title=f"Not perceptually matchable ({len(report.not_matchable):,}): "
            "digest matches only",
            title_justify="left",
        )
        weak.add_column("Exhibit")
        weak.add_column("SHA-256", no_wrap=True, min_width=64)
        weak.add_column("Why", overflow="fold")
        weak.add_column("Paths", overflow="fold")
        for n in report.not_matchable:
            weak.add_row(*map(escape, (n.exhibit, n.sha256, n.reason, "\n".join(n.paths))))
        console.print(weak)
    if report.recovered:
        console.print(_recovered_table(report))
    console.print(escape(report.policy.describe()))
    schedule = Table(
        title=f"Schedule of graded items ({len(report.schedule):,})", title_justify="left"
    )
    schedule.add_column("SHA-256", no_wrap=True, min_width=64)
    for column in ("Exhibit", "Category", "How graded", "Flags", "Paths and dates"):
        schedule.add_column(column, overflow="fold")
    for line in report.schedule:
        cells = (
            line.sha256,
            line.exhibit,
            line.category,
            f"{line.method}" + (f"\n{line.basis}" if line.basis else ""),
            ", ".join(line.flags) or "-",
            "\n".join(
                f"{p} ({d or 'no date'})" for p, d in zip(line.paths, line.modified, strict=False)
            ),
        )
        schedule.add_row(*map(escape, cells))
    console.print(schedule)
    if report.unviewable:
        unseen = Table(
            title=f"Could not be viewed ({len(report.unviewable):,}): for the examiner",
            title_justify="left",
        )
        for column in ("Exhibit", "SHA-256", "Paths", "Why"):
            unseen.add_column(column, overflow="fold")
        for u in report.unviewable:
            unseen.add_row(*map(escape, (u.exhibit, u.sha256, "\n".join(u.paths), u.reason)))
        console.print(unseen)
    if report.errors:
        errors = Table(title=f"Errors ({len(report.errors):,})", title_justify="left")
        errors.add_column("Exhibit")
        errors.add_column("Path", overflow="fold")
        errors.add_column("Error", overflow="fold")
        for e in report.errors:
            errors.add_row(escape(e.exhibit), escape(e.path), escape(e.error))
        console.print(errors)
    return console.file.getvalue()




def render_pdf(report: CaseReport) -> bytes:
    """The HTML report laid out as an A4 PDF by WeasyPrint (the ``pdf`` extra; it needs the
    Pango libraries, which ``./run`` installs when missing)."""
    return html_to_pdf(render_html(report, paged=True))


def render(report: CaseReport, fmt: str) -> str | bytes:
    """The report in one of FORMATS: text for all but "pdf", which is bytes."""
    renderers = {
        "text": render_text,
        "json": render_json,
        "csv": render_csv,
        "html": render_html,
        "pdf": render_pdf,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](report)
