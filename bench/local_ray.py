"""A real Ray cluster of several nodes on this one machine, for the tests and the benchmark.

Each node is its own ``ray start --block`` process tree (raylet, workers) with its own CPU budget
and a small object store; the head also runs the GCS. Everything listens on 127.0.0.1 only.

Ray itself replaces a node address of 127.0.0.1 by the machine's outward address (it expects
nodes on different machines), which would make its servers listen on every interface. Run as a
script, this module is ``ray start`` with that replacement turned off, so each node keeps
127.0.0.1 and its servers bind to it; drivers connect with ``DRIVER_ENV`` for the same reason.
None of this is needed on a real cluster, where each node has its own address.

Nodes are stopped by killing their own process trees (never ``ray stop``, which would stop every
Ray process on the machine).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Environment for a driver process on this machine (``safeguard ingest --cluster``): its own
#: address is the loopback one too.
DRIVER_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
STARTED = "Ray runtime started"
#: A busy (shared, 2-core) machine can take longer than Ray's default 30 s to register a node.
NODE_ENV = {"RAY_raylet_start_wait_time_s": "180"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(root: int) -> list[int]:
    """``root`` and every process below it (by parent links, and by its session)."""
    parents: dict[int, list[int]] = {}
    session_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents.setdefault(int(fields[1]), []).append(pid)
        session_of[pid] = int(fields[3])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    found.extend(p for p, s in session_of.items() if s == root and p not in found)
    return found


class Node:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log = process, log

    def kill(self) -> None:
        """SIGKILL the node's whole process tree (a machine lost, as far as Ray can tell)."""
        for pid in _descendants(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class LocalRayCluster:
    """``with LocalRayCluster() as cluster: cluster.add_node(); ...``: stopped on exit, always."""

    def __init__(self, object_store_bytes: int = 80_000_000) -> None:
        self.object_store_bytes = object_store_bytes
        self.temp = Path(tempfile.mkdtemp(prefix="sgray-", dir="/tmp"))  # short: unix sockets
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[Node] = []

    def __enter__(self) -> LocalRayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start(self, args: list[str], hide: Path | None, timeout: float) -> Node:
        log = self.temp / f"node-{len(self.nodes)}.log"
        command = [sys.executable, __file__, "start", *args]
        common = [
            "--node-ip-address=127.0.0.1",
            f"--object-store-memory={self.object_store_bytes}",
            "--disable-usage-stats",
            "--block",
        ]
        if hide is not None:
            mount = f"mount -t tmpfs -o size=1m,mode=0755 sghidden {shlex.quote(str(hide))}"
            shell = f'{mount} && exec "$@"'
            command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh"]
            command += [sys.executable, __file__, "start", *args, *common]
        else:
            command += common
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **NODE_ENV},
            )
        node = Node(process, log)
        self.nodes.append(node)
        deadline = time.monotonic() + timeout
        while STARTED not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ray node did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        return node

    def start_head(self, cpus: int = 1, timeout: float = 180) -> Node:
        return self._start(
            [
                "--head",
                f"--port={self.port}",
                f"--num-cpus={cpus}",
                "--include-dashboard=false",
                f"--temp-dir={self.temp}",
            ],
            None,
            timeout,
        )

    def add_node(self, cpus: int = 1, hide: Path | None = None, timeout: float = 180) -> Node:
        """A worker node; with ``hide``, that folder is empty on this node (its own mount
        namespace with a tmpfs over it), as if the share were not mounted there."""
        return self._start([f"--address={self.address}", f"--num-cpus={cpus}"], hide, timeout)

    def stop(self) -> None:
        for node in reversed(self.nodes):
            if node.process.poll() is None or _descendants(node.process.pid)[1:]:
                node.kill()
        self.nodes.clear()
        subprocess.run(["rm", "-rf", str(self.temp)], check=False)


def can_hide_folders() -> bool:
    """Whether this machine lets us give a node its own mount namespace (root, unshare)."""
    try:
        return (
            subprocess.run(
                ["unshare", "--mount", "true"], capture_output=True, timeout=10
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def _loopback_ray_start() -> None:
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]  # bench/common.py
    import ray._private.services as services
    from ray.scripts.scripts import main

    services.resolve_ip_for_localhost = lambda host: host
    services.get_node_ip_address = lambda address=None: "127.0.0.1"
    sys.argv[0] = "ray"
    main()


if __name__ == "__main__":
    _loopback_ray_start()
