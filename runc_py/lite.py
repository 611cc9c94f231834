"""What the small verbs (state, start, kill, delete, list) need of `os` and
`os.path`, built on the `posix` module alone.

`posix` is built into the interpreter and already loaded at start-up;
`import os` is not (under `python -S`): it costs ~1.5-2 ms here (os,
posixpath, genericpath, stat, _collections_abc), which is a third of what
`runc-py state` spends above the interpreter's own start.  Callers run
those verbs 3-4 times per container, so the modules on their path (cli,
lifecycle, state, errors, cgattach) use this module instead of `os`; the
create/run/exec paths import `os` as usual.  tests/unit/test_lite.py checks
these functions against os.path, tests/unit/test_import_budget.py that the
small verbs do not load `os`.

Only str paths are handled (the runtime never passes bytes here)."""
from posix import (
    O_CLOEXEC, O_DIRECTORY, O_NONBLOCK, O_RDONLY, WNOHANG, _exit, close, getcwd, getpid,
    kill, listdir, lstat, mkdir, open, read, readlink, replace, rmdir, stat, strerror,
    unlink, waitpid)
from posix import environ as _environ

__all__ = ["O_CLOEXEC", "O_DIRECTORY", "O_NONBLOCK", "O_RDONLY", "WNOHANG", "_exit",
           "close", "getcwd", "getpid", "kill", "listdir", "lstat", "mkdir", "open", "read",
           "readlink", "replace", "rmdir", "stat", "strerror", "unlink", "waitpid", "getenv", "join", "dirname", "basename", "normpath", "abspath",
           "exists", "isdir", "islink", "makedirs"]

_S_IFMT = 0o170000
_S_IFDIR = 0o040000
_S_IFLNK = 0o120000


def getenv(name, default=None):
    """os.environ.get(name, default): posix.environ has the process's
    environment as bytes, decoded here as os decodes it."""
    v = _environ.get(name.encode("utf-8", "surrogateescape"))
    return default if v is None else v.decode("utf-8", "surrogateescape")


def join(a, *parts):
    path = a
    for b in parts:
        if b.startswith("/"):
            path = b
        elif not path or path.endswith("/"):
            path += b
        else:
            path += "/" + b
    return path


def dirname(p):
    i = p.rfind("/") + 1
    head = p[:i]
    if head and head != "/" * len(head):
        head = head.rstrip("/")
    return head


def basename(p):
    return p[p.rfind("/") + 1:]


def normpath(path):
    if not path:
        return "."
    # POSIX keeps exactly two leading slashes, and folds three or more to one
    initial = 2 if path.startswith("//") and not path.startswith("///") else (
        1 if path.startswith("/") else 0)
    out = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp != ".." or (not initial and not out) or (out and out[-1] == ".."):
            out.append(comp)
        elif out:
            out.pop()
    path = "/" * initial + "/".join(out)
    return path or "."


def abspath(p):
    if not p.startswith("/"):
        p = join(getcwd(), p)
    return normpath(p)


def _mode(p, follow=True):
    try:
        return (stat(p) if follow else lstat(p)).st_mode & _S_IFMT
    except (OSError, ValueError):
        return None


def exists(p):
    return _mode(p) is not None


def isdir(p):
    return _mode(p) == _S_IFDIR


def islink(p):
    return _mode(p, follow=False) == _S_IFLNK


def makedirs(path, mode=0o777, exist_ok=False):
    """os.makedirs: the missing parents first, with the same mode."""
    head = dirname(path.rstrip("/") or "/")
    if head and head != path and not exists(head):
        try:
            makedirs(head, mode, exist_ok=True)
        except FileExistsError:
            pass  # made meanwhile by another process
    try:
        mkdir(path, mode)
    except OSError:
        if not exist_ok or not isdir(path):
            raise
