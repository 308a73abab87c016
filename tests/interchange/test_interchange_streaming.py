"""Reading a large VICS file streams: memory stays far below what holding it would take."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ENTRIES = 200_000

# Run in a fresh interpreter so that its peak resident size measures this read alone.
_CHILD = """
import resource, sys
from pathlib import Path
from safeguard.domain.known import BankRecord
from safeguard.interchange import read_bank

before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count = 0
for item in read_bank(Path(sys.argv[1])):
    assert isinstance(item, BankRecord), item
    count += 1
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, (after - before) * 1024)
"""


def _write_vics(path: Path, n: int) -> None:
    """A synthetic VICS 2.0 file, written directly for speed (the writer is tested elsewhere)."""
    context = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/UK/$metadata#Media"
    with path.open("w", encoding="utf-8") as out:
        out.write(f'{{"@odata.context": {json.dumps(context)}, "value": [\n')
        for i in range(n):
            sep = ",\n" if i else ""
            out.write(
                f'{sep}{{"MediaID": {i}, "Category": {i % 5}, "MD5": "{i:032x}", '
                f'"SHA1": "{i:040x}", "VictimIdentified": false, "Series": "series {i % 97}"}}'
            )
        out.write("\n]}\n")


@pytest.mark.slow
def test_large_vics_file_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    _write_vics(path, ENTRIES)
    size = path.stat().st_size

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    count, grown = (int(x) for x in done.stdout.split())

    assert count == ENTRIES
    # json.load of this file, or a list of its records, takes several times its size; a
    # streamed read needs a parser buffer and one entry at a time.
    assert grown < size / 8, (grown, size)
