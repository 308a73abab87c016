"""Benign synthetic referrals with a ground truth of who is who.

Synthetic people come from Faker (en_GB, seeded); every identifier is safe by construction:
IP addresses only from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
2001:db8::/32), email addresses only at example.com/.org/.net, phone numbers only from Ofcom's
drama range 07700 900000-900999. Uploaded files are benign generated pictures
(``safeguard.demo.pictures``).

Each person has one or more accounts on made-up services, a home address (family members
share it and the surname), a home IP address that several persons may share behind carrier-grade
NAT (told apart only by the source port), phones and emails. Referrals about a person carry
noise: typos in names, missing fields, emails and phones written differently, times in other
UTC offsets. ``truth.csv`` says which person each referral is about (linking is measured
against it), ``truth.json`` the same with each person's clean identifiers.

Reports are written as CyberTipline-shaped XML (``xml/<id>.xml`` with uploads in
``xml/<id>/``), the equivalent JSON (``json/<id>.json``), and fragment CSVs (``fragments/``),
plus a bank CSV that knows some of the reported files (``bank.csv``) and a provider table
(``providers.csv``) for the documentation ranges and example domains.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from faker import Faker

from safeguard.interchange.csvbank import COLUMNS as BANK_COLUMNS

SERVICES = ("PixShare", "ChatterBox", "CloudLocker", "FriendWeb")
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
IPV4_RANGES = ("192.0.2", "198.51.100", "203.0.113")
OFFSETS = (0, -300, -420, 60, 330, -240)
EVENTS = ("Login", "Registration", "Purchase", "Upload", "Other", "Unknown")
INCIDENT_TYPES = (
    "Child Pornography (possession, manufacture, and distribution)",
    "Online Enticement of Children for Sexual Acts",
    "Unsolicited Obscene Material Sent to a Child",
    "Misleading Words or Digital Images on the Internet",
)
ANNOTATIONS = ("sextortion", "csamSolicitation", "minorToMinorInteraction", "spam")
FILE_ANNOTATIONS = ("potentialMeme", "viral", "possibleSelfProduction", "generativeAi")
PROVIDERS = (
    ("Example Broadband", "192.0.2.0/24", 365),
    ("Example Mobile", "198.51.100.0/24", 180),
    ("Example Fibre", "203.0.113.0/24", 365),
    ("Example IPv6 Networks", "2001:db8::/32", 90),
    ("Example Mail", "example.com", 365),
    ("Example Mail", "example.org", 365),
    ("Example Webmail", "example.net", 180),
    ("Example Mobile", "+447700", 180),
)


@dataclass
class Account:
    service: str
    esp_id: str
    screen_name: str
    display_name: str


@dataclass
class Person:
    id: str
    first_name: str
    last_name: str
    dob: str
    address: str
    postcode: str
    emails: list[str]
    phones: list[str]
    ip: str
    port: int
    ipv6: str | None
    accounts: list[Account]
    device: str
    household: str


@dataclass
class Generated:
    directory: Path
    referrals: list[str] = field(default_factory=list)
    truth: dict[str, str] = field(default_factory=dict)
    xml_dir: Path | None = None
    json_dir: Path | None = None
    fragments_dir: Path | None = None
    bank_csv: Path | None = None
    providers_csv: Path | None = None
    uploads: int = 0


def _drama_phone(rng: random.Random) -> str:
    return f"07700 900{rng.randrange(1000):03d}"


def _phone_variant(phone: str, rng: random.Random) -> str:
    digits = phone.replace(" ", "")
    national = digits[1:]
    return rng.choice(
        (
            phone,
            digits,
            f"+44 {national[:4]} {national[4:]}",
            f"+44{national}",
            f"(0{national[:4]}) {national[4:]}",
        )
    )


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def make_people(count: int, rng: random.Random, fake: Faker) -> list[Person]:
    """``count`` synthetic people: some share a household (surname, address, home IP)."""
    people: list[Person] = []
    # carrier-grade NAT: a few public addresses shared by many subscribers, told apart by port
    shared_ips = [
        f"{rng.choice(IPV4_RANGES)}.{rng.randrange(1, 255)}" for _ in range(max(2, count // 6))
    ]
    i = 0
    while len(people) < count:
        household = f"H{i:05d}"
        surname = fake.last_name()
        address = fake.street_address().replace("\n", ", ")
        postcode = fake.postcode()
        town = fake.city()
        home_ip = (
            rng.choice(shared_ips)
            if rng.random() < 0.5
            else (f"{rng.choice(IPV4_RANGES)}.{rng.randrange(1, 255)}")
        )
        size = 1 if rng.random() < 0.7 else rng.randint(2, 3)
        for _ in range(size):
            if len(people) >= count:
                break
            pid = f"P{len(people):05d}"
            first = fake.first_name()
            handle = f"{first.lower()}{rng.randrange(100, 9999)}"
            accounts = [
                Account(
                    service,
                    f"{service[:2].upper()}{rng.randrange(10**8, 10**9)}",
                    f"{handle}{'' if k == 0 else k}",
                    f"{first} {surname[0]}.",
                )
                for k, service in enumerate(rng.sample(SERVICES, rng.randint(1, 3)))
            ]
            emails = [
                f"{first.lower()}.{surname.lower().replace(' ', '')}{rng.randrange(10, 99)}"
                f"@{rng.choice(EMAIL_DOMAINS)}"
                for _ in range(rng.randint(1, 2))
            ]
            people.append(
                Person(
                    id=pid,
                    first_name=first,
                    last_name=surname,
                    dob=fake.date_of_birth(minimum_age=18, maximum_age=70).isoformat(),
                    address=f"{address}, {town}",
                    postcode=postcode,
                    emails=emails,
                    phones=[_drama_phone(rng) for _ in range(rng.randint(1, 2))],
                    ip=home_ip,
                    port=rng.randrange(1024, 65535),
                    ipv6=f"2001:db8:{rng.randrange(1, 0xFFFF):x}::{rng.randrange(1, 0xFFFF):x}"
                    if rng.random() < 0.3
                    else None,
                    accounts=accounts,
                    device=f"{rng.getrandbits(64):016X}",
                    household=household,
                )
            )
        i += 1
    return people


def _when(base: datetime, rng: random.Random) -> str:
    offset = timedelta(minutes=rng.choice(OFFSETS))
    local = (base + offset).replace(tzinfo=timezone(offset))
    return local.isoformat(timespec="seconds")


@dataclass
class Upload:
    name: str
    data: bytes
    md5: str
    sha1: str


def _picture(seed: int) -> bytes:
    from safeguard.demo.pictures import render_picture

    buffer = io.BytesIO()
    render_picture(seed, (320, 240)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def make_report(
    index: int,
    person: Person,
    rng: random.Random,
    *,
    picture_seed: int,
    with_uploads: bool,
    known: list[tuple[str, str, str]],
    pictures: bool = True,
) -> tuple[dict[str, Any], list[Upload]]:
    """One report (JSON convention: keys are elements, '@x' attributes, lists repeat) and the
    uploaded files it names."""
    report_id = f"{9_000_000 + index}"
    account = rng.choice(person.accounts)
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 500_000))
    drop = rng.random
    first = _typo(person.first_name, rng) if drop() < 0.1 else person.first_name
    last = _typo(person.last_name, rng) if drop() < 0.1 else person.last_name
    person_el: dict[str, Any] = {}
    if drop() > 0.2:
        person_el["firstName"] = first
    if drop() > 0.2:
        person_el["lastName"] = last
    if drop() > 0.5:
        person_el["phone"] = [
            {"@type": "Mobile", "#text": _phone_variant(p, rng)} for p in person.phones
        ]
    if drop() > 0.3:
        person_el["email"] = [
            e.upper() if drop() < 0.2 else e for e in rng.sample(person.emails, 1)
        ]
    if drop() > 0.6:
        person_el["address"] = {
            "address": person.address,
            "zipCode": person.postcode,
            "country": "GB",
        }
    if drop() > 0.6:
        person_el["dateOfBirth"] = person.dob
    events = []
    for _ in range(rng.randint(1, 3)):
        use_v6 = person.ipv6 and drop() < 0.3
        event = {
            "ipAddress": person.ipv6 if use_v6 else person.ip,
            "eventName": rng.choice(EVENTS),
            "dateTime": _when(base - timedelta(minutes=rng.randrange(0, 3000)), rng),
            "possibleProxy": "false",
        }
        if not use_v6:
            event["port"] = str(person.port)
        events.append(event)
    reported: dict[str, Any] = {}
    if person_el:
        reported["personOrUserReportedPerson"] = person_el
    reported.update(
        {
            "espIdentifier": account.esp_id,
            "espService": account.service,
            "screenName": account.screen_name,
            "displayName": [account.display_name],
            "profileUrl": [
                f"https://{account.service.lower()}.example.com/u/{account.screen_name}"
            ],
            "ipCaptureEvent": events,
        }
    )
    if drop() > 0.5:
        reported["deviceId"] = [{"idType": "IDFA", "idValue": person.device}]
    files = []
    uploads: list[Upload] = []
    for k in range(rng.randint(1, 3)):
        name = f"{report_id}-{k}.jpg"
        if known and drop() < 0.4:
            md5, sha1, _ = rng.choice(known)
            upload = None
        elif not pictures:  # hashes of files that are not there (benchmarks)
            md5, sha1, upload = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}", None
        else:
            data = _picture(picture_seed + k)
            md5 = hashlib.md5(data).hexdigest()
            sha1 = hashlib.sha1(data).hexdigest()
            upload = Upload(name, data, md5, sha1) if with_uploads else None
        if upload:
            uploads.append(upload)
        files.append(
            {
                "reportId": report_id,
                "fileId": f"{report_id}{k:02d}",
                "fileName": name,
                "originalFileName": f"IMG_{rng.randrange(1000, 9999)}.jpg",
                "uploadedToEspTimestamp": _when(base, rng),
                "locationOfFile": "Uploaded to account",
                "fileViewedByEsp": "true" if drop() < 0.7 else "false",
                "exifViewedByEsp": "false",
                "publiclyAvailable": "false",
                "fileRelevance": "Reported",
                "industryClassification": rng.choice(("A1", "A2", "B1", "B2")),
                "originalFileHash": [
                    {"@hashType": "MD5", "#text": md5},
                    {"@hashType": "SHA1", "#text": sha1},
                ],
            }
        )
    annotations = [a for a in ANNOTATIONS if drop() < 0.15]
    report: dict[str, Any] = {
        "reportId": report_id,
        "incidentSummary": {
            "incidentType": rng.choice(INCIDENT_TYPES),
            "platform": account.service,
            "escalateToHighPriority": "true" if drop() < 0.1 else "false",
            **({"reportAnnotations": {a: "" for a in annotations}} if annotations else {}),
            "incidentDateTime": _when(base, rng),
        },
        "reporter": {
            "espName": f"{account.service} Inc.",
            "reportingPerson": {"email": "trust@example.com"},
        },
        "personOrUserReported": reported,
        "fileDetails": files,
    }
    return report, uploads


def to_xml(tag: str, value: Any) -> Iterator[str]:
    """XML for the JSON convention (see ``make_report``)."""
    if isinstance(value, list):
        for item in value:
            yield from to_xml(tag, item)
        return
    if isinstance(value, dict):
        attrs = "".join(
            f" {k[1:]}={quoteattr(str(v))}" for k, v in value.items() if k.startswith("@")
        )
        inner = value.get("#text")
        yield f"<{tag}{attrs}>"
        if inner is not None:
            yield escape(str(inner))
        for k, v in value.items():
            if not k.startswith(("@", "#")):
                yield from to_xml(k, v)
        yield f"</{tag}>"
        return
    yield f"<{tag}>{escape(str(value))}</{tag}>" if value != "" else f"<{tag}/>"


def report_xml(report: dict[str, Any]) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + "".join(to_xml("report", report))).encode()


def generate_referrals(
    directory: Path,
    count: int = 60,
    *,
    people: int | None = None,
    seed: int = 7,
    formats: tuple[str, ...] = ("xml", "json", "csv"),
    uploads: bool = True,
    known_files: int = 20,
    pictures: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Generated:
    """Write ``count`` referrals about ``people`` persons (default count/3) under
    ``directory``; the formats rotate over the referrals so each is used. ``pictures=False``
    reports files by random hashes only (no pictures drawn: for benchmarks)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    persons = make_people(people or max(1, count // 3), rng, fake)
    known = []
    for k in range(known_files):
        if pictures:
            data = _picture(1_000_000 + seed * 1000 + k)
            md5, sha1 = hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest()
        else:
            md5, sha1 = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}"
        known.append((md5, sha1, rng.choice("ABC")))
    out = Generated(directory)
    for fmt, sub in (("xml", "xml"), ("json", "json"), ("csv", "fragments")):
        if fmt in formats:
            (directory / sub).mkdir(exist_ok=True)
    out.xml_dir = directory / "xml" if "xml" in formats else None
    out.json_dir = directory / "json" if "json" in formats else None
    out.fragments_dir = directory / "fragments" if "csv" in formats else None
    truth_rows = []
    for index in range(count):
        person = rng.choice(persons)
        fmt = formats[index % len(formats)]
        if fmt == "csv":
            external = f"PUB-{index:06d}"
            _write_fragments(directory / "fragments" / f"{external}.csv", external, person, rng)
        else:
            report, files = make_report(
                index,
                person,
                rng,
                picture_seed=seed * 100_000 + index * 10,
                with_uploads=uploads,
                known=known,
                pictures=pictures,
            )
            external = report["reportId"]
            if fmt == "xml":
                (directory / "xml" / f"{external}.xml").write_bytes(report_xml(report))
            else:
                (directory / "json" / f"{external}.json").write_text(
                    json.dumps({"report": report}, indent=1), encoding="utf-8"
                )
            if files:
                folder = directory / fmt / external
                folder.mkdir(exist_ok=True)
                for f in files:
                    (folder / f.name).write_bytes(f.data)
                    out.uploads += 1
        out.referrals.append(external)
        out.truth[external] = person.id
        if progress is not None:
            progress(index + 1)
        truth_rows.append((external, fmt, person.id, person.household))
    with (directory / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("external_id", "format", "person", "household"))
        writer.writerows(truth_rows)
    (directory / "truth.json").write_text(
        json.dumps(
            {
                "referrals": out.truth,
                "persons": {p.id: _person_json(p) for p in persons},
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    out.bank_csv = directory / "bank.csv"
    with out.bank_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(BANK_COLUMNS)
        for md5, sha1, category in known:
            writer.writerow((md5, sha1, "", "", category, "false", "", "false", "demo", "", ""))
    out.providers_csv = write_provider_table(directory / "providers.csv")
    return out


def write_provider_table(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("provider", "range", "retention_days", "contact"))
        for name, value, days in PROVIDERS:
            slug = name.lower().replace(" ", "-")
            writer.writerow((name, value, days, f"disclosure@{slug}.example.net"))
    return path


def _write_fragments(path: Path, external: str, person: Person, rng: random.Random) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 500_000))
    rows = [("referral", "kind", "value", "time", "port", "source", "note")]
    rows.append(
        (external, "ip", person.ip, _when(base, rng), str(person.port), "public report", "")
    )
    if rng.random() < 0.7:
        rows.append((external, "email", rng.choice(person.emails), "", "", "public report", ""))
    if rng.random() < 0.5:
        rows.append(
            (external, "phone", _phone_variant(rng.choice(person.phones), rng), "", "", "", "")
        )
    account = rng.choice(person.accounts)
    rows.append((external, "username", account.screen_name, "", "", account.service, ""))
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _person_json(p: Person) -> dict[str, Any]:
    return {
        "first_name": p.first_name,
        "last_name": p.last_name,
        "dob": p.dob,
        "address": p.address,
        "postcode": p.postcode,
        "emails": p.emails,
        "phones": p.phones,
        "ip": p.ip,
        "port": p.port,
        "ipv6": p.ipv6,
        "household": p.household,
        "device": p.device,
        "accounts": [a.__dict__ for a in p.accounts],
    }
