"""Moving processes into cgroups, cheaply.

warm(): start the kernel's cgroup-attach grace period early, in parallel
with the runtime's own start-up.

Moving a process between cgroups (a write to cgroup.procs) takes the
kernel's global cgroup_threadgroup_rwsem for writing.  When that lock has
not been taken for a while, taking it waits for a full RCU grace period
(rcu_sync_enter: ~10 ms here); writes that follow within about one grace
period of the last one are fast.  Every runtime pays this once per
container (runc too, see bench/).  runc-py used to pay it after its fork,
with nothing left to overlap but the namespace set-up.

warm() writes "0" (the writer itself) to the cgroup.procs of a cgroup this
process is already in, from a thread: a no-op move that takes the lock, so
the grace period runs while the interpreter imports modules and checks the
config.  By the time the container's processes are placed, the lock is
cheap.  Any failure (no cgroupfs, a read-only one, no permission) just
means no head start; nothing else depends on it.
"""
# posix, not os: the launcher imports this before anything else, and `os`
# (with _collections_abc) costs ~1.3 ms of the head start
import posix

_CANDIDATES_V1 = ("pids", "name=systemd", "memory", "cpu", "freezer")


def _procs_files():
    """cgroup.procs files of cgroups we are in, most likely first."""
    try:
        with open("/proc/self/cgroup", "rb") as f:
            lines = f.read().decode().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            # the unified hierarchy: its own mount on a v2 host, .../unified on hybrid
            out.append(f"/sys/fs/cgroup/unified{path}/cgroup.procs".replace("//", "/"))
            out.append(f"/sys/fs/cgroup{path}/cgroup.procs".replace("//", "/"))
        elif controllers in _CANDIDATES_V1:
            name = controllers[5:] if controllers.startswith("name=") else controllers
            out.append(f"/sys/fs/cgroup/{name}{path}/cgroup.procs".replace("//", "/"))
    return out


def _attach_self(paths):
    for path in paths:
        try:
            fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
        except OSError:
            continue
        try:
            posix.write(fd, b"0")
            return
        except OSError:
            continue
        finally:
            posix.close(fd)


_started = False
# create and run place the container's init without cgroup.procs writes
# (process/early.py), and call warm() themselves when they cannot
_VERBS = frozenset(("exec",))


def warm_for(argv):
    """warm() if the command line may be `exec`, which moves its process
    with cgroup.procs writes (called by the launcher before anything else
    is imported; a false guess only costs a no-op move).  The warm-up holds
    the kernel's cgroup_mutex for the grace period: cgroup mkdirs wait for
    it, so it is not for verbs that make cgroups."""
    if not _VERBS.isdisjoint(argv):
        warm()


def warm():
    """Begin the grace period in a background thread (returns at once)."""
    global _started
    if _started:
        return
    _started = True
    try:
        import _thread
        _thread.start_new_thread(_attach_self, (_procs_files(),))
    except Exception:  # noqa: BLE001 - a head start only, never an error
        pass


def add_pid(procs_files, pid):
    """Write pid to each cgroup.procs file (recorded in the state at create,
    so that exec needs none of the cgroups package: ~3 ms of imports)."""
    data = str(pid).encode()
    for path in procs_files:
        try:
            fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
            try:
                posix.write(fd, data)
            finally:
                posix.close(fd)
        except OSError as e:
            from .errors import StepError
            raise StepError("cgroups", f"cannot move process {pid} into {path.rpartition('/')[0]}: "
                            f"{e.strerror}", field="linux.cgroupsPath", syscall="write",
                            path=path, errno=e.errno) from None


def remove_dirs(dirs, created=()):
    """The usual end of a container's cgroup: its processes are gone and it
    has no nested cgroups, so one rmdir per hierarchy does it; then the
    parents the runtime created, while they are empty.  Returns False
    (leaving the rest) when a directory is busy: the caller then kills and
    walks (cgroups.manager.Cgroup.destroy)."""
    import errno
    removed = set()
    for d in dirs:
        try:
            posix.rmdir(d)
        except FileNotFoundError:
            pass
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
                return False
            raise
        removed.add(d)
    for d in reversed(list(created)):
        if d in removed:
            continue
        try:
            posix.rmdir(d)
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EBUSY, errno.ENOENT):
                raise
    return True
