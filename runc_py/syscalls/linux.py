"""Real syscalls through the cffi helper (native/nsutil.c).  Thin: argument
conversion and errno -> SyscallError, nothing else."""
import os

from .._native import ffi, lib

from .consts import *  # noqa: F401,F403


class SyscallError(OSError):
    def __init__(self, err, syscall, path=None):
        super().__init__(err, os.strerror(err), path)
        self.syscall = syscall


def _check(ret, syscall, path=None):
    if ret < 0:
        raise SyscallError(-ret, syscall, path)
    return ret


def _b(s):
    if s is None:
        return ffi.NULL
    return s.encode() if isinstance(s, str) else s


def unshare(flags):
    _check(lib.nsu_unshare(flags), "unshare")


def setns(fd, nstype=0, path=None):
    _check(lib.nsu_setns(fd, nstype), "setns", path)


def mount(source, target, fstype, flags=0, data=None):
    _check(lib.nsu_mount(_b(source), _b(target), _b(fstype), flags, _b(data)), "mount", target)


def umount2(target, flags=0):
    _check(lib.nsu_umount2(_b(target), flags), "umount2", target)


def pivot_root(new_root, put_old):
    _check(lib.nsu_pivot_root(_b(new_root), _b(put_old)), "pivot_root", new_root)


def sethostname(name):
    b = name.encode()
    _check(lib.nsu_sethostname(b, len(b)), "sethostname")


def setdomainname(name):
    b = name.encode()
    _check(lib.nsu_setdomainname(b, len(b)), "setdomainname")


def prctl(option, a2=0, a3=0, a4=0, a5=0):
    return _check(lib.nsu_prctl(option, a2, a3, a4, a5), "prctl")


def personality(persona):
    return _check(lib.nsu_personality(persona), "personality")


def keyctl_join(name=None):
    return _check(lib.nsu_keyctl_join(_b(name)), "keyctl(KEYCTL_JOIN_SESSION_KEYRING)")


def setrlimit(resource, soft, hard):
    """Values at or above 2**64-1 mean unlimited (RLIM_INFINITY)."""
    top = 2**64 - 1
    _check(lib.nsu_setrlimit(resource, min(soft, top), min(hard, top)), "setrlimit")


def pidfd_open(pid):
    return _check(lib.nsu_pidfd_open(pid, 0), "pidfd_open")


def fork_into_cgroup(cgroup_fd):
    """os.fork(), the child starting in the cgroup v2 directory open as
    cgroup_fd (clone3 CLONE_INTO_CGROUP; native/pyfork.c).  Raises
    SyscallError (nothing forked) on failure, and EBUSY while this process
    runs other Python threads: clone3 runs none of the pthread_atfork
    handlers that keep a fork with threads safe (callers then use os.fork)."""
    import _thread
    if _thread._count():
        raise SyscallError(16, "clone3(CLONE_INTO_CGROUP): other threads are running")
    return _check(lib.nsu_fork_into_cgroup(cgroup_fd), "clone3(CLONE_INTO_CGROUP)")
