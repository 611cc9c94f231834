"""What the manager knows about a process from /proc, timestamps in
Docker's format and the MYDOCKER_TRACE timeline: small helpers the CLI, the
services and the monitor share (kept apart so that the CLI does not load
the monitor's code for them)."""
import os
import sys
import time


def rfc3339nano(ns=None):
    ns = time.time_ns() if ns is None else ns
    s, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"


def proc_start_time(pid):
    """Start time of pid in clock ticks (field 22 of /proc/pid/stat); 0 if it is
    gone or a zombie (a dead monitor nobody has reaped yet is dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return 0
    return int(fields[19])


def pid_alive(pid, start):
    return bool(pid) and proc_start_time(pid) == start != 0


_TRACE = os.environ.get("MYDOCKER_TRACE")


def trace(what, who="monitor"):
    """MYDOCKER_TRACE=1: timestamps of the monitor's steps in monitor.log;
    MYDOCKER_TRACE=/path: those of mydocker and the monitor, appended there."""
    if not _TRACE:
        return
    line = f"{time.time():.4f} {who}[{os.getpid()}] {what}\n"
    if _TRACE.startswith("/"):
        with open(_TRACE, "a") as f:
            f.write(line)
    else:
        sys.stderr.write(line)
        sys.stderr.flush()
