"""Image config + run options -> an OCI config.json dict.

Everything here is pure: no file, process or kernel access.  The caller
(services/containers.py) reads what is needed (the image's /etc/passwd and
/etc/group, the seccomp file, where volumes live) and passes it in.  One
function per concern: command, env, user, capabilities, mounts, resources,
rlimits, security, namespaces; `generate()` puts them together.

Input errors raise manager.errors.UsageError naming the bad value.

Light to import (`mydocker run` pays for every import): the records (specrecords.py)
are plain classes rather than dataclasses, and regular expressions are
compiled on first use.
"""
from .errors import UsageError
from .specrecords import ContainerOptions, MountSpec, SpecContext  # noqa: F401 (the API)
from . import seccomp_default

__all__ = ["ContainerOptions", "MountSpec", "SpecContext", "generate", "parse_size",
           "parse_volume", "parse_mount", "parse_tmpfs", "parse_ulimit", "parse_restart",
           "parse_signal", "parse_env_file", "command_args", "merge_env", "resolve_user",
           "capabilities", "default_mounts", "resources", "rlimits", "namespaces",
           "DEFAULT_CAPS", "DEFAULT_PATH"]

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OCI_VERSION = "1.0.2"
INIT_PATH = "/sbin/docker-init"

# Docker's default capability set.
DEFAULT_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
# in kernel bit order (linux/capability.h): bit n of a capability mask is ALL_CAPS[n]
ALL_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
            "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
            "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
            "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
            "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
            "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
            "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
            "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
            "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
            "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]

MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# Docker's device cgroup rules: deny all, allow mknod, allow the usual devices.
DEVICE_RULES = [{"allow": False, "access": "rwm"},
                {"allow": True, "type": "c", "access": "m"},
                {"allow": True, "type": "b", "access": "m"}] + [
    {"allow": True, "type": "c", "major": ma, "minor": mi, "access": "rwm"}
    for ma, mi in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1), (1, 7), (5, 2), (136, None),
                   (10, 200))]
for _r in DEVICE_RULES:
    if "minor" in _r and _r["minor"] is None:
        del _r["minor"]

SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
           "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
           "TERM": 15, "STKFLT": 16, "CHLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
           "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26,
           "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31}

RLIMITS = {"as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA",
           "fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK",
           "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE",
           "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
           "rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING",
           "stack": "RLIMIT_STACK"}

MIN_MEMORY = 6 * 1024 * 1024


class _LazyRe:
    """A regular expression compiled (and `re` imported) on first use."""

    def __init__(self, pattern, flags=0):
        self.pattern, self.flags, self._rx = pattern, flags, None

    def __getattr__(self, name):
        if self._rx is None:
            import re
            self._rx = re.compile(self.pattern, self.flags)
        return getattr(self._rx, name)


# ---- small parsers ----------------------------------------------------------

_SIZE_RE = _LazyRe(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$", 2)   # re.I


def parse_size(text, what="size"):
    """Docker's RAMInBytes: '512m', '1g', '100k', '1024' (binary units)."""
    if isinstance(text, int):
        if text < 0:
            raise UsageError(f"invalid {what}: '{text}': must not be negative")
        return text
    s = str(text).strip()
    m = _SIZE_RE.match(s)
    if not m:
        raise UsageError(f"invalid {what}: '{text}'",
                         hint="use a number with an optional unit b, k, m, g")
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
    return int(float(m.group(1)) * mult[m.group(2).lower()])


def parse_signal(sig):
    """'SIGTERM', 'TERM', '15' -> 15."""
    if sig is None:
        return None
    s = str(sig).strip().upper()
    if s.isdigit():
        n = int(s)
        if 0 < n < 65:
            return n
    else:
        name = s[3:] if s.startswith("SIG") else s
        if name in SIGNALS:
            return SIGNALS[name]
        m = _RTMIN_RE.match(name)
        if m:
            return 34 + int(m.group(1) or 0)
    raise UsageError(f"invalid signal: {sig}")


_RTMIN_RE = _LazyRe(r"^RTMIN(?:\+(\d+))?$")


def signal_name(n):
    for k, v in SIGNALS.items():
        if v == n:
            return "SIG" + k
    return str(n)


def parse_restart(text):
    """'no' | 'always' | 'unless-stopped' | 'on-failure[:N]' -> {"Name", "MaximumRetryCount"}."""
    s = (text or "no").strip()
    name, _, count = s.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise UsageError(f"invalid restart policy: {text}",
                         hint="use no, always, unless-stopped or on-failure[:max-retries]")
    if count and name != "on-failure":
        raise UsageError(f"invalid restart policy: maximum retry count cannot be used "
                         f"with restart policy '{name}'")
    n = 0
    if count:
        if not count.isdigit():
            raise UsageError(f"invalid restart policy: maximum retry count must be a "
                             f"number: {count}")
        n = int(count)
    return {"Name": name, "MaximumRetryCount": n}


def parse_ulimit(text):
    """'nofile=1024:2048' -> {"Name", "Soft", "Hard"} (-1 = unlimited)."""
    name, eq, val = str(text).partition("=")
    if not eq or name not in RLIMITS:
        raise UsageError(f"invalid ulimit: {text}",
                         hint="use NAME=SOFT[:HARD], NAME one of " + ", ".join(sorted(RLIMITS)))
    soft, _, hard = val.partition(":")

    def num(v):
        if v in ("unlimited", "-1"):
            return -1
        if not v.isdigit():
            raise UsageError(f"invalid ulimit value in {text}: {v!r}")
        return int(v)
    s = num(soft)
    h = num(hard) if hard else s
    if s != -1 and h != -1 and s > h:
        raise UsageError(f"invalid ulimit {text}: soft limit {s} is above hard limit {h}")
    return {"Name": name, "Soft": s, "Hard": h}


def parse_env_file(text, source="env file"):
    """Docker's env-file: KEY=VAL lines, # comments, bare KEY taken from the caller."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key = line.split("=", 1)[0]
        if not key or any(c.isspace() for c in key):
            raise UsageError(f"{source}: line {n}: variable '{key}' contains whitespaces")
        out.append(line)
    return out


def _check_dest(dest, spec, what="invalid mount spec"):
    if not dest.startswith("/"):
        raise UsageError(f"{what} '{spec}': destination {dest!r} is not an absolute path")
    if dest == "/":
        raise UsageError(f"{what} '{spec}': destination can't be '/'")


_VOLUME_NAME_RE = _LazyRe(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")


def parse_volume(spec):
    """-v SRC:DEST[:OPTS] | -v DEST (anonymous volume)."""
    parts = spec.split(":")
    if not spec or len(parts) > 3 or any(p == "" for p in parts):
        raise UsageError(f"invalid volume specification: '{spec}'")
    if len(parts) == 1:
        _check_dest(parts[0], spec, "invalid volume specification:")
        return MountSpec("volume", parts[0])
    src, dest = parts[0], parts[1]
    _check_dest(dest, spec, "invalid volume specification:")
    ro, extra = False, []
    if len(parts) == 3:
        for opt in parts[2].split(","):
            if opt in ("ro", "rw"):
                ro = opt == "ro"
            elif opt in ("z", "Z", "nocopy"):
                pass
            elif opt in ("private", "rprivate", "shared", "rshared", "slave", "rslave"):
                extra.append(opt)
            else:
                raise UsageError(f"invalid volume specification: '{spec}': unknown "
                                 f"option {opt!r}")
    if src.startswith("/"):
        return MountSpec("bind", dest, src, ro, extra)
    if not _VOLUME_NAME_RE.match(src):
        raise UsageError(f"invalid volume specification: '{spec}': {src!r} is neither "
                         "an absolute host path nor a valid volume name")
    return MountSpec("volume", dest, src, ro, extra)


def parse_mount(spec):
    """--mount type=bind|volume|tmpfs,source=..,target=..,readonly,tmpfs-size=.."""
    kv = {}
    for item in spec.split(","):
        k, eq, v = item.partition("=")
        kv[k.strip()] = v.strip() if eq else True
    mtype = kv.pop("type", "volume")
    dest = kv.pop("target", None) or kv.pop("destination", None) or kv.pop("dst", None)
    src = kv.pop("source", None) or kv.pop("src", None) or ""
    if not dest or dest is True:
        raise UsageError(f"invalid mount spec {spec!r}: target is required")
    _check_dest(dest, spec)
    ro = False
    for key in ("readonly", "ro"):
        if key in kv:
            v = kv.pop(key)
            ro = v is True or str(v).lower() in ("1", "true")
    extra = []
    if mtype == "bind":
        if not src or not src.startswith("/"):
            raise UsageError(f"invalid mount spec {spec!r}: bind source must be an "
                             "absolute path")
        if "bind-propagation" in kv:
            extra.append(kv.pop("bind-propagation"))
    elif mtype == "tmpfs":
        if src:
            raise UsageError(f"invalid mount spec {spec!r}: tmpfs takes no source")
        if "tmpfs-size" in kv:
            extra.append(f"size={parse_size(kv.pop('tmpfs-size'), 'tmpfs-size')}")
        if "tmpfs-mode" in kv:
            extra.append(f"mode={int(str(kv.pop('tmpfs-mode')), 8):o}")
    elif mtype == "volume":
        if src and not _VOLUME_NAME_RE.match(src):
            raise UsageError(f"invalid mount spec {spec!r}: bad volume name {src!r}")
        kv.pop("volume-nocopy", None)
    else:
        raise UsageError(f"invalid mount spec {spec!r}: unknown type {mtype!r}",
                         hint="use bind, volume or tmpfs")
    if kv:
        raise UsageError(f"invalid mount spec {spec!r}: unknown field(s) " +
                         ", ".join(sorted(kv)))
    return MountSpec(mtype, dest, src, ro, extra)


def parse_tmpfs(spec):
    """--tmpfs /dest[:opt,opt]."""
    dest, _, opts = spec.partition(":")
    _check_dest(dest, spec)
    extra = [o for o in opts.split(",") if o] if opts else []
    ro = "ro" in extra
    extra = [o for o in extra if o not in ("ro", "rw")]
    return MountSpec("tmpfs", dest, "", ro, extra)


# ---- one function per concern --------------------------------------------

def command_args(image_cfg, entrypoint=None, command=None):
    """Docker's rule: Entrypoint + Cmd; --entrypoint replaces Entrypoint and
    drops the image Cmd; a command given on the line replaces Cmd."""
    cfg = (image_cfg or {}).get("config") or {}
    if entrypoint is not None:
        ep = [entrypoint] if entrypoint else []
        cmd = list(command or [])
    else:
        ep = list(cfg.get("Entrypoint") or [])
        cmd = list(command) if command else list(cfg.get("Cmd") or [])
    args = ep + cmd
    if not args:
        raise UsageError("no command specified",
                         hint="give a command after the image name or use --entrypoint")
    return args


def merge_env(image_env, user_env, hostname, tty, home=None):
    """PATH, HOSTNAME, TERM, image Env, then -e (later wins, order kept)."""
    env = {}

    def put(item):
        k, eq, v = item.partition("=")
        env[k] = item if eq else None

    put(f"HOSTNAME={hostname}")
    if tty:
        put("TERM=xterm")
    for item in image_env or []:
        put(item)
    if "PATH" not in env:
        env = {"PATH": DEFAULT_PATH, **env}
    for item in user_env or []:
        put(item)
    if home and "HOME" not in env:
        put(f"HOME={home}")
    return [v for v in env.values() if v is not None]


def config_env(image_env, user_env):
    """The Env shown in inspect's Config: image Env (with PATH) then -e."""
    env = {}
    for item in list(image_env or []) + list(user_env or []):
        k, eq, _ = item.partition("=")
        if eq:
            env[k] = item
    if "PATH" not in env:
        env = {"PATH": DEFAULT_PATH, **env}
    return list(env.values())


def _parse_db(text):
    rows = []
    for line in (text or "").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def resolve_user(user, passwd, group):
    """'name|uid[:group|gid]' -> (uid, gid, additional_gids, home) through the
    image's /etc/passwd and /etc/group texts."""
    user = (user or "").strip()
    if not user:
        user = "0"
    uspec, _, gspec = user.partition(":")
    pw = _parse_db(passwd)
    gr = _parse_db(group)
    entry = None
    for row in pw:
        if len(row) >= 4 and (row[0] == uspec or (uspec.isdigit() and row[2] == uspec)):
            entry = row
            break
    if entry is None:
        if not uspec.isdigit():
            raise UsageError(f"unable to find user {uspec}: no matching entries in passwd file")
        uid, gid, name, home = int(uspec), 0, None, "/"
    else:
        uid, gid, name = int(entry[2]), int(entry[3]), entry[0]
        home = entry[5] if len(entry) > 5 and entry[5] else "/"
    if gspec:
        if gspec.isdigit():
            gid = int(gspec)
        else:
            for row in gr:
                if len(row) >= 3 and row[0] == gspec:
                    gid = int(row[2])
                    break
            else:
                raise UsageError(f"unable to find group {gspec}: no matching entries in "
                                 "group file")
    extra = []
    if name and not gspec:
        for row in gr:
            if len(row) >= 4 and name in row[3].split(",") and row[2].isdigit():
                g = int(row[2])
                if g != gid and g not in extra:
                    extra.append(g)
    return uid, gid, extra, home


def _norm_cap(c):
    c = c.strip().upper()
    if c == "ALL":
        return c
    c = c if c.startswith("CAP_") else "CAP_" + c
    if c not in ALL_CAPS:
        raise UsageError(f"unknown capability: {c!r}")
    return c


def caps_from_mask(mask):
    """A CapBnd bit mask -> capability names (bit n is ALL_CAPS[n])."""
    return [c for n, c in enumerate(ALL_CAPS) if mask >> n & 1]


def capabilities(cap_add=(), cap_drop=(), privileged=False):
    """Docker's default set, then --cap-drop, then --cap-add (ALL allowed)."""
    if privileged:
        return list(ALL_CAPS)
    add = [_norm_cap(c) for c in cap_add or []]
    drop = [_norm_cap(c) for c in cap_drop or []]
    caps = [] if "ALL" in drop else [c for c in DEFAULT_CAPS if c not in drop]
    if "ALL" in add:
        caps = [c for c in ALL_CAPS if c not in drop or c in add]
    for c in add:
        if c != "ALL" and c not in caps:
            caps.append(c)
    return caps


def default_mounts(cgroup_v2=False, privileged=False):
    ro_sys = [] if privileged else ["ro"]
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev"] + ro_sys},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime"] + ro_sys},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]},
    ]


def user_mount(ms, host_source):
    """One MountSpec (with its resolved host path) -> an OCI mount."""
    if ms.type == "tmpfs":
        opts = ["nosuid", "nodev", "noexec"] + list(ms.options)
        if ms.readonly:
            opts.append("ro")
        return {"destination": ms.destination, "type": "tmpfs", "source": "tmpfs",
                "options": opts}
    prop = [o for o in ms.options if o in ("private", "rprivate", "shared", "rshared",
                                           "slave", "rslave")] or ["rprivate"]
    opts = ["rbind"] + prop + (["ro"] if ms.readonly else [])
    return {"destination": ms.destination, "type": "bind", "source": host_source,
            "options": opts}


def mounts(ctx, opts):
    """Default mounts, /etc files, the init binary, then user mounts, parents
    first; a user mount replaces a default at the same destination."""
    user = [user_mount(ms, src) for ms, src in ctx.volume_mounts]
    taken = {m["destination"].rstrip("/") for m in user}
    out = [m for m in default_mounts(ctx.cgroup_v2, opts.privileged)
           if m["destination"] not in taken]
    for dest in ("/etc/resolv.conf", "/etc/hostname", "/etc/hosts"):
        if dest in ctx.etc_files and dest not in taken:
            out.append({"destination": dest, "type": "bind", "source": ctx.etc_files[dest],
                        "options": ["rbind", "rprivate"]})
    if opts.init and ctx.init_binary:
        out.append({"destination": INIT_PATH, "type": "bind", "source": ctx.init_binary,
                    "options": ["rbind", "rprivate", "ro"]})
    user.sort(key=lambda m: m["destination"].rstrip("/").count("/"))
    return out + user


def resources(opts, cpu_count=None):
    """Memory, swap, CPU, cpuset, pids and device rules -> linux.resources."""
    res = {"devices": [dict(r) for r in DEVICE_RULES]}
    if opts.privileged:
        res["devices"] = [{"allow": True, "access": "rwm"}]
    mem = {}
    if opts.memory:
        if opts.memory < 0:
            raise UsageError(f"invalid memory limit: {opts.memory}: must not be negative")
        if opts.memory < MIN_MEMORY:
            raise UsageError("minimum memory limit allowed is 6MB")
        mem["limit"] = opts.memory
    if opts.memory_swap:
        if opts.memory_swap == -1:
            if opts.memory:
                mem["swap"] = -1
        else:
            if not opts.memory:
                raise UsageError("you should always set the memory limit when using the "
                                 "memoryswap limit, see usage")
            if opts.memory_swap < opts.memory:
                raise UsageError("minimum memoryswap limit should be larger than memory "
                                 "limit, see usage")
            mem["swap"] = opts.memory_swap
    elif opts.memory:
        mem["swap"] = opts.memory * 2
    if mem:
        res["memory"] = mem
    cpu = {}
    if opts.cpus:
        if opts.cpus < 0.01 or (cpu_count and opts.cpus > cpu_count):
            raise UsageError(f"range of CPUs is from 0.01 to {cpu_count or 'N'}.00, as there "
                             f"are only {cpu_count or 'N'} CPUs available")
        cpu["period"] = 100000
        cpu["quota"] = int(round(opts.cpus * 100000))
    if opts.cpu_shares:
        if opts.cpu_shares < 0:
            raise UsageError("invalid cpu-shares: must not be negative")
        cpu["shares"] = max(2, opts.cpu_shares)
    if opts.cpuset_cpus:
        if not _CPUSET_RE.match(opts.cpuset_cpus):
            raise UsageError(f"invalid value {opts.cpuset_cpus} for cpuset cpus")
        cpu["cpus"] = opts.cpuset_cpus
    if cpu:
        res["cpu"] = cpu
    if opts.pids_limit:
        res["pids"] = {"limit": -1 if opts.pids_limit < 0 else opts.pids_limit}
    return res


_CPUSET_RE = _LazyRe(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")


def rlimits(ulimits):
    out = []
    for u in ulimits or []:
        if isinstance(u, str):
            u = parse_ulimit(u)
        big = 2 ** 64 - 1
        out.append({"type": RLIMITS[u["Name"]],
                    "soft": big if u["Soft"] == -1 else u["Soft"],
                    "hard": big if u["Hard"] == -1 else u["Hard"]})
    return out


def namespaces(cgroup_v2=False):
    ns = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
    if cgroup_v2:
        ns.append({"type": "cgroup"})
    return ns


def security(opts):
    """--security-opt -> (no_new_privileges, seccomp: 'default'|'unconfined'|path)."""
    nnp, seccomp = False, "default"
    for item in opts.security_opt or []:
        key, sep, val = item.partition("=" if "=" in item else ":")
        if key == "no-new-privileges":
            nnp = (not sep) or val.lower() in ("true", "1", "")
        elif key == "seccomp" and sep:
            seccomp = "unconfined" if val == "unconfined" else val
        elif key in ("apparmor", "label"):
            pass
        else:
            raise UsageError(f"invalid --security-opt: {item!r}",
                             hint="use no-new-privileges, seccomp=unconfined or seccomp=FILE")
    if opts.privileged and seccomp == "default":
        seccomp = "unconfined"
    return nnp, seccomp


def generate(opts, ctx):
    """The whole config.json for one container."""
    cfg = (ctx.image_config or {}).get("config") or {}
    user = opts.user if opts.user is not None else cfg.get("User")
    uid, gid, extra_gids, home = resolve_user(user, ctx.passwd, ctx.group)
    args = command_args(ctx.image_config, opts.entrypoint, opts.command)
    if opts.init:
        args = [INIT_PATH, "--"] + args
    caps = capabilities(opts.cap_add, opts.cap_drop, opts.privileged)
    if ctx.cap_bound is not None and (opts.privileged or "ALL" in
                                      [c.upper() for c in opts.cap_add or []]):
        caps = [c for c in caps if c in ctx.cap_bound]
    nnp, _ = security(opts)
    proc_caps = {"bounding": list(caps)}
    if uid == 0 or opts.privileged:
        proc_caps["effective"] = list(caps)
        proc_caps["permitted"] = list(caps)
    process = {
        "terminal": bool(opts.tty),
        "user": {"uid": uid, "gid": gid},
        "args": args,
        "env": merge_env(cfg.get("Env"), opts.env, ctx.hostname, opts.tty, home),
        "cwd": opts.workdir or cfg.get("WorkingDir") or "/",
        "capabilities": proc_caps,
        "noNewPrivileges": nnp,
    }
    if extra_gids:
        process["user"]["additionalGids"] = extra_gids
    rl = rlimits(opts.ulimits)
    if rl:
        process["rlimits"] = rl
    linux = {
        "resources": resources(opts),
        "namespaces": namespaces(ctx.cgroup_v2),
    }
    if ctx.cgroups_path:
        linux["cgroupsPath"] = ctx.cgroups_path
    if not opts.privileged:
        linux["maskedPaths"] = list(MASKED_PATHS)
        linux["readonlyPaths"] = list(READONLY_PATHS)
    if ctx.seccomp_profile is not None and not opts.privileged:
        linux["seccomp"] = seccomp_default.to_oci(ctx.seccomp_profile, caps, ctx.arch,
                                                  ctx.kernel)
    annotations = {str(k): str(v) for k, v in (opts.labels or {}).items()}
    spec = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": ctx.rootfs, "readonly": bool(opts.read_only)},
        "hostname": ctx.hostname,
        "mounts": mounts(ctx, opts),
        "linux": linux,
    }
    if annotations:
        spec["annotations"] = annotations
    return spec
