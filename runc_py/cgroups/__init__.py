"""cgroups for runc-py: v1, v2 and hybrid hosts.

    detect.py     layout (v1 / v2 / hybrid) from a mountinfo file
    resources.py  PURE: linux.resources -> [Write(controller, file, value, field)]
                  per controller, for v1 and for v2
    write.py      Write: one planned cgroup file write
    devices.py    device rules -> v1 devices.allow/deny writes, or a v2 eBPF
                  program (bytes generated here, loaded with bpf(2))
    fs.py         the only module that writes cgroup files
    manager.py    Cgroup: create / apply / add_pid / freeze / destroy / stats
    stats.py      counters shaped like runc's `events --stats`
    errors.py     CgroupError(field, message, file, value, errno, hint)

Every well-known path (the cgroup root, /proc/self/mountinfo) is a parameter,
so unit tests run against a temporary fake tree without root.
"""
from .errors import CgroupError
from .detect import Layout, detect
from .paths import PARENT, expand_slice, resolve_path

__all__ = ["Cgroup", "CgroupError", "Layout", "detect", "resolve_path", "expand_slice",
           "PARENT", "default_rules"]


def __getattr__(name):
    # Cgroup and default_rules load manager.py, devices.py and resources.py
    # on first use: `create` reads the layout and the path (detect, paths)
    # before it forks the init, and the rest after (process/early.py)
    if name == "Cgroup":
        from .manager import Cgroup
        return Cgroup
    if name == "default_rules":
        from .devices import default_rules
        return default_rules
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
