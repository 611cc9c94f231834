"""linux.intelRdt (config-linux.md#intelrdt) through the resctrl filesystem.

Where /sys/fs/resctrl is not mounted (no RDT in the CPU, or not mounted),
a config that asks for it is refused with a clear error naming the field,
before anything is created."""
import os

from .errors import SpecError, StepError

RESCTRL = "/sys/fs/resctrl"


def check(rdt, root=RESCTRL):
    if not rdt:
        return
    if not os.path.isdir(os.path.join(root, "info")):
        raise SpecError("linux.intelRdt", f"Intel RDT is not available on this host "
                        f"({root} is not a mounted resctrl filesystem)",
                        hint="remove linux.intelRdt, or mount resctrl on an RDT-capable CPU")
    for key in ("l3CacheSchema", "memBwSchema", "closID"):
        v = rdt.get(key)
        if v is not None and not isinstance(v, str):
            raise SpecError(f"linux.intelRdt.{key}", "must be a string")


def apply(rdt, cid, pid, root=RESCTRL):
    """Create (or join) the CLOS group and put pid in it; returns the group
    directory if this container created it (to remove on delete)."""
    if not rdt:
        return None
    group = os.path.join(root, rdt.get("closID") or cid)
    created = False
    try:
        if not os.path.isdir(group):
            os.mkdir(group)
            created = True
        schemata = "\n".join(s for s in (rdt.get("l3CacheSchema"), rdt.get("memBwSchema"))
                             if s)
        if schemata:
            with open(os.path.join(group, "schemata"), "w") as f:
                f.write(schemata + "\n")
        with open(os.path.join(group, "tasks"), "w") as f:
            f.write(str(pid))
    except OSError as e:
        if created:
            try:
                os.rmdir(group)
            except OSError:
                pass
        raise StepError("intel-rdt", field="linux.intelRdt", syscall="write", path=e.filename,
                        errno=e.errno)
    return group if created else None
