"""`create`: validate the options, find the image, write the container's
record, mount its rootfs, write its /etc files and its OCI bundle.

On `mydocker run`'s path, so light to import: no pathlib, json, re, shutil
or dataclasses (specgen and the stores are light too).  An image named by
a plain reference is found with a direct look-up in the image database;
anything else (IDs, digests, pulls) goes through services/images.py.
"""
import os
import sys

from .. import rootfs as rootfs_mod
from .. import runtime_client as rc
from .. import specgen
from ..errors import RuntimeFailed, UsageError
from ..jsonfast import dumps, loads
from ..procinfo import rfc3339nano
from ..store.atomic import read_json
from .common import (_cgroup_parent, _cgroup_v2, _destroy, _read_in_root, _store,
                     _token)
from .names import random_name

__all__ = ["create", "validate", "resolve_image"]


# ---- image --------------------------------------------------------------------------

_REF_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/:")
_HEX = frozenset("0123456789abcdef")
_LEGACY_DOMAINS = ("index.docker.io", "registry-1.docker.io")


def simple_tagged(ref):
    """The name a plain reference ("busybox", "host:5000/ns/app:v1") is stored
    under ("docker.io/library/busybox:latest"), computed as
    registry/reference.py does, or None for anything that is not plain
    (digests, IDs, upper case ...: those take the full path).  For a
    reference reference.parse() rejects, the result keeps the offending part
    verbatim, so it cannot equal a stored name."""
    if not isinstance(ref, str) or not ref or not _REF_CHARS.issuperset(ref):
        return None
    bare = ref[7:] if ref.startswith("sha256:") else ref
    if len(bare) == 64 and _HEX.issuperset(bare):
        return None                      # an image ID
    name, tag = ref, "latest"
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not tag or tag[0] in ".-" or len(tag) > 128:
            return None
    if not name:
        return None
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        domain, rest = parts[0], parts[1:]
    else:
        domain, rest = "docker.io", parts
    if domain in _LEGACY_DOMAINS:
        domain = "docker.io"
    if not all(rest):
        return None
    path = "/".join(rest)
    if domain == "docker.io" and len(rest) == 1:
        path = "library/" + path
    return f"{domain}/{path}:{tag}"


def _sha256_hex(data):
    try:
        from _sha256 import sha256
    except ImportError:            # pragma: no cover - Python 3.12+
        try:
            from _sha2 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256(data).hexdigest()


def _chain_ids(diff_ids):
    out = []
    for d in diff_ids:
        out.append(d if not out else "sha256:" + _sha256_hex(f"{out[-1]} {d}".encode()))
    return out


class LocalImage:
    """The parts of store.images.Image that a container needs."""
    __slots__ = ("id", "config", "layers")

    def __init__(self, image_id, config, layers):
        self.id, self.config, self.layers = image_id, config, layers


def quick_image(paths, ref):
    """The stored image a plain reference names, or None (not plain, not
    stored, or anything unexpected: the full look-up then decides)."""
    name = simple_tagged(ref)
    if name is None:
        return None
    root = os.fspath(paths.data_root)
    try:
        db = read_json(os.path.join(root, "images", "images.json"))
        recs = db.get("images") if isinstance(db, dict) else None
        if not isinstance(recs, dict):
            return None
        for image_id, rec in recs.items():
            if name in (rec.get("names") or []):
                break
        else:
            return None
        algo, _, hexpart = image_id.partition(":")
        if algo != "sha256" or len(hexpart) != 64 or not _HEX.issuperset(hexpart):
            return None
        with open(os.path.join(root, "blobs", algo, hexpart), "rb") as f:
            config = loads(f.read())
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        layers = [os.path.join(root, "layers", c.partition(":")[2], "diff")
                  for c in _chain_ids(diff_ids)]
    except (OSError, ValueError, AttributeError, TypeError):
        return None
    return LocalImage(image_id, config, layers)


def resolve_image(paths, ref, policy="missing"):
    if policy not in ("always", "missing", "never"):
        raise UsageError(f"invalid pull policy {policy!r}: use always, missing or never")
    if policy != "always":
        image = quick_image(paths, ref)
        if image is not None:
            return image
    from ..errors import ImageNotFound
    from ..store.images import ImageStore
    if policy != "always":
        try:
            return ImageStore(paths.data_root).resolve(ref)
        except ImageNotFound:
            if policy == "never":
                raise ImageNotFound(f"No such image: {ref}")
    from . import images
    return images.ensure(paths, ref, policy=policy)


# ---- options ------------------------------------------------------------------------

_NAME_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_REST = _NAME_FIRST | frozenset("_.-")


def _valid_name(name):
    """Docker's ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (as re.match reads it: `$` also
    matches before a final newline), without importing re."""
    core = name[1:] if name.startswith("/") else name
    if core.endswith("\n"):
        core = core[:-1]
    if len(core) < 2 or core[0] not in _NAME_FIRST or not _NAME_REST.issuperset(core[1:]):
        raise UsageError(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] '
                         "are allowed")
    return name.lstrip("/")


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
                seccomp_profile = loads(f.read())
        except (OSError, ValueError) as e:
            raise UsageError(f"opening seccomp profile ({seccomp_mode}) failed: {e}")
    store = _store(paths)
    cid = _token(32)
    name = opts.name or random_name(store.names())
    hostname = opts.hostname or cid[:12]
    cdir = store.cdir(cid)
    plan = rootfs_mod.plan(image.layers, cdir)
    join = os.path.join
    cgroups_path = f"{_cgroup_parent(opts)}/{cid}"
    args_preview = specgen.command_args(image.config, opts.entrypoint, opts.command)
    now = rfc3339nano()
    volumes = dict(icfg.get("Volumes") or {})
    rec = {
        "Id": cid, "Created": now, "Path": args_preview[0], "Args": args_preview[1:],
        "Name": name, "Image": image.id, "ImageName": opts.image,
        "Driver": "overlay2", "Runtime": runtime_name, "RuntimePath": runtime_path,
        "Platform": "linux", "RestartCount": 0,
        "LogPath": join(cdir, f"{cid}-json.log"),
        "HostnamePath": join(cdir, "hostname"), "HostsPath": join(cdir, "hosts"),
        "ResolvConfPath": join(cdir, "resolv.conf"),
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
        "Options": opts.asdict(),
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
    return os.path.join(paths.data_root, "volumes", name, "_data")


def _prepare(paths, rec, opts, image, specs, seccomp_profile, plan):
    """Mount the rootfs, resolve volumes, write /etc files and the bundle."""
    cid = rec["Id"]
    cdir = os.path.dirname(rec["LogPath"])
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
            fresh = not os.path.exists(vdir)
            os.makedirs(vdir, exist_ok=True)
            if not ms.source:
                rec["AnonymousVolumes"].append(os.path.dirname(vdir))
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
    bundle = os.path.join(cdir, "bundle")
    os.makedirs(bundle, exist_ok=True)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        f.write(dumps(spec))
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
    import shutil
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


