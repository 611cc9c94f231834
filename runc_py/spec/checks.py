"""Cross-field checks of a config.json that a JSON Schema cannot express (or
that the runtime must enforce even when it skips the schema on its hot path).

    check(doc)     -> list[Problem]   errors: the runtime must refuse the config
    warnings(doc)  -> list[Problem]   things the spec says to log, not to fail on

Each Problem names the offending field by JSON path (``hostname``,
``process.capabilities.bounding[2]``, ``linux.sysctl["net.ipv4.ip_forward"]``).
The checks are pure and import nothing heavy.  They never raise on malformed
input: a field of the wrong type is skipped here (the schema reports it), so
``check`` can run on any parsed JSON.

Sources: the OCI runtime spec v1.3 text (config.md, config-linux.md), where it
says MUST or "generate an error"; and kernel limits that make a value fail for
certain (sethostname's 64 bytes, the time namespace's two clocks, seccomp's six
syscall arguments, cgroup file names), checked here so the user hears about the
field instead of an errno from deep inside container setup.
"""

from .problem import LazyRegex, Problem, format_path
from .lexical import is_cpu_list, is_syscall_name, semver_major

__all__ = ["Problem", "check", "warnings", "CAPABILITIES", "RLIMITS", "NAMESPACE_TYPES"]

# capabilities(7), numbered as in linux/capability.h, up to CAP_CHECKPOINT_RESTORE.
CAPABILITIES = {name: i for i, name in enumerate((
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"))}

# getrlimit(2), numbered as in asm-generic/resource.h.
RLIMITS = {name: i for i, name in enumerate((
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"))}

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")

CAP_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")
SECCOMP_ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                   "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW",
                   "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
SECCOMP_ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")
SECCOMP_OPS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
               "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
SECCOMP_FLAGS = ("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                 "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
SECCOMP_ARCHES = tuple("SCMP_ARCH_" + a for a in (
    "X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL",
    "MIPSEL64", "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC",
    "PARISC64", "RISCV64", "LOONGARCH64", "M68K", "SH", "SHEB"))
PROPAGATIONS = ("shared", "slave", "private", "unbindable",
                "rshared", "rslave", "rprivate", "runbindable", "")
MPOL_MODES = ("MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
              "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL")

_PAGE_SIZE = LazyRegex(r"^[0-9]+[KMGTPE]?B$")
_HOST_NAME_MAX = 64          # __NEW_UTS_LEN: sethostname/setdomainname fail beyond it
_IFNAMSIZ = 16               # interface names are at most 15 bytes
_UID_MAP_LINES = 340         # kernel limit on lines in uid_map/gid_map (since 4.15)
_ID_SPACE = 1 << 32


def _d(value):
    return value if isinstance(value, dict) else {}


def _l(value):
    return value if isinstance(value, list) else []


def _int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _str(value):
    return isinstance(value, str)


class _Report:
    def __init__(self):
        self.items = []

    def add(self, parts, message):
        self.items.append(Problem(format_path(parts), message))


def _namespaces(doc):
    """{type: (index, entry)} for the first entry of each type."""
    found = {}
    for i, ns in enumerate(_l(_d(doc.get("linux")).get("namespaces"))):
        ns = _d(ns)
        if _str(ns.get("type")) and ns["type"] not in found:
            found[ns["type"]] = (i, ns)
    return found


def _has_ns(doc, kind):
    return kind in _namespaces(doc)


def _new_ns(doc, kind):
    """True when the config asks for a new namespace of this kind (no path)."""
    entry = _namespaces(doc).get(kind)
    return entry is not None and not entry[1].get("path")


_valid_cpu_list = is_cpu_list


# --- errors ---------------------------------------------------------------------

def check(doc):
    """Errors the runtime must refuse the config for; empty when it is fine."""
    if not isinstance(doc, dict):
        return [Problem("$", "must be a JSON object")]
    r = _Report()
    _check_version(doc, r)
    _check_root(doc, r)
    _check_process(doc, r)
    _check_uts(doc, r)
    _check_mounts(doc, r)
    _check_hooks(doc, r)
    linux = _d(doc.get("linux"))
    _check_namespaces(doc, linux, r)
    _check_id_mappings(doc, linux, r)
    _check_time_offsets(doc, linux, r)
    _check_devices(linux, r)
    _check_net_devices(doc, linux, r)
    _check_sysctl(doc, linux, r)
    _check_cgroups_path(linux, r)
    _check_resources(_d(linux.get("resources")), r)
    _check_intel_rdt(_d(linux.get("intelRdt")), r)
    _check_memory_policy(linux, r)
    _check_seccomp(linux, r)
    _check_linux_misc(linux, r)
    return r.items


def _check_version(doc, r):
    version = doc.get("ociVersion")
    if version is None:
        r.add(["ociVersion"], "is required")
    elif _str(version):
        major = semver_major(version)
        if major is None:
            r.add(["ociVersion"], f"must be a SemVer version such as 1.2.0 (got {version!r})")
        elif major != "1":
            r.add(["ociVersion"], f"version {version} is not supported: runc-py implements "
                                  "the 1.x runtime specification")


def _check_root(doc, r):
    root = doc.get("root")
    if root is None:
        r.add(["root"], "is required on Linux")
    elif isinstance(root, dict):
        path = root.get("path")
        if path is None or path == "":
            r.add(["root", "path"], "is required (the container's root filesystem)")


def _check_process(doc, r):
    proc = doc.get("process")
    if not isinstance(proc, dict):
        return
    p = ["process"]
    args = proc.get("args")
    if args is None or args == []:
        r.add(p + ["args"], "must have at least one entry (the program to run)")
    elif isinstance(args, list) and args[0] == "":
        r.add(p + ["args", 0], "must not be empty (it names the program to run)")
    cwd = proc.get("cwd")
    if cwd is None:
        r.add(p + ["cwd"], "is required")
    elif _str(cwd) and not cwd.startswith("/"):
        r.add(p + ["cwd"], f"must be an absolute path (got {cwd!r})")
    _check_env(proc.get("env"), p + ["env"], r)
    _check_rlimits(_l(proc.get("rlimits")), p + ["rlimits"], r)

    adj = proc.get("oomScoreAdj")
    if _int(adj) and not -1000 <= adj <= 1000:
        r.add(p + ["oomScoreAdj"], f"must be from -1000 to 1000 (got {adj})")
    prio = _d(proc.get("ioPriority"))
    if _int(prio.get("priority")) and not 0 <= prio["priority"] <= 7:
        r.add(p + ["ioPriority", "priority"], f"must be from 0 to 7 (got {prio['priority']})")
    _check_scheduler(_d(proc.get("scheduler")), p + ["scheduler"], r)
    affinity = _d(proc.get("execCPUAffinity"))
    for key in ("initial", "final"):
        value = affinity.get(key)
        if _str(value) and value and not _valid_cpu_list(value):
            r.add(p + ["execCPUAffinity", key],
                  f"must be a CPU list such as 0-3,7 (got {value!r})")


def _check_env(env, path, r):
    for i, entry in enumerate(_l(env)):
        if not _str(entry):
            continue
        if "=" not in entry or entry.startswith("="):
            r.add(path + [i], f"must be in KEY=value form (got {entry!r})")
        elif "\0" in entry:
            r.add(path + [i], "must not contain a NUL byte")


def _check_rlimits(rlimits, path, r):
    first = {}
    for i, rl in enumerate(rlimits):
        rl = _d(rl)
        kind = rl.get("type")
        if _str(kind):
            if kind not in RLIMITS:
                r.add(path + [i, "type"], f"unknown resource limit {kind!r}; must be one of "
                                          f"{', '.join(sorted(RLIMITS))}")
            elif kind in first:
                r.add(path + [i, "type"],
                      f"duplicates {format_path(path + [first[kind], 'type'])} ({kind})")
            else:
                first[kind] = i
        soft, hard = rl.get("soft"), rl.get("hard")
        if _int(soft) and _int(hard) and soft > hard:
            r.add(path + [i, "soft"], f"must not exceed hard ({soft} > {hard})")


def _check_scheduler(sched, path, r):
    policy = sched.get("policy")
    prio = sched.get("priority", 0)
    if not _int(prio):
        pass
    elif policy in ("SCHED_FIFO", "SCHED_RR"):
        if not 1 <= prio <= 99:
            r.add(path + ["priority"], f"must be from 1 to 99 for {policy} (got {prio})")
    elif _str(policy) and prio != 0:
        r.add(path + ["priority"], f"must be 0 for {policy} (got {prio}); only SCHED_FIFO "
                                   "and SCHED_RR take a static priority")
    nice = sched.get("nice")
    if _int(nice) and not -20 <= nice <= 19:
        r.add(path + ["nice"], f"must be from -20 to 19 (got {nice})")
    if policy == "SCHED_DEADLINE":
        runtime, deadline, period = (sched.get(k, 0) for k in ("runtime", "deadline", "period"))
        if all(_int(v) for v in (runtime, deadline, period)):
            if runtime > deadline:
                r.add(path + ["runtime"], f"must not exceed deadline ({runtime} > {deadline})")
            elif period and deadline > period:
                r.add(path + ["deadline"], f"must not exceed period ({deadline} > {period})")


def _check_uts(doc, r):
    for key in ("hostname", "domainname"):
        value = doc.get(key)
        if not _str(value) or value == "":
            continue
        if not _has_ns(doc, "uts"):
            r.add([key], "needs a UTS namespace: add {\"type\": \"uts\"} to linux.namespaces "
                         "(otherwise it would change the host's " + key + ")")
        if len(value.encode()) > _HOST_NAME_MAX:
            r.add([key], f"must be at most {_HOST_NAME_MAX} bytes (got {len(value.encode())})")


def _check_mounts(doc, r):
    userns = _has_ns(doc, "user")
    for i, m in enumerate(_l(doc.get("mounts"))):
        if not isinstance(m, dict):
            continue
        p = ["mounts", i]
        dest = m.get("destination")
        if dest is None:
            r.add(p + ["destination"], "is required")
        elif dest == "":
            r.add(p + ["destination"], "must not be empty")
        options = _l(m.get("options"))
        if ("bind" in options or "rbind" in options) and not m.get("source"):
            r.add(p + ["source"], "is required for a bind mount")
        has_uid, has_gid = "uidMappings" in m, "gidMappings" in m
        if has_uid != has_gid:
            missing = "gidMappings" if has_uid else "uidMappings"
            r.add(p + [missing], "is required when " +
                  ("uidMappings" if has_uid else "gidMappings") + " is set")
        for key in ("uidMappings", "gidMappings"):
            _check_mapping_list(_l(m.get(key)), p + [key], r)
        for j, opt in enumerate(options):
            if opt in ("idmap", "ridmap") and not (has_uid or has_gid) and not userns:
                r.add(p + ["options", j],
                      f"{opt} needs uidMappings/gidMappings on the mount or a user namespace")


def _check_hooks(doc, r):
    hooks = _d(doc.get("hooks"))
    for name in HOOK_NAMES:
        for i, hook in enumerate(_l(hooks.get(name))):
            hook = _d(hook)
            p = ["hooks", name, i]
            path = hook.get("path")
            if path is None:
                r.add(p + ["path"], "is required")
            elif _str(path) and not path.startswith("/"):
                r.add(p + ["path"], f"must be an absolute path (got {path!r})")
            timeout = hook.get("timeout")
            if _int(timeout) and timeout <= 0:
                r.add(p + ["timeout"], f"must be greater than zero (got {timeout})")
            _check_env(hook.get("env"), p + ["env"], r)


def _check_namespaces(doc, linux, r):
    seen = {}
    for i, ns in enumerate(_l(linux.get("namespaces"))):
        if not isinstance(ns, dict):
            continue
        p = ["linux", "namespaces", i]
        kind = ns.get("type")
        if _str(kind):
            if kind not in NAMESPACE_TYPES:
                r.add(p + ["type"], f"unknown namespace type {kind!r}; must be one of "
                                    f"{', '.join(NAMESPACE_TYPES)}")
            elif kind in seen:
                r.add(p + ["type"], f"duplicates linux.namespaces[{seen[kind]}] ({kind})")
            else:
                seen[kind] = i
        path = ns.get("path")
        if _str(path) and not path.startswith("/"):
            r.add(p + ["path"], f"must be an absolute path (got {path!r})")


def _check_mapping_list(mappings, path, r):
    if len(mappings) > _UID_MAP_LINES:
        r.add(path, f"has {len(mappings)} entries; the kernel accepts at most {_UID_MAP_LINES}")
    ranges = []
    for i, m in enumerate(mappings):
        m = _d(m)
        cid, hid, size = m.get("containerID"), m.get("hostID"), m.get("size")
        if not (_int(cid) and _int(hid) and _int(size)):
            continue
        if size < 1:
            r.add(path + [i, "size"], f"must be at least 1 (got {size})")
            continue
        for key, start in (("containerID", cid), ("hostID", hid)):
            if start + size > _ID_SPACE:
                r.add(path + [i, "size"], f"{key} {start} + size {size} runs past 4294967295")
        for j, (lo, hi) in ranges:
            if cid < hi and lo < cid + size:
                r.add(path + [i, "containerID"],
                      f"range overlaps {format_path(path + [j])} in the container")
                break
        ranges.append((i, (cid, cid + size)))


def _check_id_mappings(doc, linux, r):
    userns = _has_ns(doc, "user")
    new_userns = _new_ns(doc, "user")
    for key in ("uidMappings", "gidMappings"):
        mappings = linux.get(key)
        p = ["linux", key]
        if mappings and not userns:
            r.add(p, "needs a user namespace: add {\"type\": \"user\"} to linux.namespaces")
        elif new_userns and not mappings:
            r.add(p, "is required when the container gets a new user namespace")
        _check_mapping_list(_l(mappings), p, r)


def _check_time_offsets(doc, linux, r):
    offsets = linux.get("timeOffsets")
    if not isinstance(offsets, dict) or not offsets:
        return
    p = ["linux", "timeOffsets"]
    entry = _namespaces(doc).get("time")
    if entry is None:
        r.add(p, "needs a time namespace: add {\"type\": \"time\"} to linux.namespaces")
    elif entry[1].get("path"):
        r.add(p, f"cannot be applied when joining an existing time namespace "
                 f"(linux.namespaces[{entry[0]}].path)")
    for clock, value in offsets.items():
        if clock not in ("monotonic", "boottime"):
            r.add(p + [clock], "unknown clock; a time namespace offsets only monotonic "
                               "and boottime")
        nanos = _d(value).get("nanosecs")
        if _int(nanos) and nanos >= 1_000_000_000:
            r.add(p + [clock, "nanosecs"], f"must be below 1000000000 (got {nanos})")


def _check_devices(linux, r):
    paths = {}
    for i, dev in enumerate(_l(linux.get("devices"))):
        if not isinstance(dev, dict):
            continue
        p = ["linux", "devices", i]
        kind = dev.get("type")
        if kind is None:
            r.add(p + ["type"], "is required")
        elif _str(kind) and kind not in ("c", "b", "u", "p"):
            r.add(p + ["type"], f"must be one of c, b, u, p (got {kind!r})")
        elif kind in ("c", "b", "u"):
            for key in ("major", "minor"):
                if key not in dev:
                    r.add(p + [key], f"is required for a device of type {kind!r}")
        path = dev.get("path")
        if path is None:
            r.add(p + ["path"], "is required")
        elif _str(path):
            if not path.startswith("/"):
                r.add(p + ["path"], f"must be an absolute path (got {path!r})")
            elif path in paths:
                r.add(p + ["path"], f"duplicates linux.devices[{paths[path]}].path ({path})")
            else:
                paths[path] = i


def _bad_ifname(name):
    return (name in ("", ".", "..") or len(name.encode()) >= _IFNAMSIZ
            or any(c in name for c in "/: \t\n\0"))


def _check_net_devices(doc, linux, r):
    devices = linux.get("netDevices")
    if not isinstance(devices, dict) or not devices:
        return
    p = ["linux", "netDevices"]
    if not _has_ns(doc, "network"):
        r.add(p, "needs a network namespace: add {\"type\": \"network\"} to linux.namespaces")
    for host_name, value in devices.items():
        if _bad_ifname(host_name):
            r.add(p + [host_name], "is not a valid interface name (1-15 bytes, no '/', ':' "
                                   "or whitespace)")
        name = _d(value).get("name")
        if _str(name) and _bad_ifname(name):
            r.add(p + [host_name, "name"], "is not a valid interface name (1-15 bytes, no "
                                           "'/', ':' or whitespace)")


# sysctls the kernel namespaces, and the namespace each needs
_IPC_SYSCTLS = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
                "kernel.msg_next_id", "kernel.sem_next_id", "kernel.shm_next_id"}


def _sysctl_namespace(name):
    if name.startswith("net."):
        return "network"
    if name in _IPC_SYSCTLS or name.startswith("fs.mqueue."):
        return "ipc"
    if name in ("kernel.hostname", "kernel.domainname"):
        return "uts"
    if name == "kernel.ns_last_pid":
        return "pid"
    if name.startswith("user."):
        return "user"
    return None


def _check_sysctl(doc, linux, r):
    sysctl = linux.get("sysctl")
    if not isinstance(sysctl, dict):
        return
    for key in sysctl:
        p = ["linux", "sysctl", key]
        import re
        parts = re.split(r"[./]", key)
        if (not key or key[0] in "./" or any(part in ("", "..") for part in parts)
                or any(c.isspace() or c == "\0" for c in key)):
            r.add(p, "is not a valid sysctl name (dot-separated, such as net.ipv4.ip_forward)")
            continue
        name = key.replace("/", ".")
        ns = _sysctl_namespace(name)
        if ns is None:
            r.add(p, "is not namespaced by the kernel; setting it would change the host")
        elif not _has_ns(doc, ns):
            r.add(p, f"needs a {ns} namespace: add {{\"type\": \"{ns}\"}} to linux.namespaces "
                     "(otherwise it would change the host)")


def _check_cgroups_path(linux, r):
    path = linux.get("cgroupsPath")
    if not _str(path):
        return
    if "\0" in path:
        r.add(["linux", "cgroupsPath"], "must not contain a NUL byte")
        return
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                r.add(["linux", "cgroupsPath"],
                      f"must not climb out of the cgroup hierarchy with '..' (got {path!r})")
                return
        elif part not in ("", "."):
            depth += 1


def _check_resources(res, r):
    p = ["linux", "resources"]
    for i, rule in enumerate(_l(res.get("devices"))):
        rule = _d(rule)
        kind, access = rule.get("type"), rule.get("access")
        if _str(kind) and kind not in ("a", "c", "b"):
            r.add(p + ["devices", i, "type"], f"must be one of a, c, b (got {kind!r})")
        if _str(access) and set(access) - set("rwm"):
            r.add(p + ["devices", i, "access"],
                  f"must be a combination of r, w and m (got {access!r})")

    mem = _d(res.get("memory"))
    limit, swap = mem.get("limit"), mem.get("swap")
    if _int(limit) and _int(swap) and limit > 0 and 0 < swap < limit:
        r.add(p + ["memory", "swap"], f"must be -1 or >= memory.limit, as it limits memory "
                                      f"plus swap ({swap} < {limit})")
    for key in ("limit", "reservation", "swap", "kernel", "kernelTCP"):
        value = mem.get(key)
        if _int(value) and value < -1:
            r.add(p + ["memory", key], f"must be -1 (unlimited) or a byte count (got {value})")
    swappiness = mem.get("swappiness")
    if _int(swappiness) and not 0 <= swappiness <= 100:
        r.add(p + ["memory", "swappiness"], f"must be from 0 to 100 (got {swappiness})")

    cpu = _d(res.get("cpu"))
    quota, burst, period = cpu.get("quota"), cpu.get("burst"), cpu.get("period")
    if _int(quota) and _int(burst) and quota > 0 and burst > quota:
        r.add(p + ["cpu", "burst"], f"must not be larger than quota ({burst} > {quota})")
    if _int(quota) and 0 < quota < 1000:
        r.add(p + ["cpu", "quota"], f"must be at least 1000 microseconds, or -1 (got {quota})")
    if _int(period) and period != 0 and not 1000 <= period <= 1_000_000:
        r.add(p + ["cpu", "period"], f"must be from 1000 to 1000000 microseconds "
                                     f"(got {period})")
    for key in ("cpus", "mems"):
        value = cpu.get(key)
        if _str(value) and value and not _valid_cpu_list(value):
            r.add(p + ["cpu", key], f"must be a list such as 0-3,7 (got {value!r})")

    pids = _d(res.get("pids")).get("limit")
    if _int(pids) and pids < -1:
        r.add(p + ["pids", "limit"], f"must be -1 (no limit) or >= 0 (got {pids})")

    sizes = {}
    for i, hp in enumerate(_l(res.get("hugepageLimits"))):
        size = _d(hp).get("pageSize")
        if not _str(size):
            continue
        if not _PAGE_SIZE.match(size):
            r.add(p + ["hugepageLimits", i, "pageSize"],
                  f"must be a size such as 64KB, 2MB or 1GB (got {size!r})")
        elif size in sizes:
            r.add(p + ["hugepageLimits", i, "pageSize"],
                  f"duplicates linux.resources.hugepageLimits[{sizes[size]}] ({size})")
        else:
            sizes[size] = i

    for i, wd in enumerate(_l(_d(res.get("blockIO")).get("weightDevice"))):
        if isinstance(wd, dict) and "weight" not in wd and "leafWeight" not in wd:
            r.add(p + ["blockIO", "weightDevice", i], "must set at least one of weight, "
                                                      "leafWeight")

    for name, limits in _d(res.get("rdma")).items():
        if isinstance(limits, dict) and "hcaHandles" not in limits and "hcaObjects" not in limits:
            r.add(p + ["rdma", name], "must set at least one of hcaHandles, hcaObjects")

    for key in _d(res.get("unified")):
        if "/" in key or key in (".", "..") or "\0" in key:
            r.add(p + ["unified", key], "must be a file name in the container's cgroup, "
                                        "without '/'")
        elif "." not in key.strip("."):
            r.add(p + ["unified", key], "must be in CONTROLLER.PARAMETER form, such as "
                                        "memory.max")


def _check_intel_rdt(rdt, r):
    p = ["linux", "intelRdt"]
    clos = rdt.get("closID")
    if _str(clos) and clos != "/" and ("/" in clos or clos in ("", ".", "..")):
        r.add(p + ["closID"], f"must be a resctrl group name without '/', or \"/\" "
                              f"(got {clos!r})")
    mb = rdt.get("memBwSchema")
    if _str(mb) and (not mb.startswith("MB:") or "\n" in mb):
        r.add(p + ["memBwSchema"], "must be a single line starting with MB:")
    for i, line in enumerate(_l(rdt.get("schemata"))):
        if _str(line) and "\n" in line:
            r.add(p + ["schemata", i], "must not contain a newline")


def _check_memory_policy(linux, r):
    pol = _d(linux.get("memoryPolicy"))
    if not pol:
        return
    p = ["linux", "memoryPolicy"]
    mode, nodes, flags = pol.get("mode"), pol.get("nodes"), _l(pol.get("flags"))
    if mode is None:
        r.add(p + ["mode"], "is required")
    elif _str(mode) and mode not in MPOL_MODES:
        r.add(p + ["mode"], f"must be one of {', '.join(MPOL_MODES)} (got {mode!r})")
    if _str(nodes) and nodes and not _valid_cpu_list(nodes):
        r.add(p + ["nodes"], f"must be a node list such as 0-3,7 (got {nodes!r})")
    if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") and nodes:
        r.add(p + ["nodes"], f"must be empty for {mode}")
    if mode in ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                "MPOL_PREFERRED_MANY") and not nodes:
        r.add(p + ["nodes"], f"must name at least one node for {mode}")
    if "MPOL_F_STATIC_NODES" in flags and "MPOL_F_RELATIVE_NODES" in flags:
        r.add(p + ["flags"], "cannot have both MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES")


def _check_seccomp(linux, r):
    sc = linux.get("seccomp")
    if not isinstance(sc, dict):
        return
    p = ["linux", "seccomp"]
    default = sc.get("defaultAction")
    if default is None:
        r.add(p + ["defaultAction"], "is required")
    elif _str(default) and default not in SECCOMP_ACTIONS:
        r.add(p + ["defaultAction"], f"must be one of {', '.join(SECCOMP_ACTIONS)} "
                                     f"(got {default!r})")
    elif default == "SCMP_ACT_NOTIFY":
        r.add(p + ["defaultAction"], "cannot be SCMP_ACT_NOTIFY: the runtime itself would "
                                     "be stopped on its next syscall")
    if "defaultErrnoRet" in sc and _str(default) and default not in SECCOMP_ERRNO_ACTIONS:
        r.add(p + ["defaultErrnoRet"], f"is only allowed with SCMP_ACT_ERRNO or "
                                       f"SCMP_ACT_TRACE (defaultAction is {default})")
    for i, arch in enumerate(_l(sc.get("architectures"))):
        if _str(arch) and arch not in SECCOMP_ARCHES:
            r.add(p + ["architectures", i], f"unknown architecture {arch!r}")
    for i, flag in enumerate(_l(sc.get("flags"))):
        if _str(flag) and flag not in SECCOMP_FLAGS:
            r.add(p + ["flags", i], f"must be one of {', '.join(SECCOMP_FLAGS)} (got {flag!r})")
    if "listenerMetadata" in sc and not sc.get("listenerPath"):
        r.add(p + ["listenerMetadata"], "must not be set without listenerPath")

    uses_notify = default == "SCMP_ACT_NOTIFY"
    for i, rule in enumerate(_l(sc.get("syscalls"))):
        if not isinstance(rule, dict):
            continue
        rp = p + ["syscalls", i]
        names = rule.get("names")
        if names is None or names == []:
            r.add(rp + ["names"], "must name at least one syscall")
        for j, name in enumerate(_l(names)):
            if _str(name) and not is_syscall_name(name):
                r.add(rp + ["names", j], f"is not a syscall name (lowercase letters, digits "
                                         f"and _; got {name!r})")
        action = rule.get("action")
        if action is None:
            r.add(rp + ["action"], "is required")
        elif _str(action) and action not in SECCOMP_ACTIONS:
            r.add(rp + ["action"], f"must be one of {', '.join(SECCOMP_ACTIONS)} "
                                   f"(got {action!r})")
        uses_notify = uses_notify or action == "SCMP_ACT_NOTIFY"
        if "errnoRet" in rule and _str(action) and action not in SECCOMP_ERRNO_ACTIONS:
            r.add(rp + ["errnoRet"], f"is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE "
                                     f"(action is {action})")
        for k, arg in enumerate(_l(rule.get("args"))):
            arg = _d(arg)
            index, op = arg.get("index"), arg.get("op")
            if _int(index) and not 0 <= index <= 5:
                r.add(rp + ["args", k, "index"], f"must be from 0 to 5, a syscall has six "
                                                 f"arguments (got {index})")
            if _str(op) and op not in SECCOMP_OPS:
                r.add(rp + ["args", k, "op"], f"must be one of {', '.join(SECCOMP_OPS)} "
                                              f"(got {op!r})")
    if uses_notify and not sc.get("listenerPath"):
        r.add(p + ["listenerPath"], "is required when an action is SCMP_ACT_NOTIFY")


def _check_linux_misc(linux, r):
    prop = linux.get("rootfsPropagation")
    if _str(prop) and prop not in PROPAGATIONS:
        r.add(["linux", "rootfsPropagation"],
              f"must be one of shared, slave, private, unbindable (got {prop!r})")
    for key in ("maskedPaths", "readonlyPaths"):
        for i, path in enumerate(_l(linux.get(key))):
            if _str(path) and not path.startswith("/"):
                r.add(["linux", key, i], f"must be an absolute path (got {path!r})")
    pers = _d(linux.get("personality"))
    if pers:
        domain = pers.get("domain")
        if domain not in ("LINUX", "LINUX32"):
            r.add(["linux", "personality", "domain"],
                  f"must be LINUX or LINUX32 (got {domain!r})")
        if _l(pers.get("flags")):
            r.add(["linux", "personality", "flags"], "must be empty: no personality flags "
                                                     "are supported")


# --- warnings -------------------------------------------------------------------

def warnings(doc):
    """Things the spec says to log but not fail on, and deprecated forms."""
    if not isinstance(doc, dict):
        return []
    r = _Report()
    proc = _d(doc.get("process"))
    caps = _d(proc.get("capabilities"))
    for key in CAP_SETS:
        for i, name in enumerate(_l(caps.get(key))):
            if _str(name) and name not in CAPABILITIES:
                r.add(["process", "capabilities", key, i],
                      f"unknown capability {name!r}; it will be ignored")
    if "ambient" in caps:
        allowed = ({n for n in _l(caps.get("permitted")) if _str(n)}
                   & {n for n in _l(caps.get("inheritable")) if _str(n)})
        for i, name in enumerate(_l(caps.get("ambient"))):
            if _str(name) and name in CAPABILITIES and name not in allowed:
                r.add(["process", "capabilities", "ambient", i],
                      f"{name} is not in both permitted and inheritable; the kernel will "
                      "not raise it")
    for i, m in enumerate(_l(doc.get("mounts"))):
        m = _d(m)
        dest = m.get("destination")
        if _str(dest) and dest and not dest.startswith("/"):
            r.add(["mounts", i, "destination"], f"relative destinations are deprecated; "
                                                f"taken as /{dest}")
        options = _l(m.get("options"))
        if ("uidMappings" in m or "gidMappings" in m) and not (
                "idmap" in options or "ridmap" in options):
            r.add(["mounts", i, "options"], "should contain idmap or ridmap when the mount "
                                            "has uidMappings/gidMappings")
    if _l(_d(doc.get("hooks")).get("prestart")):
        r.add(["hooks", "prestart"], "prestart hooks are deprecated; use createRuntime")
    linux = _d(doc.get("linux"))
    mem = _d(_d(linux.get("resources")).get("memory"))
    for key in ("kernel", "kernelTCP"):
        if key in mem:
            r.add(["linux", "resources", "memory", key], "is not recommended and is ignored "
                                                         "by recent kernels")
    l3 = _d(linux.get("intelRdt")).get("l3CacheSchema")
    if _str(l3) and (not l3.startswith("L3:") or "\n" in l3):
        r.add(["linux", "intelRdt", "l3CacheSchema"], "should be a single line starting "
                                                      "with L3:")
    return r.items
