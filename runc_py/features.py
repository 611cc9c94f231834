"""`runc-py features` (features.md, features-linux.md).

The recognised names come from the runtime's own tables (what it
implements: mount options, namespaces, capabilities, seccomp names), so
they cannot drift from the code; the booleans and the annotations report
what this host offers right now (cgroup layout, libseccomp, LSMs, RDT)."""
import os

from .cli import SPEC_VERSION, VERSION


def _host_cgroup_layout():
    try:
        from .cgroups import detect
        lay = detect()
        if lay.v1 and lay.v2:
            return "hybrid"
        return "v2" if lay.v2 else "v1"
    except Exception:  # noqa: BLE001
        return "unknown"


def features():
    from . import caps, mounts
    from .plan.compile import NS_FLAGS
    mount_options = sorted(set(mounts._FLAGS) | set(mounts._PROPAGATION) |
                           set(mounts._RECURSIVE))
    try:
        from . import seccomp
        sec = seccomp.features()
        libseccomp = ".".join(map(str, seccomp.libseccomp_version()))
    except Exception:  # noqa: BLE001 - libseccomp missing: say so
        sec, libseccomp = {"enabled": False}, ""
    helper = os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                         "_exec_helper"))
    annotations = {
        "org.opencontainers.runc-py.version": VERSION,
        "org.opencontainers.runc-py.cgroup.layout": _host_cgroup_layout(),
        "org.opencontainers.runc-py.exec.sealed-helper": str(helper).lower(),
    }
    if libseccomp:
        annotations["io.github.seccomp.libseccomp.version"] = libseccomp
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": SPEC_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer",
                  "poststart", "poststop"],
        "mountOptions": mount_options,
        "linux": {
            "namespaces": sorted(NS_FLAGS),
            "capabilities": sorted(caps.CAP_NAMES, key=caps.CAP_NAMES.get),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": os.path.isdir("/sys/fs/cgroup/rdma") or _v2_has("rdma")},
            "seccomp": sec,
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
            "intelRdt": {"enabled": False},
            "mountExtensions": {"idmap": {"enabled": False}},
        },
        "annotations": annotations,
    }


def _v2_has(ctrl):
    for path in ("/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers"):
        try:
            with open(path) as f:
                if ctrl in f.read().split():
                    return True
        except OSError:
            pass
    return False
