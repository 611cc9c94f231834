"""`mydocker top` and `stats`: processes and resource use read from the
container's cgroups and /proc."""
import json
import os
import time

from .. import runtime_client as rc
from ..errors import Conflict
from .containers import _cgroup_dir, _cgroup_v2, _runtime, _store, list_containers, state_of


def _proc_row(pid):
    import pwd
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")
        st = os.stat(f"/proc/{pid}")
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    ppid = int(fields[1])
    utime, stime = int(fields[11]), int(fields[12])
    start_ticks = int(fields[19])
    hz = os.sysconf("SC_CLK_TCK")
    try:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
    except OSError:
        uptime = 0
    boot = time.time() - uptime
    started = boot + start_ticks / hz
    cpu_secs = (utime + stime) // hz
    tty_nr = int(fields[4])
    try:
        user = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        user = str(st.st_uid)
    if not cmd:
        comm = stat[stat.index(b"(") + 1:stat.rindex(b")")].decode()
        cmd = f"[{comm}]"
    return {"UID": user, "PID": str(pid), "PPID": str(ppid), "C": "0",
            "STIME": time.strftime("%H:%M", time.localtime(started)),
            "TTY": "?" if tty_nr == 0 else f"pts/{tty_nr & 0xff}",
            "TIME": time.strftime("%H:%M:%S", time.gmtime(cpu_secs)), "CMD": cmd}


def top(paths, ref):
    """(titles, rows) like `docker top` (ps -ef columns)."""
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if st["Status"] not in ("running", "paused"):
        raise Conflict(f"container {rec['Id']} is not running")
    rt = _runtime(paths, rec)
    try:
        pids = json.loads(rc.call(rt, rc.ps_argv(rt, rec["Id"])) or "[]")
    except (rc.RuntimeError_, ValueError):
        pids = _cgroup_pids(rec)
    titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    rows = [r for r in (_proc_row(p) for p in sorted(pids or [])) if r]
    return titles, [[r[t] for t in titles] for r in rows]


def _cgroup_pids(rec):
    try:
        with open(os.path.join(_cgroup_dir("pids", rec["CgroupsPath"]), "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _read_int(path, default=0):
    try:
        with open(path) as f:
            v = f.read().strip()
        return default if v == "max" else int(v)
    except (OSError, ValueError):
        return default


def _mem_total():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _cpu_usage_ns(cg):
    if _cgroup_v2():
        try:
            with open(os.path.join(_cgroup_dir("", cg), "cpu.stat")) as f:
                for line in f:
                    if line.startswith("usage_usec"):
                        return int(line.split()[1]) * 1000
        except OSError:
            return 0
        return 0
    return _read_int(os.path.join(_cgroup_dir("cpuacct", cg), "cpuacct.usage"))


def _mem_usage(cg):
    if _cgroup_v2():
        d = _cgroup_dir("", cg)
        return _read_int(os.path.join(d, "memory.current")), \
            _read_int(os.path.join(d, "memory.max"), 0)
    d = _cgroup_dir("memory", cg)
    usage = _read_int(os.path.join(d, "memory.usage_in_bytes"))
    try:
        with open(os.path.join(d, "memory.stat")) as f:
            for line in f:
                k, v = line.split()
                if k == "total_inactive_file":
                    usage = max(0, usage - int(v))
    except OSError:
        pass
    return usage, _read_int(os.path.join(d, "memory.limit_in_bytes"))


def _blkio(cg):
    rd = wr = 0
    path = os.path.join(_cgroup_dir("blkio", cg), "blkio.throttle.io_service_bytes") \
        if not _cgroup_v2() else os.path.join(_cgroup_dir("", cg), "io.stat")
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if _cgroup_v2():
                    for p in parts[1:]:
                        k, _, v = p.partition("=")
                        if k == "rbytes":
                            rd += int(v)
                        elif k == "wbytes":
                            wr += int(v)
                elif len(parts) == 3 and parts[1] in ("Read", "Write"):
                    if parts[1] == "Read":
                        rd += int(parts[2])
                    else:
                        wr += int(parts[2])
    except (OSError, ValueError):
        pass
    return rd, wr


def stats(paths, refs=(), all_=False, sample=0.5):
    """One sample of each running container's usage (CPU % over `sample` seconds)."""
    store = _store(paths)
    if refs:
        recs = [store.resolve(r) for r in refs]
    else:
        recs = [rec for rec, st in list_containers(paths, all_=all_)]
    first = {}
    t0 = time.monotonic()
    for rec in recs:
        first[rec["Id"]] = _cpu_usage_ns(rec["CgroupsPath"])
    time.sleep(sample)
    dt = time.monotonic() - t0
    total = _mem_total()
    rows = []
    for rec in recs:
        st = state_of(paths, rec)
        running = st["Status"] == "running"
        cg = rec["CgroupsPath"]
        cpu = (_cpu_usage_ns(cg) - first[rec["Id"]]) / (dt * 1e9) * 100 if running else 0.0
        used, limit = _mem_usage(cg) if running else (0, 0)
        if not limit or limit > total:
            limit = total
        pids = len(_cgroup_pids(rec)) if running else 0
        rd, wr = _blkio(cg) if running else (0, 0)
        rows.append({"ID": rec["Id"][:12], "Container": rec["Id"][:12], "Name": rec["Name"],
                     "CPUPerc": f"{max(cpu, 0):.2f}%", "MemUsage": f"{_bytes(used)} / "
                     f"{_bytes(limit)}", "MemPerc": f"{(used / limit * 100 if limit else 0):.2f}%",
                     "NetIO": "0B / 0B", "BlockIO": f"{_bytes(rd, True)} / {_bytes(wr, True)}",
                     "PIDs": str(pids), "MemUsageBytes": used, "MemLimitBytes": limit})
    return rows


def _bytes(n, decimal=False):
    if decimal:
        units, base = ["B", "kB", "MB", "GB", "TB"], 1000.0
    else:
        units, base = ["B", "KiB", "MiB", "GiB", "TiB"], 1024.0
    v = float(n)
    for u in units:
        if v < base or u == units[-1]:
            return f"{v:.4g}{u}" if u != "B" else f"{int(v)}B"
        v /= base
