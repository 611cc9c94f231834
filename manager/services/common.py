"""What the container services share: where a container's things live, how
its runtime is called, and the reconciliation of its recorded state with
its monitor (a record that says running but whose monitor is gone is
marked exited and its leftovers are cleaned).

Light to import: `mydocker run` goes through here (no pathlib, json,
shutil or subprocess at import)."""
import os
import time

from .. import rootfs as rootfs_mod
from .. import runtime_client as rc
from ..errors import MyDockerError, RuntimeFailed
from ..procinfo import pid_alive, rfc3339nano
from ..store.containers import ContainerStore, rmtree

ZERO_TIME = "0001-01-01T00:00:00Z"


class CommandFailed(MyDockerError):
    """The container's command could not be started (exit 126/127) or a
    container exited with a code the CLI must pass on."""

    def __init__(self, message, exit_code):
        super().__init__(message)
        self.exit_code = exit_code


def _token(nbytes=32):
    return os.urandom(nbytes).hex()


def _store(paths):
    return ContainerStore(paths.data_root)


def _rundir(paths, cid):
    # short: unix socket paths (attach.sock, console.sock) must fit in 108 bytes
    return os.path.join(paths.run_root, "c", cid[:16])


def _runtime(paths, rec):
    name = rec["HostConfig"].get("Runtime") or rc.DEFAULT_RUNTIME
    path = rec.get("RuntimePath") or rc.resolve(name)
    if not path or not os.access(path, os.X_OK):
        path = rc.resolve(name)
    if not path:
        raise RuntimeFailed(f"OCI runtime {name!r} not found in PATH",
                            hint="install it or pass --runtime runc")
    root = os.path.join(paths.run_root, "runtimes", os.path.basename(name))
    os.makedirs(root, exist_ok=True)
    return rc.Runtime(path=path, root=root,
                      log=os.path.join(paths.data_root, "containers", rec["Id"], "runtime.log"))


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


def nap_on_monitor(st, seconds):
    """Sleep up to `seconds`, but wake as soon as the container's monitor
    exits (its pidfd becomes readable): callers re-check the state then,
    instead of finding out at their next poll."""
    pid = st.get("MonitorPid")
    fd = None
    if pid and pid_alive(pid, st.get("MonitorStart")):
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
    if fd is None:
        time.sleep(seconds)
        return
    try:
        import select
        p = select.poll()
        p.register(fd, select.POLLIN)
        p.poll(seconds * 1000)
    finally:
        os.close(fd)


def _is_running(st):
    return st["Status"] in ("running", "restarting", "paused")


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


def _force_delete(paths, rec):
    """`<runtime> delete --force`: kills what is left and removes the runtime's
    container; a container the runtime does not know is not an error (runc's
    contract), nor is a runtime that is gone."""
    try:
        rt = _runtime(paths, rec)
        rc.call(rt, rc.delete_argv(rt, rec["Id"], force=True))
    except (rc.RuntimeError_, MyDockerError):
        pass


def _monitor_gone(paths, rec, st):
    """The monitor died (or /run was lost): stop what is left and record exited."""
    store = _store(paths)
    cid = rec["Id"]
    _force_delete(paths, rec)
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


def _destroy(paths, rec):
    """Remove everything a container made (its monitor must be gone)."""
    cid = rec["Id"]
    _force_delete(paths, rec)
    merged = rec.get("GraphDriver", {}).get("Data", {}).get("MergedDir")
    if merged:
        try:
            rootfs_mod.unmount(merged)
        except OSError as e:
            raise RuntimeFailed(f"cannot unmount {merged}: {e}")
        if rootfs_mod.is_mounted(merged):
            raise RuntimeFailed(f"{merged} is still mounted; not removing the container")
    for vol in rec.get("AnonymousVolumes") or []:
        rmtree(vol)
    _store(paths).remove(cid)
    rmtree(_rundir(paths, cid))
