"""A national bank's VICS 2.0 file survives a round trip through Safeguard's store, field for
field, including the hashes Safeguard cannot compute (PhotoDNA, NetClean, AlternativeHashes)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from safeguard.banks.bank_files import export_bank, import_bank_file
from safeguard.interchange import BankFormat

CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
MD5 = "0" * 31 + "1"
SHA1 = "a" * 40
SHA256 = "b" * 64
PDQ = "f0" * 32

ENTRIES = [
    {
        "MediaID": 101,
        "Category": 1,
        "MD5": MD5,
        "SHA1": SHA1,
        "PhotoDNA": "AAECAwQFBgcICQoLDA0ODw==",
        "AlternativeHashes": [
            {"HashName": "SHA256", "HashValue": SHA256},
            {"HashName": "PDQ", "HashValue": PDQ, "Quality": 88},
            {"HashName": "NetClean", "HashValue": "nc:5f2e9a"},
            {"HashName": "TMK+PDQF", "HashValue": "tmk-opaque-value"},
        ],
        "VictimIdentified": True,
        "Series": "Series 7",
        "SelfGenerated": False,
        "Source": "CAID",
    },
    {
        "MediaID": 102,
        "Category": 3,
        "PhotoDNA": "ZmZmZmZm",
        "VictimIdentified": False,
        "SelfGenerated": False,
    },
]


def test_vics_with_photodna_and_alternative_hashes_round_trips(
    database_url: str, tmp_path: Path
) -> None:

    source = tmp_path / "national.json"
    source.write_text(json.dumps({"@odata.context": CONTEXT, "value": ENTRIES}), encoding="utf-8")
    summary = import_bank_file(source, "national", database_url=database_url)
    assert summary.imported == 2 and not summary.errors

    out = io.StringIO()
    assert export_bank("national", out, BankFormat.VICS, database_url=database_url) == 2
    written = json.loads(out.getvalue())
    assert written["@odata.context"] == CONTEXT
    assert written["value"] == ENTRIES
