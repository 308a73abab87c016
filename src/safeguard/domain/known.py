"""A known item as it travels between bank files and the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BankRecord:
    """One known item: any of its hashes, its category and its flags.

    A VICS entry may carry several hashes of the same item; a hash list line carries one.
    ``category`` is a code of the bank's category scheme (e.g. "A").
    """

    category: str
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    pdq_quality: int | None = None
    victim_identified: bool = False
    series: str | None = None
    self_generated: bool = False
    source: str | None = None
    external_id: str | None = None

    def hashes(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("md5", self.md5),
                ("sha1", self.sha1),
                ("sha256", self.sha256),
                ("pdq", self.pdq),
            )
            if v
        }


@dataclass(frozen=True)
class RecordError:
    """A line or entry of a bank file that could not be read; the rest of the file still imports."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
