"""Never leave half-written state: files are written to a temp name in the
same directory, fsynced and renamed over the target; a FileLock (flock on
a lock file) serializes writers across processes.

Paths may be str or os.PathLike.  Light to import (no pathlib, json or
threading): `mydocker run` writes its container record through here."""
import _thread
import fcntl
import os

from ..jsonfast import dumps, loads

__all__ = ["write_bytes", "write_json", "read_json", "FileLock", "fsync_dir"]


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path, data, mode=0o644, sync=True):
    path = os.fspath(path)
    parent, name = os.path.split(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = os.path.join(parent, f".{name}.{os.getpid()}.{_thread.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if sync:
            os.fsync(fd)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    if sync:
        fsync_dir(parent or ".")


def write_json(path, obj, mode=0o644, sync=True):
    write_bytes(path, (dumps(obj, indent=2, sort_keys=True) + "\n").encode(), mode, sync)


def read_json(path, default=None):
    try:
        with open(path, "rb") as f:
            return loads(f.read())
    except FileNotFoundError:
        return default


class FileLock:
    """Exclusive (or shared) flock on path, as a context manager."""

    def __init__(self, path, shared=False):
        self.path = os.fspath(path)
        self.shared = shared
        self.fd = None

    def acquire(self):
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)
        return self

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
