"""Entering a pid namespace for one fork: setns(CLONE_NEWPID) and
unshare(CLONE_NEWPID) apply to the caller's next children only, so the
runtime enters, forks the container's process there, and goes back.  Apart
from stage1 so that `exec` needs none of the init's modules."""
import os

from ..syscalls import linux as L
from .finalize import _oserr


def join_pidns(fd, path):
    """For `exec`: the next child joins the pid namespace open as fd (the
    container init's).  Returns what leave_pidns needs."""
    def join():
        try:
            L.setns(fd, L.CLONE_NEWPID, path)
        except OSError as e:
            raise _oserr("join-namespace", "linux.namespaces", e, "setns(pid)", path)
    return _pidns_for_children(join)


def _pidns_for_children(enter):
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        enter()
    except BaseException:
        os.close(own)
        raise
    return own


def leave_pidns(own):
    """Back to our own pid namespace (own: the fd enter/join returned, or
    None when nothing changed)."""
    if own is not None:
        try:
            L.setns(own, L.CLONE_NEWPID, "/proc/self/ns/pid")
        finally:
            os.close(own)
