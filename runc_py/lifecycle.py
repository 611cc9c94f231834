"""The OCI lifecycle (runtime.md): start, state, kill, delete, and what
they share with create (create.py; `run`, which adds waiting in the
foreground, is in foreground.py).  This module sequences; the kernel work
happens in process/ (inside the container) and cgroups/."""
import sys
import time

from . import lite
from . import state as S
from .errors import NotFoundError, RuncPyError, StateError, StepError

SIGKILL = 9  # (the signal module imports enum: ~5 ms this path does not need)


class Options:
    def __init__(self, **kw):
        self.root = kw.get("root", "/run/runc-py")
        self.log = kw.get("log")
        self.log_format = kw.get("log_format", "text")
        self.debug = kw.get("debug", False)
        self.systemd_cgroup = kw.get("systemd_cgroup", False)


def _warn(opts, msg):
    sys.stderr.write(f"runc-py: warning: {msg}\n")
    from .cli import log_line
    log_line(opts, "warning", msg)


def _load_cgroup_module():
    try:
        from . import cgroups
    except ImportError:
        return None
    return cgroups if hasattr(cgroups, "Cgroup") else None


def _cgroup_error(e):
    field = getattr(e, "field", None) or "linux.resources"
    return StepError("cgroups", str(e), field=field, errno=getattr(e, "errno", None))


def _write_pid_file(path, pid):
    path = lite.abspath(path)
    tmp = lite.join(lite.dirname(path), f".{lite.basename(path)}.{lite.getpid()}")
    with open(tmp, "w") as f:
        f.write(str(pid))
    lite.replace(tmp, path)


def _wait_gone(pid, timeout=5.0):
    """Wait for pid to die (reap it if it is our child)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r, _ = lite.waitpid(pid, lite.WNOHANG)
            if r == pid:
                return True
        except ChildProcessError:
            if not S.pid_alive(pid):
                return True
        time.sleep(0.002)
    return False


def load(opts, cid):
    S.validate_id(cid)
    return S.Container(opts.root, cid).load()


def start(opts, cid, _c=None):
    """_c: the handle create just returned (`run`): no reload."""
    c = _c or load(opts, cid)
    c.lock()
    try:
        fd = getattr(c, "fifo_fd", None)
        if fd is not None:
            # run: opened at create, so the process may have started (and
            # even ended) already; its answer is waiting in the fifo
            c.fifo_fd = None
        else:
            c.require("start", "created")
            fd = lite.open(c.fifo_path, lite.O_RDONLY | lite.O_NONBLOCK | lite.O_CLOEXEC)
        failure = None
        from select import select  # built in; wakes us as soon as the init answers
        try:
            deadline = time.monotonic() + 60
            data = b""
            while True:
                try:
                    chunk = lite.read(fd, 4096)
                except BlockingIOError:
                    chunk = None
                if chunk:
                    data += chunk
                    if data[:1] == b"0":
                        break
                    continue  # "E...": read the whole message, until EOF
                if chunk == b"" and data[:1] == b"E":
                    failure = data[1:].decode(errors="replace")
                    break
                if chunk == b"":
                    time.sleep(0.001)  # the writer left without answering: not a busy loop
                if not S.pid_alive(c.pid, c.priv.get("pid_start")):
                    # it may have answered, exec'd and exited since the
                    # read above (`true` takes well under a millisecond):
                    # what it wrote is still in the fifo
                    try:
                        data += lite.read(fd, 4096)
                    except BlockingIOError:
                        pass
                    if data[:1] == b"0":
                        break
                    if data[:1] == b"E":
                        failure = data[1:].decode(errors="replace")
                        break
                    raise StateError(f"cannot start container {cid!r}: its init process died")
                if time.monotonic() > deadline:
                    raise StateError(f"cannot start container {cid!r}: init did not answer")
                select([fd], [], [], 0.05)
        finally:
            lite.close(fd)
        if failure is not None:
            _wait_gone(c.pid, 2)
            try:
                lite.unlink(c.fifo_path)
            except FileNotFoundError:
                pass
            raise RuncPyError(failure)
        try:
            lite.unlink(c.fifo_path)
        except FileNotFoundError:
            pass
        c.data["status"] = "running"
        c.save()
    finally:
        c.unlock()
    hooks = c.priv.get("hooks", {}).get("poststart")
    if hooks:
        from .hooks import run_hooks
        try:
            run_hooks("poststart", hooks, _hook_state(c, "running"))
        except RuncPyError:
            try:
                lite.kill(c.pid, SIGKILL)
            except ProcessLookupError:
                pass
            raise
    return c


def _hook_state(c, status):
    st = c.oci_state()
    st["status"] = status
    return {k: v for k, v in st.items() if k not in ("rootfs", "created", "owner")}


def state(opts, cid):
    return load(opts, cid).oci_state()


def kill(opts, cid, sig, all_procs=False):
    c = load(opts, cid)
    st = c.status()
    if st not in ("created", "running", "paused"):
        if all_procs:
            # containerd's shim sends `kill --all ID 9` to stopped containers
            # to catch leftovers; runc signals what is left and succeeds
            _signal_cgroup(c, sig)
            return
        raise StateError(f"cannot kill container {cid!r}: container is {st}")
    if all_procs and c.priv.get("cgroup"):
        from .cgroups import Cgroup
        for p in Cgroup.from_dict(c.priv["cgroup"]).pids():
            try:
                lite.kill(p, sig)
            except ProcessLookupError:
                pass
        return
    try:
        lite.kill(c.pid, sig)
    except ProcessLookupError:
        pass


def _signal_cgroup(c, sig):
    if not c.priv.get("cgroup"):
        return
    try:
        from .cgroups import Cgroup
        pids = Cgroup.from_dict(c.priv["cgroup"]).pids()
    except Exception:  # noqa: BLE001 - cgroup already gone
        return
    for p in pids:
        try:
            lite.kill(p, sig)
        except ProcessLookupError:
            pass


def delete(opts, cid, force=False, _c=None):
    """_c: `run`'s handle of the container it started (no reload)."""
    if _c is not None:
        c = _c
    else:
        c = S.Container(opts.root, cid)
        S.validate_id(cid)
        try:
            c.load()
        except NotFoundError:
            if force:
                return  # as runc: containerd and Docker delete --force after delete
            raise
    st = c.status()
    if st in ("created", "running", "paused", "creating"):
        if not force:
            raise StateError(f"cannot delete container {cid!r}: container is {st} "
                             f"(stop it first, or use --force)")
        _kill_all(c)
    _destroy(opts, c)


def _kill_all(c):
    cg = None
    if c.priv.get("cgroup"):
        try:
            from .cgroups import Cgroup
            cg = Cgroup.from_dict(c.priv["cgroup"])
        except Exception:  # noqa: BLE001
            cg = None
    if cg is not None:
        try:
            cg.thaw()
        except Exception:  # noqa: BLE001
            pass
    if c.pid and S.pid_alive(c.pid, c.priv.get("pid_start")):
        try:
            lite.kill(c.pid, SIGKILL)
        except ProcessLookupError:
            pass
        _wait_gone(c.pid)


def _remove_unrecorded_cgroup(c):
    """A create killed after making its cgroup v2 directory and before
    recording it in the state file left a symlink to it (process/early.py):
    remove that directory if it is empty, as destroy removes a container's
    own directory (whoever made it: a create killed between the link and
    its mkdir may have found one there).  Its init, if forked, exits by
    itself once the runtime is gone (end-of-file on the channel)."""
    try:
        d = lite.readlink(lite.join(c.dir, S.CGROUP_CRUMB))
    except OSError:
        return   # no link: nothing was made
    from .cgroups.errors import CgroupError
    from .cgroups.manager import rmdir_when_left
    try:
        rmdir_when_left(d, 1.0)   # (its init may still be leaving)
    except CgroupError:
        pass   # not there (died before its mkdir), or not empty: not removed


def _destroy(opts, c):
    cgd = c.priv.get("cgroup")
    procs = c.priv.get("cgroup_procs")
    if not cgd:
        _remove_unrecorded_cgroup(c)
    if cgd and procs:
        # the usual case without the cgroups package (~1.5 ms of imports)
        from .cgattach import remove_dirs
        try:
            if remove_dirs([lite.dirname(p) for p in procs], cgd.get("created", ())):
                cgd = None
        except OSError:
            pass  # the manager below retries and reports
    if cgd:
        try:
            from .cgroups import Cgroup
            Cgroup.from_dict(cgd).destroy()
        except ImportError:
            pass
        except Exception as e:  # noqa: BLE001
            _warn(opts, f"removing cgroup of {c.id}: {e}")
    if c.priv.get("rdt_group"):
        try:
            lite.rmdir(c.priv["rdt_group"])
        except OSError:
            pass
    hooks = c.priv.get("hooks", {}).get("poststop")
    c.remove()
    if hooks:
        from .hooks import run_hooks
        run_hooks("poststop", hooks, _hook_state(c, "stopped"), warn=lambda m: _warn(opts, m))
