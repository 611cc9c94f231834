"""Compile a config dict into an InitPlan (pure).

Typed reads raise SpecError with the JSON path of the field, so a config
that would crash the init process is refused before anything is made."""
import os

from ..errors import SpecError
from ..syscalls import consts as L

NS_FLAGS = {
    "pid": L.CLONE_NEWPID, "network": L.CLONE_NEWNET, "mount": L.CLONE_NEWNS,
    "ipc": L.CLONE_NEWIPC, "uts": L.CLONE_NEWUTS, "user": L.CLONE_NEWUSER,
    "cgroup": L.CLONE_NEWCGROUP, "time": L.CLONE_NEWTIME,
}
# order in which namespaces given by path are joined: user first so that
# the others are joined with the capabilities it grants, mount last.
JOIN_ORDER = ["user", "pid", "network", "ipc", "uts", "cgroup", "time", "mount"]

RLIMITS = {
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4, "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9, "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13, "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
}

DEFAULT_DEVICES = [
    # path, type, major, minor, mode
    ("/dev/null", "c", 1, 3, 0o666),
    ("/dev/zero", "c", 1, 5, 0o666),
    ("/dev/full", "c", 1, 7, 0o666),
    ("/dev/random", "c", 1, 8, 0o666),
    ("/dev/urandom", "c", 1, 9, 0o666),
    ("/dev/tty", "c", 5, 0, 0o666),
]
DEV_SYMLINKS = [("/proc/self/fd", "/dev/fd"), ("/proc/self/fd/0", "/dev/stdin"),
                ("/proc/self/fd/1", "/dev/stdout"), ("/proc/self/fd/2", "/dev/stderr")]


class _Record:
    """A small mutable record (dataclasses cost ~10 ms of imports on every
    runtime call; these classes are all the plan needs)."""
    _fields = ()
    _defaults = {}

    def __init__(self, *args, **kw):
        for name, value in zip(self._fields, args):
            kw[name] = value
        for name in self._fields:
            if name in kw:
                setattr(self, name, kw[name])
            else:
                d = self._defaults.get(name)
                setattr(self, name, d() if callable(d) else d)

    def to_dict(self):
        def conv(v):
            if isinstance(v, _Record):
                return v.to_dict()
            if isinstance(v, (list, tuple)):
                return [conv(x) for x in v]
            if isinstance(v, dict):
                return {k: conv(x) for k, x in v.items()}
            return v
        return {name: conv(getattr(self, name)) for name in self._fields}

    def __repr__(self):
        return f"{type(self).__name__}({self.to_dict()!r})"


class Step(_Record):
    _fields = ("op", "field", "args")
    _defaults = {"args": dict}

    def describe(self):
        shown = []
        for k, v in self.args.items():
            if v in (None, "", [], ()) or k in ("value", "flags") and (
                    "flag_names" in self.args or k == "value"):
                continue
            if k == "mode" and isinstance(v, int):
                v = oct(v)
            shown.append(f"{k}={v}")
        a = ", ".join(shown)
        return f"{self.op:<16} {a}   <- {self.field}"


class ProcessPlan(_Record):
    # rlimits: [(name, resource number, soft, hard)]
    _fields = ("args", "env", "cwd", "uid", "gid", "additional_gids", "umask", "terminal",
               "console_size", "rlimits", "oom_score_adj", "no_new_privileges",
               "capabilities", "apparmor", "selinux", "io_priority", "scheduler")
    _defaults = {"uid": 0, "gid": 0, "additional_gids": list, "terminal": False,
                 "rlimits": list, "no_new_privileges": False}


class InitPlan(_Record):
    # namespaces: [(type, path|None)]; pre_pivot: mounts, devices, links;
    # post_pivot: sysctl, masks, read-only paths, hostname, read-only root
    _fields = ("rootfs", "readonly", "namespaces", "unshare_flags", "uid_mappings",
               "gid_mappings", "time_offsets", "rootfs_propagation", "pre_pivot",
               "post_pivot", "process", "hooks", "sysctl", "personality", "seccomp",
               "cgroups_path", "resources", "no_pivot", "dev_is_bind", "raw_linux")
    _defaults = {"hooks": dict, "sysctl": dict, "no_pivot": False, "dev_is_bind": False}

    def has_ns(self, t):
        return any(n == t for n, _ in self.namespaces)

    def new_ns(self, t):
        return any(n == t and p is None for n, p in self.namespaces)

    def render(self):
        """The plan as text, for `runc-py plan`."""
        out = []
        out.append(f"rootfs {self.rootfs} (readonly={self.readonly})   <- root")
        for t, p in self.namespaces:
            out.append(f"namespace {t:<8} {'join ' + p if p else 'new'}   <- linux.namespaces")
        for m in self.uid_mappings:
            out.append(f"uid map {m}   <- linux.uidMappings")
        for m in self.gid_mappings:
            out.append(f"gid map {m}   <- linux.gidMappings")
        out.append("-- in the container's mount namespace, before pivot_root --")
        out.extend("  " + s.describe() for s in self.pre_pivot)
        out.append(f"-- {'move root + chroot' if self.no_pivot else 'pivot_root'} --")
        out.extend("  " + s.describe() for s in self.post_pivot)
        p = self.process
        if p:
            out.append("-- process --")
            out.append(f"  exec {p.args} cwd={p.cwd} uid={p.uid} gid={p.gid} "
                       f"groups={p.additional_gids} terminal={p.terminal}   <- process")
            for name, _, soft, hard in p.rlimits:
                out.append(f"  setrlimit {name} soft={soft} hard={hard}   <- process.rlimits")
            if p.no_new_privileges:
                out.append("  prctl PR_SET_NO_NEW_PRIVS   <- process.noNewPrivileges")
        for kind, hooks in self.hooks.items():
            for i, h in enumerate(hooks):
                out.append(f"hook {kind}[{i}] {h.get('path')}   <- hooks.{kind}[{i}]")
        return "\n".join(out)


# ---- typed reads --------------------------------------------------------

def _obj(v, path, required=False):
    if v is None:
        if required:
            raise SpecError(path, "is required")
        return {}
    if not isinstance(v, dict):
        raise SpecError(path, "must be an object")
    return v


def _list(v, path):
    if v is None:
        return []
    if not isinstance(v, list):
        raise SpecError(path, "must be an array")
    return v


def _str(v, path, required=False):
    if v is None:
        if required:
            raise SpecError(path, "is required")
        return None
    if not isinstance(v, str):
        raise SpecError(path, "must be a string")
    return v


def _int(v, path, lo=None, hi=None, required=False):
    if v is None:
        if required:
            raise SpecError(path, "is required")
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise SpecError(path, "must be an integer")
    if lo is not None and v < lo:
        raise SpecError(path, f"must be >= {lo}")
    if hi is not None and v > hi:
        raise SpecError(path, f"must be <= {hi}")
    return v


def _bool(v, path):
    if v is None:
        return False
    if not isinstance(v, bool):
        raise SpecError(path, "must be true or false")
    return v


U32 = 2**32 - 1
U64 = 2**64 - 1


def compile_plan(doc, bundle, no_pivot=False):
    from .. import mounts as M  # (not for compile_process: exec does without it)
    if not isinstance(doc.get("ociVersion"), str):
        raise SpecError("ociVersion", "is required (a string like \"1.2.0\")")
    linux = _obj(doc.get("linux"), "linux")
    root = _obj(doc.get("root"), "root", required=True)
    rpath = _str(root.get("path"), "root.path", required=True)
    rootfs = rpath if os.path.isabs(rpath) else os.path.join(bundle, rpath)
    rootfs = os.path.realpath(rootfs)
    if not os.path.isdir(rootfs):
        raise SpecError("root.path", f"{rootfs} is not a directory")

    # namespaces
    namespaces = []
    seen = set()
    flags = 0
    for i, ns in enumerate(_list(linux.get("namespaces"), "linux.namespaces")):
        f = f"linux.namespaces[{i}]"
        ns = _obj(ns, f)
        t = _str(ns.get("type"), f + ".type", required=True)
        if t not in NS_FLAGS:
            raise SpecError(f + ".type", f"unknown namespace type {t!r} "
                            f"(one of {', '.join(NS_FLAGS)})")
        if t in seen:
            raise SpecError(f + ".type", f"namespace {t!r} appears twice")
        seen.add(t)
        p = _str(ns.get("path"), f + ".path")
        if p:
            if not os.path.isabs(p):
                raise SpecError(f + ".path", "must be an absolute path")
            if not os.path.exists(p):
                raise SpecError(f + ".path", f"{p}: no such file")
        else:
            p = None
            flags |= NS_FLAGS[t]
        namespaces.append((t, p))
    namespaces.sort(key=lambda n: JOIN_ORDER.index(n[0]))

    def mappings(key):
        out = []
        for i, m in enumerate(_list(linux.get(key), f"linux.{key}")):
            f = f"linux.{key}[{i}]"
            m = _obj(m, f)
            out.append((_int(m.get("containerID"), f + ".containerID", 0, U32, True),
                        _int(m.get("hostID"), f + ".hostID", 0, U32, True),
                        _int(m.get("size"), f + ".size", 1, U32, True)))
        return out

    uid_maps, gid_maps = mappings("uidMappings"), mappings("gidMappings")
    if (uid_maps or gid_maps) and "user" not in seen:
        raise SpecError("linux.uidMappings" if uid_maps else "linux.gidMappings",
                        "mappings need a user namespace in linux.namespaces")
    userns_new = any(t == "user" and p is None for t, p in namespaces)
    if userns_new and not (uid_maps and gid_maps):
        raise SpecError("linux.uidMappings", "a new user namespace needs uidMappings and "
                        "gidMappings")

    hostname = _str(doc.get("hostname"), "hostname")
    domainname = _str(doc.get("domainname"), "domainname")
    uts_new = any(t == "uts" and p is None for t, p in namespaces)
    if hostname and "uts" not in seen:
        raise SpecError("hostname", "setting a hostname needs a uts namespace")
    if domainname and "uts" not in seen:
        raise SpecError("domainname", "setting a domainname needs a uts namespace")

    time_offsets = _obj(linux.get("timeOffsets"), "linux.timeOffsets")
    if time_offsets and not any(t == "time" and p is None for t, p in namespaces):
        raise SpecError("linux.timeOffsets", "time offsets need a new time namespace")

    rprop = _str(linux.get("rootfsPropagation"), "linux.rootfsPropagation")
    if rprop and rprop not in M.ROOTFS_PROPAGATION:
        raise SpecError("linux.rootfsPropagation",
                        f"unknown value {rprop!r} (one of {', '.join(M.ROOTFS_PROPAGATION)})")
    # Before pivot_root the host's "/" becomes rslave (rprivate if asked) so
    # nothing propagates back to the host and pivot_root accepts the mounts;
    # shared/slave/unbindable are applied to the new "/" after pivot_root
    # (shared or unbindable before it would make pivot_root or the rootfs
    # bind fail, and could leak mounts to the host).
    rprop_all = M.ROOTFS_PROPAGATION[rprop] if rprop else 0
    if rprop_all & L.MS_PRIVATE:
        rprop_flags, rprop_after = rprop_all | L.MS_REC, 0
    else:
        rprop_flags, rprop_after = L.MS_SLAVE | L.MS_REC, rprop_all

    # (being recursive, that first step also leaves no shared mount behind,
    # so the rootfs' parent mount cannot be shared when pivot_root runs)
    pre = [Step("rootfs-propagation", "linux.rootfsPropagation",
                {"flags": M.flag_names(rprop_flags), "value": rprop_flags}),
           Step("bind-rootfs", "root.path", {"path": rootfs})]

    # mounts
    dev_is_bind = False
    mounts = _list(doc.get("mounts"), "mounts")
    for i, m in enumerate(mounts):
        f = f"mounts[{i}]"
        m = _obj(m, f)
        dest = _str(m.get("destination"), f + ".destination", required=True)
        if not dest.startswith("/"):
            dest = "/" + dest  # spec: relative destinations are relative to /
        mtype = _str(m.get("type"), f + ".type")
        src = _str(m.get("source"), f + ".source")
        opts = _list(m.get("options"), f + ".options")
        for j, o in enumerate(opts):
            _str(o, f"{f}.options[{j}]")
        mo = M.parse_options(opts, mtype)
        if mo.is_bind:
            if not src:
                raise SpecError(f + ".source", "a bind mount needs a source")
            if not os.path.isabs(src):
                src = os.path.join(bundle, src)
            if not os.path.exists(src):
                raise SpecError(f + ".source", f"{src}: no such file or directory")
            if os.path.normpath(dest) == "/dev":
                dev_is_bind = True
        elif not mtype:
            raise SpecError(f + ".type", "is required for a mount that is not a bind mount")
        pre.append(Step("mount", f, {
            "destination": dest, "type": mtype or "bind", "source": src,
            "flags": mo.flags, "flag_names": M.flag_names(mo.flags), "data": mo.data,
            "propagation": list(mo.propagation), "recursive": list(mo.recursive)}))

    # devices
    if not dev_is_bind:
        for path, t, major, minor, mode in DEFAULT_DEVICES:
            pre.append(Step("device", "default devices (config-linux.md)",
                            {"path": path, "type": t, "major": major, "minor": minor,
                             "mode": mode, "uid": 0, "gid": 0, "default": True}))
    for i, d in enumerate(_list(linux.get("devices"), "linux.devices")):
        f = f"linux.devices[{i}]"
        d = _obj(d, f)
        path = _str(d.get("path"), f + ".path", required=True)
        t = _str(d.get("type"), f + ".type", required=True)
        if t not in ("c", "b", "u", "p"):
            raise SpecError(f + ".type", f"unknown device type {t!r} (one of c, b, u, p)")
        major = _int(d.get("major"), f + ".major", 0, required=(t != "p"))
        minor = _int(d.get("minor"), f + ".minor", 0, required=(t != "p"))
        mode = _int(d.get("fileMode"), f + ".fileMode", 0, 0o7777)
        pre.append(Step("device", f, {
            "path": path if path.startswith("/") else "/" + path, "type": t,
            "major": major or 0, "minor": minor or 0,
            "mode": 0o666 if mode is None else mode,
            "uid": _int(d.get("uid"), f + ".uid", 0, U32) or 0,
            "gid": _int(d.get("gid"), f + ".gid", 0, U32) or 0}))
    pre.append(Step("dev-symlinks", "runtime-linux.md#dev-symbolic-links",
                    {"links": DEV_SYMLINKS}))
    pre.append(Step("ptmx", "runtime-linux.md (devpts)", {}))

    # after pivot_root
    post = []
    if rprop_after:
        post.append(Step("root-propagation", "linux.rootfsPropagation",
                         {"flags": M.flag_names(rprop_after), "value": rprop_after}))
    # sysctls first: readonlyPaths usually makes /proc/sys read-only
    sysctl = _obj(linux.get("sysctl"), "linux.sysctl")
    for k, v in sysctl.items():
        _str(v, f"linux.sysctl.{k}", required=True)
        post.append(Step("sysctl", f"linux.sysctl.{k}", {"key": k, "value": v}))
    for i, p in enumerate(_list(linux.get("maskedPaths"), "linux.maskedPaths")):
        post.append(Step("mask", f"linux.maskedPaths[{i}]",
                         {"path": _str(p, f"linux.maskedPaths[{i}]")}))
    for i, p in enumerate(_list(linux.get("readonlyPaths"), "linux.readonlyPaths")):
        post.append(Step("readonly-path", f"linux.readonlyPaths[{i}]",
                         {"path": _str(p, f"linux.readonlyPaths[{i}]")}))
    if hostname is not None and uts_new:
        post.append(Step("hostname", "hostname", {"name": hostname}))
    if domainname is not None and uts_new:
        post.append(Step("domainname", "domainname", {"name": domainname}))
    if _bool(root.get("readonly"), "root.readonly"):
        post.append(Step("readonly-root", "root.readonly", {}))

    plan = InitPlan(rootfs=rootfs, readonly=bool(root.get("readonly")),
                    namespaces=namespaces, unshare_flags=flags,
                    uid_mappings=uid_maps, gid_mappings=gid_maps, time_offsets=time_offsets,
                    rootfs_propagation=rprop_flags, pre_pivot=pre, post_pivot=post,
                    sysctl=sysctl, no_pivot=no_pivot, dev_is_bind=dev_is_bind,
                    cgroups_path=_str(linux.get("cgroupsPath"), "linux.cgroupsPath"),
                    resources=_obj(linux.get("resources"), "linux.resources"),
                    seccomp=linux.get("seccomp"),
                    personality=_obj(linux.get("personality"), "linux.personality") or None,
                    raw_linux=linux)
    if "process" in doc:
        plan.process = compile_process(_obj(doc.get("process"), "process"), "process")
    hooks = _obj(doc.get("hooks"), "hooks")
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer",
                 "poststart", "poststop"):
        lst = []
        for i, h in enumerate(_list(hooks.get(kind), f"hooks.{kind}")):
            f = f"hooks.{kind}[{i}]"
            h = _obj(h, f)
            path = _str(h.get("path"), f + ".path", required=True)
            if not os.path.isabs(path):
                raise SpecError(f + ".path", "must be an absolute path")
            for j, a in enumerate(_list(h.get("args"), f + ".args")):
                _str(a, f"{f}.args[{j}]")
            for j, e in enumerate(_list(h.get("env"), f + ".env")):
                _str(e, f"{f}.env[{j}]")
            _int(h.get("timeout"), f + ".timeout", 1)
            lst.append(h)
        if lst:
            plan.hooks[kind] = lst
    return plan


def compile_process(p, f="process"):
    args = _list(p.get("args"), f + ".args")
    if not args:
        raise SpecError(f + ".args", "must name the program to run")
    for i, a in enumerate(args):
        _str(a, f"{f}.args[{i}]")
    env = _list(p.get("env"), f + ".env")
    for i, e in enumerate(env):
        _str(e, f"{f}.env[{i}]")
        if "=" not in e:
            raise SpecError(f"{f}.env[{i}]", f"{e!r} is not of the form KEY=value")
    cwd = _str(p.get("cwd"), f + ".cwd", required=True)
    if not cwd.startswith("/"):
        raise SpecError(f + ".cwd", "must be an absolute path")
    user = _obj(p.get("user"), f + ".user")
    gids = _list(user.get("additionalGids"), f + ".user.additionalGids")
    for i, g in enumerate(gids):
        _int(g, f"{f}.user.additionalGids[{i}]", 0, U32)
    rl = []
    seen = set()
    for i, r in enumerate(_list(p.get("rlimits"), f + ".rlimits")):
        rf = f"{f}.rlimits[{i}]"
        r = _obj(r, rf)
        t = _str(r.get("type"), rf + ".type", required=True)
        if t not in RLIMITS:
            raise SpecError(rf + ".type", f"unknown rlimit {t!r}")
        if t in seen:
            raise SpecError(rf + ".type", f"{t} appears twice")
        seen.add(t)
        soft = _int(r.get("soft"), rf + ".soft", 0, U64, True)
        hard = _int(r.get("hard"), rf + ".hard", 0, U64, True)
        if soft > hard:
            raise SpecError(rf + ".soft", f"soft limit {soft} is above hard limit {hard}")
        rl.append((t, RLIMITS[t], soft, hard))
    cs = _obj(p.get("consoleSize"), f + ".consoleSize")
    console_size = None
    if cs:
        console_size = (_int(cs.get("height"), f + ".consoleSize.height", 0, U32, True),
                        _int(cs.get("width"), f + ".consoleSize.width", 0, U32, True))
    caps = _obj(p.get("capabilities"), f + ".capabilities") or None
    return ProcessPlan(
        args=list(args), env=list(env), cwd=cwd,
        uid=_int(user.get("uid"), f + ".user.uid", 0, U32) or 0,
        gid=_int(user.get("gid"), f + ".user.gid", 0, U32) or 0,
        additional_gids=list(gids),
        umask=_int(user.get("umask"), f + ".user.umask", 0, 0o777),
        terminal=_bool(p.get("terminal"), f + ".terminal"),
        console_size=console_size, rlimits=rl,
        oom_score_adj=_int(p.get("oomScoreAdj"), f + ".oomScoreAdj", -1000, 1000),
        no_new_privileges=_bool(p.get("noNewPrivileges"), f + ".noNewPrivileges"),
        capabilities=caps,
        apparmor=_str(p.get("apparmorProfile"), f + ".apparmorProfile"),
        selinux=_str(p.get("selinuxLabel"), f + ".selinuxLabel"),
        io_priority=p.get("ioPriority"), scheduler=p.get("scheduler"))
