"""A container's state.json (Status, Pid, ExitCode, StartedAt, FinishedAt,
OOMKilled, Error, RestartCount, MonitorPid, MonitorStart): read, and
read-modify-written under the container's lock file, by the manager and by
the container's monitor.  Kept apart from the record store so that the
monitor imports only this (and atomic.py)."""
import os

from .atomic import FileLock, read_json, write_json

__all__ = ["STATE_DEFAULTS", "read_state", "update_state", "rmtree"]

STATE_DEFAULTS = {"Status": "created", "Pid": 0, "ExitCode": 0, "Error": "",
                  "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z",
                  "OOMKilled": False, "RestartCount": 0, "MonitorPid": 0, "MonitorStart": 0}


def read_state(cdir):
    st = dict(STATE_DEFAULTS)
    st.update(read_json(os.path.join(cdir, "state.json"), default={}) or {})
    return st


def update_state(cdir, **changes):
    """Read-modify-write state.json under the container's lock; returns the new state."""
    with FileLock(os.path.join(cdir, "lock")):
        st = read_state(cdir)
        st.update(changes)
        write_json(os.path.join(cdir, "state.json"), st, sync=False)
    return st


def rmtree(path):
    """shutil.rmtree(path, ignore_errors=True) without importing shutil; does
    not follow symlinks, and does not cross into mounts' contents any more
    than shutil does (a mount point that cannot be removed stays)."""
    if os.path.islink(path):
        return
    try:
        entries = list(os.scandir(path))
    except NotADirectoryError:
        _unlink(path)
        return
    except OSError:
        return
    for e in entries:
        try:
            is_dir = e.is_dir(follow_symlinks=False)
        except OSError:
            is_dir = False
        if is_dir:
            rmtree(e.path)
        else:
            _unlink(e.path)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
