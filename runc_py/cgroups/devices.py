"""Device access rules: `linux.resources.devices` for cgroup v1 and v2.

parse_rules() checks the spec entries (allow, type, major, minor, access) and
returns Rule tuples.  For v1 they become devices.allow / devices.deny writes
(v1_writes, pure).  For v2 they become an eBPF program of type
BPF_PROG_TYPE_CGROUP_DEVICE, generated here in pure Python as raw
instruction bytes (program), loaded and attached to the cgroup directory with
the bpf(2) wrapper of the native helper (attach; root only).

Rule semantics on both versions follow the spec and the v1 kernel: entries
apply in order, so the LAST matching entry decides.  The program checks the
rules from last to first and returns at the first match; when none matches it
allows, as a cgroup with no rules does.  An allow entry matches an access
only if it grants every requested bit (r, w, m); a deny entry matches if it
denies any of them.
"""
import os
from ..records import record

from .errors import CgroupError
from .write import Write

__all__ = ["Rule", "parse_rules", "v1_writes", "program", "attach", "attached_programs",
           "detach_all", "default_rules", "ACC_MKNOD", "ACC_READ", "ACC_WRITE",
           "DEV_BLOCK", "DEV_CHAR"]

BASE = "linux.resources.devices"
MAJOR_MAX, MINOR_MAX = (1 << 12) - 1, (1 << 20) - 1

# struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
# access_type = (access << 16) | type
DEV_BLOCK, DEV_CHAR = 1, 2
ACC_MKNOD, ACC_READ, ACC_WRITE = 1, 2, 4
_ACC = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_TYPE = {"b": DEV_BLOCK, "c": DEV_CHAR}


class Rule(record("Rule", "allow type major minor access field")):
    """allow: bool; type "a"/"b"/"c"; major, minor: int or None (any);
    access: a non-empty subset of "rwm", in that order; field: JSON path."""
    __slots__ = ()

    @property
    def mask(self):
        return sum(_ACC[c] for c in self.access)


def parse_rules(devices):
    """Spec `devices` entries -> [Rule]; CgroupError names the bad entry's field."""
    if devices is None:
        return []
    if not isinstance(devices, list):
        raise CgroupError(BASE, "must be an array", value=devices)
    rules = []
    for i, e in enumerate(devices):
        f = f"{BASE}[{i}]"
        if not isinstance(e, dict):
            raise CgroupError(f, f"must be an object, got {e!r}", value=e)
        allow = e.get("allow")
        if not isinstance(allow, bool):
            raise CgroupError(f"{f}.allow", f"is required and must be true or false, got {allow!r}",
                              value=allow)
        typ = e.get("type") or "a"
        if typ not in ("a", "b", "c"):
            raise CgroupError(f"{f}.type", f"{typ!r} is not a device type: use \"a\" (all), "
                                           f"\"c\" (char) or \"b\" (block)", value=typ)
        nums = []
        for key, hi in (("major", MAJOR_MAX), ("minor", MINOR_MAX)):
            v = e.get(key)
            if v is None or v == -1:            # unset or runc's wildcard: any
                nums.append(None)
            elif isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
                raise CgroupError(f"{f}.{key}", f"{v!r} is not a device {key} number "
                                                f"(0-{hi}, or unset for any)", value=v)
            else:
                nums.append(v)
        access = e.get("access") or "rwm"
        if not isinstance(access, str) or not access or set(access) - set("rwm"):
            raise CgroupError(f"{f}.access", f"{access!r} is not a combination of r, w and m",
                              value=access)
        access = "".join(c for c in "rwm" if c in access)
        rules.append(Rule(allow, typ, nums[0], nums[1], access, f))
    return rules


def _num(n):
    return "*" if n is None else str(n)


def v1_writes(rules):
    """Rules -> ordered devices.allow / devices.deny writes (cgroup v1)."""
    out = []
    for r in rules:
        fname = "devices.allow" if r.allow else "devices.deny"
        if r.type == "a" and r.major is None and r.minor is None and r.access == "rwm":
            out.append(Write("devices", fname, "a", r.field))
            continue
        # the kernel reads any "a" entry as "everything"; narrower ones become c + b
        for t in (("c", "b") if r.type == "a" else (r.type,)):
            out.append(Write("devices", fname, f"{t} {_num(r.major)}:{_num(r.minor)} {r.access}",
                             r.field))
    return out


def default_rules():
    """The device rules runc adds for every container (deny all, then the
    standard character devices), for the lifecycle to put before the spec's."""
    def c(major, minor, access="rwm"):
        return {"allow": True, "type": "c", "major": major, "minor": minor, "access": access}
    return [{"allow": False, "access": "rwm"},
            {"allow": True, "type": "c", "access": "m"}, {"allow": True, "type": "b", "access": "m"},
            c(1, 3), c(1, 5), c(1, 7), c(1, 8), c(1, 9), c(5, 0), c(5, 1), c(5, 2), c(136, None),
            c(10, 200)]


# ---------------------------------------------------------------- eBPF program

def _insn(code, dst=0, src=0, off=0, imm=0):
    import struct  # (v2 only: the v1 path does without its ~0.2 ms import)
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


_LDXW = 0x61        # BPF_LDX | BPF_MEM | BPF_W
_MOV64X = 0xbf      # BPF_ALU64 | BPF_MOV | BPF_X
_MOV64K = 0xb7      # BPF_ALU64 | BPF_MOV | BPF_K
_AND64K = 0x57      # BPF_ALU64 | BPF_AND | BPF_K
_RSH64K = 0x77      # BPF_ALU64 | BPF_RSH | BPF_K
_JEQK = 0x15        # BPF_JMP | BPF_JEQ | BPF_K
_JNEK = 0x55        # BPF_JMP | BPF_JNE | BPF_K
_EXIT = 0x95        # BPF_JMP | BPF_EXIT

# registers: r1 ctx (then scratch), r2 access bits, r3 type, r4 major, r5 minor
_PROLOGUE = [
    (_LDXW, 2, 1, 0, 0),        # r2 = ctx->access_type
    (_MOV64X, 3, 2, 0, 0),      # r3 = r2
    (_AND64K, 3, 0, 0, 0xffff),  # r3 &= 0xffff          (device type)
    (_RSH64K, 2, 0, 0, 16),     # r2 >>= 16              (requested access)
    (_LDXW, 4, 1, 4, 0),        # r4 = ctx->major
    (_LDXW, 5, 1, 8, 0),        # r5 = ctx->minor
]


def _block(rule):
    """Instructions for one rule; None in the offset slot = "to the next rule"."""
    body = []
    if rule.type != "a":
        body.append((_JNEK, 3, 0, None, _TYPE[rule.type]))
    if rule.major is not None:
        body.append((_JNEK, 4, 0, None, rule.major))
    if rule.minor is not None:
        body.append((_JNEK, 5, 0, None, rule.minor))
    if rule.mask != 7:
        body.append((_MOV64X, 1, 2, 0, 0))
        if rule.allow:      # skip unless every requested bit is granted
            body += [(_AND64K, 1, 0, 0, 7 & ~rule.mask), (_JNEK, 1, 0, None, 0)]
        else:               # skip unless some requested bit is denied
            body += [(_AND64K, 1, 0, 0, rule.mask), (_JEQK, 1, 0, None, 0)]
    body += [(_MOV64K, 0, 0, 0, 1 if rule.allow else 0), (_EXIT, 0, 0, 0, 0)]
    n = len(body)
    return [(c, d, s, (n - i - 1) if off is None else off, imm)
            for i, (c, d, s, off, imm) in enumerate(body)]


def program(rules):
    """Rules -> BPF_PROG_TYPE_CGROUP_DEVICE instructions, as bytes."""
    insns = list(_PROLOGUE)
    for rule in reversed(rules):
        insns += _block(rule)
        if rule.type == "a" and rule.major is None and rule.minor is None and rule.mask == 7:
            break       # matches everything: what follows is unreachable (the verifier says no)
    else:
        insns += [(_MOV64K, 0, 0, 0, 1), (_EXIT, 0, 0, 0, 0)]      # no rule matched: allow
    return b"".join(_insn(*i) for i in insns)


# ---------------------------------------------------------------- bpf(2)

BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_DETACH = 5, 8, 9
BPF_PROG_GET_FD_BY_ID, BPF_PROG_QUERY = 13, 16
BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI = 15, 6, 2


def _bpf(cmd, layout, values, size, what, path, field):
    import struct
    from runc_py._native import ffi, lib
    attr = ffi.new("char[]", size)
    buf = ffi.buffer(attr)
    for (fmt, off), v in zip(layout, values):
        struct.pack_into(fmt, buf, off, v)
    rc = lib.nsu_bpf(cmd, attr, size)
    if rc < 0:
        raise CgroupError.from_oserror(OSError(-rc, os.strerror(-rc)), field, what, path)
    return rc, buf


def _load(code, path, field):
    from runc_py._native import ffi
    insns = ffi.new("char[]", code)
    lic = ffi.new("char[]", b"Apache-2.0")
    name = b"runcpy_devices"
    addr = lambda p: int(ffi.cast("uintptr_t", p))  # noqa: E731
    layout = [("<I", 0), ("<I", 4), ("<Q", 8), ("<Q", 16), ("16s", 48)]
    values = [BPF_PROG_TYPE_CGROUP_DEVICE, len(code) // 8, addr(insns), addr(lic), name]
    try:
        fd, _ = _bpf(BPF_PROG_LOAD, layout, values, 72, "load a device eBPF program for", path,
                     field)
        return fd
    except CgroupError as e:
        # load again with the verifier's log, for the error message
        log = ffi.new("char[]", 65536)
        layout += [("<I", 24), ("<I", 28), ("<Q", 32)]
        values += [1, 65536, addr(log)]
        try:
            return _bpf(BPF_PROG_LOAD, layout, values, 72, "load", path, field)[0]
        except CgroupError:
            text = ffi.string(log).decode(errors="replace").strip().splitlines()
            if text:
                e.hint = "verifier: " + " | ".join(text[-3:])
            raise e from None


def attached_programs(path, field=BASE):
    """IDs of the device programs attached to the cgroup directory `path`."""
    import struct
    from runc_py._native import ffi
    fd = _open_dir(path, field)
    try:
        ids = ffi.new("uint32_t[]", 64)
        layout = [("<I", 0), ("<I", 4), ("<Q", 16), ("<I", 24)]
        _, buf = _bpf(BPF_PROG_QUERY, layout,
                      [fd, BPF_CGROUP_DEVICE, int(ffi.cast("uintptr_t", ids)), 64], 40,
                      "query device programs of", path, field)
        count = struct.unpack_from("<I", buf, 24)[0]
        return [ids[i] for i in range(count)]
    finally:
        os.close(fd)


def _open_dir(path, field):
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise CgroupError.from_oserror(e, field, "open", path) from None


def _detach(cg_fd, prog_id, path, field):
    pfd, _ = _bpf(BPF_PROG_GET_FD_BY_ID, [("<I", 0)], [prog_id], 12,
                  f"get program {prog_id} attached to", path, field)
    try:
        _bpf(BPF_PROG_DETACH, [("<I", 0), ("<I", 4), ("<I", 8)],
             [cg_fd, pfd, BPF_CGROUP_DEVICE], 20, f"detach program {prog_id} from", path, field)
    finally:
        os.close(pfd)


def attach(path, rules, field=BASE):
    """Load the program for `rules` and attach it to cgroup v2 directory
    `path`, replacing the device programs attached there before."""
    old = attached_programs(path, field)
    prog_fd = _load(program(rules), path, field)
    cg_fd = _open_dir(path, field)
    try:
        _bpf(BPF_PROG_ATTACH, [("<I", 0), ("<I", 4), ("<I", 8), ("<I", 12)],
             [cg_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI], 20,
             "attach the device eBPF program to", path, field)
        for prog_id in old:
            _detach(cg_fd, prog_id, path, field)
    finally:
        os.close(cg_fd)
        os.close(prog_fd)


def detach_all(path, field=BASE):
    """Detach every device program attached to `path` (used on update with no rules)."""
    cg_fd = _open_dir(path, field)
    try:
        for prog_id in attached_programs(path, field):
            _detach(cg_fd, prog_id, path, field)
    finally:
        os.close(cg_fd)
