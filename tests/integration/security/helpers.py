"""Helpers for the capability and seccomp tests: run setup code in a forked
child, then execve busybox there, and collect what the user would see."""
import os
import select
import signal
import time
from dataclasses import dataclass

BUSYBOX = "/bin/busybox"


@dataclass
class Result:
    code: int | None      # exit status, or None if killed
    signal: int | None    # the signal that killed it
    out: str
    err: str


def run_child(setup, argv, timeout=10.0, after_fork=None):
    """Fork; in the child run setup() then execve(argv).  A setup failure
    exits 127 with the error on stderr.  after_fork(pid) runs in the parent
    (e.g. to serve a seccomp agent) before the output is collected."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            setup()
            os.execve(argv[0], argv, {"PATH": "/bin:/usr/bin"})
        except BaseException as e:   # noqa: BLE001 - report anything, never return
            try:
                os.write(2, f"child setup failed: {type(e).__name__}: {e}\n".encode())
            finally:
                os._exit(127)
        os._exit(127)
    os.close(out_w)
    os.close(err_w)
    try:
        if after_fork is not None:
            after_fork(pid)
        bufs = {out_r: b"", err_r: b""}
        open_fds = [out_r, err_r]
        deadline = time.monotonic() + timeout
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"child {argv} timed out")
            ready, _, _ = select.select(open_fds, [], [], left)
            for fd in ready:
                chunk = os.read(fd, 65536)
                if chunk:
                    bufs[fd] += chunk
                else:
                    open_fds.remove(fd)
        _, status = os.waitpid(pid, 0)
        pid = None
    finally:
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os.close(out_r)
        os.close(err_r)
    return Result(os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  bufs[out_r].decode(errors="replace"), bufs[err_r].decode(errors="replace"))


def status_fields(text):
    """'Key:\\tvalue' lines of /proc/<pid>/status -> dict."""
    out = {}
    for line in text.splitlines():
        key, _, val = line.partition(":")
        out[key.strip()] = val.strip()
    return out
