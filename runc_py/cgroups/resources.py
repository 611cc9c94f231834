"""Pure translation of the spec's `linux.resources` into cgroup file writes.

One function per controller and cgroup version maps the resources dict to a
list of Write(controller, file, value, field): the controller whose hierarchy
(v1) or enablement (v2) the write needs, the file name inside the container's
cgroup directory, the string to write, and the config.json path it came from.
Values are checked here (types, ranges, cross-field rules), so a bad config
fails before any cgroup exists, with an error naming the field.

Nothing here touches the filesystem; fs.py performs the writes and manager.py
picks, per controller, the version a host serves it with (hybrid hosts mix
both).  `devices` is translated in devices.py.
"""
from ..lazyre import LazyRegex

from .errors import CgroupError
from .paths import BASE
from .write import Write
from ..spec.lexical import is_cpu_list

__all__ = ["Write", "V1", "V2", "KINDS", "translate", "shares_to_weight",
           "blkio_weight_to_io_weight", "swap_to_v2", "hugepage_file_size"]

INT64_MAX = 2 ** 63 - 1
UINT32_MAX = 2 ** 32 - 1
PIDS_MAX = 4194304                # PID_MAX_LIMIT on 64-bit kernels
CFS_QUOTA_MAX = 2 ** 44 - 1       # the scheduler's bandwidth limit, in us
CPU_SHARES_MIN, CPU_SHARES_MAX = 2, 262144
CFS_PERIOD_MIN, CFS_PERIOD_MAX = 1000, 1000000




# ---------------------------------------------------------------- helpers

def _section(resources, key):
    sub = resources.get(key)
    if sub is None:
        return None
    want = list if key in ("hugepageLimits", "devices") else dict
    if not isinstance(sub, want):
        raise CgroupError(f"{BASE}.{key}", f"must be {'an array' if want is list else 'an object'},"
                                           f" got {type(sub).__name__}")
    return sub


def _int(obj, key, field, lo=0, hi=INT64_MAX, minus_one=False):
    """obj[key] as an int in [lo, hi] (or -1 if allowed); None when absent."""
    v = obj.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise CgroupError(field, f"must be an integer, got {v!r}", value=v)
    if minus_one and v == -1:
        return v
    if v < lo or v > hi:
        extra = " or -1 for unlimited" if minus_one else ""
        raise CgroupError(field, f"{v} is out of range: must be between {lo} and {hi}{extra}",
                          value=v)
    return v


def _bool(obj, key, field):
    v = obj.get(key)
    if v is not None and not isinstance(v, bool):
        raise CgroupError(field, f"must be true or false, got {v!r}", value=v)
    return v


def _unsupported_v2(field, what, value):
    return CgroupError(field, f"{what} has no cgroup v2 equivalent; remove it or set it to "
                              f"its default", value=value,
                       hint="this host uses cgroup v2 for this controller")




def _cpulist(obj, key, field):
    v = obj.get(key)
    if v is None or v == "":
        return None
    if not isinstance(v, str) or not is_cpu_list(v.replace(" ", "")):
        # say which range runs backwards when that is the only fault
        for part in (v.replace(" ", "").split(",") if isinstance(v, str) else ()):
            a, _, b = part.partition("-")
            if a.isdigit() and b.isdigit() and int(b) < int(a):
                raise CgroupError(field, f"range {part!r} runs backwards", value=v)
        raise CgroupError(field, f"{v!r} is not a list like \"0-3,7\"", value=v)
    return v.replace(" ", "")


def _device(entry, field):
    if not isinstance(entry, dict):
        raise CgroupError(field, f"must be an object, got {entry!r}", value=entry)
    major = _int(entry, "major", f"{field}.major", 0, UINT32_MAX)
    minor = _int(entry, "minor", f"{field}.minor", 0, UINT32_MAX)
    if major is None or minor is None:
        raise CgroupError(field, "major and minor are required")
    return f"{major}:{minor}"


# ---------------------------------------------------------------- memory

def _memory_values(resources):
    mem = _section(resources, "memory")
    if not mem:
        return None
    f = f"{BASE}.memory"
    vals = {k: _int(mem, k, f"{f}.{k}", 0, INT64_MAX, minus_one=True)
            for k in ("limit", "reservation", "swap", "kernel", "kernelTCP")}
    # 0 means "not set" for byte limits, as runc and Docker treat it
    vals = {k: (None if v == 0 else v) for k, v in vals.items()}
    vals["swappiness"] = _int(mem, "swappiness", f"{f}.swappiness", 0, 100)
    for k in ("disableOOMKiller", "useHierarchy", "checkBeforeUpdate"):
        vals[k] = _bool(mem, k, f"{f}.{k}")
    lim, swap = vals["limit"], vals["swap"]
    if lim not in (None, -1) and swap not in (None, -1) and swap < lim:
        raise CgroupError(f"{f}.swap", f"memory+swap limit {swap} is below the memory limit "
                                       f"{lim}: `swap` counts memory plus swap", value=swap)
    return vals


def memory_v1(resources):
    v = _memory_values(resources)
    if v is None:
        return []
    f = f"{BASE}.memory"
    out = []
    if v["limit"] is not None:
        out.append(Write("memory", "memory.limit_in_bytes", str(v["limit"]), f"{f}.limit"))
    if v["swap"] is not None:
        out.append(Write("memory", "memory.memsw.limit_in_bytes", str(v["swap"]), f"{f}.swap",
                         optional=v["swap"] == -1))
    if v["reservation"] is not None:
        out.append(Write("memory", "memory.soft_limit_in_bytes", str(v["reservation"]),
                         f"{f}.reservation"))
    if v["kernel"] is not None:
        # deprecated by the kernel (5.16) and by the spec: only "unlimited" may be dropped
        out.append(Write("memory", "memory.kmem.limit_in_bytes", str(v["kernel"]),
                         f"{f}.kernel", optional=v["kernel"] == -1))
    if v["kernelTCP"] is not None:
        out.append(Write("memory", "memory.kmem.tcp.limit_in_bytes", str(v["kernelTCP"]),
                         f"{f}.kernelTCP", optional=v["kernelTCP"] == -1))
    if v["swappiness"] is not None:
        out.append(Write("memory", "memory.swappiness", str(v["swappiness"]), f"{f}.swappiness"))
    if v["disableOOMKiller"]:
        out.append(Write("memory", "memory.oom_control", "1", f"{f}.disableOOMKiller"))
    if v["useHierarchy"] is not None:
        out.append(Write("memory", "memory.use_hierarchy", "1" if v["useHierarchy"] else "0",
                         f"{f}.useHierarchy"))
    return out


def swap_to_v2(swap, limit):
    """OCI `swap` (memory+swap, v1 meaning) -> memory.swap.max, or None (unset)."""
    if swap is None:
        return "max" if limit == -1 else None
    if swap == -1:
        return "max"
    if limit in (None, -1):
        raise CgroupError(f"{BASE}.memory.swap", "a swap limit needs a memory limit on cgroup v2 "
                                                 "(memory.swap.max = swap - limit)", value=swap)
    return str(swap - limit)


def memory_v2(resources):
    v = _memory_values(resources)
    if v is None:
        return []
    f = f"{BASE}.memory"
    out = []
    max_of = lambda n: "max" if n == -1 else str(n)  # noqa: E731
    swap = swap_to_v2(v["swap"], v["limit"])
    # memory.swap.max first: lowering memory.max must not push pages to a swap
    # the new config forbids
    if swap is not None:
        out.append(Write("memory", "memory.swap.max", swap, f"{f}.swap", optional=swap == "max"))
    if v["limit"] is not None:
        out.append(Write("memory", "memory.max", max_of(v["limit"]), f"{f}.limit"))
    if v["reservation"] is not None:
        out.append(Write("memory", "memory.low", max_of(v["reservation"]), f"{f}.reservation"))
    for key in ("kernel", "kernelTCP"):
        if v[key] not in (None, -1):
            raise _unsupported_v2(f"{f}.{key}", "a kernel memory limit", v[key])
    if v["swappiness"] is not None:
        raise _unsupported_v2(f"{f}.swappiness", "memory.swappiness", v["swappiness"])
    if v["disableOOMKiller"]:
        raise _unsupported_v2(f"{f}.disableOOMKiller", "disabling the OOM killer", True)
    if v["useHierarchy"] is False:
        raise CgroupError(f"{f}.useHierarchy", "cgroup v2 accounting is always hierarchical",
                          value=False)
    return out


# ---------------------------------------------------------------- cpu

def _cpu_values(resources):
    cpu = _section(resources, "cpu")
    if not cpu:
        return None
    f = f"{BASE}.cpu"
    v = {
        "shares": _int(cpu, "shares", f"{f}.shares", 0, CPU_SHARES_MAX),
        "quota": _int(cpu, "quota", f"{f}.quota", 0, CFS_QUOTA_MAX, minus_one=True),
        "period": _int(cpu, "period", f"{f}.period", 0, CFS_PERIOD_MAX),
        "burst": _int(cpu, "burst", f"{f}.burst", 0, CFS_QUOTA_MAX),
        "realtimeRuntime": _int(cpu, "realtimeRuntime", f"{f}.realtimeRuntime", 0, INT64_MAX,
                                minus_one=True),
        "realtimePeriod": _int(cpu, "realtimePeriod", f"{f}.realtimePeriod", 0, INT64_MAX),
        "idle": _int(cpu, "idle", f"{f}.idle", 0, 1),
    }
    if v["shares"] is not None and 0 < v["shares"] < CPU_SHARES_MIN:
        raise CgroupError(f"{f}.shares", f"{v['shares']} is out of range: must be between "
                                         f"{CPU_SHARES_MIN} and {CPU_SHARES_MAX}",
                          value=v["shares"])
    if v["period"] and v["period"] < CFS_PERIOD_MIN:
        raise CgroupError(f"{f}.period", f"{v['period']} is out of range: must be between "
                                         f"{CFS_PERIOD_MIN} and {CFS_PERIOD_MAX} microseconds",
                          value=v["period"])
    if v["quota"] is not None and 0 < v["quota"] < 1000:
        raise CgroupError(f"{f}.quota", f"{v['quota']} is too small: the kernel needs at least "
                                        f"1000 microseconds (or -1 for unlimited)",
                          value=v["quota"])
    if v["burst"] and v["quota"] and v["quota"] > 0 and v["burst"] > v["quota"]:
        raise CgroupError(f"{f}.burst", f"burst {v['burst']} is larger than quota {v['quota']}",
                          value=v["burst"])
    # 0 means "not set" for shares and periods
    for k in ("shares", "period", "quota", "realtimePeriod"):
        if v[k] == 0:
            v[k] = None
    return v


def cpu_v1(resources):
    v = _cpu_values(resources)
    if v is None:
        return []
    f = f"{BASE}.cpu"
    out = []
    if v["shares"] is not None:
        out.append(Write("cpu", "cpu.shares", str(v["shares"]), f"{f}.shares"))
    if v["period"] is not None:
        out.append(Write("cpu", "cpu.cfs_period_us", str(v["period"]), f"{f}.period"))
    if v["quota"] is not None:
        out.append(Write("cpu", "cpu.cfs_quota_us", str(v["quota"]), f"{f}.quota"))
    if v["burst"] is not None:
        out.append(Write("cpu", "cpu.cfs_burst_us", str(v["burst"]), f"{f}.burst"))
    if v["realtimePeriod"] is not None:
        out.append(Write("cpu", "cpu.rt_period_us", str(v["realtimePeriod"]),
                         f"{f}.realtimePeriod"))
    if v["realtimeRuntime"] is not None:
        out.append(Write("cpu", "cpu.rt_runtime_us", str(v["realtimeRuntime"]),
                         f"{f}.realtimeRuntime"))
    if v["idle"] is not None:
        out.append(Write("cpu", "cpu.idle", str(v["idle"]), f"{f}.idle"))
    return out


def shares_to_weight(shares):
    """cgroup v1 cpu.shares [2, 262144] -> v2 cpu.weight [1, 10000]."""
    return 1 + ((shares - 2) * 9999) // 262142


def cpu_v2(resources):
    v = _cpu_values(resources)
    if v is None:
        return []
    f = f"{BASE}.cpu"
    out = []
    if v["shares"] is not None:
        out.append(Write("cpu", "cpu.weight", str(shares_to_weight(v["shares"])), f"{f}.shares"))
    if v["quota"] is not None or v["period"] is not None:
        quota = "max" if v["quota"] in (None, -1) else str(v["quota"])
        period = v["period"] or 100000
        field = f"{f}.quota" if v["quota"] is not None else f"{f}.period"
        out.append(Write("cpu", "cpu.max", f"{quota} {period}", field))
    if v["burst"] is not None:
        out.append(Write("cpu", "cpu.max.burst", str(v["burst"]), f"{f}.burst"))
    if v["idle"] is not None:
        out.append(Write("cpu", "cpu.idle", str(v["idle"]), f"{f}.idle"))
    for key in ("realtimeRuntime", "realtimePeriod"):
        if v[key] not in (None, 0):
            raise _unsupported_v2(f"{f}.{key}", "the realtime scheduler's group bandwidth", v[key])
    return out


def cpuset_v1(resources):
    cpu = _section(resources, "cpu")
    if not cpu:
        return []
    f = f"{BASE}.cpu"
    out = []
    cpus, mems = _cpulist(cpu, "cpus", f"{f}.cpus"), _cpulist(cpu, "mems", f"{f}.mems")
    if cpus is not None:
        out.append(Write("cpuset", "cpuset.cpus", cpus, f"{f}.cpus"))
    if mems is not None:
        out.append(Write("cpuset", "cpuset.mems", mems, f"{f}.mems"))
    return out


cpuset_v2 = cpuset_v1        # same file names and formats on both versions


# ---------------------------------------------------------------- pids

def pids_v1(resources):
    pids = _section(resources, "pids")
    if not pids:
        return []
    lim = _int(pids, "limit", f"{BASE}.pids.limit", 0, PIDS_MAX, minus_one=True)
    if lim is None:
        return []
    # 0 is a real limit (no new tasks at all), as the spec says
    return [Write("pids", "pids.max", "max" if lim == -1 else str(lim), f"{BASE}.pids.limit")]


pids_v2 = pids_v1


# ---------------------------------------------------------------- block I/O

_THROTTLES = (("throttleReadBpsDevice", "read_bps_device", "rbps"),
              ("throttleWriteBpsDevice", "write_bps_device", "wbps"),
              ("throttleReadIOPSDevice", "read_iops_device", "riops"),
              ("throttleWriteIOPSDevice", "write_iops_device", "wiops"))


def _blockio(resources):
    bio = _section(resources, "blockIO")
    if not bio:
        return None
    f = f"{BASE}.blockIO"
    v = {"weight": _int(bio, "weight", f"{f}.weight", 0, 1000),
         "leafWeight": _int(bio, "leafWeight", f"{f}.leafWeight", 0, 1000),
         "weightDevice": [], "throttles": []}
    for k in ("weight", "leafWeight"):
        if v[k] is not None and 0 < v[k] < 10:
            raise CgroupError(f"{f}.{k}", f"{v[k]} is out of range: must be between 10 and 1000",
                              value=v[k])
        if v[k] == 0:
            v[k] = None
    wd = bio.get("weightDevice") or []
    if not isinstance(wd, list):
        raise CgroupError(f"{f}.weightDevice", "must be an array")
    for i, e in enumerate(wd):
        ef = f"{f}.weightDevice[{i}]"
        dev = _device(e, ef)
        w = _int(e, "weight", f"{ef}.weight", 10, 1000)
        lw = _int(e, "leafWeight", f"{ef}.leafWeight", 10, 1000)
        if w is None and lw is None:
            raise CgroupError(ef, "needs at least one of weight or leafWeight")
        v["weightDevice"].append((ef, dev, w, lw))
    for key, _v1, _v2 in _THROTTLES:
        lst = bio.get(key) or []
        if not isinstance(lst, list):
            raise CgroupError(f"{f}.{key}", "must be an array")
        for i, e in enumerate(lst):
            ef = f"{f}.{key}[{i}]"
            dev = _device(e, ef)
            rate = _int(e, "rate", f"{ef}.rate", 0, INT64_MAX)
            if rate is None:
                raise CgroupError(f"{ef}.rate", "is required")
            v["throttles"].append((key, ef, dev, rate))
    return v


def blkio_v1(resources):
    v = _blockio(resources)
    if v is None:
        return []
    f = f"{BASE}.blockIO"
    out = []
    if v["weight"] is not None:
        # CFQ's blkio.weight is gone from current kernels; BFQ's takes the same range
        out.append(Write("blkio", "blkio.weight", str(v["weight"]), f"{f}.weight",
                         alternatives=(("blkio.bfq.weight", str(v["weight"])),)))
    if v["leafWeight"] is not None:
        out.append(Write("blkio", "blkio.leaf_weight", str(v["leafWeight"]), f"{f}.leafWeight"))
    for ef, dev, w, lw in v["weightDevice"]:
        if w is not None:
            out.append(Write("blkio", "blkio.weight_device", f"{dev} {w}", f"{ef}.weight",
                             alternatives=(("blkio.bfq.weight_device", f"{dev} {w}"),)))
        if lw is not None:
            out.append(Write("blkio", "blkio.leaf_weight_device", f"{dev} {lw}",
                             f"{ef}.leafWeight"))
    names = {k: v1 for k, v1, _ in _THROTTLES}
    for key, ef, dev, rate in v["throttles"]:
        out.append(Write("blkio", f"blkio.throttle.{names[key]}", f"{dev} {rate}", f"{ef}.rate"))
    return out


def blkio_weight_to_io_weight(weight):
    """v1 blkio weight [10, 1000] -> v2 io.weight [1, 10000]."""
    return 1 + (weight - 10) * 9999 // 990


def io_v2(resources):
    v = _blockio(resources)
    if v is None:
        return []
    f = f"{BASE}.blockIO"
    out = []
    if v["weight"] is not None:
        w = v["weight"]
        out.append(Write("io", "io.bfq.weight", str(w), f"{f}.weight",
                         alternatives=(("io.weight", f"default {blkio_weight_to_io_weight(w)}"),)))
    if v["leafWeight"] is not None:
        raise _unsupported_v2(f"{f}.leafWeight", "leafWeight", v["leafWeight"])
    for ef, dev, w, lw in v["weightDevice"]:
        if lw is not None:
            raise _unsupported_v2(f"{ef}.leafWeight", "leafWeight", lw)
        out.append(Write("io", "io.bfq.weight", f"{dev} {w}", f"{ef}.weight",
                         alternatives=(("io.weight", f"{dev} {blkio_weight_to_io_weight(w)}"),)))
    names = {k: v2 for k, _, v2 in _THROTTLES}
    for key, ef, dev, rate in v["throttles"]:
        out.append(Write("io", "io.max", f"{dev} {names[key]}={rate or 'max'}", f"{ef}.rate"))
    return out


# ---------------------------------------------------------------- hugetlb

_PAGESIZE = LazyRegex(r"^(\d+)(KB|MB|GB|TB|PB)$")
_UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}


def hugepage_file_size(page_size, field):
    """"2048KB" or "2MB" -> "2MB", the way the kernel names hugetlb files."""
    m = _PAGESIZE.match(page_size) if isinstance(page_size, str) else None
    if not m or int(m.group(1)) == 0:
        raise CgroupError(field, f"{page_size!r} is not a page size like \"2MB\" or \"1GB\"",
                          value=page_size)
    size = int(m.group(1)) * _UNITS[m.group(2)]
    if size >= 1 << 30:
        return f"{size >> 30}GB"
    if size >= 1 << 20:
        return f"{size >> 20}MB"
    return f"{size >> 10}KB"


def _hugetlb(resources):
    lst = _section(resources, "hugepageLimits")
    out = []
    for i, e in enumerate(lst or []):
        ef = f"{BASE}.hugepageLimits[{i}]"
        if not isinstance(e, dict):
            raise CgroupError(ef, "must be an object")
        size = hugepage_file_size(e.get("pageSize"), f"{ef}.pageSize")
        lim = _int(e, "limit", f"{ef}.limit", 0, INT64_MAX)
        if lim is None:
            raise CgroupError(f"{ef}.limit", "is required")
        out.append((ef, size, lim))
    return out


def hugetlb_v1(resources):
    out = []
    for ef, size, lim in _hugetlb(resources):
        out.append(Write("hugetlb", f"hugetlb.{size}.limit_in_bytes", str(lim), f"{ef}.limit"))
        out.append(Write("hugetlb", f"hugetlb.{size}.rsvd.limit_in_bytes", str(lim),
                         f"{ef}.limit", optional=True))
    return out


def hugetlb_v2(resources):
    out = []
    for ef, size, lim in _hugetlb(resources):
        out.append(Write("hugetlb", f"hugetlb.{size}.max", str(lim), f"{ef}.limit"))
        out.append(Write("hugetlb", f"hugetlb.{size}.rsvd.max", str(lim), f"{ef}.limit",
                         optional=True))
    return out


# ---------------------------------------------------------------- network

_IFNAME = LazyRegex(r"^[^\s/]{1,15}$")


def _network(resources):
    net = _section(resources, "network")
    if not net:
        return None, []
    f = f"{BASE}.network"
    classid = _int(net, "classID", f"{f}.classID", 0, UINT32_MAX)
    prios = []
    lst = net.get("priorities") or []
    if not isinstance(lst, list):
        raise CgroupError(f"{f}.priorities", "must be an array")
    for i, e in enumerate(lst):
        ef = f"{f}.priorities[{i}]"
        if not isinstance(e, dict):
            raise CgroupError(ef, "must be an object")
        name = e.get("name")
        if not isinstance(name, str) or not _IFNAME.match(name):
            raise CgroupError(f"{ef}.name", f"{name!r} is not an interface name", value=name)
        prio = _int(e, "priority", f"{ef}.priority", 0, UINT32_MAX)
        if prio is None:
            raise CgroupError(f"{ef}.priority", "is required")
        prios.append((ef, name, prio))
    return classid, prios


def net_cls_v1(resources):
    classid, _ = _network(resources)
    if classid is None:
        return []
    return [Write("net_cls", "net_cls.classid", str(classid), f"{BASE}.network.classID")]


def net_prio_v1(resources):
    _, prios = _network(resources)
    return [Write("net_prio", "net_prio.ifpriomap", f"{name} {prio}", f"{ef}.priority")
            for ef, name, prio in prios]


def network_v2(resources):
    classid, prios = _network(resources)
    if classid is not None:
        raise _unsupported_v2(f"{BASE}.network.classID", "net_cls", classid)
    if prios:
        raise _unsupported_v2(f"{prios[0][0]}", "net_prio", prios[0][2])
    return []


# ---------------------------------------------------------------- rdma

def rdma_v1(resources):
    rdma = _section(resources, "rdma")
    out = []
    for dev, lim in (rdma or {}).items():
        ef = f"{BASE}.rdma.{dev}"
        if not isinstance(dev, str) or not _IFNAME.match(dev) or "=" in dev:
            raise CgroupError(ef, f"{dev!r} is not an RDMA device name", value=dev)
        if not isinstance(lim, dict):
            raise CgroupError(ef, "must be an object")
        h = _int(lim, "hcaHandles", f"{ef}.hcaHandles", 0, UINT32_MAX)
        o = _int(lim, "hcaObjects", f"{ef}.hcaObjects", 0, UINT32_MAX)
        if h is None and o is None:
            raise CgroupError(ef, "needs at least one of hcaHandles or hcaObjects")
        parts = [dev] + ([f"hca_handle={h}"] if h is not None else []) + \
            ([f"hca_object={o}"] if o is not None else [])
        out.append(Write("rdma", "rdma.max", " ".join(parts), ef))
    return out


rdma_v2 = rdma_v1


# ---------------------------------------------------------------- unified

_UNIFIED_KEY = LazyRegex(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9_.]+$")


def unified_v2(resources):
    uni = _section(resources, "unified")
    out = []
    for key, value in (uni or {}).items():
        ef = f'{BASE}.unified["{key}"]'
        if not isinstance(key, str) or not _UNIFIED_KEY.match(key) or ".." in key:
            raise CgroupError(ef, f"{key!r} is not a cgroup v2 file name like \"memory.high\"",
                              value=key)
        if not isinstance(value, str):
            raise CgroupError(ef, f"value must be a string, got {value!r}", value=value)
        ctrl = key.split(".", 1)[0]
        out.append(Write("" if ctrl == "cgroup" else ctrl, key, value, ef))
    return out


def unified_v1(resources):
    if _section(resources, "unified"):
        raise CgroupError(f"{BASE}.unified", "needs a cgroup v2 hierarchy, and this host has "
                                             "only cgroup v1")
    return []


# ---------------------------------------------------------------- registry

# kind -> (v1 subsystem, v2 controller, v1 function, v2 function); order = write order
KINDS = {
    "cpuset": ("cpuset", "cpuset", cpuset_v1, cpuset_v2),
    "cpu": ("cpu", "cpu", cpu_v1, cpu_v2),
    "memory": ("memory", "memory", memory_v1, memory_v2),
    "pids": ("pids", "pids", pids_v1, pids_v2),
    "blockIO": ("blkio", "io", blkio_v1, io_v2),
    "hugetlb": ("hugetlb", "hugetlb", hugetlb_v1, hugetlb_v2),
    "net_cls": ("net_cls", None, net_cls_v1, network_v2),
    "net_prio": ("net_prio", None, net_prio_v1, network_v2),
    "rdma": ("rdma", "rdma", rdma_v1, rdma_v2),
}
V1 = {k: t[2] for k, t in KINDS.items()}
V2 = {k: t[3] for k, t in KINDS.items()}


def translate(resources, version):
    """All writes (devices excepted) for a host serving every controller with
    `version` ("v1" or "v2").  Hybrid hosts call the per-kind functions."""
    if resources is None:
        return []
    if not isinstance(resources, dict):
        raise CgroupError(BASE, "must be an object")
    table = V1 if version == "v1" else V2
    out = []
    for kind, fn in table.items():
        if kind == "net_prio" and fn is network_v2:
            continue                 # one network_v2 call covers both
        out.extend(fn(resources))
    out.extend(unified_v1(resources) if version == "v1" else unified_v2(resources))
    return out
