"""Forking the container's init first, so that both halves of `create` run
at once.

The runtime (A) and the init it forks (B) each have start-up work of
their own: A imports and runs the config checks, then makes the state
directory and the cgroup; B imports the container-side modules, compiles
the plan and builds what it execs with (the sealed helper, the seccomp
program, the capability sets).  Done in one process, before the fork, that
is one long serial path; forked first, the two run on two CPUs.

B does nothing that outlives it before A says "valid": until then it only
imports, compiles its plan and reads.  A says "valid" once the config
passed its checks and the state directory is made (the container id is
ours); a failure before that makes A kill B and report its own error.  A
does not compile the plan: it reads the few fields it needs as they are
(Outline).  From "valid" on, B is the direct init of stage1 with early
start (namespaces and mounts while A makes the cgroup, then "go"); a step
that fails there is reported on the channel, and A undoes what it made.

Only for the direct case (stage1.direct_ok): no user or time namespace and
not run --no-subreaper.  Whether it applies is read from the raw config;
anything unexpected there means no early fork, and create goes the usual
way (and reports the problem).
"""
import os

from ..syscalls import linux as L
from . import channel


class Early:
    """A's handle on B: its pid (the container's init) and the channel."""

    def __init__(self, pid, sock, in_v2=False):
        self.pid = pid
        self.sock = sock
        self.in_v2 = in_v2     # B started in its cgroup v2 directory

    def abort(self):
        """Before "valid": B has made nothing, so killing it is all."""
        try:
            os.kill(self.pid, 9)
        except ProcessLookupError:
            pass
        while True:
            try:
                os.waitpid(self.pid, 0)
                break
            except InterruptedError:
                continue
            except ChildProcessError:
                break
        self.sock.close()


def _namespaces(doc):
    """[(type, path or None)] from the raw config, or None when the config
    is not plainly well formed (create's checks will say how)."""
    linux = doc.get("linux")
    if linux is None:
        return []
    if not isinstance(linux, dict) or linux.get("timeOffsets"):
        return None
    listed = linux.get("namespaces") or []
    if not isinstance(listed, list):
        return None
    out = []
    for ns in listed:
        if not isinstance(ns, dict) or not isinstance(ns.get("type"), str):
            return None
        p = ns.get("path") or None
        if p is not None and not (isinstance(p, str) and p.startswith("/")):
            return None
        out.append((ns["type"], p))
    return out


def eligible(doc, exit_fd):
    """The raw-config twin of stage1.direct_ok, conservative."""
    if exit_fd is not None or not isinstance(doc.get("process"), dict):
        return None
    ns = _namespaces(doc)
    if ns is None or any(t in ("user", "time") for t, _ in ns):
        return None
    return ns


class CgroupStart:
    """The container's cgroup v2 directory, made before B is forked so that
    B starts in it (L.fork_into_cgroup): no cgroup.procs write, so no wait
    for the kernel's grace period (see native/pyfork.c).  B joins the v1
    hierarchies itself, writing "0" to their `tasks` files, which takes no
    global lock either.  layout and path are reused by the Cgroup that A
    builds; created lists the directories made here (A's to remove)."""

    def __init__(self, layout, path, created, fd):
        self.layout, self.path, self.created, self.fd = layout, path, created, fd

    def to_dict(self, cid):
        """As cgroups.manager.Cgroup.to_dict, for the state file."""
        return {"path": self.path, "layout": self.layout.to_dict(),
                "created": list(self.created), "id": cid}

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def remove(self):
        """Undo, after B is gone (A failed before its Cgroup took over)."""
        self.close()
        from ..cgroups.manager import Cgroup
        Cgroup(self.layout, self.path, self.created).remove_created()


def cgroup_start(cid, doc, systemd, crumb=None):
    """-> CgroupStart, or None (then A places B the usual way): not with
    --systemd-cgroup, and only when the container's v2 directory is new
    (an existing one may be another container's).  crumb: a symlink to the
    directory, made just before its mkdir (in the state directory: until the
    state file records the cgroup, `delete` finds it there if the runtime
    is killed in between)."""
    if systemd:
        return None
    from ..cgroups.detect import detect
    from ..cgroups.errors import CgroupError
    from ..cgroups.paths import resolve_path
    path = (doc.get("linux") or {}).get("cgroupsPath")
    if path is not None and not isinstance(path, str):
        return None
    try:
        path = resolve_path(cid, path)
        layout = detect()
    except CgroupError:
        return None
    if layout.v2 is None:
        return CgroupStart(layout, path, [], None)
    created = []
    parts = path.strip("/").split("/")
    cur = layout.v2
    try:
        if crumb is not None:
            # before the mkdir: no moment when the directory exists and
            # nothing says so
            os.symlink(os.path.join(cur, *parts), crumb)
        for i, part in enumerate(parts):
            cur = os.path.join(cur, part)
            try:
                os.mkdir(cur, 0o755)
                created.append(cur)
            except FileExistsError:
                if i == len(parts) - 1:
                    raise
        fd = os.open(cur, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        for d in reversed(created):
            try:
                os.rmdir(d)
            except OSError:
                pass
        if crumb is not None:
            try:
                os.unlink(crumb)
            except OSError:
                pass
        return None
    return CgroupStart(layout, path, created, fd)


def fork(doc, bundle, no_pivot, namespaces, child_args, cgstart=None):
    """Fork B (in its pid namespace, and in its cgroup v2 directory when
    cgstart has one).  -> Early, or None when the pid namespace could not
    be entered (create then goes the usual way and reports why)."""
    pid_ns = [p for t, p in namespaces if t == "pid"]
    own = None
    try:
        if pid_ns:
            own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            if pid_ns[0] is None:
                L.unshare(L.CLONE_NEWPID)
            else:
                fd = os.open(pid_ns[0], os.O_RDONLY | os.O_CLOEXEC)
                try:
                    L.setns(fd, L.CLONE_NEWPID, pid_ns[0])
                finally:
                    os.close(fd)
    except OSError:
        if own is not None:
            os.close(own)
        return None
    sock, child_sock = channel.pair()
    import sys
    sys.stdout.flush()
    sys.stderr.flush()
    pid = -1
    in_v2 = False
    try:
        if cgstart is not None and cgstart.fd is not None:
            try:
                pid = L.fork_into_cgroup(cgstart.fd)
                in_v2 = True
            except OSError:
                pass  # older kernel, or refused: A moves B (cgroup.procs)
        if pid < 0:
            pid = os.fork()
        if pid == 0:
            sock.close()
            _child(doc, bundle, no_pivot, child_sock, **child_args)
            os._exit(1)
    finally:
        if pid != 0 and own is not None:
            try:
                L.setns(own, L.CLONE_NEWPID, "/proc/self/ns/pid")
            finally:
                os.close(own)
    child_sock.close()
    return Early(pid, sock, in_v2)


def begin(opts, cid, bundle, doc, no_pivot=False, preserve_fds=0, no_new_keyring=False,
          stdio=None, exit_fd=None):
    """The start of `create` when the init can be forked early: claim the
    container id (its state directory), make the cgroup v2 directory and
    fork B (cid is already validated).  -> (Early, CgroupStart or None), or
    (None, None) when the usual way applies (create.py then claims the id
    itself, after its checks)."""
    ns = eligible(doc, exit_fd)
    if ns is None:
        return None, None
    from .. import state as S
    c = S.Container(opts.root, cid).claim()
    cgstart = pre = None
    try:
        cgstart = cgroup_start(cid, doc, opts.systemd_cgroup,
                               crumb=os.path.join(c.dir, S.CGROUP_CRUMB))
        pre = fork(doc, bundle, no_pivot, ns, dict(
            cid=cid, state_dir=c.dir, preserve_fds=preserve_fds,
            no_new_keyring=no_new_keyring, stdio=stdio,
            seccomp_cache=os.path.join(opts.root, S.SECCOMP_CACHE)), cgstart)
    except BaseException:
        if cgstart is not None:
            cgstart.remove()
        c.remove()
        raise
    finally:
        if cgstart is not None:
            cgstart.close()
    if pre is None:
        if cgstart is not None:
            cgstart.remove()
        c.remove()   # create.py claims it again, after its checks
        return None, None
    return pre, cgstart


class Outline:
    """The few fields A needs, read from the checked config as they are
    instead of compiling the plan, which B does (saves A ~1.5 ms on its
    path).  Typed reads that only the compiler makes (a hook that is not an
    object, say) fail in B, which reports them on the channel; the cgroup
    code checks its own fields."""

    _HOOKS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")

    def __init__(self, doc, bundle):
        root = doc.get("root")
        rpath = root.get("path") if isinstance(root, dict) else None
        if not isinstance(rpath, str) or not rpath:
            rpath = "."
        self.rootfs = os.path.realpath(rpath if rpath.startswith("/")
                                       else os.path.join(bundle, rpath))
        proc = doc.get("process")
        self.terminal = isinstance(proc, dict) and proc.get("terminal") is True
        linux = doc.get("linux") if isinstance(doc.get("linux"), dict) else {}
        path = linux.get("cgroupsPath")
        self.cgroups_path = path if isinstance(path, str) else None
        res = linux.get("resources")
        self.resources = res if isinstance(res, dict) else None
        sc = linux.get("seccomp")
        self.seccomp = sc if isinstance(sc, dict) else None
        hooks = doc.get("hooks") if isinstance(doc.get("hooks"), dict) else {}
        self.hooks = {k: hooks[k] for k in self._HOOKS
                      if isinstance(hooks.get(k), list) and hooks[k]}


def send_valid(early, console_fd=None, log_fd=None):
    """The config passed and the id is ours: B may start.  The console
    socket and the log, opened by A, travel with the message."""
    fds = [fd for fd in (console_fd, log_fd) if fd is not None]
    msg = {"type": "valid", "console": console_fd is not None, "log": log_fd is not None}
    if fds:
        channel.send_fds(early.sock, fds, **msg)
    else:
        channel.send(early.sock, **msg)


def _child(doc, bundle, no_pivot, sock, cid, state_dir, preserve_fds, no_new_keyring,
           stdio, seccomp_cache):
    """B: get ready while A checks, then run as the direct init."""
    try:
        from ..plan import compile_plan
        from .init import Ctx, preload
        from .stage1 import direct_init
    except BaseException:  # noqa: BLE001 - nothing to report with
        os._exit(1)
    try:
        plan = compile_plan(doc, bundle, no_pivot=no_pivot)
        helper_fd, program, capsets = preload(plan, seccomp_cache)
        msg, fds = channel.recv_fds(sock)
        if msg.get("type") != "valid":
            os._exit(1)
        console_fd = fds.pop(0) if msg.get("console") else None
        log_fd = fds.pop(0) if msg.get("log") else None
        ctx = Ctx(cid, state_dir, console_fd=console_fd, preserve_fds=preserve_fds,
                  no_new_keyring=no_new_keyring, log_fd=log_fd, helper_fd=helper_fd,
                  seccomp=program, stdio=stdio, capsets=capsets, early_start=True)
    except channel.ChannelClosed:
        os._exit(1)
    except BaseException as e:  # noqa: BLE001 - everything goes to the runtime
        channel.die_with(sock, e)
    direct_init(plan, ctx, sock)
