"""Intake: CyberTipline-shaped reports (XML, JSON) and fragment CSVs to ``ReferralFacts``.

One document may hold one report (``<report>``), several (``<reports>`` with ``report`` and
``fileDetails`` children, matched by ``reportId``), or, for JSON, the same shapes as objects
(``{"report": {...}}``, ``{"reports": {"report": [...]}}`` or a list of reports). A report that
cannot be read gives an ``IntakeError`` naming the document and the element; the other reports
of the document still import. Elements this importer does not know are kept in ``extra``.

Fragment CSV (public and partner reports): a header row with ``kind,value`` and optionally
``time,port,source,note,referral,event,service``; one identifier per row. Rows with the same
``referral`` value make one referral (external id = that value); without the column the whole
file is one referral. A row without a value is an error naming its line; the rest import.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace

from safeguard.domain.referrals import (
    INTENDED_RECIPIENT,
    REPORTED,
    VICTIM,
    FileFacts,
    IdentifierFact,
    IntakeError,
    PartyFacts,
    ReferralFacts,
)
from safeguard.referrals.normalise import (
    KINDS,
    NO_OFFSET,
    normalise,
    normalise_hash,
    normalise_port,
    parse_bool,
    parse_instant,
)
from safeguard.referrals.tree import Limits, Node, TreeError, read_json, read_xml

PARTY_TAGS = {
    "personOrUserReported": REPORTED,
    "intendedRecipient": INTENDED_RECIPIENT,
    "victim": VICTIM,
}
REPORT_TAGS = {
    "reportId",
    "incidentSummary",
    "internetDetails",
    "lawEnforcement",
    "reporter",
    "additionalInfo",
    "fileDetails",
    *PARTY_TAGS,
}
SUMMARY_TAGS = {
    "incidentType",
    "platform",
    "escalateToHighPriority",
    "reportAnnotations",
    "incidentDateTime",
    "incidentDateTimeDescription",
}
PARTY_FIELDS = {
    "espIdentifier",
    "espService",
    "compromisedAccount",
    "screenName",
    "displayName",
    "profileUrl",
    "profileBio",
    "ipCaptureEvent",
    "deviceId",
    "thirdPartyUserReported",
    "priorCTReports",
    "groupIdentifier",
    "accountTemporarilyDisabled",
    "accountPermanentlyDisabled",
    "estimatedLocation",
    "associatedAccount",
    "additionalInfo",
}
PERSON_FIELDS = {"firstName", "lastName", "phone", "email", "address", "age", "dateOfBirth"}
FILE_FIELDS = {
    "reportId",
    "fileId",
    "fileName",
    "originalFileName",
    "uploadedToEspTimestamp",
    "locationOfFile",
    "fileViewedByEsp",
    "exifViewedByEsp",
    "publiclyAvailable",
    "fileRelevance",
    "fileAnnotations",
    "industryClassification",
    "originalFileHash",
    "ipCaptureEvent",
    "deviceId",
    "details",
}
CSV_COLUMNS = ("kind", "value", "time", "port", "source", "note", "referral", "event", "service")
MAX_CSV_ROWS = 100_000


def document_format(filename: str, head: bytes) -> str | None:
    """xml, json or csv, from the name, else from the first bytes; None if neither."""
    lower = filename.lower()
    for ext in ("xml", "json", "csv"):
        if lower.endswith("." + ext):
            return ext
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return "xml"
    if start in (b"{", b"["):
        return "json"
    return None


def parse_document(
    filename: str, stream: io.BufferedIOBase, fmt: str, limits: Limits | None = None
) -> tuple[bytes | None, list[ReferralFacts], list[IntakeError]]:
    """(the document's bytes, its referrals, errors). Bytes are None when the document itself
    could not be read (then there is one error naming where)."""
    limits = limits or Limits()
    try:
        if fmt == "xml":
            root, data = read_xml(stream, limits)
        else:
            data = stream.read(limits.max_bytes + 1)
            if len(data) > limits.max_bytes:
                raise TreeError(f"document larger than {limits.max_bytes} bytes", "")
            if fmt == "csv":
                referrals, errors = parse_fragment_csv(filename, data)
                return data, referrals, errors
            root = read_json(data, limits)
    except TreeError as error:
        return None, [], [IntakeError(filename, error.where, error.message)]
    sha = hashlib.sha256(data).hexdigest()
    referrals, errors = parse_tree(filename, root, sha)
    return data, referrals, errors


def _reports(root: Node) -> tuple[list[Node], list[Node]]:
    """The report nodes and loose fileDetails nodes of a document tree."""
    if root.tag == "report":
        return [root], []
    if root.tag == "document":  # JSON
        if root.child("report") is not None or root.child("reports") is not None:
            inner = root.child("reports")
            if inner is not None:
                return inner.all("report"), inner.all("fileDetails")
            return root.all("report"), root.all("fileDetails")
        if root.all("item"):
            return root.all("item"), []
        if any(c.tag in REPORT_TAGS for c in root.children):
            return [root], []
        return [], []
    return root.all("report"), root.all("fileDetails")


def parse_tree(
    filename: str, root: Node, sha256: str
) -> tuple[list[ReferralFacts], list[IntakeError]]:
    reports, loose_files = _reports(root)
    if not reports:
        return [], [IntakeError(filename, f"<{root.tag}>", "no report element found")]
    out: list[ReferralFacts] = []
    errors: list[IntakeError] = []
    for i, report in enumerate(reports):
        where = f"report[{i}]" + (f" at line {report.line}" if report.line else "")
        try:
            facts = parse_report(report, where, sha256, i)
        except (TreeError, ValueError) as error:
            errors.append(IntakeError(filename, where, str(error)))
            continue
        matching = [f for f in loose_files if (f.value("reportId") or "") == facts.external_id]
        if matching:
            facts = _add_files(facts, matching, where)
        out.append(facts)
    return out, errors


def _text(node: Node | None) -> str | None:
    if node is None:
        return None
    text = node.text.strip()
    return text or None


def _bool(node: Node, tag: str) -> bool | None:
    return parse_bool(node.value(tag))


def _flags_of(node: Node | None) -> str | None:
    """A set of flag elements (``<reportAnnotations><sextortion/>...``), or their text
    ("sextortion spam"), as one space-separated string."""
    if node is None:
        return None
    names = [c.tag for c in node.children if parse_bool(c.text or "true") is not False]
    names += node.text.replace(",", " ").split()
    return " ".join(names) or None


def parse_report(report: Node, where: str, sha256: str, index: int) -> ReferralFacts:
    external = report.value("reportId") or report.attrib.get("id") or report.attrib.get("reportId")
    if not external:
        files = report.all("fileDetails")
        external = files[0].value("reportId") if files else None
    if not external:
        external = f"sha256:{sha256[:16]}" + (f"#{index}" if index else "")
    summary = report.child("incidentSummary") or Node("incidentSummary")
    incident = parse_instant(summary.value("incidentDateTime"))
    identifiers: list[IdentifierFact] = []
    parties: list[PartyFacts] = []
    counters: dict[str, int] = {}
    for tag, role in PARTY_TAGS.items():
        for node in report.all(tag):
            ordinal = counters.get(role, 0)
            counters[role] = ordinal + 1
            party, found = _party(node, role, ordinal, len(parties), f"{tag}[{ordinal}]")
            parties.append(party)
            identifiers += found
    reporter = report.child("reporter")
    law = report.child("lawEnforcement")
    extra = {c.tag: c.to_json() for c in report.children if c.tag not in REPORT_TAGS}
    extra.update(
        {
            f"incidentSummary.{c.tag}": c.to_json()
            for c in summary.children
            if c.tag not in SUMMARY_TAGS
        }
    )
    internet = tuple(n.to_json() for n in report.all("internetDetails"))
    if internet:
        extra["internetDetails"] = list(internet)
    facts = ReferralFacts(
        external_id=external[:200],
        incident_type=summary.value("incidentType"),
        platform=summary.value("platform"),
        escalate_to_high_priority=_bool(summary, "escalateToHighPriority"),
        report_annotations=_flags_of(summary.child("reportAnnotations")),
        incident_at=incident.utc if incident else None,
        incident_offset_minutes=incident.offset_minutes if incident else None,
        incident_at_original=incident.original if incident else None,
        incident_description=summary.value("incidentDateTimeDescription"),
        reporter_name=_reporter_name(reporter),
        reporter=reporter.to_json() if reporter is not None else None,
        law_enforcement=law.to_json() if law is not None else None,
        additional_info=report.value("additionalInfo"),
        internet_details=internet,
        extra=extra or None,
        parties=tuple(parties),
        identifiers=tuple(identifiers),
        location=where,
    )
    return _add_files(facts, report.all("fileDetails"), where)


def _reporter_name(reporter: Node | None) -> str | None:
    if reporter is None:
        return None
    for tag in ("espName", "companyName", "name"):
        if value := reporter.value(tag):
            return value
    person = reporter.child("reportingPerson")
    if person is not None:
        names = [person.value("firstName"), person.value("lastName")]
        joined = " ".join(n for n in names if n)
        return joined or None
    return _text(reporter)


def _person(node: Node) -> Node | None:
    for c in node.children:
        if c.tag.endswith("Person"):
            return c
    return None


def _party(
    node: Node, role: str, ordinal: int, index: int, where: str
) -> tuple[PartyFacts, list[IdentifierFact]]:
    person = _person(node) or Node("person")
    found: list[IdentifierFact] = []
    service = node.value("espService")

    def add(kind: str, text: str | None, loc: str, **more: object) -> None:
        if text:
            found.append(IdentifierFact(kind, text, f"{where}/{loc}", party=index, **more))

    first, last = person.value("firstName"), person.value("lastName")
    add("name", " ".join(n for n in (first, last) if n), "name")
    add("date_of_birth", person.value("dateOfBirth"), "dateOfBirth")
    for i, phone in enumerate(person.all("phone")):
        text = phone.text.strip()
        code = phone.attrib.get("countryCode", "").strip().lstrip("+")
        note = f"countryCode={code}" if code else None
        if code and text and not text.startswith("+"):
            found.append(
                IdentifierFact(
                    "phone",
                    text,
                    f"{where}/phone[{i}]",
                    party=index,
                    note=note,
                    value=f"+{code}{text}",
                )
            )
        else:
            add("phone", text, f"phone[{i}]")
    for i, email in enumerate(person.values("email")):
        add("email", email, f"email[{i}]")
    for i, address in enumerate(person.all("address")):
        text = _address_text(address)
        add("address", text, f"address[{i}]")
        add("postcode", _postcode_text(address, text), f"address[{i}]/postcode")
    add("esp_account", node.value("espIdentifier"), "espIdentifier", service=service)
    add("screen_name", node.value("screenName"), "screenName", service=service)
    for i, name in enumerate(node.values("displayName")):
        add("display_name", name, f"displayName[{i}]", service=service)
    for i, url in enumerate(node.values("profileUrl")):
        add("profile_url", url, f"profileUrl[{i}]", service=service)
    add(
        "esp_account",
        node.value("associatedAccount"),
        "associatedAccount",
        service=service,
        note="associatedAccount",
    )
    for i, event in enumerate(node.all("ipCaptureEvent")):
        if fact := _ip_event(event, f"{where}/ipCaptureEvent[{i}]", service):
            found.append(replace(fact, party=index))
    for i, device in enumerate(node.all("deviceId")):
        if fact := _device(device, f"{where}/deviceId[{i}]"):
            found.append(replace(fact, party=index))
    party = PartyFacts(
        role=role,
        ordinal=ordinal,
        first_name=first,
        last_name=last,
        age=person.value("age"),
        date_of_birth=person.value("dateOfBirth"),
        esp_identifier=node.value("espIdentifier"),
        esp_service=service,
        compromised_account=_bool(node, "compromisedAccount"),
        screen_name=node.value("screenName"),
        profile_bio=node.value("profileBio"),
        third_party_user_reported=_bool(node, "thirdPartyUserReported"),
        prior_ct_reports=" ".join(node.values("priorCTReports")) or None,
        group_identifier=node.value("groupIdentifier"),
        account_temporarily_disabled=_bool(node, "accountTemporarilyDisabled"),
        account_permanently_disabled=_bool(node, "accountPermanentlyDisabled"),
        estimated_location=_text(node.child("estimatedLocation"))
        or _joined(node.child("estimatedLocation")),
        associated_account=node.value("associatedAccount"),
        additional_info=node.value("additionalInfo"),
    )
    return party, found


def _joined(node: Node | None) -> str | None:
    if node is None:
        return None
    parts = [c.text.strip() for c in node.children if c.text.strip()]
    return ", ".join(parts) or None


_ADDRESS_PARTS = (
    "address",
    "street",
    "city",
    "county",
    "state",
    "nonUsaState",
    "zipCode",
    "postcode",
    "postalCode",
    "country",
)


def _address_text(node: Node) -> str | None:
    if not node.children:
        return node.text.strip() or None
    parts = [node.value(tag) for tag in _ADDRESS_PARTS]
    return ", ".join(p for p in parts if p) or None


def _postcode_text(node: Node, text: str | None) -> str | None:
    for tag in ("zipCode", "postcode", "postalCode"):
        if value := node.value(tag):
            return value
    from safeguard.referrals.normalise import find_postcode

    return find_postcode(text) if text else None


def _ip_event(node: Node, where: str, service: str | None) -> IdentifierFact | None:
    address = node.value("ipAddress")
    if not address:
        return None
    when = parse_instant(node.value("dateTime"))
    port_text = node.value("port")
    port = normalise_port(port_text)
    flags: tuple[str, ...] = ()
    if port_text and port is None:
        flags = ("bad_port",)
    if when is not None and when.flags:
        flags += tuple(f"time_{f}" if f != NO_OFFSET else NO_OFFSET for f in when.flags)
    return IdentifierFact(
        "ip",
        address,
        where,
        flags=flags,
        service=service,
        event_name=node.value("eventName"),
        event_at=when.utc if when else None,
        event_offset_minutes=when.offset_minutes if when else None,
        event_at_original=when.original if when else None,
        port=port,
        possible_proxy=_bool(node, "possibleProxy"),
    )


def _device(node: Node, where: str) -> IdentifierFact | None:
    value = node.value("idValue") or node.text.strip()
    if not value:
        return None
    kind = node.value("idType") or node.attrib.get("type")
    return IdentifierFact("device_id", value, where, note=kind)


def _add_files(facts: ReferralFacts, nodes: list[Node], where: str) -> ReferralFacts:
    files = list(facts.files)
    identifiers = list(facts.identifiers)
    for node in nodes:
        index = len(files)
        loc = f"{where}/fileDetails[{index}]"
        hashes = []
        md5 = sha1 = None
        for h in node.all("originalFileHash"):
            value = h.value("value") or h.text.strip()
            kind = (h.value("hashType") or h.attrib.get("hashType") or "").upper()
            if not value:
                continue
            hashes.append({"value": value, "hashType": kind})
            if kind == "MD5" and md5 is None:
                norm = normalise_hash(value, 32)
                md5 = norm.value if norm.valid else None
                identifiers.append(
                    IdentifierFact("hash_md5", value, loc, file=index, origin="file")
                )
            elif kind in ("SHA1", "SHA-1") and sha1 is None:
                norm = normalise_hash(value, 40)
                sha1 = norm.value if norm.valid else None
                identifiers.append(
                    IdentifierFact("hash_sha1", value, loc, file=index, origin="file")
                )
        details = tuple(
            {
                "name": d.value("name") or "",
                "value": d.value("value") or "",
                "type": d.value("type") or "",
            }
            for d in node.all("details")
        )
        uploaded = parse_instant(node.value("uploadedToEspTimestamp"))
        for i, event in enumerate(node.all("ipCaptureEvent")):
            if fact := _ip_event(event, f"{loc}/ipCaptureEvent[{i}]", None):
                identifiers.append(replace(fact, file=index, origin="file"))
        for i, device in enumerate(node.all("deviceId")):
            if fact := _device(device, f"{loc}/deviceId[{i}]"):
                identifiers.append(replace(fact, file=index, origin="file"))
        files.append(
            FileFacts(
                ordinal=index,
                report_id=node.value("reportId"),
                file_id=node.value("fileId"),
                file_name=node.value("fileName"),
                original_file_name=node.value("originalFileName"),
                uploaded_at=uploaded.utc if uploaded else None,
                uploaded_offset_minutes=uploaded.offset_minutes if uploaded else None,
                uploaded_at_original=uploaded.original if uploaded else None,
                location_of_file=node.value("locationOfFile"),
                file_viewed_by_esp=_bool(node, "fileViewedByEsp"),
                exif_viewed_by_esp=_bool(node, "exifViewedByEsp"),
                publicly_available=_bool(node, "publiclyAvailable"),
                file_relevance=node.value("fileRelevance"),
                file_annotations=_flags_of(node.child("fileAnnotations")),
                industry_classification=node.value("industryClassification"),
                md5=md5,
                sha1=sha1,
                hashes=tuple(hashes),
                details=details,
            )
        )
    return replace(facts, files=tuple(files), identifiers=tuple(identifiers))


def parse_fragment_csv(filename: str, data: bytes) -> tuple[list[ReferralFacts], list[IntakeError]]:
    """Referrals from a fragment CSV (see the module docstring)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [], [IntakeError(filename, f"byte {error.start}", "not UTF-8")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return [], [IntakeError(filename, "line 1", "no header row")]
    if "kind" not in header or "value" not in header:
        return [], [IntakeError(filename, "line 1", "the header must name kind and value")]
    columns = {name: header.index(name) for name in CSV_COLUMNS if name in header}
    sha = hashlib.sha256(data).hexdigest()
    groups: dict[str, list[IdentifierFact]] = {}
    errors: list[IntakeError] = []
    for line, row in _rows(reader, filename, errors):
        if line > MAX_CSV_ROWS + 1:
            errors.append(IntakeError(filename, f"line {line}", f"over {MAX_CSV_ROWS} rows"))
            break

        def cell(name: str, row: list[str] = row) -> str | None:
            i = columns.get(name)
            value = row[i].strip() if i is not None and i < len(row) else ""
            return value or None

        kind = (cell("kind") or "").lower()
        value = cell("value")
        if not value:
            errors.append(IntakeError(filename, f"line {line}", "no value"))
            continue
        flags: tuple[str, ...] = ()
        if kind not in KINDS:
            flags = (f"unknown_kind:{kind[:40]}",)
            kind = "other"
        when = parse_instant(cell("time"))
        port_text = cell("port")
        port = normalise_port(port_text)
        if port_text and port is None:
            flags += ("bad_port",)
        if when is not None and when.flags:
            flags += when.flags
        fact = IdentifierFact(
            kind,
            value,
            f"line {line}",
            flags=flags,
            service=cell("service") or cell("source"),
            event_name=cell("event"),
            event_at=when.utc if when else None,
            event_offset_minutes=when.offset_minutes if when else None,
            event_at_original=when.original if when else None,
            port=port,
            note=cell("note"),
            origin="fragment",
        )
        key = cell("referral") or f"{filename.rsplit('/', 1)[-1]}:{sha[:12]}"
        groups.setdefault(key[:200], []).append(fact)
    referrals = [
        ReferralFacts(external_id=key, identifiers=tuple(found), location=found[0].location)
        for key, found in groups.items()
    ]
    return referrals, errors


def _rows(
    reader: Iterator[list[str]], filename: str, errors: list[IntakeError]
) -> Iterator[tuple[int, list[str]]]:
    line = 1
    while True:
        line += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            errors.append(IntakeError(filename, f"line {line}", f"unreadable row: {error}"))
            return
        if any(c.strip() for c in row):
            yield line, row


def normalise_facts(facts: ReferralFacts, region: str) -> ReferralFacts:
    """Each identifier with its normalised value, validity and flags (the original kept)."""
    out = []
    for ident in facts.identifiers:
        norm = normalise(ident.kind, ident.value or ident.original, region)
        out.append(
            replace(
                ident,
                value=norm.value,
                valid=norm.valid,
                flags=tuple(dict.fromkeys(ident.flags + norm.flags)),
            )
        )
    return replace(facts, identifiers=tuple(out))


def canonical(value: object) -> str | None:
    """Canonical JSON for the store's JSON columns (None stays None)."""
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
