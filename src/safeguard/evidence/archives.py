"""Descend into archives, nested to any allowed depth, turning entries into items and errors."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import BinaryIO

from safeguard.evidence.items import EvidenceError, EvidenceItem
from safeguard.evidence.limits import RATIO_FLOOR_BYTES, EvidenceLimits
from safeguard.evidence.members import (
    Budget,
    EntryKind,
    Member,
    Rejected,
    Stop,
    bomb_message,
    describe,
    read_member,
)
from safeguard.evidence.names import member_path, show
from safeguard.evidence.sniff import HEAD_BYTES, Container, looks_like_tar, sniff
from safeguard.evidence.tars import open_decompressor, tar_entries
from safeguard.evidence.zips import zip_entries

Found = EvidenceItem | EvidenceError


@dataclass(frozen=True)
class Expander:
    limits: EvidenceLimits
    temp_dir: str | None = None

    def expand(self, handle: BinaryIO, logical_path: str, head: bytes) -> Iterator[Found]:
        """The members of a file on the exhibit, if it is an archive; nothing otherwise.

        ``handle`` is the open file (seekable); ``head`` its first bytes. The budget of
        ``max_total_bytes`` and ``max_members`` is shared by everything nested inside it.
        """
        try:
            yield from self._descend(handle, logical_path, head, 1, Budget(self.limits))
        except Stop as stop:  # the budget ran out (owner None); any other was caught inside
            yield EvidenceError(stop.logical_path, stop.message)

    def _descend(
        self, handle: BinaryIO, logical_path: str, head: bytes, depth: int, budget: Budget
    ) -> Iterator[Found]:
        container = sniff(head)
        if container is None:
            return
        if container.compressed:
            try:
                handle.seek(0)
                with open_decompressor(container, handle) as stream:
                    inner = stream.read(HEAD_BYTES)
            except Exception as error:  # hostile input
                yield EvidenceError(logical_path, f"{container} data is corrupt: {describe(error)}")
                return
            if not looks_like_tar(inner):
                return  # a compressed single file, not an archive
        if depth > self.limits.max_depth:
            yield EvidenceError(
                logical_path,
                f"archive nested more than {self.limits.max_depth}"
                " levels deep (max_depth); not opened",
            )
            return
        owner = object()
        entries = (
            zip_entries(handle, logical_path, budget)
            if container is Container.ZIP
            else tar_entries(handle, logical_path, container, self.limits, owner)
        )
        try:
            with closing(entries):
                for entry in entries:
                    if isinstance(entry, EvidenceError):
                        yield entry
                    else:
                        yield from self._member(entry, logical_path, depth, budget)
        except Stop as stop:
            if stop.owner is not owner:
                raise
            yield EvidenceError(stop.logical_path, stop.message)
        except Exception as error:  # e.g. an I/O error on the exhibit's disk mid-archive
            yield EvidenceError(
                logical_path, f"{container} archive cannot be read further: {describe(error)}"
            )

    def _member(
        self, member: Member, container: str, depth: int, budget: Budget
    ) -> Iterator[Found]:
        as_given = f"{container}!/{show(member.name)}"
        budget.take_member(as_given)
        if member.kind is EntryKind.DIRECTORY:
            return
        name, problem = member_path(member.name, member.archive)
        if name is None:
            yield EvidenceError(as_given, problem or "unsafe entry name")
            return
        logical_path = f"{container}!/{name}"
        problem = self._refusal(member, logical_path, budget)
        if problem:
            yield EvidenceError(logical_path, problem)
            return
        try:
            item, head = read_member(member, logical_path, self.limits, budget, self.temp_dir)
        except Stop:
            raise
        except Rejected as rejected:
            yield EvidenceError(logical_path, str(rejected))
            return
        except Exception as error:  # a damaged member must not stop its archive
            yield EvidenceError(
                logical_path,
                f"{member.archive} member is damaged or cannot be read: {describe(error)}",
            )
            return
        if sniff(head) is None:
            yield item
            return
        # Open before yielding: the consumer may discard a spilled item as soon as it has it.
        if item.data is not None:
            handle: BinaryIO = io.BytesIO(item.data)
        else:
            assert item.fs_path is not None
            handle = item.fs_path.open("rb")
        with handle:
            yield item
            yield from self._descend(handle, logical_path, head, depth + 1, budget)

    def _refusal(self, member: Member, logical_path: str, budget: Budget) -> str | None:
        """Why an entry is not read at all, judging by its header alone."""
        kind, limits = member.archive, self.limits
        if member.kind is EntryKind.SYMLINK:
            target = f" to {show(member.detail)}" if member.detail else ""
            return f"{kind} entry is a symbolic link{target}; not followed"
        if member.kind is EntryKind.HARDLINK:
            return (
                f"{kind} entry is a hard link to {show(member.detail)}; skipped (that "
                "entry is read in its own right)"
            )
        if member.kind is EntryKind.SPECIAL:
            return f"{kind} entry is a {member.detail}; skipped"
        if member.encrypted:
            return f"{kind} member is encrypted; not read"
        declared, compressed = member.declared_size, member.compressed_size
        if declared is None:
            return None
        if declared > limits.max_member_bytes:
            return (
                f"{kind} member declares {declared} bytes, more than the "
                f"{limits.max_member_bytes} allowed (max_member_bytes)"
            )
        if (
            compressed is not None
            and declared > RATIO_FLOOR_BYTES
            and declared > limits.max_ratio * max(compressed, 1)
        ):
            return bomb_message(kind, declared, compressed, limits, declared=True)
        if declared > budget.bytes_left:
            raise Stop(logical_path, budget.exceeded())
        return None
