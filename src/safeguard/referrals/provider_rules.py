"""Which provider holds an identifier, and the provider table and return files. Pure.

Rules:
- The provider table is a CSV the unit imports: ``provider,range,retention_days,contact``;
  ``range`` is a CIDR (IPv4 or IPv6, host bits must be zero), an email domain, or a phone
  prefix in E.164 (``+447700``). Nothing is looked up on the internet.
- An IP address belongs to the provider of the most specific (longest prefix) CIDR holding it;
  an email to the provider of its domain, or else of the nearest parent domain
  (``mail.example.net`` -> ``example.net``); a phone number to the longest matching prefix.
- A return CSV has ``reference`` (the request's) or ``identifier`` (with ``provider``), then
  ``window_start,window_end,port,subscriber_name,address,email,phone,account,service_start,
  service_end``, and ``nil`` (true for "no data"). A row with no subscriber field at all is a
  nil return too.
"""

from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass

from safeguard.referrals.normalise import parse_bool

MAX_ROWS = 200_000


@dataclass(frozen=True)
class RangeFact:
    kind: str  # cidr, domain, phone_prefix
    value: str
    start_hex: str | None = None
    end_hex: str | None = None
    prefix_len: int | None = None


@dataclass(frozen=True)
class ProviderRow:
    line: int
    provider: str
    range: RangeFact
    retention_days: int
    contact: str | None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


def _hex(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    if isinstance(address, ipaddress.IPv4Address):
        address = ipaddress.IPv6Address("::ffff:" + str(address))
    return f"{int(address):032x}"


def parse_range(text: str) -> RangeFact | str:
    """The range's canonical form, or why it is not one."""
    value = text.strip()
    if not value:
        return "empty range"
    if value.startswith("+"):
        digits = value[1:].replace(" ", "")
        if not digits.isdigit() or not 1 <= len(digits) <= 15:
            return f"not a phone prefix: {value!r}"
        return RangeFact("phone_prefix", "+" + digits)
    if "/" in value or ":" in value or value.replace(".", "").isdigit():
        try:
            network = ipaddress.ip_network(value, strict=True)
        except ValueError as error:
            return f"not a CIDR: {error}"
        return RangeFact(
            "cidr",
            str(network),
            _hex(network.network_address),
            _hex(network.broadcast_address),
            network.prefixlen,
        )
    domain = value.lower().rstrip(".").removeprefix("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return f"not a domain: {value!r}"
    if "." not in domain or any(not part for part in domain.split(".")):
        return f"not a domain: {value!r}"
    return RangeFact("domain", domain)


def parse_provider_table(data: bytes) -> tuple[list[ProviderRow], list[RowError]]:
    """Rows of the provider table, and the lines that could not be read."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "not UTF-8")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return [], [RowError(1, "no header row")]
    need = ("provider", "range", "retention_days")
    missing = [n for n in need if n not in header]
    if missing:
        return [], [RowError(1, f"the header lacks {', '.join(missing)}")]
    col = {n: header.index(n) for n in (*need, "contact") if n in header}
    rows: list[ProviderRow] = []
    errors: list[RowError] = []
    line = 1
    for row in reader:
        line += 1
        if line > MAX_ROWS:
            errors.append(RowError(line, f"over {MAX_ROWS} rows"))
            break
        if not any(c.strip() for c in row):
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = col.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        name = cell("provider")
        if not name:
            errors.append(RowError(line, "no provider name"))
            continue
        found = parse_range(cell("range"))
        if isinstance(found, str):
            errors.append(RowError(line, found))
            continue
        try:
            days = int(cell("retention_days"))
            if not 1 <= days <= 3650:
                raise ValueError
        except ValueError:
            errors.append(RowError(line, "retention_days must be a whole number of days 1-3650"))
            continue
        rows.append(ProviderRow(line, name[:200], found, days, cell("contact") or None))
    return rows, errors


@dataclass(frozen=True)
class KnownRange:
    provider_id: int
    kind: str
    value: str
    prefix_len: int | None = None


class ProviderResolver:
    """Answers "which provider holds this identifier" from the imported ranges."""

    def __init__(self, ranges: list[KnownRange]) -> None:
        self.networks = [
            (ipaddress.ip_network(r.value), r.provider_id) for r in ranges if r.kind == "cidr"
        ]
        self.networks.sort(key=lambda n: -n[0].prefixlen)
        self.domains = {r.value: r.provider_id for r in ranges if r.kind == "domain"}
        self.prefixes = sorted(
            ((r.value, r.provider_id) for r in ranges if r.kind == "phone_prefix"),
            key=lambda p: -len(p[0]),
        )

    def provider_for(self, kind: str, value: str) -> int | None:
        if kind == "ip":
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                return None
            for network, provider in self.networks:
                if address.version == network.version and address in network:
                    return provider
            return None
        if kind == "email":
            domain = value.rpartition("@")[2]
            while domain:
                if domain in self.domains:
                    return self.domains[domain]
                domain = domain.partition(".")[2]
            return None
        if kind == "phone":
            for prefix, provider in self.prefixes:
                if value.startswith(prefix):
                    return provider
        return None


RETURN_FIELDS = (
    "subscriber_name",
    "address",
    "email",
    "phone",
    "account",
)


@dataclass(frozen=True)
class ReturnRow:
    line: int
    reference: str | None
    identifier: str | None
    provider: str | None
    window_start: str | None
    window_end: str | None
    port: str | None
    nil: bool
    subscriber_name: str | None = None
    address: str | None = None
    email: str | None = None
    phone: str | None = None
    account: str | None = None
    service_start: str | None = None
    service_end: str | None = None


def parse_return_csv(data: bytes) -> tuple[list[ReturnRow], list[RowError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [RowError(1, "not UTF-8")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except (StopIteration, csv.Error):
        return [], [RowError(1, "no header row")]
    if "reference" not in header and "identifier" not in header:
        return [], [RowError(1, "the header must name reference or identifier")]
    rows: list[ReturnRow] = []
    errors: list[RowError] = []
    line = 1
    try:
        for row in reader:
            line += 1
            if line > MAX_ROWS:
                errors.append(RowError(line, f"over {MAX_ROWS} rows"))
                break
            if not any(c.strip() for c in row):
                continue
            cells = {
                h: (row[i].strip() or None) if i < len(row) else None for i, h in enumerate(header)
            }
            if not cells.get("reference") and not cells.get("identifier"):
                errors.append(RowError(line, "no reference or identifier"))
                continue
            subscriber = {f: cells.get(f) for f in RETURN_FIELDS}
            nil = bool(parse_bool(cells.get("nil"))) or not any(subscriber.values())
            rows.append(
                ReturnRow(
                    line=line,
                    reference=cells.get("reference"),
                    identifier=cells.get("identifier"),
                    provider=cells.get("provider"),
                    window_start=cells.get("window_start"),
                    window_end=cells.get("window_end"),
                    port=cells.get("port"),
                    nil=nil,
                    service_start=cells.get("service_start"),
                    service_end=cells.get("service_end"),
                    **({} if nil else subscriber),
                )
            )
    except csv.Error as error:
        errors.append(RowError(line, f"unreadable row: {error}"))
    return rows, errors
