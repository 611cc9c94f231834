"""`runc-py exec`: run a new process in a running container.

The runtime enters the container's pid namespace for its next child only,
forks the process and returns to its own.  The process makes itself
non-dumpable (so nothing in the container can open its /proc/<pid>/exe, fds
or memory), joins every other namespace of the container's init (user
first, mount last) while the runtime puts it in the container's cgroup,
waits for that, then applies the process's own settings (user, groups,
capabilities, no_new_privs, seccomp, cwd, terminal) and execs through the
sealed helper.  Errors come back over the sync channel; EOF means execve
succeeded."""
import errno
import os
import sys

try:
    import _signal as signal  # no enum import (~5 ms per exec)
except ImportError:  # pragma: no cover
    import signal

from .. import fastjson as json
from .. import state as S
from ..errors import RuncPyError, SpecError, StateError, StepError, UsageError
from ..errors import from_dict as error_from_dict
from ..plan.compile import compile_process
from ..syscalls import linux as L
from . import channel
from .finalize import _lookup, _oserr, cloexec_sweep, finalize

# setns order: user first (it grants the rights for the rest), mount last
_ORDER = ["user", "cgroup", "ipc", "uts", "net", "pid", "time", "mnt"]
_NSTYPE = {"user": L.CLONE_NEWUSER, "cgroup": L.CLONE_NEWCGROUP, "ipc": L.CLONE_NEWIPC,
           "uts": L.CLONE_NEWUTS, "net": L.CLONE_NEWNET, "pid": L.CLONE_NEWPID,
           "time": L.CLONE_NEWTIME, "mnt": L.CLONE_NEWNS}


def _parse_user(u):
    uid, _, gid = u.partition(":")
    try:
        return int(uid), (int(gid) if gid else None)
    except ValueError:
        raise UsageError(f"--user takes uid[:gid] as numbers, not {u!r}")


def build_process(c, o, args):
    """The process to run: --process FILE, or the container's own process
    with args, env, cwd, user, caps ... overridden by flags (runc's rules)."""
    if o.process:
        try:
            with open(o.process) as f:
                p = json.load(f)
        except OSError as e:
            raise UsageError(f"--process {o.process}: {e.strerror}")
        except ValueError as e:
            raise SpecError("process", f"{o.process} is not valid JSON: {e}")
        if not isinstance(p, dict):
            raise SpecError("process", f"{o.process} must hold a JSON object")
        return compile_process(p, "process")
    if not args:
        raise UsageError("exec: give the command to run, or --process FILE")
    try:
        with open(os.path.join(c.dir, "config.json")) as f:
            base = dict(json.load(f).get("process") or {})
    except (OSError, ValueError):
        base = {}
    base["args"] = list(args)
    base["terminal"] = bool(o.tty)
    base.pop("consoleSize", None)
    if o.cwd:
        base["cwd"] = o.cwd
    base.setdefault("cwd", "/")
    env = list(base.get("env") or [])
    for e in o.env or []:
        if "=" not in e:
            raise UsageError(f"--env {e!r} is not of the form KEY=value")
        k = e.split("=", 1)[0]
        env = [x for x in env if not x.startswith(k + "=")] + [e]
    base["env"] = env
    user = dict(base.get("user") or {"uid": 0, "gid": 0})
    if o.user:
        uid, gid = _parse_user(o.user)
        user["uid"] = uid
        if gid is not None:
            user["gid"] = gid
    if o.additional_gids:
        try:
            user["additionalGids"] = [int(g) for g in o.additional_gids]
        except ValueError:
            raise UsageError("--additional-gids takes numbers")
    base["user"] = user
    if o.cap:
        caps = {k: list(v) for k, v in (base.get("capabilities") or {}).items()}
        for cap in o.cap:
            for k in ("bounding", "effective", "permitted", "inheritable"):
                if cap not in caps.setdefault(k, []):
                    caps[k].append(cap)
        base["capabilities"] = caps
    if o.no_new_privs:
        base["noNewPrivileges"] = True
    if o.apparmor:
        base["apparmorProfile"] = o.apparmor
    if o.process_label:
        base["selinuxLabel"] = o.process_label
    base.pop("rlimits", None)  # exec'd processes inherit the container's limits
    return compile_process(base, "process")


def exec_cmd(opts, o, pos):
    if not pos:
        raise UsageError("exec: a container ID is required")
    cid, args = pos[0], pos[1:]
    S.validate_id(cid)
    c = S.Container(opts.root, cid).load()
    st = c.status()
    if st == "paused" and not o.ignore_paused:
        raise StateError(f"cannot exec in container {cid!r}: container is paused "
                         f"(resume it first)")
    if st not in ("running", "created", "paused"):
        raise StateError(f"cannot exec in container {cid!r}: container is {st}")
    proc = build_process(c, o, args)
    preserve = 0
    if o.preserve_fds:
        try:
            preserve = int(o.preserve_fds)
        except ValueError:
            raise UsageError("--preserve-fds takes a number")
    if proc.terminal and not o.console_socket and o.detach:
        raise UsageError("cannot allocate a terminal when detaching without --console-socket")
    try:
        with open(os.path.join(c.dir, "config.json")) as f:
            cfg = json.load(f)
    except (OSError, ValueError):
        cfg = {}
    seccomp_spec = (cfg.get("linux") or {}).get("seccomp")
    seccomp_prog = None
    if seccomp_spec:
        from .. import seccomp
        seccomp_prog = seccomp.program_for(seccomp_spec,
                                           os.path.join(opts.root, S.SECCOMP_CACHE))
    capsets = None
    if proc.capabilities is not None:
        from .. import caps
        capsets = caps.available(caps.parse(proc.capabilities), held=caps.held_caps())
    init_pid = c.pid

    # namespaces of the container's init, opened now (host /proc)
    ns_fds = []
    try:
        for name in _ORDER:
            path = f"/proc/{init_pid}/ns/{name}"
            try:
                theirs = os.stat(path).st_ino
                mine = os.stat(f"/proc/self/ns/{name}").st_ino
            except FileNotFoundError:
                continue
            if theirs == mine:
                continue
            ns_fds.append((name, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError as e:
        for _, fd in ns_fds:
            os.close(fd)
        raise StepError("join-namespaces", field="linux.namespaces", syscall="open",
                        path=e.filename, errno=e.errno)
    userns = any(n == "user" for n, _ in ns_fds)

    console = internal = internal_peer = None
    if o.console_socket:
        from ..console import connect
        try:
            console = connect(o.console_socket)
        except OSError as e:
            raise StepError("console-socket", str(e), path=o.console_socket, errno=e.errno)
    elif proc.terminal:
        import socket
        internal, internal_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM |
                                                    socket.SOCK_CLOEXEC)
        console = internal_peer
    if not o.detach:
        L.prctl(L.PR_SET_CHILD_SUBREAPER, 1)
    # everything the joiner needs after entering the container is loaded
    # and built here, before the fork (cheaper, and reachable)
    from . import sealed
    helper_fd = sealed.sealed_helper_fd()
    if proc.terminal:
        import fcntl  # noqa: F401
        import termios  # noqa: F401
        from .. import console as _console  # noqa: F401
    sock, child_sock = channel.pair()
    sys.stdout.flush()
    sys.stderr.flush()
    # The process is forked by us directly: we enter the container's pid
    # namespace for that one fork (it takes effect for children only and
    # needs no single-threaded caller) and go back; the child joins the
    # other namespaces itself.
    from .pidns import join_pidns, leave_pidns
    pid_fd = next((fd for n, fd in ns_fds if n == "pid"), None)
    v2_dir, v1_tasks = _placement(c, o)
    if v1_tasks:
        from .. import cgattach  # noqa: F401 - the child's, loaded before the fork
    own = join_pidns(pid_fd, f"/proc/{init_pid}/ns/pid") if pid_fd is not None else None
    pid = None
    placed = False
    try:
        if v2_dir is not None:
            # born in the container's v2 directory, and joining the v1 ones
            # itself: no cgroup.procs write (see process/early.py)
            try:
                into = os.open(v2_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    pid = L.fork_into_cgroup(into)
                    placed = True
                finally:
                    if pid != 0:
                        os.close(into)
            except OSError:
                pid = None
        if pid is None:
            pid = os.fork()
        if pid == 0:
            sock.close()
            _joiner(child_sock, [(n, fd) for n, fd in ns_fds if n != "pid"], proc,
                    seccomp_prog, capsets, userns, console, preserve, helper_fd,
                    v1_tasks if placed else ())
            os._exit(1)
    finally:
        if pid != 0:
            leave_pidns(own)
    child_sock.close()
    if helper_fd is not None:
        os.close(helper_fd)
    for _, fd in ns_fds:
        os.close(fd)
    if internal_peer is not None:
        internal_peer.close()
    elif console is not None:
        console.close()
    try:
        cg = None
        cgd = c.priv.get("cgroup") if not placed else None
        if cgd:
            if not o.cgroup and c.priv.get("cgroup_procs"):
                cg = _Procs(c.priv["cgroup_procs"])
            else:
                from ..cgroups import Cgroup
                cg = Cgroup.from_dict(cgd)
                if o.cgroup:
                    cg = _sub_cgroup(cg, o.cgroup)
        # the process starts entering the namespaces while the cgroup.procs
        # writes run (the first of a while is slow: see cgattach.py); it
        # waits for "joined" before it goes on to exec
        _send_quietly(sock, "go")
        if cg is not None:
            try:
                cg.add_pid(pid)
            except Exception as e:  # noqa: BLE001
                # ESRCH: the process already failed; its error is on the channel
                if getattr(e, "errno", None) != errno.ESRCH:
                    os.kill(pid, signal.SIGKILL)  # it waits for "joined": never to run
                    _reap(pid)
                    raise
        _send_quietly(sock, "joined")
        err = None
        while True:
            try:
                msg = channel.recv(sock)
            except (channel.ChannelClosed, ConnectionResetError):
                break
            if msg.get("type") == "error":
                err = error_from_dict(msg["error"])
        if err is not None:
            _reap(pid)
            raise err
    finally:
        sock.close()
    if o.pid_file:
        from ..lifecycle import _write_pid_file
        _write_pid_file(o.pid_file, pid)
    if o.detach:
        return 0
    master = None
    if internal is not None:
        from ..console import recv_master
        master = recv_master(internal)
        internal.close()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
              signal.SIGUSR2):
        signal.signal(s, lambda signo, _f: _forward(pid, signo))
    if master is not None:
        from ..console import proxy
        proxy(master, lambda: S.pid_alive(pid))
    return _reap(pid)


def _placement(c, o):
    """(the container's cgroup v2 directory, [`tasks` file of each of its v1
    directories]) from what create recorded, for a process forked straight
    into them; (None, ()) when it is placed the usual way (--cgroup, a
    host without cgroup v2, an older state)."""
    cgd = c.priv.get("cgroup")
    procs = c.priv.get("cgroup_procs")
    if o.cgroup or not cgd or not procs:
        return None, ()
    v2 = (cgd.get("layout") or {}).get("v2")
    if not v2:
        return None, ()
    dirs = [os.path.dirname(p) for p in procs]
    v2_dirs = [d for d in dirs if d == v2 or d.startswith(v2.rstrip("/") + "/")]
    if len(v2_dirs) != 1:
        return None, ()
    return v2_dirs[0], [os.path.join(d, "tasks") for d in dirs if d != v2_dirs[0]]


class _Procs:
    """The container's cgroup.procs files as create recorded them."""

    def __init__(self, files):
        self.files = files

    def add_pid(self, pid):
        from ..cgattach import add_pid
        add_pid(self.files, pid)


def _sub_cgroup(cg, specs):
    """--cgroup [controllers:]path: run in a sub-cgroup of the container's
    (as runc; on this runtime one path applies to every controller)."""
    from ..cgroups import Cgroup
    sub = specs[-1].split(":", 1)[-1].strip("/")
    if not sub or ".." in sub.split("/"):
        raise UsageError(f"--cgroup {specs[-1]!r}: need a relative path inside the "
                         f"container's cgroup")
    child = Cgroup(cg.layout, cg.path.rstrip("/") + "/" + sub)
    if not child.exists():
        raise UsageError(f"--cgroup: {sub!r} does not exist in the container's cgroup")
    return child


def _forward(pid, signo):
    try:
        os.kill(pid, signo)
    except ProcessLookupError:
        pass


def _send_quietly(sock, kind):
    try:
        channel.send(sock, type=kind)
    except OSError:
        pass  # the process failed and left: its error is on the channel


def _reap(pid):
    from ..foreground import wait_child  # one implementation of "wait, map status"
    return wait_child(pid)


def _joiner(sock, ns_fds, proc, seccomp_prog, capsets, userns, console, preserve,
            helper_fd, v1_tasks=()):
    try:
        L.prctl(L.PR_SET_DUMPABLE, 0)
        if channel.recv(sock).get("type") != "go":
            os._exit(1)
        if v1_tasks:
            from ..cgattach import join_self
            join_self(v1_tasks)
        cloexec_sweep(3 + preserve)
        # imported by the runtime before the fork (see exec_cmd): after setns
        # into the mount namespace the interpreter's files are out of reach
        from . import sealed
        if proc.terminal:
            import fcntl
            import termios
            from .. import console as _console
        for name, fd in ns_fds:
            try:
                L.setns(fd, _NSTYPE[name], f"/proc/<init>/ns/{name}")
            except OSError as e:
                raise _oserr("join-namespace", "linux.namespaces", e, f"setns({name})",
                             f"ns/{name}")
        if any(n == "user" for n, _ in ns_fds):
            os.setresgid(0, 0, 0)
            os.setresuid(0, 0, 0)
        # it goes on once the runtime has put it in the container's cgroup
        if channel.recv(sock).get("type") != "joined":
            os._exit(1)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
            signal.signal(s, lambda signo, _f: os._exit(128 + signo))
        env = dict(e.split("=", 1) for e in proc.env)
        exe = _lookup(proc.args[0], env.get("PATH"))
        if proc.terminal:
            os.setsid()
            master, slave = os.openpty()
            if proc.console_size:
                _console.set_size(master, *proc.console_size)
            _console.send_master(console, master)
            console.close()
            os.close(master)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            if slave > 2:
                os.close(slave)
        elif console is not None:
            console.close()
        for name, _, soft, hard in proc.rlimits:
            L.setrlimit(_, soft, hard)
        if proc.oom_score_adj is not None:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write(str(proc.oom_score_adj))
        finalize(proc, env, seccomp_prog, userns, capsets=capsets)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
                  signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(s, signal.SIG_DFL)
        sealed.execve(helper_fd, exe, proc.args, env)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, OSError) and not isinstance(e, RuncPyError):
            e = StepError("exec", field="process.args", syscall="execve", path=proc.args[0],
                          errno=e.errno)
        channel.die_with(sock, e)
