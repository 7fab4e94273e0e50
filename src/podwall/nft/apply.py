"""The one module that executes nftables. Everything else only builds text.

Every ruleset goes into a *named* network namespace (the lab's node), never the caller's: the
root network namespace is never touched. Two ways to talk to nftables:

* in-process through ``libnftables.so.1`` (ctypes, no PyPI or Debian Python binding needed).
  The context lives in a worker thread that enters the node's namespace once and stays there,
  so its netlink socket (and any socket libnftables reopens) belongs to the node. This saves
  process start-up, and the nft cache stays warm between calls;
* ``ip netns exec NODE nft -f -`` as a fallback when the library is missing.

Checks (``nft -c``) run in a throw-away anonymous namespace (``unshare --net``), so checking
also never touches the root namespace and leaves nothing behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from podwall.errors import NftError
from podwall.nft.compile import Ruleset
from podwall.nft.script import FAMILY, Names, create_script, diff_phases, replace_script, set_lines

CLONE_NEWNET = 0x40000000
_OUTPUT_JSON = 1 << 4
_OUTPUT_TERSE = 1 << 11
_libc = ctypes.CDLL(None, use_errno=True)


def netns_path(name: str) -> str:
    return f"/run/netns/{name}"


def setns(fd: int) -> None:
    """setns(2) for network namespaces (Python 3.11 has no ``os.setns``); this thread only."""
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the body of the ``with`` in the named network namespace (this thread only)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(netns_path(name), os.O_RDONLY)
    except OSError:
        os.close(own)
        raise
    try:
        setns(target)
        try:
            yield
        finally:
            setns(own)
    finally:
        os.close(target)
        os.close(own)


def nft_binary() -> str:
    path = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
    if path is None:
        raise NftError("the nft tool is not installed (apt-get install nftables)")
    return path


class _Lib:
    """A libnftables context living in a thread that stays inside one network namespace."""

    def __init__(self, netns: str) -> None:
        name = ctypes.util.find_library("nftables") or "libnftables.so.1"
        lib = ctypes.CDLL(name)
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_int
        for fn in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]] | None] = queue.Queue()
        ready: queue.Queue[BaseException | None] = queue.Queue()
        self.thread = threading.Thread(target=self._serve, args=(netns, ready), daemon=True, name=f"nft:{netns}")
        self.thread.start()
        err = ready.get()
        if err is not None:
            raise err

    def _serve(self, netns: str, ready: queue.Queue[BaseException | None]) -> None:
        try:
            fd = os.open(netns_path(netns), os.O_RDONLY)
            try:
                setns(fd)  # this thread stays in the node netns for good
            finally:
                os.close(fd)
            self.ctx = self.lib.nft_ctx_new(0)
            if not self.ctx:
                raise NftError("libnftables: cannot create a context")
            self.lib.nft_ctx_buffer_output(self.ctx)
            self.lib.nft_ctx_buffer_error(self.ctx)
        except BaseException as exc:
            ready.put(exc)
            return
        ready.put(None)
        while True:
            job = self.jobs.get()
            if job is None:
                self.lib.nft_ctx_free(self.ctx)
                return
            fn, reply = job
            try:
                reply.put((True, fn()))
            except BaseException as exc:
                reply.put((False, exc))

    def call(self, fn: Callable[[], Any]) -> Any:
        reply: queue.Queue[Any] = queue.Queue()
        self.jobs.put((fn, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def run(self, script: str, json_out: bool = False, terse: bool = False) -> tuple[int, str, str]:
        def go() -> tuple[int, str, str]:
            flags = (_OUTPUT_JSON if json_out else 0) | (_OUTPUT_TERSE if terse else 0)
            self.lib.nft_ctx_output_set_flags(self.ctx, flags)
            rc = self.lib.nft_run_cmd_from_buffer(self.ctx, script.encode())
            out = (self.lib.nft_ctx_get_output_buffer(self.ctx) or b"").decode()
            err = (self.lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode()
            return rc, out, err

        result: tuple[int, str, str] = self.call(go)
        return result

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=5)


class Nft:
    """nftables inside one named network namespace.

    Args:
        netns: the namespace (``/run/netns/NAME``); required, so nothing lands in the root one.
        backend: ``auto`` (library if present), ``lib`` or ``exec``.
    """

    def __init__(self, netns: str, backend: str = "auto") -> None:
        if not os.path.exists(netns_path(netns)):
            raise NftError(f"network namespace {netns} does not exist")
        self.netns = netns
        self._lib: _Lib | None = None
        if backend in ("auto", "lib"):
            try:
                self._lib = _Lib(netns)
            except (OSError, NftError, AttributeError) as exc:
                if backend == "lib":
                    raise NftError(f"libnftables unusable: {exc}") from exc
        if self._lib is None:
            nft_binary()
        self.backend = "lib" if self._lib is not None else "exec"

    def run(self, script: str, *, json_out: bool = False, terse: bool = False) -> str:
        """Run an nft script as one transaction; raise NftError with nft's message on failure.

        ``json_out``: nft's JSON output (for listings); ``terse``: without set elements.
        """
        if self._lib is not None:
            rc, out, err = self._lib.run(script, json_out, terse)
        else:
            args = ["ip", "netns", "exec", self.netns, nft_binary()]
            if json_out:
                # nft 1.0.6 prints nothing for JSON listings read with -f: pass the command as words
                args += ["-j", *(["-t"] if terse else []), *script.split()]
            else:
                args += ["-f", "-"]
            proc = subprocess.run(args, input=None if json_out else script, capture_output=True, text=True, check=False)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        if rc != 0:
            raise NftError("nft refused the ruleset:\n" + _trim(err))
        return out

    def names(self, table: str) -> Names:
        """Names of the chains, sets and maps of our table now in the kernel (empty if none)."""
        try:
            out = self.run(f"list table {FAMILY} {table}", json_out=True, terse=True)
        except NftError:
            return Names()
        chains, sets, maps = set(), set(), set()
        for item in json.loads(out).get("nftables", []):
            if "chain" in item:
                chains.add(item["chain"]["name"])
            elif "set" in item:
                sets.add(item["set"]["name"])
            elif "map" in item:
                maps.add(item["map"]["name"])
        return Names(chains=frozenset(chains), sets=frozenset(sets), maps=frozenset(maps))

    def create(self, rs: Ruleset) -> None:
        self.run(create_script(rs))

    def replace(self, rs: Ruleset) -> None:
        """Replace the table's content in place (one transaction), creating it if missing.

        Sets that are new to an existing table are created first, in a transaction of their
        own (unused, they change no verdict; see :func:`~podwall.nft.script.diff_phases`).
        """
        existing = self.names(rs.table)
        if existing.chains:
            new_sets = [s for s in rs.sets if s.name not in existing.sets]
            if new_sets:
                lines = [f"table {FAMILY} {rs.table} {{"]
                for s in new_sets:
                    lines += set_lines(s)
                self.run("\n".join([*lines, "}"]) + "\n")
                existing = Names(
                    chains=existing.chains, sets=existing.sets | {s.name for s in new_sets}, maps=existing.maps
                )
        self.run(replace_script(rs, existing))

    def update(self, old: Ruleset | None, new: Ruleset) -> str:
        """Apply ``new`` with the smallest transaction; returns ``diff``, ``replace`` or ``none``."""
        if old is not None:
            try:
                phases: list[str] | None = diff_phases(old, new)
            except ValueError:
                phases = None
            if phases == []:
                return "none"
            if phases is not None:
                try:
                    for script in phases:
                        self.run(script)
                    return "diff"
                except NftError:
                    pass  # the kernel state differs from what we remember: replace it all
        self.replace(new)
        return "replace"

    def delete_table(self, table: str) -> None:
        with suppress(NftError):
            self.run(f"delete table {FAMILY} {table}")

    def counters(self, table: str) -> list[dict[str, Any]]:
        """Every rule that has a counter, with its comment, chain and packet count."""
        out = self.run(f"list table {FAMILY} {table}", json_out=True)
        rows = []
        for item in json.loads(out).get("nftables", []):
            rule = item.get("rule")
            if not rule:
                continue
            for e in rule.get("expr", []):
                if "counter" in e and isinstance(e["counter"], dict):
                    rows.append(
                        {
                            "chain": rule["chain"],
                            "comment": rule.get("comment", ""),
                            "packets": e["counter"].get("packets", 0),
                            "bytes": e["counter"].get("bytes", 0),
                        }
                    )
        return rows

    def close(self) -> None:
        if self._lib is not None:
            self._lib.close()
            self._lib = None

    def __enter__(self) -> Nft:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _trim(err: str, limit: int = 40) -> str:
    lines = err.strip().splitlines()
    if len(lines) > limit:
        lines = [*lines[:limit], f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def check(script: str, *, json_in: bool = False) -> None:
    """``nft -c``: does the kernel accept this script? Runs in an anonymous, throw-away netns.

    Raises:
        NftError: nft or unshare is missing, or the script is refused (nft's message).
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        raise NftError("unshare (util-linux) is needed to check rulesets in a scratch namespace")
    args = [unshare, "--net", nft_binary(), "-c"] + (["-j"] if json_in else []) + ["-f", "-"]
    proc = subprocess.run(args, input=script, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise NftError("nft -c refused the ruleset:\n" + _trim(proc.stderr))
