"""VICS 1.x / 2.0 JSON: round trips, profiles, Cases exports, quirks and bad entries.

All hashes and labels are synthetic.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from safeguard.domain.known import BankRecord, ExtraHash, RecordError
from safeguard.interchange import BankFormat, read_bank, write_bank
from safeguard.interchange.vics import read_vics

CTX_UK = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
CTX_US = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
CTX_CASES = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Cases"
META_V1 = "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media"

MD5 = "0123456789abcdef0123456789abcdef"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32
PDQ = "f8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"


def md5(i: int) -> str:
    return f"{i:032x}"


def dump(path: Path, doc: Any, *, bom: bool = False) -> Path:
    data = json.dumps(doc, indent=1).encode()
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def read(path: Path, **kwargs: Any) -> list[BankRecord | RecordError]:
    return list(read_bank(path, **kwargs))


def write(path: Path, records: list[BankRecord], fmt: BankFormat, **kwargs: Any) -> int:
    with path.open("w", encoding="utf-8") as out:
        return write_bank(records, out, fmt, **kwargs)


FULL = BankRecord(
    category="A",
    md5=MD5,
    sha1=SHA1,
    sha256=SHA256,
    pdq=PDQ,
    pdq_quality=87,
    victim_identified=True,
    series="synthetic series",
    self_generated=True,
    source="unit test",
    external_id="42",
)
RECORDS = [
    FULL,
    BankRecord(category="B", md5=md5(2)),
    BankRecord(category="C", sha1=SHA1, external_id="media-3"),
    BankRecord(category="N", pdq=PDQ),
    BankRecord(category="U", sha256=SHA256, external_id="007"),
]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [BankFormat.VICS, BankFormat.VICS1])
def test_round_trip(tmp_path: Path, fmt: BankFormat) -> None:
    path = tmp_path / "bank.json"
    assert write(path, RECORDS, fmt) == len(RECORDS)
    assert read(path) == RECORDS
    assert read(path, fmt=BankFormat.VICS) == RECORDS


def test_written_2_0_file_shape(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    write(path, [FULL], BankFormat.VICS, name="unit bank")
    doc = json.loads(path.read_text())
    assert doc["@odata.context"] == CTX_UK
    assert doc["@Safeguard.BankName"] == "unit bank"
    (entry,) = doc["value"]
    assert entry["MediaID"] == 42
    assert entry["Category"] == 1
    assert entry["MD5"] == MD5 and entry["SHA1"] == SHA1
    assert {"HashName": "SHA256", "HashValue": SHA256} in entry["AlternativeHashes"]
    assert {"HashName": "PDQ", "HashValue": PDQ, "Quality": 87} in entry["AlternativeHashes"]
    assert entry["VictimIdentified"] is True and entry["SelfGenerated"] is True
    assert entry["Series"] == "synthetic series" and entry["Source"] == "unit test"


def test_written_1_x_file_shape(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    write(path, [FULL], BankFormat.VICS1)
    doc = json.loads(path.read_text())
    assert doc["odata.metadata"].startswith("http://github.com/ICMEC/ProjectVic/DataModels/1.")
    assert "@odata.context" not in doc
    assert doc["value"][0]["Category"] == 1


def test_empty_bank(tmp_path: Path) -> None:
    path = tmp_path / "bank.json"
    assert write(path, [], BankFormat.VICS) == 0
    assert json.loads(path.read_text())["value"] == []
    assert read(path) == []


# --- profiles ---------------------------------------------------------------------------------


def test_us_profile_is_named_in_the_context_and_honoured(tmp_path: Path) -> None:
    records = [BankRecord(category=c, md5=md5(i)) for i, c in enumerate("0123")]
    path = tmp_path / "us.json"
    write(path, records, BankFormat.VICS, profile="us")
    doc = json.loads(path.read_text())
    assert doc["@odata.context"] == CTX_US
    assert [e["Category"] for e in doc["value"]] == [0, 1, 2, 3]
    assert read(path) == records


def test_same_numbers_mean_different_codes_in_uk_and_us(tmp_path: Path) -> None:
    value = [{"MediaID": n, "Category": n, "MD5": md5(n)} for n in range(4)]
    uk = dump(tmp_path / "uk.json", {"@odata.context": CTX_UK, "value": value})
    us = dump(tmp_path / "us.json", {"@odata.context": CTX_US, "value": value})
    assert [r.category for r in read(uk)] == ["U", "A", "B", "C"]
    assert [r.category for r in read(us)] == ["0", "1", "2", "3"]


def test_uk_category_4_is_not_indecent_and_unknown_in_us(tmp_path: Path) -> None:
    value = [{"Category": 4, "MD5": md5(4)}]
    uk = dump(tmp_path / "uk.json", {"@odata.context": CTX_UK, "value": value})
    us = dump(tmp_path / "us.json", {"@odata.context": CTX_US, "value": value})
    assert read(uk) == [BankRecord(category="N", md5=md5(4))]
    (error,) = read(us)
    assert isinstance(error, RecordError) and error.line == 1
    assert "category 4" in error.message.lower()


def test_explicit_profile_overrides_the_context(tmp_path: Path) -> None:
    path = dump(
        tmp_path / "b.json", {"@odata.context": CTX_UK, "value": [{"Category": 1, "MD5": MD5}]}
    )
    assert read(path, profile="us") == [BankRecord(category="1", md5=MD5)]


def test_unnamed_profile_falls_back_to_uk(tmp_path: Path) -> None:
    ctx = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"
    path = dump(
        tmp_path / "b.json", {"@odata.context": ctx, "value": [{"Category": 2, "MD5": MD5}]}
    )
    assert read(path) == [BankRecord(category="B", md5=MD5)]


def test_1_x_reads_with_uk_unless_told(tmp_path: Path) -> None:
    path = tmp_path / "v1.json"
    records = [BankRecord(category="2", md5=MD5)]
    write(path, records, BankFormat.VICS1, profile="us")
    assert read(path, profile="us") == records
    assert read(path) == [BankRecord(category="B", md5=MD5)]


def test_context_after_value_is_still_found(tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    path.write_text(json.dumps({"value": [{"Category": 1, "MD5": MD5}], "@odata.context": CTX_US}))
    assert read(path) == [BankRecord(category="1", md5=MD5)]


def test_unknown_profile_argument_is_refused(tmp_path: Path) -> None:
    path = dump(tmp_path / "b.json", {"@odata.context": CTX_UK, "value": []})
    with pytest.raises(KeyError):
        read_bank(path, profile="nowhere")
    with pytest.raises(KeyError):
        write_bank([], io.StringIO(), BankFormat.VICS, profile="nowhere")


# --- the 1.x and 2.0 shapes ---------------------------------------------------------------------


def test_1_x_flat_entry(tmp_path: Path) -> None:
    entry = {
        "odata.id": f'Media("{MD5}")',
        "MediaID": 1,
        "Category": 1,
        "MD5": MD5.upper(),
        "SHA1": SHA1.upper(),
        "VictimIdentified": True,
        "OffenderIdentified": False,
        "IsDistributed": True,
        "Series": "flat series",
        "MediaSize": "488",
    }
    path = dump(tmp_path / "v1.json", {"odata.metadata": META_V1, "value": [entry]})
    assert read(path) == [
        BankRecord(
            category="A",
            md5=MD5,
            sha1=SHA1,
            victim_identified=True,
            series="flat series",
            external_id="1",
        )
    ]


def test_2_0_hashes_in_media_files(tmp_path: Path) -> None:
    entry = {
        "MediaID": 7,
        "Category": 3,
        "VictimIdentified": False,
        "MediaFiles": [
            {"MD5": MD5, "SHA1": SHA1, "SHA256": SHA256, "FileName": "a.jpg", "FilePath": "x"},
            {"MD5": MD5, "FileName": "copy.jpg", "FilePath": "y"},
        ],
    }
    path = dump(tmp_path / "v2.json", {"@odata.context": CTX_UK, "value": [entry]})
    assert read(path) == [
        BankRecord(category="C", md5=MD5, sha1=SHA1, sha256=SHA256, external_id="7")
    ]


def test_alternative_hashes_carry_pdq_and_sha256_and_keep_others(tmp_path: Path) -> None:
    entry = {
        "Category": 1,
        "MD5": MD5,
        "AlternativeHashes": [
            {"HashName": "PhotoDNA", "HashValue": "opaque base64 text=="},
            {"HashName": "SHA-256", "HashValue": SHA256.upper()},
            {"HashName": "pdq", "HashValue": PDQ, "Quality": "93"},
        ],
    }
    path = dump(tmp_path / "alt.json", {"@odata.context": CTX_UK, "value": [entry]})
    assert read(path) == [
        BankRecord(
            category="A",
            md5=MD5,
            sha256=SHA256,
            pdq=PDQ,
            pdq_quality=93,
            extra_hashes=(ExtraHash("PhotoDNA", "opaque base64 text==", "alternative"),),
        )
    ]


def test_an_entry_with_only_a_carried_hash_is_kept(tmp_path: Path) -> None:
    entry = {"Category": 2, "PhotoDNA": "QUJD"}
    path = dump(tmp_path / "pdna.json", {"@odata.context": CTX_UK, "value": [entry]})
    assert read(path) == [
        BankRecord(category="B", extra_hashes=(ExtraHash("PhotoDNA", "QUJD", "field"),))
    ]


def test_too_many_alternative_hashes_is_an_error_for_that_entry(tmp_path: Path) -> None:
    many = [{"HashName": f"Vendor{i}", "HashValue": str(i)} for i in range(100)]
    entries = [{"Category": 1, "MD5": MD5, "AlternativeHashes": many}, {"Category": 1, "MD5": MD5}]
    path = dump(tmp_path / "many.json", {"@odata.context": CTX_UK, "value": entries})
    items = list(read_vics(path, None))
    assert isinstance(items[0], RecordError) and "alternative hashes" in items[0].message
    assert isinstance(items[1], BankRecord)


def test_pdq_key_on_media_and_hashes_list(tmp_path: Path) -> None:
    entries = [
        {"Category": 1, "PDQ": PDQ, "PDQQuality": 70},
        {"Category": 1, "Hashes": [{"Name": "PDQ", "Value": PDQ}]},
        {"Category": 1, "MediaFiles": [{"PDQ": PDQ}]},
    ]
    path = dump(tmp_path / "pdq.json", {"@odata.context": CTX_UK, "value": entries})
    assert read(path) == [
        BankRecord(category="A", pdq=PDQ, pdq_quality=70),
        BankRecord(category="A", pdq=PDQ),
        BankRecord(category="A", pdq=PDQ),
    ]


def test_self_generated_and_source_fields(tmp_path: Path) -> None:
    entries = [
        {"Category": 2, "MD5": md5(1), "SelfGenerated": True, "Source": "force X"},
        {"Category": 2, "MD5": md5(2), "IsSelfGenerated": "true"},
    ]
    path = dump(tmp_path / "sg.json", {"@odata.context": CTX_UK, "value": entries})
    assert read(path) == [
        BankRecord(category="B", md5=md5(1), self_generated=True, source="force X"),
        BankRecord(category="B", md5=md5(2), self_generated=True),
    ]


# --- Cases exports ----------------------------------------------------------------------------


def _case(case_id: str, ids: range) -> dict[str, Any]:
    media = [{"MediaID": i, "Category": 1 + i % 3, "MD5": md5(i)} for i in ids]
    return {"CaseID": case_id, "CaseNumber": "SYN-1", "Media": media, "TotalMediaFiles": len(ids)}


def _expected(ids: range) -> list[BankRecord]:
    return [BankRecord(category="ABC"[i % 3], md5=md5(i), external_id=str(i)) for i in ids]


def test_cases_export_streams_media_of_every_case(tmp_path: Path) -> None:
    doc = {"@odata.context": CTX_CASES, "value": [_case("c1", range(3)), _case("c2", range(3, 5))]}
    path = dump(tmp_path / "cases.json", doc)
    assert read(path) == _expected(range(5))


def test_cases_export_1_x(tmp_path: Path) -> None:
    doc = {
        "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
        "value": [_case("c1", range(2))],
    }
    assert read(dump(tmp_path / "cases.json", doc)) == _expected(range(2))


def test_cases_recognised_by_structure_without_context(tmp_path: Path) -> None:
    doc = {"value": [{"CaseID": "c1", "SourceApplicationName": "x", **_case("c1", range(2))}]}
    assert read(dump(tmp_path / "cases.json", doc)) == _expected(range(2))


def test_cases_errors_count_entries_across_cases(tmp_path: Path) -> None:
    first, second = _case("c1", range(2)), _case("c2", range(2, 4))
    second["Media"][1]["Category"] = 99
    path = dump(tmp_path / "cases.json", {"@odata.context": CTX_CASES, "value": [first, second]})
    items = read(path)
    assert items[:3] == _expected(range(3))
    assert isinstance(items[3], RecordError) and items[3].line == 4


# --- quirks -----------------------------------------------------------------------------------


def test_utf8_bom(tmp_path: Path) -> None:
    path = dump(
        tmp_path / "bom.json",
        {"@odata.context": CTX_US, "value": [{"Category": 1, "MD5": MD5}]},
        bom=True,
    )
    assert read(path) == [BankRecord(category="1", md5=MD5)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("", False),
        (1, True),
        (0, False),
        (None, False),
    ],
)
def test_booleans_as_strings(tmp_path: Path, raw: object, expected: bool) -> None:
    entry = {"Category": 1, "MD5": MD5, "VictimIdentified": raw, "SelfGenerated": raw}
    path = dump(tmp_path / "b.json", {"@odata.context": CTX_UK, "value": [entry]})
    assert read(path) == [
        BankRecord(category="A", md5=MD5, victim_identified=expected, self_generated=expected)
    ]


@pytest.mark.parametrize("category", ["absent", None, ""])
def test_missing_category_is_zero(tmp_path: Path, category: object) -> None:
    entry: dict[str, Any] = {"MD5": MD5}
    if category != "absent":
        entry["Category"] = category
    uk = dump(tmp_path / "uk.json", {"@odata.context": CTX_UK, "value": [entry]})
    us = dump(tmp_path / "us.json", {"@odata.context": CTX_US, "value": [entry]})
    assert read(uk) == [BankRecord(category="U", md5=MD5)]
    assert read(us) == [BankRecord(category="0", md5=MD5)]


def test_numbers_as_strings(tmp_path: Path) -> None:
    entry = {"MediaID": "12", "Category": "2", "MD5": MD5}
    path = dump(
        tmp_path / "b.json",
        {"@odata.context": CTX_UK, "value": [entry, {"Category": 3.0, "MD5": MD5}]},
    )
    assert read(path) == [
        BankRecord(category="B", md5=MD5, external_id="12"),
        BankRecord(category="C", md5=MD5),
    ]


def test_keys_are_case_insensitive(tmp_path: Path) -> None:
    entry = {"mediaid": 5, "CATEGORY": 1, "md5": MD5, "victimIdentified": "true", "series": "s"}
    path = dump(tmp_path / "b.json", {"@odata.context": CTX_UK, "value": [entry]})
    assert read(path) == [
        BankRecord(category="A", md5=MD5, victim_identified=True, series="s", external_id="5")
    ]


# --- bad entries ------------------------------------------------------------------------------


def test_bad_entries_are_reported_by_ordinal_and_the_rest_import(tmp_path: Path) -> None:
    value: list[Any] = [
        {"MediaID": 1, "Category": 1, "MD5": md5(1)},
        {"MediaID": 2, "Category": 9, "MD5": md5(2)},  # no such category
        {"MediaID": 3, "Category": 1, "MD5": "xyz"},  # not a hash
        {"MediaID": 4, "Category": 1},  # no hash at all
        "not an object",
        {"MediaID": 6, "Category": 1, "MD5": md5(6), "MediaFiles": [{"MD5": md5(7)}]},
        {"MediaID": 7, "Category": "one", "MD5": md5(7)},
        {"MediaID": 8, "Category": 1, "MD5": md5(8), "VictimIdentified": "maybe"},
        {"MediaID": 9, "Category": 2, "MD5": md5(9)},
    ]
    path = dump(tmp_path / "bad.json", {"@odata.context": CTX_UK, "value": value})
    items = read(path)
    assert items[0] == BankRecord(category="A", md5=md5(1), external_id="1")
    assert items[-1] == BankRecord(category="B", md5=md5(9), external_id="9")
    errors = {e.line: e.message for e in items if isinstance(e, RecordError)}
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8]
    assert "9" in errors[2]
    assert "md5" in errors[3].lower()
    assert "no md5" in errors[4].lower()
    assert "object" in errors[5]
    assert "conflicting" in errors[6]
    assert "Category" in errors[7]
    assert "VictimIdentified" in errors[8]


def test_truncated_file_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    write(path, [BankRecord(category="A", md5=md5(i)) for i in range(3)], BankFormat.VICS)
    text = path.read_text()
    path.write_text(text[: text.rindex(md5(2)) + 5])
    items = read(path)
    assert items[:2] == [BankRecord(category="A", md5=md5(i)) for i in range(2)]
    assert len(items) == 3 and isinstance(items[2], RecordError) and items[2].line == 3


@pytest.mark.parametrize(
    "text", ['{"@odata.context": "x", "items": []}', "[1, 2]", '{"value": 3}', "{oops", ""]
)
def test_not_a_vics_file_is_refused_at_once(tmp_path: Path, text: str) -> None:
    path = tmp_path / "no.json"
    path.write_text(text)
    with pytest.raises(ValueError):
        read_bank(path, BankFormat.VICS)


# --- writing errors ---------------------------------------------------------------------------


def test_writing_a_record_without_hash_fails() -> None:
    with pytest.raises(ValueError, match="no hash"):
        write_bank([BankRecord(category="A")], io.StringIO(), BankFormat.VICS)


def test_writing_a_category_the_profile_cannot_number_fails() -> None:
    with pytest.raises(ValueError, match="no VICS number"):
        write_bank(
            [BankRecord(category="A", md5=MD5)], io.StringIO(), BankFormat.VICS, profile="us"
        )


def test_file_cut_inside_the_first_entry_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(f'{{"@odata.context": "{CTX_UK}", "value": [{{"Category": 1, "MD')
    (error,) = read(path)
    assert isinstance(error, RecordError) and error.line == 1


def test_value_and_media_keys_in_other_case(tmp_path: Path) -> None:
    media = [{"Category": 1, "MD5": MD5}]
    flat = dump(tmp_path / "flat.json", {"@odata.context": CTX_UK, "Value": media})
    cases = dump(
        tmp_path / "cases.json", {"@odata.context": CTX_CASES, "value": [{"media": media}]}
    )
    assert read(flat) == read(cases) == [BankRecord(category="A", md5=MD5)]


def test_cases_context_with_an_empty_first_case(tmp_path: Path) -> None:
    doc = {"@odata.context": CTX_CASES, "value": [{"CaseID": "empty"}, _case("c2", range(2))]}
    assert read(dump(tmp_path / "cases.json", doc)) == _expected(range(2))


def test_a_media_id_too_large_for_json_integers_is_written_as_text(tmp_path: Path) -> None:
    records = [BankRecord(category="A", md5=MD5, external_id="9223372036854775808")]
    path = tmp_path / "big-id.json"
    write(path, records, BankFormat.VICS)
    assert '"MediaID":"9223372036854775808"' in path.read_text(encoding="utf-8")
    assert read(path) == records
