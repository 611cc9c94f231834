"""Operations on a live container, as runc has them: ps, pause, resume,
events, update, checkpoint, restore.

Each `cmd_<verb>(opts, o, pos) -> exit code` is called by cli.dispatch with
the parsed flags `o` (keys from cli.COMMANDS) and the positional arguments
`pos` (pos[0] is the container ID).  Everything goes through the
container's saved cgroup (`Cgroup.from_dict(c.priv["cgroup"])`): the pids
in it, its freezer, its limits, its counters.  Bad input raises UsageError,
a container in the wrong state StateError, an unknown ID NotFoundError;
cgroup failures come back as errors naming the resource field and file.
"""
import json
import os
import re
import sys
import time

from . import state as S
from .errors import RuncPyError, StateError, StepError, UsageError

__all__ = ["cmd_ps", "cmd_pause", "cmd_resume", "cmd_events", "cmd_update",
           "cmd_checkpoint", "cmd_restore", "parse_bytes", "parse_duration",
           "check_resource_keys", "resources_from_flags"]


# ---------------------------------------------------------------- helpers

def _load(opts, cmd, pos):
    if not pos:
        raise UsageError(f"{cmd}: a container ID is required")
    cid = pos[0]
    S.validate_id(cid)
    return S.Container(opts.root, cid).load()


def _cgroup(c, what):
    """The container's Cgroup, or a StateError saying why there is none."""
    d = c.priv.get("cgroup")
    if not d:
        raise StateError(f"cannot {what} container {c.id!r}: it has no cgroup "
                         f"(created without cgroup support)")
    from .cgroups import Cgroup
    return Cgroup.from_dict(d)


def _cgroup_failure(what, e):
    """A CgroupError -> the runtime's error: a kernel refusal (errno) is a
    StepError, a value rejected before writing is a UsageError."""
    # update's input is LinuxResources itself: name its fields from there
    text = str(e).replace("linux.resources.", "resources.")
    if getattr(e, "errno", None):
        err = StepError(what, text)
        err.field = getattr(e, "field", None)
        return err
    return UsageError(f"{what}: {text}")


# ---------------------------------------------------------------- ps

def cmd_ps(opts, o, pos):
    """`ps ID [--format table|json] [-- ps args]`: the container's processes.
    json: the host pids in its cgroup; table: host `ps` (default `-ef`)
    filtered to those pids, header kept."""
    fmt = o.format or "table"
    if fmt not in ("table", "json"):
        raise UsageError(f"ps: --format must be table or json, not {fmt!r}")
    c = _load(opts, "ps", pos)
    pids = []
    if c.priv.get("cgroup") and c.status() != "stopped":
        from .cgroups import CgroupError
        try:
            pids = _cgroup(c, "list processes of").pids()
        except CgroupError as e:
            raise _cgroup_failure("ps", e)
    if fmt == "json":
        if len(pos) > 1:
            raise UsageError("ps: ps arguments cannot be used with --format json")
        sys.stdout.write(json.dumps(pids) + "\n")
        return 0
    import shutil
    import subprocess
    args = pos[1:] or ["-ef"]
    ps = shutil.which("ps")
    if ps is None:
        raise RuncPyError("ps: the host has no `ps` command", hint="install procps")
    r = subprocess.run([ps, *args], stdin=subprocess.DEVNULL, capture_output=True)
    if r.returncode != 0:
        raise RuncPyError(f"ps {' '.join(args)} failed: "
                          f"{r.stderr.decode(errors='replace').strip() or r.returncode}")
    lines = r.stdout.decode(errors="replace").splitlines()
    if not lines:
        raise RuncPyError(f"ps {' '.join(args)} printed nothing")
    header = lines[0].split()
    if "PID" not in header:
        raise UsageError(f"ps {' '.join(args)}: no PID column in its output",
                         hint="keep the pid in the format, e.g. `-o pid,args`")
    col = header.index("PID")
    want = set(pids)
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split(None, col + 1)
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in want:
            out.append(line)
    sys.stdout.write("\n".join(out) + "\n")
    return 0


# ---------------------------------------------------------------- pause / resume

def cmd_pause(opts, o, pos):
    """Freeze every process of a running container (v1 freezer.state or v2
    cgroup.freeze); `state` then says "paused"."""
    c = _load(opts, "pause", pos)
    c.lock()
    try:
        c.require("pause", "running")
        cg = _cgroup(c, "pause")
        from .cgroups import CgroupError
        try:
            cg.freeze()
        except CgroupError as e:
            try:
                cg.thaw()
            except CgroupError:
                pass
            raise _cgroup_failure("pause", e)
        c.priv["paused"] = True
        c.save()
    finally:
        c.unlock()
    return 0


def cmd_resume(opts, o, pos):
    """Thaw a paused container."""
    c = _load(opts, "resume", pos)
    c.lock()
    try:
        st = c.status()
        if st != "paused":
            raise StateError(f"cannot resume container {c.id!r}: container is {st}, not paused")
        cg = _cgroup(c, "resume")
        from .cgroups import CgroupError
        try:
            cg.thaw()
        except CgroupError as e:
            raise _cgroup_failure("resume", e)
        c.priv.pop("paused", None)
        c.save()
    finally:
        c.unlock()
    return 0


# ---------------------------------------------------------------- events

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text, flag="--interval"):
    """A Go duration ("5s", "100ms", "1m30s") -> seconds (float)."""
    s = (text or "").strip()
    if s == "0":
        raise UsageError(f"{flag} must be greater than 0")
    pos, total = 0, 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise UsageError(f"{flag}: invalid duration {text!r}",
                         hint="use a number with a unit, e.g. 5s, 500ms, 1m")
    if total <= 0:
        raise UsageError(f"{flag} must be greater than 0")
    return total


def _emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def _stats_event(c, cg):
    return {"type": "stats", "id": c.id, "data": cg.stats()}


def cmd_events(opts, o, pos):
    """`events ID --stats`: one stats event, then exit.  Without --stats:
    a stats event every --interval (default 5s) and an "oom" event each time
    the cgroup's OOM-kill count rises, until the container stops."""
    interval = parse_duration(o.interval) if o.interval is not None else 5.0
    c = _load(opts, "events", pos)
    st = c.status()
    if st == "stopped":
        raise StateError(f"cannot get events of container {c.id!r}: container is stopped")
    cg = _cgroup(c, "get events of")
    from .cgroups import CgroupError
    try:
        if o.stats:
            _emit(_stats_event(c, cg))
            return 0
        ooms = cg.oom_kill_count()
        tick = min(interval, 0.1)
        next_stats = time.monotonic()
        while True:
            try:
                now_ooms = cg.oom_kill_count()
            except (CgroupError, OSError):
                now_ooms = ooms          # the cgroup went away with the container
            for _ in range(max(0, now_ooms - ooms)):
                _emit({"type": "oom", "id": c.id})
            ooms = max(ooms, now_ooms)
            if c.status() == "stopped":
                return 0
            if time.monotonic() >= next_stats:
                try:
                    _emit(_stats_event(c, cg))
                except (CgroupError, OSError):
                    if c.status() == "stopped":
                        return 0
                    raise
                next_stats += interval
            time.sleep(tick)
    except BrokenPipeError:
        return 0
    except CgroupError as e:
        raise _cgroup_failure("events", e)


# ---------------------------------------------------------------- update

# The LinuxResources keys `update` accepts (config-linux.md#control-groups),
# and where a key exists in the spec but cannot be changed on a live container.
_KEYS = {
    "memory": {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
               "disableOOMKiller", "useHierarchy", "checkBeforeUpdate"},
    "cpu": {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod",
            "cpus", "mems", "idle"},
    "pids": {"limit"},
    "blockIO": {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice",
                "throttleWriteBpsDevice", "throttleReadIOPSDevice",
                "throttleWriteIOPSDevice"},
    "unified": None,                 # free-form map of v2 file names
}
_NOT_UPDATABLE = {"devices", "hugepageLimits", "network", "rdma"}


def check_resource_keys(res):
    """Reject keys that are not LinuxResources fields (typos would otherwise
    be silently ignored) and those `update` cannot change."""
    if not isinstance(res, dict):
        raise UsageError(f"update: resources must be a JSON object, not {type(res).__name__}")
    for key, sub in res.items():
        if key in _NOT_UPDATABLE:
            raise UsageError(f"update: resources.{key} cannot be changed on a running "
                             f"container (runc's update does not either)")
        if key not in _KEYS:
            raise UsageError(f"update: unknown resource {key!r} in resources",
                             hint="known: " + ", ".join(sorted(_KEYS)))
        allowed = _KEYS[key]
        if allowed is None or sub is None:
            continue
        if not isinstance(sub, dict):
            raise UsageError(f"update: resources.{key} must be an object, not "
                             f"{type(sub).__name__}")
        for k in sub:
            if k not in allowed:
                raise UsageError(f"update: unknown resource '{key}.{k}' in resources",
                                 hint=f"known in {key}: " + ", ".join(sorted(allowed)))


_SIZE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_MULT = {None: 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def parse_bytes(text, flag):
    """A size like runc's flags take: "1048576", "512k", "64m", "1.5g",
    "2GiB"; "-1" for unlimited."""
    s = str(text).strip()
    if s == "-1":
        return -1
    m = _SIZE.match(s)
    if not m:
        raise UsageError(f"--{flag}: invalid size {text!r}",
                         hint="use bytes or a k/m/g/t suffix, e.g. 64m; -1 for unlimited")
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _MULT[unit])


def _int(text, flag, lo=None, allow_minus_one=False):
    try:
        v = int(str(text).strip())
    except ValueError:
        raise UsageError(f"--{flag}: {text!r} is not an integer")
    if allow_minus_one and v == -1:
        return v
    if lo is not None and v < lo:
        raise UsageError(f"--{flag}: {v} must be >= {lo}")
    return v


# flag -> (section, key, parser)
_FLAGS = {
    "memory": ("memory", "limit", lambda v, f: parse_bytes(v, f)),
    "memory_reservation": ("memory", "reservation", lambda v, f: parse_bytes(v, f)),
    "memory_swap": ("memory", "swap", lambda v, f: parse_bytes(v, f)),
    "cpu_period": ("cpu", "period", lambda v, f: _int(v, f, 0)),
    "cpu_quota": ("cpu", "quota", lambda v, f: _int(v, f, 0, True)),
    "cpu_share": ("cpu", "shares", lambda v, f: _int(v, f, 0)),
    "cpu_rt_period": ("cpu", "realtimePeriod", lambda v, f: _int(v, f, 0)),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", lambda v, f: _int(v, f, 0, True)),
    "cpu_burst": ("cpu", "burst", lambda v, f: _int(v, f, 0)),
    "cpu_idle": ("cpu", "idle", lambda v, f: _int(v, f, 0)),
    "cpuset_cpus": ("cpu", "cpus", lambda v, f: v),
    "cpuset_mems": ("cpu", "mems", lambda v, f: v),
    "pids_limit": ("pids", "limit", lambda v, f: _int(v, f, 0, True)),
    "blkio_weight": ("blockIO", "weight", lambda v, f: _int(v, f, 0)),
}


def resources_from_flags(o):
    """The individual update flags -> a partial LinuxResources dict."""
    res = {}
    for key, (section, field, parse) in _FLAGS.items():
        val = o.get(key)
        if val is None:
            continue
        res.setdefault(section, {})[field] = parse(val, key.replace("_", "-"))
    return res


def _read_resources(path):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path) as f:
                text = f.read()
    except OSError as e:
        raise UsageError(f"update: cannot read --resources {path}: {e.strerror}")
    try:
        return json.loads(text)
    except ValueError as e:
        src = "stdin" if path == "-" else path
        raise UsageError(f"update: --resources {src} is not valid JSON: {e}")


def _merge(base, extra):
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k].update(v)
        else:
            out[k] = v
    return out


def cmd_update(opts, o, pos):
    """`update ID --resources FILE|-` and/or flags (--memory 64m, --pids-limit
    N, --cpu-quota ...): write the new limits into the container's cgroup."""
    if o.l3_cache_schema or o.mem_bw_schema:
        raise UsageError("update: --l3-cache-schema/--mem-bw-schema (Intel RDT) cannot be "
                         "changed on a running container by runc-py")
    res = {}
    if o.resources:
        res = _read_resources(o.resources)
        check_resource_keys(res)
    res = _merge(res, resources_from_flags(o))
    if not any(v not in (None, {}) for v in res.values()):
        raise UsageError("update: nothing to update",
                         hint="pass --resources FILE (or - for stdin) or a flag like "
                              "--memory 64m, --pids-limit 100, --cpu-quota 50000")
    c = _load(opts, "update", pos)
    c.lock()
    try:
        c.require("update", "created", "running", "paused")
        cg = _cgroup(c, "update")
        from .cgroups import CgroupError
        try:
            cg.update(res)
        except CgroupError as e:
            raise _cgroup_failure("update", e)
        # remember what was set, so later readers of the state see the limits
        c.priv["resources"] = _merge(c.priv.get("resources") or {}, res)
        c.save()
    finally:
        c.unlock()
    return 0


# ---------------------------------------------------------------- checkpoint / restore

def _criu(verb):
    import shutil
    path = os.environ.get("RUNC_PY_CRIU") or shutil.which("criu")
    if not path or not os.access(path, os.X_OK):
        raise RuncPyError(f"{verb} needs CRIU: install the criu package",
                          hint="apt-get install criu")
    # CRIU that cannot run on this kernel would fail half-way through a dump;
    # say so up front with CRIU's own reason (seen: criu 3.17 on kernel 6.18
    # cannot parse the vDSO, and runc's checkpoint fails the same way)
    import subprocess
    r = subprocess.run([path, "check"], capture_output=True, text=True)
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout).splitlines() if "Error" in ln]
        why = lines[0] if lines else (r.stderr or r.stdout).strip()[:200]
        raise RuncPyError(f"{verb}: CRIU cannot run on this host (`criu check` failed: {why})",
                          hint="a CRIU release that supports this kernel is needed")
    return path


def cmd_checkpoint(opts, o, pos):
    _criu("checkpoint")
    c = _load(opts, "checkpoint", pos)
    c.require("checkpoint", "running", "paused")
    raise RuncPyError("checkpoint: runc-py does not drive CRIU yet (criu is installed, "
                      "but dumping a container's namespaces, mounts and cgroups is not "
                      "implemented)", hint="use runc for checkpoint/restore for now")


def cmd_restore(opts, o, pos):
    _criu("restore")
    if not pos:
        raise UsageError("restore: a container ID is required")
    S.validate_id(pos[0])
    if S.Container(opts.root, pos[0]).exists():
        raise StateError(f"cannot restore container {pos[0]!r}: a container with this id "
                         f"already exists")
    raise RuncPyError("restore: runc-py does not drive CRIU yet (criu is installed, but "
                      "restoring a container is not implemented)",
                      hint="use runc for checkpoint/restore for now")

