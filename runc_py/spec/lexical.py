"""Small lexical checks written by hand: `re` costs ~7 ms to import (enum,
functools, collections), and these run on every create (ociVersion, seccomp
syscall names, cpusets)."""

_DIGITS = frozenset("0123456789")
_IDENT = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
_SYSCALL_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz_")
_SYSCALL_REST = _SYSCALL_FIRST | _DIGITS


def _number(s):
    """A SemVer numeric part: digits, no leading zero unless it is 0."""
    return bool(s) and _DIGITS.issuperset(s) and (s == "0" or s[0] != "0")


def _dotted_idents(s):
    return all(p and _IDENT.issuperset(p) for p in s.split("."))


def semver_major(version):
    """The major number of a SemVer 2.0 version string, or None when it is
    not one (MAJOR.MINOR.PATCH, then optional -prerelease and +build parts
    made of dot-separated [0-9A-Za-z-] identifiers)."""
    core, plus, build = version.partition("+")
    if plus and not _dotted_idents(build):
        return None
    core, dash, pre = core.partition("-")
    if dash and not _dotted_idents(pre):
        return None
    parts = core.split(".")
    if len(parts) != 3 or not all(_number(p) for p in parts):
        return None
    return parts[0]


def is_syscall_name(name):
    """Lowercase letters, digits and _, not starting with a digit."""
    return bool(name) and name[0] in _SYSCALL_FIRST and _SYSCALL_REST.issuperset(name)


def is_cpu_list(text):
    """A kernel cpu/mem list such as 0-3,7 with no range running backwards."""
    if not text:
        return False
    for part in text.split(","):
        lo, dash, hi = part.partition("-")
        if not lo or not _DIGITS.issuperset(lo):
            return False
        if dash:
            if not hi or not _DIGITS.issuperset(hi) or int(hi) < int(lo):
                return False
    return True
