"""The Cgroup object: one container's cgroup in every hierarchy of the host.

    cg = Cgroup.for_container(id, cgroups_path, systemd=False,
                              root="/sys/fs/cgroup", mountinfo="/proc/self/mountinfo")
    cg.validate(resources)       # every check that needs no cgroup; raises CgroupError
    cg.create(); cg.apply(resources); cg.add_pid(pid)    # or cg.setup(resources)
    cg.pids(); cg.freeze(); cg.thaw(); cg.stats(); cg.oom_kill_count()
    cg.destroy()                 # kill what is left, remove the dirs (idempotent)
    Cgroup.from_dict(cg.to_dict())   # saved in state.json for later commands

Paths: cgroupsPath absolute -> under the cgroup root; relative -> under
/runc-py; unset -> /runc-py/<id>; "slice:prefix:name" with systemd=True ->
the path systemd would give the scope.  The layout (v1, v2, hybrid) comes from
detect.py; per controller, writes go to the version that serves it.  Only
fs.py writes; resources.py and devices.py decide what to write.
"""
import errno
import os
import time

from . import fs
from .detect import DEFAULT_MOUNTINFO, DEFAULT_ROOT, Layout, detect
from .errors import CgroupError
from .paths import BASE, FIELD, PARENT, SYSTEMD_PROBE, expand_slice, resolve_path  # noqa: F401

__all__ = ["Cgroup", "resolve_path", "expand_slice", "PARENT", "rmdir_when_left"]

SIGKILL = 9        # Linux; spares importing signal (and enum) on the start-up path

# controllers enabled on a fresh pure-v2 cgroup so that `events --stats` has data
V2_ACCOUNTING = ("cpu", "memory", "pids", "io")


# ---------------------------------------------------------------- the object

class Cgroup:
    def __init__(self, layout, path, created=(), container_id=None):
        self.layout = layout
        self.path = path
        self.created = list(created)
        self.container_id = container_id

    @classmethod
    def for_container(cls, container_id, cgroups_path=None, systemd=False, root=DEFAULT_ROOT,
                      mountinfo=DEFAULT_MOUNTINFO, systemd_probe=SYSTEMD_PROBE):
        path = resolve_path(container_id, cgroups_path, systemd, systemd_probe)
        return cls(detect(root, mountinfo), path, container_id=container_id)

    # -------------------------------------------------------- state.json

    def to_dict(self):
        return {"path": self.path, "layout": self.layout.to_dict(), "created": list(self.created),
                "id": self.container_id}

    @classmethod
    def from_dict(cls, d):
        return cls(Layout.from_dict(d["layout"]), d["path"], d.get("created", ()), d.get("id"))

    # -------------------------------------------------------- where things are

    def _join(self, mnt):
        return os.path.join(mnt, self.path.lstrip("/"))

    @property
    def paths(self):
        """{hierarchy key: directory}: v1 keys name their subsystems ("cpu",
        "name=systemd"); "unified" is the v2 directory."""
        out = {}
        for mnt, subs in self.layout.v1_hierarchies().items():
            out[",".join(subs)] = self._join(mnt)
        if self.layout.v2:
            out["unified"] = self._join(self.layout.v2)
        return out

    def _roots(self):
        """[(hierarchy mount point, container dir)]"""
        out = [(mnt, self._join(mnt)) for mnt in self.layout.v1_hierarchies()]
        if self.layout.v2:
            out.append((self.layout.v2, self._join(self.layout.v2)))
        return out

    def v1_tasks_files(self):
        """The `tasks` file of the container's cgroup in every v1 hierarchy:
        a process writing "0" there moves itself (its only thread) without
        the global lock a cgroup.procs write takes."""
        return [os.path.join(self._join(mnt), "tasks") for mnt in self.layout.v1_hierarchies()]

    def procs_files(self):
        """The cgroup.procs file of the container's cgroup in every hierarchy."""
        return [os.path.join(d, "cgroup.procs") for _, d in self._roots()]

    def dir_for(self, v1_name, v2_name=None):
        """(version, directory) serving a controller, or (None, None)."""
        where = self.layout.where(v1_name, v2_name)
        if where == "v1":
            return "v1", self._join(self.layout.v1[v1_name])
        if where == "v2":
            return "v2", self._join(self.layout.v2)
        return None, None

    @property
    def unified_dir(self):
        return self._join(self.layout.v2) if self.layout.v2 else None

    def exists(self):
        return any(os.path.isdir(d) for _, d in self._roots())

    # -------------------------------------------------------- planning (no writes)

    def plan(self, resources):
        """resources -> ([(directory, Write)], device_plan); raises CgroupError
        for bad values and for settings this host cannot honour."""
        # resources.py and devices.py load here, not with the module: the
        # verbs that only read, freeze or remove a cgroup do without them
        from .resources import KINDS, unified_v1, unified_v2
        if resources is None:
            resources = {}
        if not isinstance(resources, dict):
            raise CgroupError(BASE, "must be an object", value=resources)
        out = []
        for kind, (v1n, v2n, f1, f2) in KINDS.items():
            where = self.layout.where(v1n, v2n) if v2n else ("v1" if v1n in self.layout.v1
                                                              else None)
            if where is None:
                writes = (f2 if self.layout.mode == "v2" else f1)(resources)
                if writes:
                    w = writes[0]
                    raise CgroupError(w.field, f"needs the {w.controller} controller, which this "
                                               f"host does not offer ({self._offer()})",
                                      value=w.value, file=w.file)
                continue
            d = self._join(self.layout.v1[v1n] if where == "v1" else self.layout.v2)
            out += [(d, w) for w in (f1 if where == "v1" else f2)(resources)]
        if self.layout.v2 is None:
            unified_v1(resources)
        else:
            for w in unified_v2(resources):
                if w.controller and w.controller not in self.layout.v2_controllers:
                    raise CgroupError(w.field, f"the {w.controller} controller is not available "
                                               f"in the cgroup v2 hierarchy {self.layout.v2} "
                                               f"({self._offer()})", value=w.value, file=w.file)
                out.append((self.unified_dir, w))
        return out, self._plan_devices(resources.get("devices"))

    def _offer(self):
        parts = []
        if self.layout.v1:
            parts.append("v1: " + " ".join(sorted(self.layout.v1)))
        if self.layout.v2:
            parts.append("v2: " + (" ".join(self.layout.v2_controllers) or "no controllers"))
        return "; ".join(parts)

    def _plan_devices(self, devices):
        from . import devices as _devices
        rules = _devices.parse_rules(devices)
        if devices is None:
            return None
        if "devices" in self.layout.v1:
            return ("v1", [(self._join(self.layout.v1["devices"]), w)
                           for w in _devices.v1_writes(rules)])
        if self.layout.v2:
            return ("v2", rules)
        raise CgroupError(f"{BASE}.devices", "needs the devices controller (cgroup v1) or a "
                                             f"cgroup v2 hierarchy, and this host has neither "
                                             f"({self._offer()})")

    def validate(self, resources):
        """Check `resources` against the spec and this host before anything is
        created.  Returns the plan."""
        plan = self.plan(resources)
        for d, w in plan[0]:
            self._probe(d, w)
        return plan

    def _probe(self, d, w):
        # v1 files that the hierarchy root has when the kernel supports them
        if d.startswith(self.layout.v2 or "\0"):
            return
        if w.file in _ROOT_PROBED and not w.optional:
            mnt = self.layout.v1.get(w.controller)
            if mnt and not os.path.exists(os.path.join(mnt, w.file)):
                raise CgroupError(w.field, f"this kernel has no {w.file} in the {w.controller} "
                                           f"controller ({mnt})", file=os.path.join(mnt, w.file),
                                  value=w.value, errno=errno.ENOENT, hint=_ROOT_PROBED[w.file])

    # -------------------------------------------------------- create / apply

    def create(self):
        """mkdir the container's cgroup in every hierarchy (parents too); on
        failure remove what this call made."""
        for _, d in self._roots():
            if d in self.created:
                continue  # made for this container (process/early.py): its init may be in it
            if os.path.isdir(d) and fs.read_lines(os.path.join(d, "cgroup.procs"), []):
                raise CgroupError(FIELD, f"cgroup {d} already exists and has processes",
                                  file=d, hint="use another cgroupsPath or delete the other "
                                               "container first")
        mark = len(self.created)
        try:
            for mnt, d in self._roots():
                self._makedirs(mnt, d)
            if self.layout.mode == "v2":
                self._enable_v2([c for c in V2_ACCOUNTING if c in self.layout.v2_controllers],
                                best_effort=True)
        except BaseException:
            for d in reversed(self.created[mark:]):
                try:
                    fs.rmdir(d)
                except CgroupError:
                    pass
            del self.created[mark:]
            raise

    def _makedirs(self, mnt, leaf):
        cpuset = mnt == self.layout.v1.get("cpuset")
        for attempt in range(3):
            try:
                cur = mnt
                for part in os.path.relpath(leaf, mnt).split("/"):
                    cur = os.path.join(cur, part)
                    if fs.mkdir(cur, FIELD):
                        self.created.append(cur)
                        if cpuset:
                            self._init_cpuset(cur)
                return
            except CgroupError as e:
                # a parent removed by another container's delete between our mkdirs
                if e.errno != errno.ENOENT or attempt == 2:
                    raise

    @staticmethod
    def _init_cpuset(d):
        # v1 cpusets start empty and refuse tasks until cpus and mems are set
        for name in ("cpuset.cpus", "cpuset.mems"):
            mine = os.path.join(d, name)
            if fs.exists(mine) and not fs.read(mine).strip():
                fs.write(mine, fs.read(os.path.join(os.path.dirname(d), name)).strip() or "\n",
                         FIELD)

    def _enable_v2(self, controllers, best_effort=False, field=None):
        """Enable `controllers` in cgroup.subtree_control from the v2 root down
        to the container's parent."""
        if not controllers:
            return
        cur = self.layout.v2
        for part in self.path.strip("/").split("/"):
            ctl = os.path.join(cur, "cgroup.subtree_control")
            have = fs.read(ctl).split() if fs.exists(ctl) else []
            for c in controllers:
                if c in have:
                    continue
                try:
                    fs.write(ctl, f"+{c}", field)
                except CgroupError as e:
                    if not best_effort:
                        e.detail = f"cannot enable the {c} controller: {e.detail}"
                        raise
            cur = os.path.join(cur, part)

    def apply(self, resources):
        """Write `resources` into the cgroup; CgroupError names the field, the
        file, the value and the errno of the first failure."""
        writes, dev_plan = self.validate(resources)
        self._write_all(writes)
        self._apply_devices(dev_plan)

    def _write_all(self, writes):
        v2 = self.unified_dir
        need = []
        for d, w in writes:
            if d == v2 and w.controller and w.controller not in need:
                need.append((w.controller, w.field))
        for c, field in need:
            self._enable_v2([c], field=field)
        done = set()
        for i, (d, w) in enumerate(writes):
            if i in done:
                continue
            try:
                self._write(d, w)
            except CgroupError as e:
                # v1 needs memory.limit <= memory.memsw.limit at every step:
                # when raising both, memsw has to go first
                later = [j for j in range(i + 1, len(writes))
                         if writes[j][1].file == "memory.memsw.limit_in_bytes"]
                if w.file != "memory.limit_in_bytes" or e.errno != errno.EINVAL or not later:
                    raise
                self._write(*writes[later[0]])
                self._write(d, w)
                done.add(later[0])

    @staticmethod
    def _write(d, w):
        for fname, value in ((w.file, w.value),) + tuple(w.alternatives):
            path = os.path.join(d, fname)
            if fs.exists(path):
                fs.write(path, value, w.field)
                return
        if w.optional:
            return
        names = " or ".join([w.file] + [a[0] for a in w.alternatives])
        raise CgroupError(w.field, f"cannot set {names} in {d}: no such file (the "
                                   f"{w.controller or 'cgroup'} controller on this kernel does "
                                   f"not support it)", file=os.path.join(d, w.file),
                          value=w.value, errno=errno.ENOENT)

    def _apply_devices(self, dev_plan):
        if dev_plan is None:
            return
        version, body = dev_plan
        from . import devices as _devices
        if version == "v1":
            for d, w in body:
                self._write(d, w)
        elif body:
            _devices.attach(self.unified_dir, body)
        else:
            _devices.detach_all(self.unified_dir)

    def setup(self, resources):
        """validate + create + apply; on failure nothing is left behind."""
        self.validate(resources)
        self.create()
        try:
            self.apply(resources)
        except BaseException:
            self.destroy()
            raise

    def update(self, resources):
        """`runc-py update`: like apply, but honouring memory.checkBeforeUpdate."""
        writes, dev_plan = self.validate(resources)
        mem = (resources or {}).get("memory") or {}
        if mem.get("checkBeforeUpdate") and mem.get("limit") not in (None, 0, -1):
            usage = self._memory_usage()
            if usage is not None and mem["limit"] < usage:
                raise CgroupError(f"{BASE}.memory.limit", f"new limit {mem['limit']} is below the "
                                                          f"current usage {usage} "
                                                          f"(checkBeforeUpdate)",
                                  value=mem["limit"])
        self._write_all(writes)
        self._apply_devices(dev_plan)

    def _memory_usage(self):
        version, d = self.dir_for("memory")
        name = "memory.usage_in_bytes" if version == "v1" else "memory.current"
        if d is None or not fs.exists(os.path.join(d, name)):
            return None
        return int(fs.read(os.path.join(d, name)).strip())

    # -------------------------------------------------------- processes

    def add_pid(self, pid):
        """Move `pid` into the container's cgroup in every hierarchy."""
        for _, d in self._roots():
            fs.write(os.path.join(d, "cgroup.procs"), str(pid), FIELD)

    def pids(self, recursive=True):
        """PIDs in the container's cgroup (and nested cgroups), sorted."""
        found = set()
        for _, d in self._roots():
            for top, _dirs, files in (os.walk(d) if recursive else [(d, [], ["cgroup.procs"])]):
                for line in fs.read_lines(os.path.join(top, "cgroup.procs"), []):
                    if line.strip():
                        found.add(int(line))
        return sorted(found)

    def _freezer(self):
        if "freezer" in self.layout.v1:
            return "v1", self._join(self.layout.v1["freezer"])
        if self.layout.v2:
            return "v2", self.unified_dir
        return None, None

    def freeze(self, timeout=5.0):
        self._set_frozen(True, timeout)

    def thaw(self, timeout=5.0):
        self._set_frozen(False, timeout)

    def _set_frozen(self, frozen, timeout):
        version, d = self._freezer()
        if version is None:
            raise CgroupError(None, f"cannot {'freeze' if frozen else 'thaw'}: no freezer on "
                                    f"this host ({self._offer()})")
        want = "FROZEN" if frozen else "THAWED"
        deadline = time.monotonic() + timeout
        while True:
            if version == "v1":
                fs.write(os.path.join(d, "freezer.state"), want)
            else:
                fs.write(os.path.join(d, "cgroup.freeze"), "1" if frozen else "0")
            if self.freezer_state() == want:
                return
            if time.monotonic() > deadline:
                raise CgroupError(None, f"cgroup {d} did not become {want} within {timeout}s",
                                  file=d)
            time.sleep(0.002)

    def freezer_state(self):
        """"FROZEN", "THAWED" or (v1, in transition) "FREEZING"."""
        version, d = self._freezer()
        if version == "v1":
            path = os.path.join(d, "freezer.state")
            return fs.read(path).strip() if fs.exists(path) else "THAWED"
        if version == "v2":
            events = fs.read_keyed(os.path.join(d, "cgroup.events"))
            return "FROZEN" if events.get("frozen") == 1 else "THAWED"
        return "THAWED"

    def kill_all(self, sig=SIGKILL, timeout=5.0):
        """Kill every process in the cgroup tree and wait until it is empty."""
        if not self.pids():
            return
        kill_file = os.path.join(self.unified_dir, "cgroup.kill") if self.unified_dir else None
        if (self.layout.mode == "v2" and sig == SIGKILL and kill_file
                and fs.exists(kill_file)):
            fs.write(kill_file, "1")
        else:
            frozen = False
            try:
                self.freeze()
                frozen = True
            except CgroupError:
                pass                    # kill anyway; a forking process may escape one round
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if frozen:
                self.thaw()
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                raise CgroupError(None, f"processes {self.pids()} are still in {self.path} "
                                        f"{timeout}s after SIGKILL", file=self.path)
            if sig == SIGKILL and self.layout.mode != "v2":
                for pid in self.pids():          # new children of a fork loop
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
            time.sleep(0.005)

    def destroy(self, timeout=5.0):
        """Kill remaining processes, then remove the container's cgroup,
        nested cgroups inside it, and the parents this object created.
        Idempotent."""
        from ..cgattach import remove_dirs
        try:
            if remove_dirs([d for _, d in self._roots()], self.created):
                self.created = []
                return
        except OSError as e:
            raise CgroupError.from_oserror(e, None, "remove", e.filename) from None
        if self.exists():
            self.kill_all(timeout=timeout)
        for _, d in self._roots():
            self._rmtree(d, timeout)
        for d in reversed(self.created):
            try:
                fs.rmdir(d)
            except CgroupError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EBUSY, errno.ENOENT):
                    raise
        self.created = []

    def remove_created(self, timeout=2.0):
        """Undo a create that did not finish: remove the directories this
        object made, deepest first (waiting while the killed init leaves),
        and never one that was there before: it may be another
        container's, processes and all."""
        for d in reversed(self.created):
            try:
                rmdir_when_left(d, timeout)
            except CgroupError as e:
                if e.errno not in (errno.ENOENT, errno.ENOTEMPTY, errno.EBUSY):
                    raise
        self.created = []

    @staticmethod
    def _rmtree(d, timeout):
        if not os.path.isdir(d):
            return
        for top, dirs, _files in os.walk(d, topdown=False):
            rmdir_when_left(top, timeout)

    # -------------------------------------------------------- reporting

    def oom_kill_count(self):
        """How many processes the kernel's OOM killer killed in this cgroup."""
        version, d = self.dir_for("memory")
        if version == "v1":
            return fs.read_keyed(os.path.join(d, "memory.oom_control")).get("oom_kill", 0)
        if version == "v2":
            return fs.read_keyed(os.path.join(d, "memory.events")).get("oom_kill", 0)
        return 0

    def stats(self):
        """Counters shaped like the "data" of runc's `events --stats`."""
        from .stats import collect
        return collect(self)


# v1 files present in the hierarchy root when the kernel supports the feature
_ROOT_PROBED = {
    "memory.memsw.limit_in_bytes": "swap accounting is off: boot with swapaccount=1",
    "memory.kmem.limit_in_bytes": "kernel memory limits are gone from this kernel",
    "memory.kmem.tcp.limit_in_bytes": "kernel TCP memory limits are gone from this kernel",
    "cpu.cfs_burst_us": "CFS burst needs Linux 5.14 or later",
    "cpu.idle": "cpu.idle needs Linux 5.15 or later",
    "cpu.rt_runtime_us": "the kernel was built without CONFIG_RT_GROUP_SCHED",
    "cpu.rt_period_us": "the kernel was built without CONFIG_RT_GROUP_SCHED",
    "cpu.cfs_quota_us": "the kernel was built without CONFIG_CFS_BANDWIDTH",
}


def rmdir_when_left(d, timeout):
    """rmdir a cgroup, retrying on EBUSY while its last exiting tasks leave
    it (up to timeout seconds); other errors, and EBUSY after that, raise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fs.rmdir(d)
            return
        except CgroupError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
