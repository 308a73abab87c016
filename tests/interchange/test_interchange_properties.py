"""Property tests: for arbitrary valid records, write → read is the identity (CSV, VICS), and
hash lists keep exactly the hashes they can carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeguard.config import scheme
from safeguard.domain.known import BankRecord
from safeguard.interchange import BankFormat, read_bank, write_bank

PROFILES = ("uk", "us")

_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)


def _hex(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789abcdef", min_size=length, max_size=length)


@st.composite
def bank_records(draw: st.DrawFn, profile: str) -> BankRecord:
    hashes = draw(
        st.fixed_dictionaries(
            {},
            optional={"md5": _hex(32), "sha1": _hex(40), "sha256": _hex(64), "pdq": _hex(64)},
        ).filter(bool)
    )
    quality = draw(st.none() | st.integers(0, 100)) if "pdq" in hashes else None
    return BankRecord(
        category=draw(st.sampled_from(scheme(profile).codes)),
        **hashes,
        pdq_quality=quality,
        victim_identified=draw(st.booleans()),
        series=draw(st.none() | _text),
        self_generated=draw(st.booleans()),
        source=draw(st.none() | _text),
        external_id=draw(st.none() | _text | st.integers(0, 10**12).map(str)),
    )


def _round_trip(
    path: Path, records: list[BankRecord], fmt: BankFormat, profile: str
) -> list[object]:
    with path.open("w", newline="", encoding="utf-8") as out:
        assert write_bank(records, out, fmt, profile=profile) == len(records)
    return list(read_bank(path, fmt, profile=profile))


_settings = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize("fmt", [BankFormat.CSV, BankFormat.VICS, BankFormat.VICS1])
@pytest.mark.parametrize("profile", PROFILES)
@_settings
@given(data=st.data())
def test_write_read_is_identity(
    tmp_path: Path, fmt: BankFormat, profile: str, data: st.DataObject
) -> None:
    records = data.draw(st.lists(bank_records(profile), max_size=8))
    assert _round_trip(tmp_path / "bank", records, fmt, profile) == records


@_settings
@given(data=st.data())
def test_vics_2_0_carries_its_profile(tmp_path: Path, data: st.DataObject) -> None:
    records = data.draw(st.lists(bank_records("us"), max_size=5))
    path = tmp_path / "bank.json"
    with path.open("w", encoding="utf-8") as out:
        write_bank(records, out, BankFormat.VICS, profile="us")
    assert list(read_bank(path)) == records


@pytest.mark.parametrize("fmt", [BankFormat.HMA, BankFormat.MD5SUM])
@_settings
@given(data=st.data())
def test_hash_lists_keep_their_hashes(tmp_path: Path, fmt: BankFormat, data: st.DataObject) -> None:
    records = data.draw(st.lists(bank_records("uk"), max_size=8))
    carried = (
        ("md5", "sha1", "sha256", "pdq") if fmt is BankFormat.HMA else ("md5", "sha1", "sha256")
    )
    expected = [
        BankRecord(category="U", **{kind: getattr(r, kind)})
        for r in records
        for kind in carried
        if getattr(r, kind)
    ]
    path = tmp_path / "bank.txt"
    with path.open("w", encoding="utf-8") as out:
        assert write_bank(records, out, fmt) == len(expected)
    assert list(read_bank(path, fmt)) == expected
