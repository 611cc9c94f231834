"""Moving processes into cgroups, cheaply.

create and exec place their processes without moving them: forked
straight into the container's cgroup v2 directory (clone3
CLONE_INTO_CGROUP), then joining each v1 hierarchy by writing "0" to its
`tasks` file (process/early.py, process/exec.py).  This module has what
the other paths need.

Moving a process with a write to cgroup.procs takes the kernel's global
cgroup_threadgroup_rwsem for writing.  When that lock has not been taken
for a while, taking it waits for a full RCU grace period (rcu_sync_enter:
7-20 ms here), holding cgroup_mutex, so every cgroup mkdir on the host
waits too; writes that follow within about one grace period of the last
one are fast.  runc pays this once per container.

warm(): for the paths that still write cgroup.procs (a create with a user
or time namespace, or without cgroup v2 placement): write "0" (the writer
itself) to the cgroup.procs of a cgroup this process is already in, from
a thread, so the grace period runs while the runtime gets ready.  Any
failure (no cgroupfs, a read-only one, no permission) just means no head
start.  add_pid(), remove_dirs(): cgroup.procs writes and the usual end of
a container's cgroup, without the cgroups package.
"""
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


def join_self(tasks_files):
    """Write "0" to each cgroup v1 `tasks` file: that moves the calling
    thread, the process's only one here, and takes none of the global lock
    a cgroup.procs write takes (see above)."""
    for path in tasks_files:
        try:
            fd = posix.open(path, posix.O_WRONLY | posix.O_CLOEXEC)
            try:
                posix.write(fd, b"0")
            finally:
                posix.close(fd)
        except OSError as e:
            from .errors import StepError
            raise StepError("cgroups", f"cannot join {path.rpartition('/')[0]}: {e.strerror}",
                            field="linux.cgroupsPath", syscall="write", path=path,
                            errno=e.errno) from None


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
