"""Container services (no click): create, start, run, attach, stop, kill,
remove, list, inspect, wait, rename, prune, pause (logs, exec, top and stats
are in their own modules beside this one).

A container lives in three places:
  DATA_ROOT/containers/<id>/   record (store/containers.py), overlay dirs
                               (diff, work, rootfs), bundle/config.json,
                               hostname/hosts/resolv.conf, <id>-json.log
  RUN_ROOT/c/<id[:16]>/        monitor.json, attach.sock, pidfile, monitor.log
  RUN_ROOT/runtimes/<name>/    the OCI runtime's --root

Status is reconciled on every read: a record that says running (or
restarting, or created with a live runtime container) but whose monitor is
gone is marked exited and its leftovers (runtime container, mount) are
cleaned, so nothing stays "running" after a crash or a loss of /run.
"""
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from .. import rootfs as rootfs_mod
from .. import runtime_client as rc
from .. import specgen
from ..errors import Conflict, ContainerNotFound, MyDockerError, RuntimeFailed, UsageError
from ..monitor import (EXIT, ERROR, HELLO, RESIZE, START, STARTED, STDERR, STDIN,
                       STDIN_CLOSE, STDOUT, FrameReader, frame, pid_alive, rfc3339nano)
from ..store.containers import ContainerStore

__all__ = ["create", "start", "run", "stop", "kill", "remove", "list_containers",
           "inspect", "wait", "rename", "prune", "restart", "pause", "unpause",
           "CommandFailed"]
# logs, exec, top and stats live in services/logs.py, exec.py and stats.py

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
ZERO_TIME = "0001-01-01T00:00:00Z"


class CommandFailed(MyDockerError):
    """The container's command could not be started (exit 126/127) or a
    container exited with a code the CLI must pass on."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


# ---- small helpers ----------------------------------------------------------------

_ADJ = ("admiring adoring affectionate amazing angry awesome blissful bold boring brave busy "
        "charming clever compassionate competent condescending confident cool cranky crazy "
        "dazzling determined distracted dreamy eager ecstatic elastic elated elegant eloquent "
        "epic exciting fervent festive flamboyant focused friendly frosty funny gallant "
        "gifted goofy gracious great happy hardcore heuristic hopeful hungry infallible "
        "inspiring intelligent interesting jolly jovial keen kind laughing loving lucid "
        "magical modest musing mystifying naughty nervous nice nifty nostalgic objective "
        "optimistic peaceful pedantic pensive practical priceless quirky quizzical "
        "recursing relaxed reverent romantic sad serene sharp silly sleepy stoic strange "
        "stupefied suspicious sweet tender thirsty trusting unruffled upbeat vibrant "
        "vigilant vigorous wizardly wonderful xenodochial youthful zealous zen").split()
_NAMES = ("albattani allen archimedes ardinghelli aryabhata austin babbage banach bardeen "
          "bartik bassi beaver bell benz bhabha bhaskara blackburn blackwell bohr booth "
          "borg bose bouman boyd brahmagupta brattain brown buck burnell cannon carson cartwright "
          "cerf chandrasekhar chaplygin chatelet chatterjee chaum chebyshev clarke cohen "
          "colden cori cray curie darwin davinci dewdney dhawan diffie dijkstra dirac "
          "driscoll dubinsky easley edison einstein elbakyan elgamal elion ellis engelbart "
          "euclid euler faraday feistel fermat fermi feynman franklin gagarin galileo galois "
          "ganguly gates gauss germain goldberg goldstine goldwasser golick goodall gould "
          "greider grothendieck haibt hamilton haslett hawking heisenberg hellman hermann "
          "herschel hertz heyrovsky hodgkin hofstadter hoover hopper hugle hypatia jackson "
          "jang jennings jepsen johnson joliot jones kalam kapitsa kare keldysh keller kepler "
          "khorana kilby kirch knuth kowalevski lalande lamarr lamport leakey leavitt lederberg "
          "lehmann lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto maxwell "
          "mayer mccarthy mcclintock mclaren mclean mcnulty meitner mendel mendeleev meninsky "
          "merkle mestorf mirzakhani montalcini moore morse moser murdock napier nash neumann "
          "newton nightingale nobel noether northcutt noyce panini pare pascal pasteur payne "
          "perlman pike poincare poitras proskuriakova ptolemy raman ramanujan rhodes ride "
          "ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi shamir "
          "shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker "
          "sutherland swanson swartz swirles taussig tesla tharp thompson torvalds tu turing "
          "varahamihira vaughan villani visvesvaraya volhard wescoff wilbur wiles williams "
          "williamson wilson wing wozniak wright wu yalow yonath zhukovsky").split()


def _pick(seq):
    return seq[int.from_bytes(os.urandom(4), "big") % len(seq)]


def _token(nbytes=32):
    return os.urandom(nbytes).hex()


def random_name(taken=()):
    for _ in range(100):
        n = f"{_pick(_ADJ)}_{_pick(_NAMES)}"
        if n not in taken:
            return n
    return f"{n}{int.from_bytes(os.urandom(1), 'big') % 100}"


def _valid_name(name):
    import re
    if not re.match(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$", name):
        raise UsageError(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] '
                         "are allowed")
    return name.lstrip("/")


def _store(paths):
    return ContainerStore(paths.data_root)


def _rundir(paths, cid):
    # short: unix socket paths (attach.sock, console.sock) must fit in 108 bytes
    return Path(paths.run_root) / "c" / cid[:16]


def _runtime(paths, rec):
    name = rec["HostConfig"].get("Runtime") or rc.DEFAULT_RUNTIME
    path = rec.get("RuntimePath") or rc.resolve(name)
    if not path or not os.access(path, os.X_OK):
        path = rc.resolve(name)
    if not path:
        raise RuntimeFailed(f"OCI runtime {name!r} not found in PATH",
                            hint="install it or pass --runtime runc")
    root = Path(paths.run_root) / "runtimes" / os.path.basename(name)
    root.mkdir(parents=True, exist_ok=True)
    return rc.Runtime(path=path, root=str(root),
                      log=str(Path(paths.data_root) / "containers" / rec["Id"] / "runtime.log"))


def _cgroup_v2():
    return os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _cgroup_parent(opts):
    parent = opts.cgroup_parent or os.environ.get("MYDOCKER_CGROUP_PARENT") or "mydocker"
    return "/" + parent.strip("/")


def _memory_cgroup(cgroups_path):
    if _cgroup_v2():
        return "/sys/fs/cgroup" + cgroups_path
    return "/sys/fs/cgroup/memory" + cgroups_path


def _cgroup_dir(controller, cgroups_path):
    if _cgroup_v2():
        return "/sys/fs/cgroup" + cgroups_path
    return f"/sys/fs/cgroup/{controller}" + cgroups_path


def parse_time(s):
    """RFC 3339 (with nanoseconds) -> float seconds since the epoch (0 for zero time)."""
    if not s or s.startswith("0001-"):
        return 0.0
    import calendar
    main, _, frac = s.rstrip("Z").partition(".")
    base = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return base + (float("0." + frac) if frac else 0.0)


def human_duration(seconds):
    """Docker's units.HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    m = s // 60
    if m == 1:
        return "About a minute"
    if m < 60:
        return f"{m} minutes"
    h = round(s / 3600)
    if h == 1:
        return "About an hour"
    if h < 48:
        return f"{h} hours"
    if h < 24 * 7 * 2:
        return f"{h // 24} days"
    if h < 24 * 30 * 2:
        return f"{h // 24 // 7} weeks"
    if h < 24 * 365 * 2:
        return f"{h // 24 // 30} months"
    return f"{h // 24 // 365} years"


# ---- reconcile --------------------------------------------------------------------

def state_of(paths, rec):
    """The container's state, reconciled with its monitor and the runtime."""
    store = _store(paths)
    cid = rec["Id"]
    st = store.state(cid)
    if st["Status"] in ("running", "restarting", "paused") or st.get("MonitorPid"):
        if not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            st = _monitor_gone(paths, rec, st)
    return st


def _monitor_gone(paths, rec, st):
    """The monitor died (or /run was lost): stop what is left and record exited."""
    store = _store(paths)
    cid = rec["Id"]
    try:
        rt = _runtime(paths, rec)
        if rc.state(rt, cid) is not None:
            try:
                rc.call(rt, rc.kill_argv(rt, cid, "KILL"))
            except rc.RuntimeError_:
                pass
            try:
                rc.call(rt, rc.delete_argv(rt, cid, force=True))
            except rc.RuntimeError_:
                pass
    except MyDockerError:
        pass
    try:
        rootfs_mod.unmount(rec["GraphDriver"]["Data"]["MergedDir"])
    except (OSError, KeyError):
        pass
    # Re-read under the lock: the monitor may have finished in the meantime.
    cur = store.state(cid)
    if pid_alive(cur.get("MonitorPid"), cur.get("MonitorStart")):
        return cur
    if cur["Status"] in ("running", "restarting", "paused") or cur.get("MonitorPid"):
        was_running = cur["Status"] in ("running", "restarting", "paused")
        changes = {"Pid": 0, "MonitorPid": 0}
        if was_running:
            changes.update(Status="exited", ExitCode=255 if cur["Status"] != "exited" else
                           cur["ExitCode"], FinishedAt=rfc3339nano(),
                           Error="container monitor exited unexpectedly")
        cur = store.update_state(cid, **changes)
    return cur


# ---- create -----------------------------------------------------------------------

def _image_store(paths):
    from ..store.images import ImageStore
    return ImageStore(paths.data_root)


def resolve_image(paths, ref, policy="missing"):
    if policy not in ("always", "missing", "never"):
        raise UsageError(f"invalid pull policy {policy!r}: use always, missing or never")
    from ..errors import ImageNotFound
    if policy != "always":
        try:
            return _image_store(paths).resolve(ref)
        except ImageNotFound:
            if policy == "never":
                raise ImageNotFound(f"No such image: {ref}")
    from . import images
    return images.ensure(paths, ref, policy=policy)


def _read_in_root(root, rel):
    """Read a file of the image's rootfs without following links out of it."""
    path = os.path.join(root, rel)
    for _ in range(8):
        if os.path.islink(path):
            target = os.readlink(path)
            path = os.path.join(root, target.lstrip("/")) if target.startswith("/") else \
                os.path.join(os.path.dirname(path), target)
            continue
        break
    real = os.path.realpath(path)
    if not real.startswith(os.path.realpath(root)):
        return ""
    try:
        with open(real, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _host_resolv_conf():
    try:
        with open("/etc/resolv.conf") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    out = []
    for line in lines:
        parts = line.split()
        if parts and parts[0] == "nameserver" and len(parts) > 1 and \
                (parts[1].startswith("127.") or parts[1] == "::1"):
            continue
        out.append(line)
    return "\n".join(out) + "\n" if out else ""


HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
         "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
         "ff02::2\tip6-allrouters\n")


def validate(opts):
    """Every check that needs no image or disk, so bad input fails before anything is made."""
    if opts.name is not None:
        opts.name = _valid_name(opts.name)
    specs = [specgen.parse_volume(v) for v in opts.volumes]
    specs += [specgen.parse_mount(m) for m in opts.mounts]
    specs += [specgen.parse_tmpfs(t) for t in opts.tmpfs]
    dests = {}
    for ms in specs:
        d = os.path.normpath(ms.destination)
        if d in dests:
            raise UsageError(f"Duplicate mount point: {d}")
        dests[d] = ms
    for ms in specs:
        if ms.type == "bind" and not os.path.exists(ms.source):
            if ms in [specgen.parse_mount(m) for m in opts.mounts]:
                raise UsageError(f"invalid mount config for type \"bind\": bind source path "
                                 f"does not exist: {ms.source}")
    restart = specgen.parse_restart(opts.restart)
    if opts.rm and restart["Name"] != "no":
        raise UsageError("Conflicting options: --restart and --rm")
    for u in opts.ulimits:
        specgen.parse_ulimit(u)
    specgen.resources(opts, os.cpu_count())
    specgen.capabilities(opts.cap_add, opts.cap_drop, opts.privileged)
    specgen.security(opts)
    if opts.stop_signal:
        specgen.parse_signal(opts.stop_signal)
    if opts.log_opts:
        for k in opts.log_opts:
            if k not in ("max-size", "max-file"):
                raise UsageError(f"unknown log opt '{k}' for json-file log driver")
        if "max-size" in opts.log_opts:
            specgen.parse_size(opts.log_opts["max-size"], "max-size")
        if "max-file" in opts.log_opts and not str(opts.log_opts["max-file"]).isdigit():
            raise UsageError("invalid max-file: must be a positive number")
    return specs, restart


def create(paths, opts, default_runtime=None, out=sys.stderr):
    """Make a container (record, rootfs, bundle) without starting it; returns its record."""
    specs, restart = validate(opts)
    runtime_name = opts.runtime or default_runtime or rc.DEFAULT_RUNTIME
    runtime_path = rc.resolve(runtime_name)
    if not runtime_path:
        raise RuntimeFailed(f"unknown or invalid runtime name: {runtime_name}",
                            hint="install it or pass --runtime runc")
    image = resolve_image(paths, opts.image, opts.pull)
    icfg = (image.config or {}).get("config") or {}
    seccomp_mode = specgen.security(opts)[1]
    seccomp_profile = None
    if seccomp_mode == "default":
        from .. import seccomp_default
        seccomp_profile = seccomp_default.default_profile()
    elif seccomp_mode != "unconfined":
        try:
            with open(seccomp_mode) as f:
                seccomp_profile = json.load(f)
        except (OSError, ValueError) as e:
            raise UsageError(f"opening seccomp profile ({seccomp_mode}) failed: {e}")
    store = _store(paths)
    cid = _token(32)
    name = opts.name or random_name(store.names())
    hostname = opts.hostname or cid[:12]
    cdir = store.cdir(cid)
    plan = rootfs_mod.plan(image.layers, cdir)
    cgroups_path = f"{_cgroup_parent(opts)}/{cid}"
    args_preview = specgen.command_args(image.config, opts.entrypoint, opts.command)
    now = rfc3339nano()
    volumes = dict(icfg.get("Volumes") or {})
    rec = {
        "Id": cid, "Created": now, "Path": args_preview[0], "Args": args_preview[1:],
        "Name": name, "Image": image.id, "ImageName": opts.image,
        "Driver": "overlay2", "Runtime": runtime_name, "RuntimePath": runtime_path,
        "Platform": "linux", "RestartCount": 0,
        "LogPath": str(cdir / f"{cid}-json.log"),
        "HostnamePath": str(cdir / "hostname"), "HostsPath": str(cdir / "hosts"),
        "ResolvConfPath": str(cdir / "resolv.conf"),
        "CgroupsPath": cgroups_path,
        "Config": {
            "Hostname": hostname, "Domainname": "", "User": opts.user if opts.user is not None
            else icfg.get("User", ""),
            "AttachStdin": False, "AttachStdout": False, "AttachStderr": False,
            "Tty": bool(opts.tty), "OpenStdin": bool(opts.interactive),
            "StdinOnce": False, "Env": specgen.config_env(icfg.get("Env"), opts.env),
            "Cmd": list(opts.command) if opts.command else
            (None if opts.entrypoint is not None else icfg.get("Cmd")),
            "Image": opts.image, "Volumes": volumes or None,
            "WorkingDir": opts.workdir if opts.workdir is not None else icfg.get("WorkingDir", ""),
            "Entrypoint": ([opts.entrypoint] if opts.entrypoint else None)
            if opts.entrypoint is not None else icfg.get("Entrypoint"),
            "OnBuild": None,
            "Labels": {**(icfg.get("Labels") or {}), **(opts.labels or {})},
            "StopSignal": opts.stop_signal or icfg.get("StopSignal") or "SIGTERM",
            "ExposedPorts": icfg.get("ExposedPorts"),
        },
        "HostConfig": {
            "Binds": list(opts.volumes) or None, "AutoRemove": bool(opts.rm),
            "RestartPolicy": restart, "Privileged": bool(opts.privileged),
            "ReadonlyRootfs": bool(opts.read_only), "CapAdd": opts.cap_add or None,
            "CapDrop": opts.cap_drop or None, "SecurityOpt": opts.security_opt or None,
            "Memory": opts.memory, "MemorySwap": opts.memory_swap,
            "NanoCpus": int(opts.cpus * 1e9), "CpuShares": opts.cpu_shares,
            "CpusetCpus": opts.cpuset_cpus or "", "PidsLimit": opts.pids_limit or None,
            "Ulimits": [specgen.parse_ulimit(u) for u in opts.ulimits] or None,
            "Init": bool(opts.init), "NetworkMode": opts.network or "none",
            "Runtime": runtime_name, "CgroupParent": opts.cgroup_parent or "",
            "LogConfig": {"Type": "json-file", "Config": dict(opts.log_opts or {})},
            "Tmpfs": {t.partition(":")[0]: t.partition(":")[2] for t in opts.tmpfs} or None,
            "Mounts": list(opts.mounts) or None, "PortBindings": {},
        },
        "GraphDriver": {"Name": "overlay2", "Data": {
            "LowerDir": ":".join(plan.lower), "UpperDir": plan.upper, "WorkDir": plan.work,
            "MergedDir": plan.merged}},
        "Layers": [str(p) for p in image.layers],
        "Mounts": [], "AnonymousVolumes": [],
        "Options": asdict(opts),
    }
    if opts.stop_timeout is not None:
        rec["Config"]["StopTimeout"] = opts.stop_timeout
    store.create(rec)
    try:
        _prepare(paths, rec, opts, image, specs, seccomp_profile, plan)
    except BaseException:
        _destroy(paths, rec)
        raise
    return rec


def _volume_dir(paths, name):
    return Path(paths.data_root) / "volumes" / name / "_data"


def _prepare(paths, rec, opts, image, specs, seccomp_profile, plan):
    """Mount the rootfs, resolve volumes, write /etc files and the bundle."""
    cid = rec["Id"]
    cdir = Path(rec["LogPath"]).parent
    driver = _mount_rootfs(rec, plan)
    merged = plan.merged
    passwd = _read_in_root(merged, "etc/passwd")
    group = _read_in_root(merged, "etc/group")
    # image VOLUMEs not covered by a user mount become anonymous volumes
    covered = {os.path.normpath(ms.destination) for ms in specs}
    for dest in (rec["Config"].get("Volumes") or {}):
        if os.path.normpath(dest) not in covered:
            specs.append(specgen.MountSpec("volume", dest))
    resolved = []
    for ms in specs:
        if ms.type == "bind":
            if not os.path.exists(ms.source):
                os.makedirs(ms.source, exist_ok=True)   # Docker's -v creates it
            src = ms.source
            rec["Mounts"].append({"Type": "bind", "Source": src, "Destination": ms.destination,
                                  "Mode": "ro" if ms.readonly else "", "RW": not ms.readonly,
                                  "Propagation": "rprivate"})
        elif ms.type == "volume":
            vname = ms.source or _token(32)
            vdir = _volume_dir(paths, vname)
            fresh = not vdir.exists()
            vdir.mkdir(parents=True, exist_ok=True)
            if not ms.source:
                rec["AnonymousVolumes"].append(str(vdir.parent))
            if fresh:
                _copy_up(merged, ms.destination, vdir)
            src = str(vdir)
            rec["Mounts"].append({"Type": "volume", "Name": vname, "Source": src,
                                  "Destination": ms.destination, "Driver": "local",
                                  "Mode": "ro" if ms.readonly else "z", "RW": not ms.readonly,
                                  "Propagation": ""})
        else:
            src = ""
            rec["Mounts"].append({"Type": "tmpfs", "Source": "", "Destination": ms.destination,
                                  "Mode": "", "RW": not ms.readonly, "Propagation": ""})
        resolved.append((ms, src))
    # working directory: created like Docker does
    workdir = opts.workdir or rec["Config"].get("WorkingDir") or "/"
    if not workdir.startswith("/"):
        raise UsageError(f"the working directory '{workdir}' is invalid: it needs to be an "
                         "absolute path")
    wd = os.path.join(merged, workdir.lstrip("/"))
    if not os.path.lexists(wd):
        os.makedirs(wd, exist_ok=True)
    with open(rec["HostnamePath"], "w") as f:
        f.write(rec["Config"]["Hostname"] + "\n")
    with open(rec["HostsPath"], "w") as f:
        f.write(HOSTS)
    with open(rec["ResolvConfPath"], "w") as f:
        f.write(_host_resolv_conf())
    init_binary = None
    if opts.init:
        from .. import initbin
        init_binary = initbin.ensure(paths.data_root)
    ctx = specgen.SpecContext(
        cid=cid, image_config=image.config, rootfs=merged, hostname=rec["Config"]["Hostname"],
        etc_files={"/etc/hostname": rec["HostnamePath"], "/etc/hosts": rec["HostsPath"],
                   "/etc/resolv.conf": rec["ResolvConfPath"]},
        passwd=passwd, group=group, volume_mounts=resolved, seccomp_profile=seccomp_profile,
        cgroups_path=rec["CgroupsPath"], cgroup_v2=_cgroup_v2(), init_binary=init_binary,
        cap_bound=_own_caps())
    spec = specgen.generate(opts, ctx)
    (cdir / "bundle").mkdir(exist_ok=True)
    with open(cdir / "bundle" / "config.json", "w") as f:
        json.dump(spec, f, indent=1)
    rec["Driver"] = rec["GraphDriver"]["Name"] = driver
    _store(paths).save(rec)


def _own_caps():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return specgen.caps_from_mask(int(line.split()[1], 16))
    except OSError:
        pass
    return None


def _copy_up(merged, dest, vdir):
    src = os.path.join(merged, dest.lstrip("/"))
    if os.path.isdir(src) and not os.path.islink(src):
        for entry in os.listdir(src):
            s, d = os.path.join(src, entry), os.path.join(vdir, entry)
            if os.path.isdir(s) and not os.path.islink(s):
                shutil.copytree(s, d, symlinks=True)
            else:
                shutil.copy2(s, d, follow_symlinks=False)
        st = os.stat(src)
        os.chown(vdir, st.st_uid, st.st_gid)
        os.chmod(vdir, st.st_mode & 0o7777)


def _mount_rootfs(rec, plan=None):
    if plan is None:
        g = rec["GraphDriver"]["Data"]
        plan = rootfs_mod.RootfsPlan(tuple(filter(None, g["LowerDir"].split(":"))),
                                     g["UpperDir"], g["WorkDir"], g["MergedDir"])
    if rec.get("Driver") == "vfs":
        return "vfs"
    try:
        rootfs_mod.mount(plan)
        return "overlay2"
    except OSError as e:
        if rec.get("Driver") == "overlay2" and os.path.isdir(plan.upper) and \
                os.listdir(plan.upper):
            raise RuntimeFailed(f"cannot mount the container's rootfs: {e.strerror or e}")
        # vfs fallback: a private copy of the layers
        rootfs_mod.vfs_copy(rec["Layers"], plan.merged)
        return "vfs"


def _destroy(paths, rec):
    """Remove everything a container made (its monitor must be gone)."""
    cid = rec["Id"]
    try:
        rt = _runtime(paths, rec)
        if rc.state(rt, cid) is not None:
            try:
                rc.call(rt, rc.delete_argv(rt, cid, force=True))
            except rc.RuntimeError_:
                pass
    except MyDockerError:
        pass
    merged = rec.get("GraphDriver", {}).get("Data", {}).get("MergedDir")
    if merged:
        try:
            rootfs_mod.unmount(merged)
        except OSError as e:
            raise RuntimeFailed(f"cannot unmount {merged}: {e}")
        if rootfs_mod.is_mounted(merged):
            raise RuntimeFailed(f"{merged} is still mounted; not removing the container")
    for vol in rec.get("AnonymousVolumes") or []:
        shutil.rmtree(vol, ignore_errors=True)
    _store(paths).remove(cid)
    shutil.rmtree(_rundir(paths, cid), ignore_errors=True)


# ---- start / attach ---------------------------------------------------------------

class EarlyMonitor:
    """A monitor process started before the container exists, so that its
    interpreter start-up overlaps the manager's own work; it waits on fd 4
    for the path of its monitor.json (EOF: not needed, it exits)."""

    def __init__(self):
        from .. import monitor
        python = os.path.realpath(sys.executable)
        self.sync_r, sync_w = os.pipe()
        cfg_r, self.cfg_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(self.sync_r)
                os.close(self.cfg_w)
                _dup_to(sync_w, 3)
                _dup_to(cfg_r, 4)
                os.execv(python, monitor.command(python, PROJECT_ROOT, "fd:4"))
            finally:
                os._exit(127)
        os.close(sync_w)
        os.close(cfg_r)

    def go(self, mjson):
        os.write(self.cfg_w, str(mjson).encode())
        os.close(self.cfg_w)
        self.cfg_w = None
        os.waitpid(self.pid, 0)
        return self.sync_r

    def cancel(self):
        if self.cfg_w is not None:
            os.close(self.cfg_w)
            self.cfg_w = None
            os.close(self.sync_r)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _dup_to(fd, target):
    if fd != target:
        os.dup2(fd, target)
        os.close(fd)
    else:
        os.set_inheritable(fd, True)


def _spawn_monitor(paths, rec, start_now=False, stdin_once=False, early=None):
    cid = rec["Id"]
    rundir = _rundir(paths, cid)
    rundir.mkdir(parents=True, exist_ok=True)
    rt = _runtime(paths, rec)
    log_cfg = rec["HostConfig"]["LogConfig"]["Config"]
    cfg = {
        "id": cid, "runtime": {"path": rt.path, "root": rt.root, "log": rt.log},
        "bundle": str(Path(rec["LogPath"]).parent / "bundle"),
        "cdir": str(Path(rec["LogPath"]).parent), "rundir": str(rundir),
        "log_path": rec["LogPath"],
        "log_max_size": specgen.parse_size(log_cfg["max-size"]) if log_cfg.get("max-size") else 0,
        "log_max_files": int(log_cfg.get("max-file") or 1),
        "tty": bool(rec["Config"]["Tty"]), "stdin": bool(rec["Config"]["OpenStdin"]),
        "stdin_once": stdin_once,
        "restart": rec["HostConfig"]["RestartPolicy"],
        "auto_remove": rec["HostConfig"]["AutoRemove"],
        "anonymous_volumes": rec.get("AnonymousVolumes") or [],
        "rootfs_merged": rec["GraphDriver"]["Data"]["MergedDir"],
        "memory_cgroup": _memory_cgroup(rec["CgroupsPath"]),
        "start_now": start_now,
    }
    mjson = rundir / "monitor.json"
    with open(mjson, "w") as f:
        json.dump(cfg, f)
    if early is not None:
        r = early.go(mjson)
    else:
        from .. import monitor
        python = os.path.realpath(sys.executable)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                _dup_to(w, 3)
                os.execv(python, monitor.command(python, PROJECT_ROOT, mjson))
            finally:
                os._exit(127)
        os.close(w)
        os.waitpid(pid, 0)     # the monitor forks and its parent exits at once
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(r, 4096)
        if not chunk:
            break
        data += chunk
    os.close(r)
    try:
        msg = json.loads(data.decode().splitlines()[0])
    except (ValueError, IndexError):
        log = ""
        try:
            log = (rundir / "monitor.log").read_text()[-2000:]
        except OSError:
            pass
        raise RuntimeFailed(f"container monitor failed to start: {log.strip() or 'no output'}")
    return msg


def _raise_start_error(msg):
    code = msg.get("code", 125)
    text = msg.get("message") or msg.get("error") or "unknown error"
    if code in (126, 127):
        raise CommandFailed(f"failed to create task for container: {text}", code)
    raise RuntimeFailed(f"OCI runtime create failed: {text}")


class Attach:
    """A client of a container's attach socket."""

    def __init__(self, paths, cid, stdout=True, stderr=True, stdin=False, timeout=10.0):
        import socket
        path = str(_rundir(paths, cid) / "attach.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    raise RuntimeFailed(f"cannot attach to container {cid[:12]}: its monitor "
                                        "is not answering")
                time.sleep(0.01)
        self.reader = FrameReader()
        self.pending = []
        self.send(HELLO, json.dumps({"stdout": stdout, "stderr": stderr, "stdin": stdin}))

    def send(self, kind, payload=b""):
        self.sock.sendall(frame(kind, payload))

    def recv(self):
        """Next frame, or None at EOF."""
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.pending.extend(self.reader.feed(data))
        return self.pending.pop(0)

    def close(self):
        self.sock.close()


def _start_via(att, timeout=None):
    """Ask the monitor to start; wait for STARTED or ERROR (output frames are queued)."""
    att.send(START)
    held = []
    while True:
        f = att.recv()
        if f is None:
            raise RuntimeFailed("container monitor went away while starting the container")
        kind, payload = f
        if kind == STARTED:
            att.pending[:0] = held
            return json.loads(payload)
        if kind == ERROR:
            _raise_start_error(json.loads(payload))
        held.append(f)


def start(paths, ref, attach=False, interactive=False, out=None, err=None, early=None):
    """Start a created or exited container.  With attach, stream its output and
    return its exit code; else return None."""
    store = _store(paths)
    rec = store.resolve(ref) if isinstance(ref, str) else ref
    st = state_of(paths, rec)
    if st["Status"] in ("running", "restarting"):
        if attach:
            return _attach_loop(paths, rec, Attach(paths, rec["Id"], stdin=interactive),
                                interactive)
        return None
    if st["Status"] == "paused":
        raise Conflict("cannot start a paused container, try unpause instead")
    if st["Status"] == "removing":
        raise Conflict(f"container {ref} is marked for removal and cannot be started")
    cid = rec["Id"]
    if not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
        _mount_rootfs(rec)
        store.update_state(cid, StopRequested=False)
        msg = _spawn_monitor(paths, rec, stdin_once=attach and interactive, early=early)
        early = None
        if "error" in msg:
            if rec["HostConfig"]["AutoRemove"]:
                _wait_gone(paths, cid, 5)
            _raise_start_error(msg)
    att = Attach(paths, cid, stdout=attach, stderr=attach, stdin=attach and interactive)
    try:
        _start_via(att)
    except BaseException:
        att.close()
        raise
    if attach:
        return _attach_loop(paths, rec, att, interactive)
    att.close()
    return None


def _wait_gone(paths, cid, timeout):
    deadline = time.monotonic() + timeout
    while _store(paths).cdir(cid).exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def _attach_loop(paths, rec, att, interactive):
    """Stream frames to our stdout/stderr, forward stdin and signals; return the exit code."""
    import selectors
    tty = rec["Config"]["Tty"]
    out = sys.stdout.buffer
    errb = sys.stderr.buffer
    sel = selectors.DefaultSelector()
    sel.register(att.sock, selectors.EVENT_READ, "sock")
    restore = None
    stdin_fd = None
    old_handlers = {}
    if interactive:
        stdin_fd = sys.stdin.fileno()
        sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
        if tty and os.isatty(stdin_fd):
            import termios
            import tty as ttymod
            restore = termios.tcgetattr(stdin_fd)
            ttymod.setraw(stdin_fd)
    if tty:
        def winch(*_):
            try:
                sz = os.get_terminal_size(sys.stdout.fileno() if os.isatty(1) else 0)
                att.send(RESIZE, json.dumps({"h": sz.lines, "w": sz.columns}))
            except OSError:
                pass
        winch()
        old_handlers[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, winch)
    if not tty:
        rt = _runtime(paths, rec)

        def proxy(signum, _frame):
            try:
                rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
            except rc.RuntimeError_:
                pass
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                  signal.SIGUSR1, signal.SIGUSR2):
            old_handlers[s] = signal.signal(s, proxy)
    code = None
    try:
        while code is None:
            # frames already queued first
            while att.pending and code is None:
                code = _handle_frame(att.pending.pop(0), out, errb)
            if code is not None:
                break
            for key, _ in sel.select():
                if key.data == "sock":
                    try:
                        data = att.sock.recv(65536)
                    except InterruptedError:
                        continue
                    if not data:
                        code = _final_code(paths, rec)
                        break
                    att.pending.extend(att.reader.feed(data))
                else:
                    data = os.read(stdin_fd, 65536)
                    if not data:
                        att.send(STDIN_CLOSE)
                        sel.unregister(stdin_fd)
                    else:
                        att.send(STDIN, data)
        # the monitor closes the socket once --rm and the unmount are done
        att.sock.settimeout(10)
        try:
            while att.sock.recv(65536):
                pass
        except OSError:
            pass
    finally:
        if restore is not None:
            import termios
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, restore)
        for s, h in old_handlers.items():
            signal.signal(s, h)
        att.close()
    return code


def _handle_frame(f, out, errb):
    kind, payload = f
    if kind == STDOUT:
        out.write(payload)
        out.flush()
    elif kind == STDERR:
        errb.write(payload)
        errb.flush()
    elif kind == EXIT:
        return json.loads(payload)["ExitCode"]
    elif kind == ERROR:
        _raise_start_error(json.loads(payload))
    return None


def _final_code(paths, rec):
    try:
        return _store(paths).state(rec["Id"])["ExitCode"]
    except ContainerNotFound:
        return 0


def run(paths, opts, default_runtime=None, detach=False):
    """create + start; attached runs return the container's exit code.  The
    monitor's interpreter starts while the container is being created."""
    early = EarlyMonitor()
    try:
        rec = create(paths, opts, default_runtime)
        if detach:
            start(paths, rec, early=early)
            return rec
        return start(paths, rec, attach=True, interactive=opts.interactive, early=early)
    finally:
        early.cancel()


# ---- stop / kill / remove ---------------------------------------------------------

def _is_running(st):
    return st["Status"] in ("running", "restarting", "paused")


def _wait_exit(paths, rec, timeout):
    """Wait until the monitor recorded the exit (and finished); True if it did."""
    store = _store(paths)
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            st = store.state(rec["Id"])
        except OSError:
            return True
        if not _is_running(st) and not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            return True
        if st["Status"] == "exited" and not store.cdir(rec["Id"]).exists():
            return True
        if not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            state_of(paths, rec)
            return True
        if deadline is not None and time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def stop(paths, ref, timeout=None, sig=None):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if not _is_running(st):
        return rec     # Docker: stopping a stopped container succeeds silently
    store.update_state(rec["Id"], StopRequested=True)
    rt = _runtime(paths, rec)
    signum = specgen.parse_signal(sig or rec["Config"].get("StopSignal") or "SIGTERM")
    if timeout is None:
        timeout = rec["Config"].get("StopTimeout")
        if timeout is None:
            timeout = 10
    if st["Status"] == "paused":
        try:
            rc.call(rt, rc.resume_argv(rt, rec["Id"]))
        except rc.RuntimeError_:
            pass
    if timeout != 0:
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
        except rc.RuntimeError_:
            pass
        if timeout < 0 or _wait_exit(paths, rec, timeout):
            if timeout >= 0 or True:
                return rec
    try:
        rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
    except rc.RuntimeError_:
        pass
    _wait_exit(paths, rec, 10)
    return rec


def kill(paths, ref, sig="KILL"):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if not _is_running(st):
        raise Conflict(f"Cannot kill container: {ref}: container {rec['Id']} is not running")
    signum = specgen.parse_signal(sig)
    if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
        store.update_state(rec["Id"], StopRequested=True)
    rt = _runtime(paths, rec)
    try:
        rc.call(rt, rc.kill_argv(rt, rec["Id"], str(signum)))
    except rc.RuntimeError_ as e:
        raise RuntimeFailed(f"Cannot kill container: {ref}: {e.message}")
    if signum == signal.SIGKILL:
        _wait_exit(paths, rec, 10)
    return rec


def remove(paths, ref, force=False, volumes=False):
    store = _store(paths)
    rec = store.resolve(ref)
    st = state_of(paths, rec)
    if _is_running(st):
        if not force:
            raise Conflict(f"cannot remove container \"/{rec['Name']}\": container is running: "
                           "stop the container before removing or force remove")
        store.update_state(rec["Id"], StopRequested=True)
        rt = _runtime(paths, rec)
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
        except rc.RuntimeError_:
            pass
        _wait_exit(paths, rec, 10)
    elif pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
        # created, with a monitor waiting for start: stop it via the runtime
        store.update_state(rec["Id"], StopRequested=True)
        rt = _runtime(paths, rec)
        try:
            rc.call(rt, rc.kill_argv(rt, rec["Id"], "KILL"))
        except rc.RuntimeError_:
            pass
        _wait_exit(paths, rec, 10)
    if not store.cdir(rec["Id"]).exists():
        return rec      # --rm got there first
    if not volumes:
        rec["AnonymousVolumes"] = []
    _destroy(paths, rec)
    return rec


def restart(paths, ref, timeout=None):
    stop(paths, ref, timeout)
    return start(paths, ref)


# ---- listing / inspect ------------------------------------------------------------

def _status_text(st, now=None):
    now = now or time.time()
    s = st["Status"]
    if s == "running":
        return "Up " + human_duration(now - parse_time(st["StartedAt"]))
    if s == "paused":
        return "Up " + human_duration(now - parse_time(st["StartedAt"])) + " (Paused)"
    if s == "restarting":
        return f"Restarting ({st['ExitCode']}) " + \
            human_duration(now - parse_time(st["FinishedAt"])) + " ago"
    if s == "exited":
        return f"Exited ({st['ExitCode']}) " + \
            human_duration(now - parse_time(st["FinishedAt"])) + " ago"
    if s == "removing":
        return "Removal In Progress"
    return "Created"


def inspect_doc(paths, rec, st=None):
    """The JSON Docker's `inspect` prints for one container."""
    st = st or state_of(paths, rec)
    status = st["Status"]
    doc = {
        "Id": rec["Id"], "Created": rec["Created"], "Path": rec["Path"], "Args": rec["Args"],
        "State": {
            "Status": status, "Running": status in ("running", "paused"),
            "Paused": status == "paused", "Restarting": status == "restarting",
            "OOMKilled": bool(st["OOMKilled"]), "Dead": False, "Pid": st["Pid"],
            "ExitCode": st["ExitCode"], "Error": st["Error"],
            "StartedAt": st["StartedAt"], "FinishedAt": st["FinishedAt"],
        },
        "Image": rec["Image"], "ResolvConfPath": rec["ResolvConfPath"],
        "HostnamePath": rec["HostnamePath"], "HostsPath": rec["HostsPath"],
        "LogPath": rec["LogPath"], "Name": "/" + rec["Name"],
        "RestartCount": st.get("RestartCount", 0), "Driver": rec["Driver"],
        "Platform": "linux", "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": None, "HostConfig": rec["HostConfig"], "GraphDriver": rec["GraphDriver"],
        "Mounts": rec["Mounts"], "Config": rec["Config"],
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "HairpinMode": False, "Ports": {},
            "SandboxKey": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "MacAddress": "", "Networks": {"none": {
                "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "",
                "IPPrefixLen": 0, "MacAddress": "", "Aliases": None}}},
    }
    return doc


def inspect(paths, refs):
    store = _store(paths)
    docs, missing = [], []
    for ref in refs:
        try:
            docs.append(inspect_doc(paths, store.resolve(ref)))
        except ContainerNotFound:
            missing.append(ref)
    return docs, missing


def _command_text(rec):
    return " ".join([rec["Path"]] + list(rec["Args"]))


def summary(paths, rec, st=None, now=None):
    """One row of `ps`, with Docker's --format field names."""
    st = st or state_of(paths, rec)
    created = parse_time(rec["Created"])
    now = now or time.time()
    labels = rec["Config"].get("Labels") or {}
    return {
        "ID": rec["Id"][:12], "FullID": rec["Id"], "Image": rec["ImageName"],
        "Command": json.dumps(_command_text(rec)) if False else '"' + _command_text(rec) + '"',
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "RunningFor": human_duration(now - created) + " ago",
        "Status": _status_text(st, now), "State": st["Status"], "Ports": "",
        "Names": rec["Name"], "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "Mounts": ",".join(m.get("Name") or m.get("Source", "") for m in rec["Mounts"]),
        "Networks": rec["HostConfig"].get("NetworkMode", "none"), "Size": "",
        "ExitCode": st["ExitCode"], "LabelMap": labels, "ImageID": rec["Image"],
    }


def _match_filter(rec, st, key, value):
    if key == "status":
        return st["Status"] == value
    if key == "name":
        import re
        return re.search(value, rec["Name"]) is not None
    if key == "id":
        return rec["Id"].startswith(value)
    if key == "label":
        k, eq, v = value.partition("=")
        labels = rec["Config"].get("Labels") or {}
        return k in labels and (not eq or labels[k] == v)
    if key == "exited":
        return st["Status"] == "exited" and str(st["ExitCode"]) == value
    if key == "ancestor":
        return value in (rec["ImageName"], rec["Image"]) or rec["Image"].split(":")[-1] \
            .startswith(value)
    if key == "volume":
        return any(value in (m.get("Name"), m.get("Source"), m.get("Destination"))
                   for m in rec["Mounts"])
    raise UsageError(f"invalid filter '{key}'")


def list_containers(paths, all_=False, filters=(), last=None):
    """Records (newest first) with reconciled state, as (rec, state) pairs."""
    parsed = []
    for f in filters or []:
        k, eq, v = f.partition("=")
        if not eq:
            raise UsageError(f"bad format of filter (expected name=value): {f}")
        if k not in ("status", "name", "id", "label", "exited", "ancestor", "volume"):
            raise UsageError(f"invalid filter '{k}'")
        parsed.append((k, v))
    rows = []
    for rec in _store(paths).list():
        st = state_of(paths, rec)
        rows.append((rec, st))
    rows.sort(key=lambda r: r[0]["Created"], reverse=True)
    if last is not None:
        rows = rows[:last]
        all_ = True
    out = []
    for rec, st in rows:
        has_status = any(k == "status" for k, _ in parsed)
        if not all_ and not has_status and st["Status"] not in ("running", "paused",
                                                                "restarting"):
            continue
        groups = {}
        for k, v in parsed:
            groups.setdefault(k, []).append(v)
        if all(any(_match_filter(rec, st, k, v) for v in vs) for k, vs in groups.items()):
            out.append((rec, st))
    return out


# ---- wait / top / stats / rename / prune ------------------------------------------------

def wait(paths, ref, condition="not-running"):
    store = _store(paths)
    rec = store.resolve(ref)
    cid = rec["Id"]
    last = store.state(cid)
    delay = 0.005
    while True:
        if not store.cdir(cid).exists():
            return last.get("ExitCode", 0)
        st = state_of(paths, rec)
        last = st
        if not _is_running(st) and not pid_alive(st.get("MonitorPid"), st.get("MonitorStart")):
            if condition != "next-exit" or st["Status"] == "exited":
                return st["ExitCode"]
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def rename(paths, ref, new_name):
    store = _store(paths)
    rec = store.resolve(ref)
    new_name = _valid_name(new_name)
    if rec["Name"] == new_name:
        raise UsageError("Renaming a container with the same name as its current name")
    return store.rename(rec["Id"], new_name)


def prune(paths, filters=()):
    """Remove all stopped containers; returns the removed ids."""
    removed = []
    for rec, st in list_containers(paths, all_=True, filters=filters):
        if st["Status"] in ("exited", "created") and not pid_alive(
                st.get("MonitorPid"), st.get("MonitorStart")):
            try:
                remove(paths, rec["Id"])
                removed.append(rec["Id"])
            except (ContainerNotFound, Conflict):
                continue
    return removed


def _freeze_step(paths, ref, must_be, argv_fn, becomes, what):
    rec = _store(paths).resolve(ref)
    if state_of(paths, rec)["Status"] != must_be:
        raise Conflict(f"Container {rec['Id']} is not {what}")
    rt = _runtime(paths, rec)
    try:
        rc.call(rt, argv_fn(rt, rec["Id"]))
    except rc.RuntimeError_ as e:
        raise RuntimeFailed(e.message)
    _store(paths).update_state(rec["Id"], Status=becomes)
    return rec


def pause(paths, ref):
    return _freeze_step(paths, ref, "running", rc.pause_argv, "paused", "running")


def unpause(paths, ref):
    return _freeze_step(paths, ref, "paused", rc.resume_argv, "running", "paused")
