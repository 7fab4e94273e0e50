"""Manifests as they are at a git revision, read with git itself (no checkout, no worktree).

``podwall diff --base origin/main manifests/`` compares ``manifests/`` now with
``manifests/`` at ``origin/main``. The paths are resolved as git resolves pathspecs from the
current directory; directories are read recursively with the same filter as for files on disk
(``.yaml``, ``.yml``, ``.json``, no dot files or dot directories). A path that does not exist at
the revision contributes nothing (it was added since). Sources are named ``REV:path``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from podwall.errors import InputError
from podwall.sources.manifests import MANIFEST_SUFFIXES, STDIN, SourceText, _decode_bytes

_TIMEOUT = 120


def _git(args: Sequence[str], cwd: str | None, stdin: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, timeout=_TIMEOUT, check=False)
    except FileNotFoundError:
        raise InputError("--base needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"git {' '.join(args[:2])} took longer than {_TIMEOUT} s") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"git {args[0]}: {msg[-1] if msg else f'exit {proc.returncode}'}")
    return proc.stdout


def _skip(path: str) -> bool:
    parts = path.split("/")
    return any(p.startswith(".") for p in parts) or not path.endswith(MANIFEST_SUFFIXES)


def read_revision(paths: Sequence[str], rev: str, cwd: str | None = None) -> list[SourceText]:
    """The manifests named by ``paths`` (files or directories) as they are at ``rev``.

    Raises:
        InputError: not inside a git repository, an unknown revision, or a path given as ``-``.
    """
    if STDIN in paths:
        raise InputError("--base compares paths with their committed versions; '-' (stdin) has none")
    try:
        _git(["rev-parse", "--git-dir"], cwd)
    except InputError:
        raise InputError("--base needs a git repository, and the current directory is not inside one") from None
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd).decode().strip()
    except InputError:
        raise InputError(f"--base {rev}: no such revision in this repository") from None
    listing = _git(["ls-tree", "-r", "-z", "--full-name", commit, "--", *paths], cwd)
    files: list[str] = []
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, name = entry.partition(b"\t")
        if meta.split()[1] != b"blob":
            continue
        path = name.decode("utf-8", "surrogateescape")
        explicit = any(path == p or path.endswith("/" + p.lstrip("./")) for p in paths)
        if explicit or not _skip(path):
            files.append(path)
    if not files:
        return []
    batch = _git(["cat-file", "--batch"], cwd, stdin="".join(f"{commit}:{f}\n" for f in files).encode())
    out: list[SourceText] = []
    pos = 0
    for f in files:
        nl = batch.index(b"\n", pos)
        header = batch[pos:nl].split()
        size = int(header[2])
        raw = batch[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
        label = f"{rev}:{f}"
        text, warnings = _decode_bytes(label, raw)
        out.append(SourceText(label, text, warnings))
    return out


__all__ = ["read_revision"]
