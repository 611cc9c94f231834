"""Where a container's cgroup goes: its path relative to each hierarchy's
root, from cgroupsPath (or the container id), and systemd slice names.
Pure (no cgroupfs access) and light: the runtime resolves the path before
it loads the rest of the cgroups package (see process/early.py)."""
import os

from .errors import CgroupError

PARENT = "/runc-py"
FIELD = "linux.cgroupsPath"
BASE = "linux.resources"   # the field the limits come from (resources.py)
SYSTEMD_PROBE = "/run/systemd/system"


# ---------------------------------------------------------------- paths

def expand_slice(name):
    """systemd slice unit -> its cgroup path: "a-b.slice" -> "/a.slice/a-b.slice"."""
    if not name.endswith(".slice") or "/" in name:
        raise CgroupError(FIELD, f"{name!r} is not a systemd slice name (like \"system.slice\")",
                          value=name)
    base = name[:-len(".slice")]
    if base == "-":
        return "/"
    if not base or "--" in base or base.startswith("-") or base.endswith("-"):
        raise CgroupError(FIELD, f"{name!r} is not a valid systemd slice name", value=name)
    path, prefix = "", ""
    for part in base.split("-"):
        prefix = f"{prefix}-{part}" if prefix else part
        path += f"/{prefix}.slice"
    return path


def _systemd_path(spec, container_id):
    if not spec:
        spec = f"system.slice:runc-py:{container_id}"
    parts = spec.split(":")
    if len(parts) != 3 or not parts[2]:
        raise CgroupError(FIELD, f"{spec!r}: with --systemd-cgroup the path must be "
                                 f"\"slice:prefix:name\" (e.g. \"system.slice:runc-py:{container_id}\")",
                          value=spec)
    slice_, prefix, name = parts
    if "/" in prefix or "/" in name:
        raise CgroupError(FIELD, f"{spec!r}: prefix and name must not contain '/'", value=spec)
    parent = expand_slice(slice_ or "system.slice")
    if name.endswith(".slice"):
        return expand_slice(name)
    unit = f"{prefix}-{name}.scope" if prefix else f"{name}.scope"
    return parent.rstrip("/") + "/" + unit


def resolve_path(container_id, cgroups_path, systemd=False, systemd_probe=SYSTEMD_PROBE):
    """The container's cgroup path, relative to each hierarchy's root ("/a/b")."""
    if systemd:
        if os.path.isdir(systemd_probe):
            raise CgroupError(FIELD, "--systemd-cgroup: systemd is running, and runc-py cannot "
                                     "register a scope with it (no D-Bus client)",
                              hint="run without --systemd-cgroup and give a cgroupfs path")
        return _systemd_path(cgroups_path, container_id)
    if cgroups_path is not None and not isinstance(cgroups_path, str):
        raise CgroupError(FIELD, f"must be a string, got {cgroups_path!r}", value=cgroups_path)
    if not cgroups_path:
        if not container_id or "/" in container_id or container_id in (".", ".."):
            raise CgroupError(FIELD, f"no cgroupsPath and the container id {container_id!r} "
                                     f"cannot name a cgroup", value=container_id)
        return f"{PARENT}/{container_id}"
    if "\0" in cgroups_path or "\n" in cgroups_path:
        raise CgroupError(FIELD, f"{cgroups_path!r} contains a NUL or newline", value=cgroups_path)
    parts = [p for p in cgroups_path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise CgroupError(FIELD, f"{cgroups_path!r} contains '..', which could escape the "
                                 f"cgroup root", value=cgroups_path)
    if cgroups_path.startswith("/"):
        if not parts:
            raise CgroupError(FIELD, f"{cgroups_path!r} is the root cgroup, which a container "
                                     f"cannot own", value=cgroups_path)
        return "/" + "/".join(parts)
    return PARENT + "/" + "/".join(parts)
