"""linux.seccomp: validate (pure), build a BPF program (libseccomp), load it.

Three steps, so that each can run where it is cheapest and safest:

  compile(d)  -> Filter    pure: checks config.json's `linux.seccomp` and turns
                           names into numbers; errors name the JSON path
                           (SeccompError(field="linux.seccomp.syscalls[3].action")).
  build(f)    -> Program   libseccomp (runc_py._seccomp, linked to Debian's
                           libseccomp) compiles the rules into a BPF program,
                           exported as bytes.  Needs no privilege; run it in the
                           runtime before forking the container's init if you like.
  load(p)     -> fd | None one seccomp(SECCOMP_SET_MODE_FILTER) syscall on the
                           prepared program; returns the listener fd when the
                           profile uses SCMP_ACT_NOTIFY.

After `load` returns, the caller must go straight to execve: no getcwd (runc
breaks a conformance test that way), no logging, no file access.  `load` itself
does nothing after the syscall but return its result; the libseccomp context is
released in `build`, long before.

Decisions the spec leaves open (or that follow from the kernel):

* Unknown syscall names are IGNORED.  config-linux.md says nothing about names
  the runtime cannot resolve; profiles such as Docker's list syscalls that are
  newer than the host's libseccomp or absent on this architecture, and runc
  skips them too.  `build` records them in Program.ignored so the runtime can
  log a warning; `unknown_syscalls(filter)` gives the same list up front.
  A name that is not even a non-empty string is an error.
* Rules whose action equals the default action are redundant and skipped
  (libseccomp refuses them).
* Conditions on distinct argument indexes are ANDed in one rule.  If one index
  appears more than once in a rule, each condition becomes a rule of its own
  (ORed), as runc does and as Docker's profile expects (e.g. personality).
* SCMP_CMP_MASKED_EQ: `value` is the mask and `valueTwo` the value compared,
  i.e. (arg & value) == valueTwo, as in runc and libseccomp.
* errnoRet/defaultErrnoRet are only valid with SCMP_ACT_ERRNO and
  SCMP_ACT_TRACE (spec: "MUST print an error and fail"); the default is EPERM.
* SCMP_ACT_KILL is SCMP_ACT_KILL_THREAD (libseccomp's meaning).
* Architectures: the native one is always in the filter (libseccomp adds it);
  a syscall from an architecture not in the filter kills the thread
  (libseccomp's default bad-arch action).  Architectures this libseccomp does
  not know (e.g. SCMP_ARCH_LOONGARCH64 with 2.5.4) are an error in `build`.
* Flags: passed to seccomp(2) as asked.  SECCOMP_FILTER_FLAG_NEW_LISTENER is
  added when SCMP_ACT_NOTIFY is used; with TSYNC it also needs TSYNC_ESRCH,
  which is added.  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only concerns
  notifications and is dropped when no rule uses SCMP_ACT_NOTIFY (the kernel
  would refuse it).  no_new_privs is NOT switched on here (libseccomp's
  seccomp_load would): that is process.noNewPrivileges' job.
* SCMP_ACT_NOTIFY needs `listenerPath` (otherwise nobody could answer and the
  syscalls would fail with ENOSYS), may not be the default action, and may not
  be used on the syscalls the runtime makes between loading the filter and
  execve to hand the listener fd over (NOTIFY_RESERVED: write, sendmsg): the
  container would wait for an agent that never got the fd.  youki refuses the
  same (default action, write).

SCMP_ACT_NOTIFY hand-over: `load` returns the listener fd in the container's
init; the init passes it to the runtime over its sync socket (one sendmsg with
SCM_RIGHTS), closes its copy and execs; the runtime, which knows the pid and
state, calls send_listener(fd, listenerPath, state, listenerMetadata).

Privilege: the kernel loads a filter only if no_new_privs is set or the caller
has CAP_SYS_ADMIN in its user namespace.  So the runtime's init must either
  (a) process.noNewPrivileges=true: caps -> prctl(PR_SET_NO_NEW_PRIVS) ->
      load -> execve (as late as possible), or
  (b) noNewPrivileges=false: load while CAP_SYS_ADMIN is still effective,
      i.e. BEFORE caps.apply() and the uid switch (runc's order).  The filter
      then also sees those remaining calls (capset, prctl, setres[ug]id,
      setgroups) and must allow them.
  If the final effective set keeps CAP_SYS_ADMIN (privileged containers), the
  late order (a) works without no_new_privs too.
`load` does not decide; on EACCES it says which of the two was missed.
"""
import errno as _errno
import os

from . import fastjson as json  # `json` would import re and enum (~7 ms)

from .caps import Record
from .errors import RuncPyError

__all__ = ["SeccompError", "Action", "Arg", "Rule", "Filter", "Program", "compile",
           "build", "load", "preload", "send_listener", "unknown_syscalls", "features",
           "ACTIONS", "ARCHES", "FLAGS", "OPERATORS", "NOTIFY_RESERVED"]


class SeccompError(RuncPyError):
    """A problem with linux.seccomp; .field is the JSON path."""

    def __init__(self, field, message, hint=None, errno=None):
        super().__init__(f"{field}: {message}", hint)
        self.field = field
        self.detail = message
        self.errno = errno

    def to_dict(self):
        d = super().to_dict()
        d.update(field=self.field, detail=self.detail, errno=self.errno)
        return d


# libseccomp's action values (seccomp.h); ERRNO and TRACE carry 16 bits of data.
ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000,
    "SCMP_ACT_KILL_THREAD": 0x00000000,
    "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000,
    "SCMP_ACT_ERRNO": 0x00050000,
    "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000,
    "SCMP_ACT_ALLOW": 0x7FFF0000,
    "SCMP_ACT_NOTIFY": 0x7FC00000,
}
_WITH_DATA = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")

# Spec constant -> libseccomp's architecture name (seccomp_arch_resolve_name).
ARCHES = {
    "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
    "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
    "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64",
    "SCMP_ARCH_MIPS64N32": "mips64n32", "SCMP_ARCH_MIPSEL": "mipsel",
    "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
    "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
    "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
    "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
    "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
    "SCMP_ARCH_M68K": "m68k", "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb",
}

# seccomp(2) filter flags (linux/seccomp.h).
FLAGS = {
    "SECCOMP_FILTER_FLAG_TSYNC": 1 << 0,
    "SECCOMP_FILTER_FLAG_LOG": 1 << 1,
    "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 1 << 2,
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 1 << 5,
}
_FLAG_NEW_LISTENER = 1 << 3
_FLAG_TSYNC_ESRCH = 1 << 4

OPERATORS = {
    "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
    "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
}

NOTIFY_RESERVED = ("write", "sendmsg")

_MAX_ARGS = 6          # syscall arguments seccomp can see
_BPF_MAXINSNS = 4096   # kernel limit for one filter
_SUN_PATH_MAX = 107    # sizeof(sun_path) - 1


class Action(Record):
    """name: "SCMP_ACT_ERRNO"...; errno: data for ERRNO/TRACE (EPERM unless given)."""
    __slots__ = ("name", "errno")
    _defaults = {"errno": None}

    @property
    def value(self):
        """The 32-bit libseccomp action value."""
        return ACTIONS[self.name] | ((self.errno or 0) & 0xFFFF)


class Arg(Record):
    """One argument condition: (arg[index] op value[, value_two])."""
    __slots__ = ("index", "op", "value", "value_two")
    _defaults = {"value_two": 0}


class Rule(Record):
    """syscalls[i]: names (tuple), action (Action), args (tuple of Arg), field."""
    __slots__ = ("names", "action", "args", "field")
    _defaults = {"args": (), "field": ""}

    def condition_sets(self):
        """Tuples of Args, each added as one libseccomp rule (see docstring)."""
        indexes = [a.index for a in self.args]
        if len(set(indexes)) != len(indexes):
            return tuple((a,) for a in self.args)
        return (self.args,)


class Filter(Record):
    """The validated linux.seccomp (see compile)."""
    __slots__ = ("default_action", "architectures", "flags", "rules", "listener_path",
                 "listener_metadata", "field")
    _defaults = {"architectures": (), "flags": (), "rules": (), "listener_path": None,
                 "listener_metadata": None, "field": "linux.seccomp"}

    @property
    def uses_notify(self):
        return self.default_action.name == "SCMP_ACT_NOTIFY" or any(
            r.action.name == "SCMP_ACT_NOTIFY" for r in self.rules)

    @property
    def kernel_flags(self):
        """The flags argument for seccomp(SECCOMP_SET_MODE_FILTER)."""
        flags = 0
        for name in self.flags:
            flags |= FLAGS[name]
        if not self.uses_notify:   # meaningless without a listener; the kernel says EINVAL
            flags &= ~FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]
        if self.uses_notify:
            flags |= _FLAG_NEW_LISTENER
            if flags & FLAGS["SECCOMP_FILTER_FLAG_TSYNC"]:
                flags |= _FLAG_TSYNC_ESRCH
        return flags


class Program(Record):
    """A loadable BPF program (struct sock_filter[] as bytes) and its seccomp(2)
    flags; ignored: syscall names libseccomp does not know; skipped: fields of
    rules left out as redundant (same action as the default)."""
    __slots__ = ("insns", "flags", "notify", "ignored", "skipped")
    _defaults = {"notify": False, "ignored": (), "skipped": ()}

    @property
    def count(self):
        return len(self.insns) // 8


# ---------------------------------------------------------------- compile (pure)

def _uint(v, field, bits, what="an unsigned integer"):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= 1 << bits:
        raise SeccompError(field, f"must be {what} below 2^{bits}, got {v!r}")
    return v


def _str(v, field):
    if not isinstance(v, str) or not v:
        raise SeccompError(field, f"must be a non-empty string, got {v!r}")
    return v


def _list(v, field):
    if v is None:
        return []
    if not isinstance(v, list):
        raise SeccompError(field, f"must be an array, got {type(v).__name__}")
    return v


def _action(d, key, errno_key, field):
    name = d.get(key)
    if name is None:
        raise SeccompError(f"{field}.{key}", "is required")
    _str(name, f"{field}.{key}")
    if name not in ACTIONS:
        raise SeccompError(f"{field}.{key}", f"unknown action {name!r}",
                           hint="one of " + ", ".join(sorted(ACTIONS)))
    err = d.get(errno_key)
    if err is not None:
        _uint(err, f"{field}.{errno_key}", 16)
        if name not in _WITH_DATA:
            raise SeccompError(f"{field}.{errno_key}",
                               f"{name} does not take an errno (only SCMP_ACT_ERRNO "
                               "and SCMP_ACT_TRACE do)")
    elif name in _WITH_DATA:
        err = _errno.EPERM
    return Action(name, err)


def _arg(d, field):
    if not isinstance(d, dict):
        raise SeccompError(field, "must be an object")
    for key in ("index", "value", "op"):
        if key not in d:
            raise SeccompError(f"{field}.{key}", "is required")
    index = _uint(d["index"], f"{field}.index", 64)
    if index >= _MAX_ARGS:
        raise SeccompError(f"{field}.index",
                           f"syscalls have {_MAX_ARGS} arguments (0-5), got {index}")
    op = _str(d["op"], f"{field}.op")
    if op not in OPERATORS:
        raise SeccompError(f"{field}.op", f"unknown operator {op!r}",
                           hint="one of " + ", ".join(sorted(OPERATORS)))
    value = _uint(d["value"], f"{field}.value", 64)
    two = d.get("valueTwo", 0)
    two = 0 if two is None else _uint(two, f"{field}.valueTwo", 64)
    return Arg(index, op, value, two)


def _rule(d, field):
    if not isinstance(d, dict):
        raise SeccompError(field, "must be an object")
    if "names" not in d:
        raise SeccompError(f"{field}.names", "is required")
    names = _list(d["names"], f"{field}.names")
    if not names:
        raise SeccompError(f"{field}.names", "must contain at least one syscall name")
    names = tuple(_str(n, f"{field}.names[{i}]") for i, n in enumerate(names))
    action = _action(d, "action", "errnoRet", field)
    args = tuple(_arg(a, f"{field}.args[{i}]")
                 for i, a in enumerate(_list(d.get("args"), f"{field}.args")))
    if action.name == "SCMP_ACT_NOTIFY":
        for i, n in enumerate(names):
            if n in NOTIFY_RESERVED:
                raise SeccompError(
                    f"{field}.names[{i}]",
                    f"SCMP_ACT_NOTIFY cannot be used for {n!r}: the runtime needs it to "
                    "hand the listener fd over before the agent can answer")
    return Rule(names, action, args, field)


def compile(seccomp, field="linux.seccomp"):  # noqa: A001 (the API's name)
    """Validate config.json's linux.seccomp and return a Filter.  Pure."""
    if not isinstance(seccomp, dict):
        raise SeccompError(field, "must be an object")
    default = _action(seccomp, "defaultAction", "defaultErrnoRet", field)
    if default.name == "SCMP_ACT_NOTIFY":
        raise SeccompError(f"{field}.defaultAction",
                           "SCMP_ACT_NOTIFY cannot be the default action: the runtime's "
                           "own calls before execve would wait for an agent that does not "
                           "have the listener fd yet")

    arches = []
    for i, a in enumerate(_list(seccomp.get("architectures"), f"{field}.architectures")):
        _str(a, f"{field}.architectures[{i}]")
        if a not in ARCHES:
            raise SeccompError(f"{field}.architectures[{i}]", f"unknown architecture {a!r}",
                               hint="one of " + ", ".join(sorted(ARCHES)))
        if a not in arches:
            arches.append(a)

    flags = []
    for i, f in enumerate(_list(seccomp.get("flags"), f"{field}.flags")):
        _str(f, f"{field}.flags[{i}]")
        if f not in FLAGS:
            raise SeccompError(f"{field}.flags[{i}]", f"unknown flag {f!r}",
                               hint="one of " + ", ".join(sorted(FLAGS)))
        if f not in flags:
            flags.append(f)

    listener = seccomp.get("listenerPath")
    if listener is not None:
        _str(listener, f"{field}.listenerPath")
        if len(os.fsencode(listener)) > _SUN_PATH_MAX:
            raise SeccompError(f"{field}.listenerPath",
                               f"a unix socket path has at most {_SUN_PATH_MAX} bytes")
    metadata = seccomp.get("listenerMetadata")
    if metadata is not None:
        if not isinstance(metadata, str):
            raise SeccompError(f"{field}.listenerMetadata", "must be a string")
        if listener is None:
            raise SeccompError(f"{field}.listenerMetadata",
                               "must not be set without listenerPath")

    rules = tuple(_rule(r, f"{field}.syscalls[{i}]")
                  for i, r in enumerate(_list(seccomp.get("syscalls"), f"{field}.syscalls")))
    filt = Filter(default, tuple(arches), tuple(flags), rules, listener, metadata, field)
    if filt.uses_notify and listener is None:
        first = next(r for r in rules if r.action.name == "SCMP_ACT_NOTIFY")
        raise SeccompError(f"{field}.listenerPath",
                           f"is required: {first.field} uses SCMP_ACT_NOTIFY, and without a "
                           "listener nobody can answer its notifications")
    return filt


# ---------------------------------------------------------------- build (libseccomp)

def _lib():
    try:
        from ._seccomp import ffi, lib
    except ImportError as e:
        raise SeccompError("linux.seccomp", f"the libseccomp helper is not built ({e})",
                           hint="apt-get install libseccomp-dev && "
                                "python native/build_seccomp.py") from None
    return ffi, lib


def preload():
    """Load libseccomp now (and run its one-time kernel probes), while the
    host's files are still reachable: the init calls this before pivot_root."""
    _, lib = _lib()
    lib.seccomp_api_get()


def libseccomp_version():
    _, lib = _lib()
    v = lib.seccomp_version()
    return f"{v.major}.{v.minor}.{v.micro}"


def unknown_syscalls(filt):
    """Names in the filter's rules that libseccomp cannot resolve (ignored)."""
    _, lib = _lib()
    out = []
    for rule in filt.rules:
        for name in rule.names:
            if lib.seccomp_syscall_resolve_name(name.encode()) == lib.__NR_SCMP_ERROR:
                if name not in out:
                    out.append(name)
    return out


def build(filt):
    """Compile a Filter into a BPF Program with libseccomp.  No privilege needed;
    nothing is loaded."""
    ffi, lib = _lib()
    f = filt.field
    ctx = lib.seccomp_init(filt.default_action.value)
    if ctx == ffi.NULL:
        raise SeccompError(f"{f}.defaultAction",
                           f"libseccomp refused {filt.default_action.name}")
    ignored, skipped = [], []
    try:
        for i, name in enumerate(filt.architectures):
            token = lib.seccomp_arch_resolve_name(ARCHES[name].encode())
            if token == 0:
                raise SeccompError(f"{f}.architectures[{i}]",
                                   f"{name} is not supported by libseccomp "
                                   f"{libseccomp_version()}")
            rc = lib.seccomp_arch_add(ctx, token)
            if rc < 0 and rc != -_errno.EEXIST:
                raise SeccompError(f"{f}.architectures[{i}]",
                                   f"seccomp_arch_add: {os.strerror(-rc)}", errno=-rc)
        for rule in filt.rules:
            if rule.action.value == filt.default_action.value:
                skipped.append(rule.field)
                continue
            csets = rule.condition_sets()
            for j, name in enumerate(rule.names):
                nr = lib.seccomp_syscall_resolve_name(name.encode())
                if nr == lib.__NR_SCMP_ERROR:
                    if name not in ignored:
                        ignored.append(name)
                    continue
                for conds in csets:
                    arr = ffi.new("struct scmp_arg_cmp[]", max(1, len(conds)))
                    for k, a in enumerate(conds):
                        arr[k].arg = a.index
                        arr[k].op = OPERATORS[a.op]
                        arr[k].datum_a = a.value
                        arr[k].datum_b = a.value_two
                    rc = lib.seccomp_rule_add_array(ctx, rule.action.value, nr,
                                                    len(conds), arr)
                    if rc < 0:
                        why = {_errno.EEXIST: "conflicts with an earlier rule for the same "
                                              "syscall and arguments",
                               _errno.EINVAL: "invalid rule"}.get(-rc, os.strerror(-rc))
                        raise SeccompError(f"{rule.field}.names[{j}]",
                                           f"cannot add {rule.action.name} for {name!r}: "
                                           f"{why}", errno=-rc)
        fd = os.memfd_create("runc-py-seccomp", os.MFD_CLOEXEC)
        try:
            rc = lib.seccomp_export_bpf(ctx, fd)
            if rc < 0:
                raise SeccompError(f, f"seccomp_export_bpf: {os.strerror(-rc)}", errno=-rc)
            size = os.lseek(fd, 0, os.SEEK_CUR)
            insns = os.pread(fd, size, 0)
        finally:
            os.close(fd)
    finally:
        lib.seccomp_release(ctx)
    if len(insns) % 8 or not insns:
        raise SeccompError(f, f"libseccomp exported a malformed program ({len(insns)} bytes)")
    if len(insns) // 8 > _BPF_MAXINSNS:
        raise SeccompError(f, f"the profile compiles to {len(insns) // 8} BPF instructions; "
                              f"the kernel allows {_BPF_MAXINSNS}")
    return Program(insns, filt.kernel_flags, filt.uses_notify, tuple(ignored), tuple(skipped))


# ---------------------------------------------------------------- cache

# Compiling a profile with libseccomp is the slowest part of a create with
# Docker's default profile (~15 ms for ~370 rules on three architectures),
# and callers pass the same profile container after container.  So programs
# are kept in <runtime root>/.seccomp-cache, keyed by the profile's text and
# by everything the output depends on: this module, the libseccomp helper
# module and library (file identity), the kernel release and the machine.
# The directory is the runtime's own (0700); a file that is not a regular
# file of ours, private, and well-formed is ignored.

_CACHE_FORMAT = b"runc-py-seccomp 1\n"
_CACHE_MAX = 128


def _libseccomp_file():
    import sys
    ma = getattr(sys.implementation, "_multiarch", "") or ""
    for p in (f"/lib/{ma}/libseccomp.so.2", f"/usr/lib/{ma}/libseccomp.so.2",
              "/usr/lib64/libseccomp.so.2", "/lib64/libseccomp.so.2",
              "/usr/lib/libseccomp.so.2"):
        try:
            return os.stat(p)
        except OSError:
            continue
    return None  # an unusual layout: no caching, compile every time


def _cache_key(spec):
    """Hex key for a profile, or None when the inputs cannot be pinned down."""
    lib_st = _libseccomp_file()
    if lib_st is None:
        return None
    from . import _seccomp   # loaded anyway: the init loads programs with it
    try:
        files = [lib_st, os.stat(os.path.abspath(__file__)), os.stat(_seccomp.__file__)]
    except OSError:
        return None
    u = os.uname()
    text = [_CACHE_FORMAT.decode(), u.release, u.machine, json.dumps(spec)]
    text += [f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}" for st in files]
    try:
        from _sha256 import sha256
    except ImportError:  # pragma: no cover
        from hashlib import sha256
    return sha256("\0".join(text).encode()).hexdigest()


def _cache_read(cache_dir, key):
    try:
        fd = os.open(os.path.join(cache_dir, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if (not (st.st_mode & 0o170000 == 0o100000) or st.st_uid != os.geteuid()
                or st.st_mode & 0o077 or st.st_size > 1 << 20):
            return None
        data = os.read(fd, st.st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        magic, header, insns = data.split(b"\n", 2)
        if magic + b"\n" != _CACHE_FORMAT:
            return None
        h = json.loads(header)
        if (len(insns) != h["count"] * 8 or not 0 < h["count"] <= _BPF_MAXINSNS):
            return None
        return Program(insns, h["flags"], h["notify"], tuple(h["ignored"]), tuple(h["skipped"]))
    except (ValueError, KeyError, TypeError):
        return None


def _cache_write(cache_dir, key, prog):
    try:
        os.makedirs(cache_dir, 0o700, exist_ok=True)
        names = [n for n in os.listdir(cache_dir) if not n.startswith(".")]
        if len(names) >= _CACHE_MAX:   # keep the newer half
            paths = [os.path.join(cache_dir, n) for n in names]
            paths.sort(key=lambda p: os.stat(p).st_mtime_ns if os.path.exists(p) else 0)
            for p in paths[:len(paths) // 2]:
                try:
                    os.unlink(p)
                except OSError:
                    pass
        header = json.dumps({"count": prog.count, "flags": prog.flags, "notify": prog.notify,
                             "ignored": list(prog.ignored), "skipped": list(prog.skipped)})
        tmp = os.path.join(cache_dir, f".{key}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, _CACHE_FORMAT + header.encode() + b"\n" + prog.insns)
        finally:
            os.close(fd)
        os.replace(tmp, os.path.join(cache_dir, key))
    except OSError:
        pass  # a cache only: the next create compiles again


def program_for(spec, cache_dir=None):
    """The BPF Program for a config's linux.seccomp: from the cache when the
    same profile was compiled before on this host, else compiled (errors name
    the field) and stored.  The loader is imported either way, so the init can
    load the program after pivot_root."""
    _lib()   # the loader (and the error when it is missing), hit or miss
    key = _cache_key(spec) if cache_dir else None
    if key:
        prog = _cache_read(cache_dir, key)
        if prog is not None:
            return prog
    preload()
    prog = build(compile(spec))
    if key:
        _cache_write(cache_dir, key, prog)
    return prog


# ---------------------------------------------------------------- load (kernel)

def load(filt):
    """Load a Filter or a prebuilt Program into the CURRENT process.  Returns the
    listener fd for SCMP_ACT_NOTIFY, else None.  Go straight to execve after."""
    prog = filt if isinstance(filt, Program) else build(filt)
    ffi, lib = _lib()
    buf = ffi.from_buffer(prog.insns)
    count = prog.count
    flags = prog.flags
    rc = lib.rps_set_filter(flags, buf, count)   # the filter is live from here on
    if rc >= 0:
        return rc if prog.notify else None
    err = -rc
    hint = None
    if err == _errno.EACCES:
        hint = ("the kernel loads a filter only with no_new_privs set or CAP_SYS_ADMIN: "
                "set process.noNewPrivileges, or load before capabilities are dropped")
    elif err == _errno.EINVAL and flags & ~(FLAGS["SECCOMP_FILTER_FLAG_TSYNC"] |
                                             _FLAG_NEW_LISTENER):
        hint = "this kernel may not support one of linux.seccomp.flags"
    raise SeccompError("linux.seccomp", f"seccomp(SECCOMP_SET_MODE_FILTER): "
                       f"{os.strerror(err)}", hint=hint, errno=err)


# ---------------------------------------------------------------- listener

def process_state(state, metadata=None, pid=None, fds=("seccompFd",)):
    """The spec's "container process state" around a runtime state dict."""
    msg = {"ociVersion": state.get("ociVersion", "1.0.2"), "fds": list(fds),
           "pid": pid if pid is not None else state.get("pid"), "state": state}
    if metadata is not None:
        msg["metadata"] = metadata
    return msg


def send_listener(fd, listener_path, state_json_bytes, metadata=None, timeout=10.0):
    """Send the seccomp listener fd to the agent at `listener_path`, as
    config-linux.md says: one AF_UNIX SOCK_STREAM connection, the container
    process state as JSON with the fd in SCM_RIGHTS on the first sendmsg,
    then close.  `state_json_bytes` is the container's runtime state (the
    `state` command's JSON, bytes/str/dict); ociVersion and pid come from it."""
    import socket
    import struct
    field = "linux.seccomp.listenerPath"
    if isinstance(state_json_bytes, (bytes, str)):
        state = json.loads(state_json_bytes)
    else:
        state = dict(state_json_bytes)
    payload = json.dumps(process_state(state, metadata)).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.settimeout(timeout)
        sock.connect(listener_path)
        rights = struct.pack("i", fd)
        sent = sock.sendmsg([payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)])
        if sent < len(payload):
            sock.sendall(payload[sent:])
    except OSError as e:
        raise SeccompError(field, f"sending the seccomp fd to {listener_path}: "
                                  f"{e.strerror or e}", errno=e.errno) from None
    finally:
        sock.close()


def features():
    """linux.seccomp for `runc-py features` (features-linux.md)."""
    try:
        _, lib = _lib()
        archs = sorted(a for a, n in ARCHES.items()
                       if lib.seccomp_arch_resolve_name(n.encode()) != 0)
        enabled = True
    except SeccompError:
        archs, enabled = [], False
    return {"enabled": enabled, "actions": sorted(ACTIONS), "operators": sorted(OPERATORS),
            "archs": archs, "knownFlags": sorted(FLAGS), "supportedFlags": sorted(FLAGS)}
