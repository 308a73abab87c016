"""Identifier normalisation: canonical forms (hypothesis), originals kept, bad values flagged."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from safeguard.referrals.normalise import (
    KINDS,
    NOT_PUBLIC,
    UNPARSED,
    find_postcode,
    normalise,
    normalise_address,
    normalise_date,
    normalise_email,
    normalise_ip,
    normalise_phone,
    parse_instant,
)

DOC_V4 = st.sampled_from(["192.0.2", "198.51.100", "203.0.113"]).flatmap(
    lambda net: st.integers(0, 255).map(lambda host: f"{net}.{host}")
)
DOC_V6 = st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)).map(
    lambda t: ipaddress.IPv6Address((0x20010DB8 << 96) | (t[0] << 48) | (t[1] << 16) | t[2])
)


@given(DOC_V4)
def test_ipv4_is_canonical_and_idempotent(address: str) -> None:
    result = normalise_ip(f"  {address} ")
    assert result.valid and result.value == address and NOT_PUBLIC not in result.flags
    assert normalise_ip(result.value) == result
    mapped = normalise_ip(f"::ffff:{address}")
    assert mapped.value == address  # IPv4-mapped IPv6 is the IPv4 address


@given(DOC_V6, st.booleans(), st.booleans())
def test_ipv6_any_spelling_gives_one_compressed_lower_case_form(
    address: ipaddress.IPv6Address, upper: bool, bracket: bool
) -> None:
    text = address.exploded.upper() if upper else address.exploded
    if bracket:
        text = f"[{text}]"
    result = normalise_ip(text)
    assert result.valid
    assert result.value == str(address) == result.value.lower()
    assert normalise_ip(result.value).value == result.value


def test_ip_flags_addresses_no_provider_can_resolve_and_keeps_garbage() -> None:
    assert normalise_ip("10.1.2.3").flags == (NOT_PUBLIC,)
    assert normalise_ip("100.64.0.1").flags == (NOT_PUBLIC,)  # carrier-grade NAT space
    bad = normalise_ip("192.0.2.300")
    assert not bad.valid and bad.value == "192.0.2.300" and bad.flags == (UNPARSED,)


@given(st.integers(0, 999), st.sampled_from(["national", "spaced", "intl", "intl_spaced", "dots"]))
def test_drama_numbers_written_any_way_give_one_e164(n: int, style: str) -> None:
    local = f"7700900{n:03d}"
    text = {
        "national": f"0{local}",
        "spaced": f"0{local[:4]} {local[4:]}",
        "intl": f"+44{local}",
        "intl_spaced": f"+44 ({local[:4]}) {local[4:]}",
        "dots": f"0{local[:4]}.{local[4:7]}.{local[7:]}",
    }[style]
    result = normalise_phone(text)
    assert result.valid and result.value == f"+44{local}"
    assert normalise_phone(result.value).value == result.value


def test_phone_region_is_configurable_and_bad_numbers_are_kept() -> None:
    assert normalise_phone("020 7946 0123").value == "+442079460123"
    assert normalise_phone("(202) 555-0143", region="US").value == "+12025550143"
    bad = normalise_phone("call me maybe")
    assert not bad.valid and bad.value == "call me maybe"


LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789._-", min_size=1, max_size=20)


@given(LOCAL, st.sampled_from(["example.com", "EXAMPLE.ORG", "Example.Net."]), st.booleans())
def test_email_case_and_whitespace_do_not_matter(local: str, domain: str, mailto: bool) -> None:
    text = f"  {'mailto:' if mailto else ''}{local}@{domain} "
    result = normalise_email(text)
    assert result.valid
    assert result.value == f"{local.lower()}@{domain.lower().rstrip('.')}"
    assert normalise_email(result.value) == result
    assert normalise_email(text.upper()).value == result.value


def test_email_provider_rules_are_not_guessed() -> None:
    # dots and +tags mean different mailboxes at most providers: never merged
    assert normalise_email("a.b+x@example.com").value == "a.b+x@example.com"
    assert not normalise_email("no-at-sign").valid


@given(st.sampled_from(KINDS), st.text(max_size=200))
def test_normalise_never_raises_and_never_drops_a_value(kind: str, text: str) -> None:
    result = normalise(kind, text)
    assert isinstance(result.value, str)
    if not result.valid:
        assert UNPARSED in result.flags
        assert result.value.strip() == result.value or result.value == text


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15),
)
def test_instants_become_utc_and_keep_their_offset(local: datetime, minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    text = local.replace(tzinfo=zone, microsecond=0).isoformat()
    instant = parse_instant(text)
    assert instant is not None and instant.valid
    assert instant.offset_minutes == minutes
    assert instant.utc == local.replace(tzinfo=zone, microsecond=0).astimezone(UTC)
    assert instant.utc.utcoffset() == timedelta(0)
    assert instant.original == text


def test_instants_without_offset_or_unreadable_are_flagged() -> None:
    naive = parse_instant("2026-03-01T10:00:00")
    assert naive.flags == ("no_offset",) and naive.utc == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_instant("yesterday").valid is False
    assert parse_instant("2026-03-01T10:00:00Z").offset_minutes == 0


def test_dates_addresses_and_postcodes() -> None:
    assert normalise_date("28/09/1997").value == "1997-09-28"
    assert normalise_date("1997-09-28").value == "1997-09-28"
    assert not normalise_date("31/02/1997").valid
    assert find_postcode("1 High St, London, sw1a1aa") == "SW1A 1AA"
    a = normalise_address("1  High St\nLondon\nSW1A1AA")
    b = normalise_address("1 high st, LONDON, sw1a 1aa")
    assert a.value == b.value == "1 high st, london, sw1a 1aa"
