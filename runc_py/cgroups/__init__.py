"""cgroups for runc-py: v1, v2 and hybrid hosts.

    detect.py     layout (v1 / v2 / hybrid) from a mountinfo file
    resources.py  PURE: linux.resources -> [Write(controller, file, value, field)]
                  per controller, for v1 and for v2
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
from .manager import Cgroup, resolve_path, expand_slice, PARENT
from .devices import default_rules

__all__ = ["Cgroup", "CgroupError", "Layout", "detect", "resolve_path", "expand_slice",
           "PARENT", "default_rules"]
