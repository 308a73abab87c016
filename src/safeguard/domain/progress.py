"""How long-running work reports progress, without knowing who is watching (terminal or web)."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """A watcher may also have ``node_done(node: str, files: int)``: the ingest then tells it
    which node (host, or host/node id on a cluster) analysed how many files, for files/s per
    node. It is optional, so watchers without it keep working."""

    def phase(self, name: str, total: int | None = None) -> None:
        """A new phase starts; ``total`` is the expected number of steps, if known."""

    def advance(self, steps: int = 1) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass
