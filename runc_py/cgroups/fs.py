"""The only module that changes cgroup files and directories.

Each function does one filesystem operation and turns an OSError into a
CgroupError naming the config field, the file, the value and the errno."""
import errno
import os

from .errors import CgroupError

__all__ = ["write", "read", "read_lines", "read_keyed", "exists", "mkdir", "rmdir"]


def write(path, value, field=None):
    """Write `value` to the cgroup file `path` in a single write(2)."""
    data = value.encode() if isinstance(value, str) else value
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "open", path, value) from None
    try:
        os.write(fd, data)
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "write to", path, value) from None
    finally:
        os.close(fd)


def read(path, field=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "read", path) from None


def read_lines(path, default=None):
    """Lines of `path`, or `default` if it does not exist."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        if default is None:
            raise
        return default


def read_keyed(path):
    """A "key value" per line file (memory.stat, cpu.stat, ...) -> {key: int};
    {} when the file does not exist."""
    out = {}
    for line in read_lines(path, []):
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def exists(path):
    return os.path.exists(path)


def mkdir(path, field=None):
    """Create one directory; True if created, False if it was already there."""
    try:
        os.mkdir(path, 0o755)
        return True
    except FileExistsError:
        return False
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "create cgroup", path) from None


def rmdir(path, field=None):
    """Remove one directory; False if it did not exist."""
    try:
        os.rmdir(path)
        return True
    except FileNotFoundError:
        return False
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "remove cgroup", path) from None


def is_missing(exc):
    return isinstance(exc, CgroupError) and exc.errno == errno.ENOENT
