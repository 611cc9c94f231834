"""The sealed exec helper (see native/exec_helper.c): copied into a memfd,
sealed against writes, and exec'd as the last hop to the user's program so
that nothing in the container can reach a host binary through
/proc/<pid>/exe (CVE-2019-5736 class)."""
import fcntl
import os

HELPER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                      "_exec_helper")
MARKER = "runc-py-exec"

_F_ADD_SEALS = 1033
_F_SEAL_SEAL, _F_SEAL_SHRINK, _F_SEAL_GROW, _F_SEAL_WRITE = 1, 2, 4, 8


def sealed_helper_fd():
    """-> fd of a sealed memfd holding the helper, or None if the helper is
    not built (then the runtime execs directly and says so in `features`)."""
    try:
        src = os.open(HELPER, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        size = os.fstat(src).st_size
        fd = os.memfd_create("runc-py-exec", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        done = 0
        while done < size:
            n = os.sendfile(fd, src, done, size - done)
            if n == 0:
                break
            done += n
        fcntl.fcntl(fd, _F_ADD_SEALS, _F_SEAL_SEAL | _F_SEAL_SHRINK | _F_SEAL_GROW |
                    _F_SEAL_WRITE)
        return fd
    finally:
        os.close(src)


def execve(helper_fd, exe, args, env):
    if helper_fd is None:
        os.execve(exe, args, env)
    os.execve(helper_fd, [MARKER, exe] + list(args), env)
