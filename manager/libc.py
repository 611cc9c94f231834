"""The three libc calls the manager needs and Python lacks: mount(2),
umount2(2) and prctl(2) (to make a container's monitor a child subreaper).

They go through `_ctypes` directly: `import ctypes` (its Python layer)
costs several ms of every `mydocker run`, and the few C types these
calls need are declared here the way ctypes/__init__.py declares them.
Falls back to ctypes where `_ctypes` does not offer what is used.
"""
import os

__all__ = ["mount", "umount2", "prctl", "MNT_DETACH", "PR_SET_CHILD_SUBREAPER"]

MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36

_fns = None


def _load():
    global _fns
    if _fns is not None:
        return _fns
    try:
        import _ctypes

        class c_int(_ctypes._SimpleCData):
            _type_ = "i"

        class c_ulong(_ctypes._SimpleCData):
            _type_ = "L"

        class c_char_p(_ctypes._SimpleCData):
            _type_ = "z"

        class Func(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
            _restype_ = c_int

        class Lib:
            _handle = _ctypes.dlopen(None, getattr(os, "RTLD_NOW", 2))
        handle = Lib()
        get_errno = _ctypes.get_errno
    except (ImportError, AttributeError):   # pragma: no cover - other Pythons
        import ctypes
        c_int, c_ulong, c_char_p = ctypes.c_int, ctypes.c_ulong, ctypes.c_char_p
        lib = ctypes.CDLL(None, use_errno=True)
        Func, handle, get_errno = None, lib, ctypes.get_errno

    def fn(name, *argtypes):
        f = Func((name, handle)) if Func is not None else getattr(handle, name)
        f.argtypes = argtypes
        f.restype = c_int
        return f

    _fns = {
        "mount": fn("mount", c_char_p, c_char_p, c_char_p, c_ulong, c_char_p),
        "umount2": fn("umount2", c_char_p, c_int),
        "prctl": fn("prctl", c_int, c_ulong, c_ulong, c_ulong, c_ulong),
        "errno": get_errno,
    }
    return _fns


def _enc(s):
    return None if s is None else os.fsencode(s)


def _check(rc, what):
    if rc != 0:
        err = _fns["errno"]()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags=0, data=None):
    f = _load()
    rc = f["mount"](_enc(source), _enc(target), _enc(fstype), flags, _enc(data))
    _check(rc, f"mount {fstype} on {target} ({(data or '')[:200]})")


def umount2(target, flags=0):
    f = _load()
    _check(f["umount2"](_enc(target), flags), f"umount {target}")


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    f = _load()
    _check(f["prctl"](option, arg2, arg3, arg4, arg5), f"prctl({option})")


def preload():
    """Load the functions now (before a fork, so the child needs no import)."""
    _load()
