"""Network-namespace primitives: enter a named namespace from one thread, and back.

Both back ends need them: ``nft.apply`` keeps a libnftables context in a thread that lives in
the lab's node namespace, and ``lab`` creates probe and listener sockets inside pod namespaces
(a socket stays in the namespace it was created in). Python 3.11 has no ``os.setns``, so
setns(2) goes through ctypes; it changes the namespace of the calling *thread* only.

Named namespaces are the files ``ip netns add`` bind-mounts under ``/run/netns``.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def libc() -> ctypes.CDLL:
    """The C library (one handle for the process), for the few calls Python does not wrap."""
    return _libc


def netns_path(name: str) -> str:
    """The file of the named network namespace (``/run/netns/NAME``)."""
    return os.path.join(NETNS_DIR, name)


def setns(fd: int) -> None:
    """setns(2) into the network namespace open as ``fd``; this thread only.

    Raises:
        OSError: the kernel refused (errno set: EPERM without CAP_SYS_ADMIN, EINVAL...).
    """
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def enter(name: str) -> None:
    """Move this thread into the named namespace for good (a worker thread's first act)."""
    fd = os.open(netns_path(name), os.O_RDONLY)
    try:
        setns(fd)
    finally:
        os.close(fd)


@contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the body of the ``with`` in the named network namespace (this thread only).

    Raises:
        FileNotFoundError: there is no namespace of that name.
        OSError: it cannot be entered.
    """
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
