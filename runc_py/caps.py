"""process.capabilities: parse the five sets (pure) and apply them (kernel).

The pure half (CAP_NAMES, CapSets, parse) imports nothing native.  The apply
half goes through runc_py._native, imported on first use.

The runtime's init calls, in this order:

    sets = parse(config["process"]["capabilities"])      # pure, at validation
    sets = available(sets, held=held_caps())  # before forking; warn sets.skipped
    drop_bounding(sets)        # PR_CAPBSET_DROP needs CAP_SETPCAP: still root
    prepare_user_switch()      # PR_SET_KEEPCAPS 1: permitted survives setuid
    setgroups / setresgid / setresuid
    finish_user_switch()       # PR_SET_KEEPCAPS 0
    apply(sets, warn)          # capset(E, P, I), then the ambient set
    (prctl(PR_SET_NO_NEW_PRIVS)), seccomp.load, execve

Names: every name capabilities(7) defines is known (CAP_NAMES, the kernel's
numbering).  A name that is not a capability at all is rejected by `parse`
(CapError naming the set and index): a typo should not silently leave a
container with fewer (or, in a deny list, more) privileges than meant.  The
spec asks runtimes to warn rather than fail for values that "cannot be mapped
to a kernel interface"; parse(strict=False) does that, listing them in
CapSets.skipped.  A real capability that the running kernel lacks (number
above /proc/sys/kernel/cap_last_cap) cannot be granted: the spec says to warn
and not fail, so `available` removes it and reports it (CapSets.skipped) for
the runtime to log, as runc does.  The same goes for a capability the runtime
does not hold itself (this host's root lacks CAP_SYS_RESOURCE):
available(sets, held=held_caps()).

Ambient capabilities must also be permitted and inheritable, or the kernel
refuses them; `apply` then reports the entry through warn() (with a hint
naming the missing set) and goes on: runc does the same, and `runc spec`'s
own config asks for ambient caps without inheritable ones.
"""
import errno as _errno
import os

from .errors import RuncPyError

__all__ = ["CAP_NAMES", "CapError", "CapSets", "parse", "available", "last_cap",
           "held_caps", "drop_bounding", "prepare_user_switch", "finish_user_switch", "apply",
           "current", "set_no_new_privs", "SETS"]

CAP_NAMES = {name: i for i, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
    "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE"))}
CAP_BY_NUMBER = {v: k for k, v in CAP_NAMES.items()}

SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")

# prctl(2) options
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_KEEPCAPS = 8
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_IS_SET = 1
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4


class CapError(RuncPyError):
    """A problem with process.capabilities; .field is the JSON path."""

    def __init__(self, field, message, hint=None, syscall=None, errno=None):
        super().__init__(f"{field}: {message}", hint)
        self.field, self.detail, self.syscall, self.errno = field, message, syscall, errno

    def to_dict(self):
        d = super().to_dict()
        d.update(field=self.field, detail=self.detail, syscall=self.syscall, errno=self.errno)
        return d


class Record:
    """A small immutable record: fields are __slots__, defaults in _defaults.
    (A frozen dataclass costs ~2 ms of start-up each; the runtime's start-up
    time matters, so these are plain classes.)"""
    __slots__ = ()
    _defaults = {}

    def __init__(self, *args, **kwargs):
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} arguments")
        values = dict(zip(names, args))
        for key, val in kwargs.items():
            if key not in names or key in values:
                raise TypeError(f"{type(self).__name__}: bad or repeated argument {key!r}")
            values[key] = val
        for name in names:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{type(self).__name__}: missing {name!r}")
                values[name] = self._defaults[name]
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self):
        return tuple(getattr(self, n) for n in self.__slots__)

    def __eq__(self, other):
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self):
        return hash((type(self).__name__,) + self._values())

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({inner})"


class CapSets(Record):
    """The five sets as frozensets of capability numbers."""
    __slots__ = ("bounding", "effective", "inheritable", "permitted", "ambient",
                 "field", "skipped")
    _defaults = {"bounding": frozenset(), "effective": frozenset(),
                 "inheritable": frozenset(), "permitted": frozenset(),
                 "ambient": frozenset(), "field": "process.capabilities",
                 "skipped": ()}   # skipped: names left out (unknown/unavailable)

    def names(self, which):
        return sorted((CAP_BY_NUMBER[c] for c in getattr(self, which)),
                      key=CAP_NAMES.__getitem__)


def parse(caps, field="process.capabilities", strict=True):
    """config.json's capabilities object -> CapSets.  Pure.  A missing set
    (or a missing/null object) means the empty set.  An unknown name raises
    CapError; with strict=False it is left out and listed in .skipped
    (runc's behaviour: "ignoring unknown or unavailable capabilities")."""
    if caps is None:
        return CapSets(field=field)
    if not isinstance(caps, dict):
        raise CapError(field, f"must be an object, got {type(caps).__name__}")
    out = {}
    skipped = []
    for which in SETS:
        names = caps.get(which)
        if names is None:
            out[which] = frozenset()
            continue
        if not isinstance(names, list):
            raise CapError(f"{field}.{which}", f"must be an array, got {type(names).__name__}")
        nums = set()
        for i, name in enumerate(names):
            if not isinstance(name, str):
                raise CapError(f"{field}.{which}[{i}]", f"must be a string, got {name!r}")
            num = CAP_NAMES.get(name)
            if num is None and not strict:
                if name not in skipped:
                    skipped.append(name)
                continue
            if num is None:
                upper = name.upper()
                guess = upper if upper.startswith("CAP_") else "CAP_" + upper
                hint = f"did you mean {guess}?" if guess in CAP_NAMES else None
                raise CapError(f"{field}.{which}[{i}]", f"unknown capability {name!r}", hint)
            nums.add(num)
        out[which] = frozenset(nums)
    return CapSets(field=field, skipped=tuple(skipped), **out)


def available(sets, last=None, held=None):
    """CapSets without the capabilities that cannot be granted: numbers above
    `last` (default last_cap(): the kernel lacks them) and, when `held` is
    given (e.g. held_caps()), capabilities the runtime itself does not hold.
    Their names go to .skipped, for the runtime to log as warnings."""
    if last is None:
        last = last_cap()
    dropped = set()
    new = {}
    for which in SETS:
        s = getattr(sets, which)
        bad = {c for c in s if c > last or (held is not None and c not in held)}
        dropped |= bad
        new[which] = frozenset(s - bad)
    skipped = tuple(CAP_BY_NUMBER[c] for c in sorted(dropped))
    return CapSets(field=sets.field, skipped=sets.skipped + skipped, **new)


def held_caps(status="/proc/self/status"):
    """Capabilities this process can hand on: CapPrm & CapBnd of `status`."""
    masks = {}
    with open(status) as f:
        for line in f:
            key, _, val = line.partition(":")
            if key in ("CapPrm", "CapBnd"):
                masks[key] = int(val.strip(), 16)
    mask = masks.get("CapPrm", 0) & masks.get("CapBnd", 0)
    return frozenset(c for c in range(64) if mask >> c & 1)


def last_cap(path="/proc/sys/kernel/cap_last_cap"):
    """The highest capability number this kernel knows."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return max(CAP_NAMES.values())


def _masks(caps):
    mask = 0
    for c in caps:
        mask |= 1 << c
    return mask & 0xFFFFFFFF, mask >> 32


# ---------------------------------------------------------------- kernel side

def _lib():
    from ._native import ffi, lib
    return ffi, lib


def _prctl(field, what, option, a2=0, a3=0, a4=0, a5=0):
    _, lib = _lib()
    rc = lib.nsu_prctl(option, a2, a3, a4, a5)
    if rc < 0:
        raise CapError(field, f"{what}: {os.strerror(-rc)} [{_errno.errorcode.get(-rc, -rc)}]",
                       syscall="prctl", errno=-rc)
    return rc


def drop_bounding(sets, last=None):
    """Drop from the bounding set every capability not in sets.bounding.
    Needs CAP_SETPCAP, so call it before the uid switch."""
    if last is None:
        last = last_cap()
    _, lib = _lib()
    for cap in range(last + 1):
        if cap in sets.bounding:
            continue
        rc = lib.nsu_prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        if rc == -_errno.EINVAL:       # the kernel lacks it: nothing to drop
            continue
        if rc < 0:
            hint = ("dropping from the bounding set needs CAP_SETPCAP: do it before "
                    "switching user") if rc == -_errno.EPERM else None
            raise CapError(f"{sets.field}.bounding",
                           f"prctl(PR_CAPBSET_DROP, {CAP_BY_NUMBER.get(cap, cap)}): "
                           f"{os.strerror(-rc)}", hint, syscall="prctl", errno=-rc)


def prepare_user_switch():
    """Keep the permitted set across setresuid away from uid 0."""
    _prctl("process.user", "prctl(PR_SET_KEEPCAPS, 1)", PR_SET_KEEPCAPS, 1)


def finish_user_switch():
    _prctl("process.user", "prctl(PR_SET_KEEPCAPS, 0)", PR_SET_KEEPCAPS, 0)


def apply(sets, warn=None):
    """capset(effective, permitted, inheritable), then set the ambient set
    exactly (clear all, raise each).  An ambient capability that cannot be
    raised (not also permitted and inheritable) is reported through
    warn(message) and skipped, not fatal: the runtime spec says runtimes
    SHOULD NOT fail when requested capabilities cannot be granted, and runc
    does the same (its own `runc spec` asks for ambient caps without
    inheritable ones)."""
    ffi, lib = _lib()
    data = ffi.new("uint32_t[6]")
    for i, which in enumerate(("effective", "permitted", "inheritable")):
        lo, hi = _masks(getattr(sets, which))
        data[i], data[3 + i] = lo, hi
    rc = lib.nsu_capset(data)
    if rc < 0:
        hint = None
        if rc == -_errno.EPERM:
            hint = ("effective must be within permitted, permitted can only shrink, and "
                    "inheritable must be within the bounding set")
        raise CapError(sets.field, f"capset: {os.strerror(-rc)}", hint,
                       syscall="capset", errno=-rc)
    rc = lib.nsu_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if rc < 0:
        if rc == -_errno.EINVAL and not sets.ambient:   # kernel < 4.3: no ambient set
            return
        raise CapError(f"{sets.field}.ambient", f"prctl(PR_CAP_AMBIENT_CLEAR_ALL): "
                       f"{os.strerror(-rc)}", syscall="prctl", errno=-rc)
    for cap in sorted(sets.ambient):
        rc = lib.nsu_prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)
        if rc < 0:
            name = CAP_BY_NUMBER.get(cap, str(cap))
            hint = None
            if rc == -_errno.EPERM:
                missing = [w for w in ("permitted", "inheritable") if cap not in getattr(sets, w)]
                hint = (f"an ambient capability must also be {' and '.join(missing)}"
                        if missing else "a securebit forbids ambient capabilities")
            if warn is not None:
                warn(f"{sets.field}.ambient: cannot raise {name}: {os.strerror(-rc)}"
                     + (f" ({hint})" if hint else "") + "; skipped")


def set_no_new_privs():
    """process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS, 1).  Irreversible;
    also what lets an unprivileged process load a seccomp filter."""
    _prctl("process.noNewPrivileges", "prctl(PR_SET_NO_NEW_PRIVS, 1)",
           PR_SET_NO_NEW_PRIVS, 1)


def current(pid=0):
    """(effective, permitted, inheritable) of a process as frozensets."""
    ffi, lib = _lib()
    data = ffi.new("uint32_t[6]")
    rc = lib.nsu_capget(pid, data)
    if rc < 0:
        raise CapError("process.capabilities", f"capget: {os.strerror(-rc)}",
                       syscall="capget", errno=-rc)
    out = []
    for i in range(3):
        mask = data[i] | (data[3 + i] << 32)
        out.append(frozenset(c for c in range(64) if mask >> c & 1))
    return tuple(out)
