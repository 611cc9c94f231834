"""Cgroup counters in the shape of runc's `events --stats` "data" object:
cpu, memory, pids, blkio, hugetlb.  Read-only; missing files give zeros."""
import os
import re

from . import fs

__all__ = ["collect"]

_NS_PER_TICK = 10 ** 9 // 100      # cpuacct.stat counts USER_HZ (100) ticks
_MAX = 2 ** 64 - 1                 # what runc reports for "max"


def _num(path, default=0):
    try:
        text = fs.read(path).strip()
    except Exception:
        return default
    if text == "max":
        return _MAX
    try:
        return int(text.split()[0]) if text else default
    except ValueError:
        return default


def collect(cg):
    data = {}
    data["cpu"] = _cpu(cg)
    data["memory"] = _memory(cg)
    data["pids"] = _pids(cg)
    data["blkio"] = _blkio(cg)
    data["hugetlb"] = _hugetlb(cg)
    return data


def _cpu(cg):
    usage, throttling = {"total": 0, "percpu": [], "kernel": 0, "user": 0}, {}
    version, d = cg.dir_for("cpu")
    if version == "v2":
        st = fs.read_keyed(os.path.join(d, "cpu.stat"))
        usage.update(total=st.get("usage_usec", 0) * 1000, user=st.get("user_usec", 0) * 1000,
                     kernel=st.get("system_usec", 0) * 1000)
        throttling = {"periods": st.get("nr_periods", 0),
                      "throttledPeriods": st.get("nr_throttled", 0),
                      "throttledTime": st.get("throttled_usec", 0) * 1000}
    elif version == "v1":
        st = fs.read_keyed(os.path.join(d, "cpu.stat"))
        throttling = {"periods": st.get("nr_periods", 0),
                      "throttledPeriods": st.get("nr_throttled", 0),
                      "throttledTime": st.get("throttled_time", 0)}
    av, ad = cg.dir_for("cpuacct")
    if av == "v1":
        usage["total"] = _num(os.path.join(ad, "cpuacct.usage"))
        try:
            usage["percpu"] = [int(x) for x in
                               fs.read(os.path.join(ad, "cpuacct.usage_percpu")).split()]
        except Exception:
            pass
        st = fs.read_keyed(os.path.join(ad, "cpuacct.stat"))
        usage["user"] = st.get("user", 0) * _NS_PER_TICK
        usage["kernel"] = st.get("system", 0) * _NS_PER_TICK
    return {"usage": usage, "throttling": throttling}


def _memory(cg):
    version, d = cg.dir_for("memory")
    out = {}
    if version == "v1":
        def entry(prefix):
            return {"limit": _num(os.path.join(d, f"{prefix}.limit_in_bytes")),
                    "usage": _num(os.path.join(d, f"{prefix}.usage_in_bytes")),
                    "max": _num(os.path.join(d, f"{prefix}.max_usage_in_bytes")),
                    "failcnt": _num(os.path.join(d, f"{prefix}.failcnt"))}
        raw = fs.read_keyed(os.path.join(d, "memory.stat"))
        out = {"cache": raw.get("total_cache", raw.get("cache", 0)),
               "usage": entry("memory"), "swap": entry("memory.memsw"),
               "kernel": entry("memory.kmem"), "kernelTCP": entry("memory.kmem.tcp"),
               "raw": raw}
        oom = fs.read_keyed(os.path.join(d, "memory.oom_control"))
        out["oom_kill"] = oom.get("oom_kill", 0)
    elif version == "v2":
        raw = fs.read_keyed(os.path.join(d, "memory.stat"))
        events = fs.read_keyed(os.path.join(d, "memory.events"))
        out = {"cache": raw.get("file", 0),
               "usage": {"limit": _num(os.path.join(d, "memory.max"), _MAX),
                         "usage": _num(os.path.join(d, "memory.current")),
                         "max": _num(os.path.join(d, "memory.peak")),
                         "failcnt": events.get("max", 0)},
               "swap": {"limit": _num(os.path.join(d, "memory.swap.max"), _MAX),
                        "usage": _num(os.path.join(d, "memory.swap.current")),
                        "max": _num(os.path.join(d, "memory.swap.peak")), "failcnt": 0},
               "raw": raw, "oom_kill": events.get("oom_kill", 0)}
    return out


def _pids(cg):
    version, d = cg.dir_for("pids")
    if version is None:
        return {}
    lim = _num(os.path.join(d, "pids.max"), 0)
    return {"current": _num(os.path.join(d, "pids.current")), "limit": 0 if lim == _MAX else lim}


def _blkio(cg):
    version, d = cg.dir_for("blkio", "io")
    out = {}
    if version == "v1":
        for key, fname in (("ioServiceBytesRecursive", "io_service_bytes_recursive"),
                           ("ioServicedRecursive", "io_serviced_recursive")):
            entries = []
            path = os.path.join(d, f"blkio.throttle.{fname}")
            for line in fs.read_lines(path, []):
                parts = line.split()
                if len(parts) == 3 and ":" in parts[0]:
                    major, minor = parts[0].split(":")
                    entries.append({"major": int(major), "minor": int(minor),
                                    "op": parts[1], "value": int(parts[2])})
            out[key] = entries
    elif version == "v2":
        sb, sv = [], []
        for line in fs.read_lines(os.path.join(d, "io.stat"), []):
            parts = line.split()
            if not parts or ":" not in parts[0]:
                continue
            major, minor = (int(x) for x in parts[0].split(":"))
            kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
            for op, b, n in (("Read", "rbytes", "rios"), ("Write", "wbytes", "wios")):
                sb.append({"major": major, "minor": minor, "op": op, "value": int(kv.get(b, 0))})
                sv.append({"major": major, "minor": minor, "op": op, "value": int(kv.get(n, 0))})
        out = {"ioServiceBytesRecursive": sb, "ioServicedRecursive": sv}
    return out


def _hugetlb(cg):
    version, d = cg.dir_for("hugetlb")
    out = {}
    if version is None or not os.path.isdir(d):
        return out
    pat = re.compile(r"^hugetlb\.(\d+[KMG]B)\.(limit_in_bytes|max)$")
    for name in sorted(os.listdir(d)):
        m = pat.match(name)
        if not m:
            continue
        size = m.group(1)
        if version == "v1":
            out[size] = {"usage": _num(os.path.join(d, f"hugetlb.{size}.usage_in_bytes")),
                         "max": _num(os.path.join(d, f"hugetlb.{size}.max_usage_in_bytes")),
                         "failcnt": _num(os.path.join(d, f"hugetlb.{size}.failcnt"))}
        else:
            ev = fs.read_keyed(os.path.join(d, f"hugetlb.{size}.events"))
            out[size] = {"usage": _num(os.path.join(d, f"hugetlb.{size}.current")),
                         "max": 0, "failcnt": ev.get("max", 0)}
    return out
