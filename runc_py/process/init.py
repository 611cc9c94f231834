"""The container's side of `create`: the intermediate process (joins and
unshares namespaces, forks the init) and the init itself (walks the plan:
mounts, devices, pivot_root, masks, then waits on the exec fifo and execs
the user's program).  Every step failure becomes a StepError naming the
plan step, config field, syscall, path and errno, sent to the runtime over
the sync channel; these functions never return."""
import errno
import os
try:
    import _signal as signal  # the same functions and numbers, without enum (~5 ms)
except ImportError:  # pragma: no cover
    import signal
import stat

from .. import mounts as M
from ..errors import RuncPyError, StepError
from ..plan.compile import NS_FLAGS
from ..syscalls import linux as L
from . import channel
from .finalize import _lookup, _oserr, check_lsm, finalize

_CATCH = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
          signal.SIGUSR2)


class Ctx:
    """What the init needs besides the plan (from the command line)."""

    def __init__(self, cid, state_dir, console_fd=None, preserve_fds=0,
                 no_new_keyring=False, log_fd=None, cgroup=None, exec_fifo=True,
                 helper_fd=None, seccomp=None, stdio=None, capsets=None, exit_fd=None,
                 early_start=False):
        self.cid = cid
        self.state_dir = state_dir
        self.console_fd = console_fd
        self.preserve_fds = preserve_fds
        self.no_new_keyring = no_new_keyring
        self.log_fd = log_fd
        self.cgroup = cgroup
        self.exec_fifo = exec_fifo
        self.helper_fd = helper_fd      # sealed exec helper (memfd), made by the runtime
        self.seccomp = seccomp          # seccomp.Program built by the runtime, or None
        self.stdio = stdio              # (stdin, stdout, stderr) fds for `run` pipes
        self.capsets = capsets          # caps.CapSets, checked against what we hold
        self.exit_fd = exit_fd          # run --no-subreaper: report the init's exit here
        # the init starts its mounts before the runtime made its cgroup and
        # waits for "go" only before what needs it (see _Init.run)
        self.early_start = early_start


def preload(plan, seccomp_cache=None):
    """Run in the runtime before forking the container's processes: import
    every module they use later and build what needs files from the host
    (the sealed exec helper, the seccomp program).  After unshare(user) or
    pivot_root the interpreter's own files may be out of reach."""
    import fcntl  # noqa: F401
    from . import sealed
    proc = plan.process
    if proc is not None and proc.terminal:
        import socket, termios  # noqa: F401,E401
        from .. import console  # noqa: F401
    if plan.hooks.get("startContainer") or plan.hooks.get("createContainer"):
        from .. import hooks  # noqa: F401
        import subprocess  # noqa: F401
    capsets = None
    if proc is not None and proc.capabilities is not None:
        from .. import caps
        capsets = caps.available(caps.parse(proc.capabilities), held=caps.held_caps())
    if proc is not None:
        check_lsm(proc, (plan.raw_linux or {}).get("mountLabel"))
    program = None
    if plan.seccomp:
        from .. import seccomp
        program = seccomp.program_for(plan.seccomp, seccomp_cache)
    return sealed.sealed_helper_fd(), program, capsets


def _close_others(first, keep):
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd >= first and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


# ---------------------------------------------------------------- stage 1

def _unshare(flags):
    try:
        L.unshare(flags)
    except OSError as e:
        names = [n for n, f in NS_FLAGS.items() if f & flags]
        raise _oserr("unshare", "linux.namespaces", e,
                     "unshare(" + "|".join("CLONE_NEW" + n.upper() for n in names) + ")")


def hook_sync(plan):
    """Whether the init stops before pivot_root for the runtime's "hooks"
    round trip: prestart/createRuntime run then, and the state it returns
    feeds createContainer and startContainer hooks; from then on a failed
    create also runs poststop.  Without any of these there is nothing to
    wait for."""
    return any(plan.hooks.get(k) for k in ("prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststop"))


def _await_go(sock):
    msg = channel.recv(sock)
    if msg.get("type") != "go":
        os._exit(1)
    return msg


# pre-pivot steps an early-started init may take before the runtime made
# the container's cgroup and put it there: nothing in them depends on it
_BEFORE_CGROUP = ("rootfs-propagation", "bind-rootfs")


def _needs_cgroup(step):
    if step.op in _BEFORE_CGROUP:
        return False
    return not (step.op == "mount" and step.args.get("type") != "cgroup")


# ---------------------------------------------------------------- stage 2

def container_init(plan, ctx, sock):
    try:
        for s in _CATCH:
            signal.signal(s, lambda signo, _f: os._exit(128 + signo))
        os.setsid() if plan.process and plan.process.terminal else None
        init = _Init(plan, ctx, sock)
        init.run()
    except BaseException as e:  # noqa: BLE001
        channel.die_with(sock, e)
    os._exit(1)


def _statvfs_flags(path):
    """Mount flags currently in force at path (to keep locked flags on
    remount, as the kernel requires inside user namespaces)."""
    f = os.statvfs(path).f_flag
    out = 0
    for st, ms in ((os.ST_RDONLY, L.MS_RDONLY), (os.ST_NOSUID, L.MS_NOSUID),
                   (os.ST_NODEV, L.MS_NODEV), (os.ST_NOEXEC, L.MS_NOEXEC),
                   (os.ST_NOATIME, L.MS_NOATIME), (os.ST_NODIRATIME, L.MS_NODIRATIME),
                   (os.ST_RELATIME, L.MS_RELATIME)):
        if f & st:
            out |= ms
    return out


class _Init:
    def __init__(self, plan, ctx, sock):
        self.plan = plan
        self.ctx = ctx
        self.sock = sock
        self.rootfs = plan.rootfs
        self.userns = bool(plan.uid_mappings) or any(t == "user" for t, _ in plan.namespaces)
        self.state_fd = os.open(ctx.state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)

    def run(self):
        plan = self.plan
        self.helper_fd = self.ctx.helper_fd
        # mounts and devices, in the new mount namespace, before pivot_root
        waiting = self.ctx.early_start
        for step in plan.pre_pivot:
            if waiting and _needs_cgroup(step):
                self.joined()
                waiting = False
            self.do(step)
        if waiting:
            self.joined()
        reply = {"type": "ok", "state": {}}
        if hook_sync(plan):
            channel.send(self.sock, type="hooks")  # prestart + createRuntime run in the runtime
            reply = channel.recv(self.sock)
            if reply.get("type") != "ok":
                os._exit(1)
        # hooks run in the container's namespaces see the pid as the
        # container sees it (runtime.md#state)
        cstate = dict(reply.get("state", {}), pid=os.getpid())
        reply["state"] = cstate
        if plan.hooks.get("createContainer"):
            from ..hooks import run_hooks
            run_hooks("createContainer", plan.hooks["createContainer"], cstate)
        self.pivot()
        if plan.process and plan.process.terminal:
            self.console()
        for step in plan.post_pivot:
            self.do(step)
        proc = plan.process
        exe = None
        if proc is not None:
            exe = self.prepare_process(proc)
        if not self.ctx.no_new_keyring:
            try:
                L.keyctl_join(f"_ses.{self.ctx.cid}")
            except OSError as e:
                if e.errno not in (errno.ENOSYS, errno.EPERM, errno.EACCES, errno.EDQUOT):
                    raise _oserr("session-keyring", "(--no-new-keyring)", e)
        prog = self.ctx.seccomp
        if prog is not None and prog.notify:
            # the listener fd must reach the runtime, which hands it to
            # listenerPath; so this filter is loaded now, at create time
            from .. import seccomp as seccomp_mod
            lfd = seccomp_mod.load(prog)
            channel.send_fds(self.sock, [lfd], type="seccomp-fd")
            os.close(lfd)
            self.ctx.seccomp = None
        channel.send(self.sock, type="created")
        self.sock.close()
        ready = None
        if proc is not None and not plan.hooks.get("startContainer"):
            # As runc: user, groups and capabilities are switched while the
            # runtime records "created" and `start` comes, not after it; a
            # seccomp filter that no_new_privileges lets us load late waits
            # for the fifo (see exec_process).  A failure here is reported
            # to `start` through the fifo.
            ready = self.prepare_exec(proc)
        # wait for `start`: the fifo opens when `start` opens its other end
        try:
            fd = os.open("exec.fifo", os.O_WRONLY | os.O_CLOEXEC, dir_fd=self.state_fd)
        except OSError as e:
            _log_late(self.ctx.log_fd, f"init: open exec.fifo: {e.strerror}")
            os._exit(1)
        os.close(self.state_fd)
        self.exec_process(proc, exe, reply.get("state", {}), fd, ready)

    def joined(self):
        """Early start: wait until the runtime put us in the container's
        cgroup, then take a cgroup namespace (rooted there) if asked."""
        msg = _await_go(self.sock)
        if "cgroup" in msg:  # an early-forked init learns its cgroup here
            self.ctx.cgroup = msg["cgroup"]
        if msg.get("join"):   # the v1 hierarchies (process/early.py)
            from ..cgattach import join_self
            join_self(msg["join"])
        if self.plan.unshare_flags & L.CLONE_NEWCGROUP:
            _unshare(L.CLONE_NEWCGROUP)

    # ------------------------------------------------------------ steps
    def do(self, step):
        fn = getattr(self, "op_" + step.op.replace("-", "_"))
        try:
            fn(**step.args)
        except RuncPyError:
            raise
        except M.EscapeError as e:
            raise StepError(step.op, str(e), field=step.field)
        except OSError as e:
            raise _oserr(step.op, step.field, e)

    def op_rootfs_propagation(self, flags, value):
        L.mount(None, "/", None, value)

    def op_root_propagation(self, flags, value):
        L.mount(None, "/", None, value)

    def op_bind_rootfs(self, path):
        L.mount(path, path, None, L.MS_BIND | L.MS_REC)

    def _target(self, dest):
        return M.secure_join(self.rootfs, dest)

    def op_mount(self, destination, type, source, flags, flag_names, data, propagation,
                 recursive):
        target = self._target(destination)
        if flags & L.MS_BIND:
            src_is_dir = os.path.isdir(source)
            if src_is_dir:
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if not os.path.exists(target):
                    os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
            L.mount(source, target, None, L.MS_BIND | (flags & L.MS_REC))
            extra = flags & ~(L.MS_BIND | L.MS_REC | L.MS_REMOUNT)
            if extra or data:
                if self.userns:  # keep the flags the kernel locked on this mount
                    extra |= _statvfs_flags(target) & ~L.MS_RDONLY
                L.mount(None, target, None, L.MS_BIND | L.MS_REMOUNT | extra, data or None)
            if "rro" in recursive:
                r = L.lib.nsu_mount_setattr_ro(-100, target.encode(), 1)
                if r < 0:
                    raise L.SyscallError(-r, "mount_setattr(MOUNT_ATTR_RDONLY, AT_RECURSIVE)",
                                         target)
        elif type == "cgroup":
            self.mount_cgroup_v1(target, flags, data)
        else:
            os.makedirs(target, exist_ok=True)
            try:
                L.mount(source or type, target, type, flags, data or None)
            except OSError as e:
                if type == "sysfs" and e.errno == errno.EPERM and self.userns:
                    # a user namespace without its own network namespace cannot
                    # mount sysfs: bind the host's read-only instead (as runc does)
                    L.mount("/sys", target, None, L.MS_BIND | L.MS_REC)
                    L.mount(None, target, None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY |
                            _statvfs_flags(target))
                elif type == "mqueue" and e.errno in (errno.EPERM, errno.EINVAL):
                    L.mount("/dev/mqueue", target, None, L.MS_BIND | L.MS_REC)
                else:
                    raise
        for p in propagation:
            L.mount(None, target, None, p)

    def mount_cgroup_v1(self, target, flags, data):
        """`type: cgroup` on this host's layout: cgroup2 where the host is
        pure v2; otherwise a tmpfs with each hierarchy bound in, showing the
        container's own cgroup, read-only if asked."""
        os.makedirs(target, exist_ok=True)
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            L.mount("cgroup2", target, "cgroup2", flags, None)
            return
        L.mount("tmpfs", target, "tmpfs", flags & ~L.MS_RDONLY, "mode=755")
        by_mount = (self.ctx.cgroup or {}).get("by_mount", {})
        for name in sorted(os.listdir("/sys/fs/cgroup")):
            host = os.path.join("/sys/fs/cgroup", name)
            sub = by_mount.get(host)
            if sub is not None:
                src = sub   # a v1 hierarchy, and the container's dir in it (made by A)
            elif os.path.islink(host):
                os.symlink(os.readlink(host), os.path.join(target, name))
                continue
            elif by_mount or not os.path.ismount(host) or os.path.exists(
                    os.path.join(host, "cgroup.controllers")):
                continue  # not a hierarchy, or the v2 one (runc leaves it out too)
            else:
                src = host
            dst = os.path.join(target, name)
            os.mkdir(dst)
            L.mount(src, dst, None, L.MS_BIND | L.MS_REC)
            L.mount(None, dst, None, L.MS_BIND | L.MS_REMOUNT | L.MS_NOSUID | L.MS_NODEV |
                    L.MS_NOEXEC | (flags & L.MS_RDONLY))

    def op_device(self, path, type, major, minor, mode, uid, gid, default=False):
        target = self._target(path)
        if self.userns or self.plan.dev_is_bind:
            if default and self.plan.dev_is_bind:
                return
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o000))
            L.mount(path, target, None, L.MS_BIND)
            return
        kind = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}[type]
        # mknod first, the checks only when it fails: /dev is nearly always
        # there and empty (3 syscalls per device instead of 9)
        node = kind | (mode & 0o7777), os.makedev(major, minor)
        try:
            try:
                os.mknod(target, *node)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.mknod(target, *node)
        except FileExistsError:  # (mknod does not follow a symlink: lexists)
            if default:
                return
            st = os.lstat(target)
            same = stat.S_IFMT(st.st_mode) == kind and (
                kind == stat.S_IFIFO or st.st_rdev == os.makedev(major, minor))
            if not same:
                raise StepError("device", f"{path} already exists and is not the requested "
                                f"device ({type} {major}:{minor})", path=path) from None
        os.chmod(target, mode & 0o7777)  # (mknod's mode went through the umask)
        os.chown(target, uid, gid)

    def op_dev_symlinks(self, links):
        for src, dst in links:
            target = self._target(dst)
            if os.path.lexists(target):
                continue
            try:
                os.symlink(src, target)
            except FileNotFoundError:
                pass  # no /dev directory: nothing to link

    def op_ptmx(self):
        if self.plan.dev_is_bind:
            return
        pts = self._target("/dev/pts/ptmx")
        if not os.path.exists(pts):
            return
        ptmx = self._target("/dev/ptmx")
        if os.path.lexists(ptmx):
            os.unlink(ptmx)
        os.symlink("pts/ptmx", ptmx)

    def pivot(self):
        root = self.rootfs
        try:
            if self.plan.no_pivot:
                os.chdir(root)
                L.mount(root, "/", None, L.MS_MOVE)
                os.chroot(".")
                os.chdir("/")
                return
            old = os.open("/", os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
            new = os.open(root, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)
            os.fchdir(new)
            L.pivot_root(".", ".")
            os.fchdir(old)
            L.mount(None, ".", None, L.MS_SLAVE | L.MS_REC)
            L.umount2(".", L.MNT_DETACH)
            os.chdir("/")
            os.close(old)
            os.close(new)
        except OSError as e:
            raise _oserr("pivot-root" if not self.plan.no_pivot else "move-root", "root.path",
                         e, path=root)

    def console(self):
        p = self.plan.process
        try:
            master, slave = os.openpty()
            if p.console_size:
                from ..console import set_size
                set_size(master, *p.console_size)
            name = os.ttyname(slave)
            if not os.path.exists("/dev/console"):
                os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            L.mount(name, "/dev/console", None, L.MS_BIND)
        except OSError as e:
            raise _oserr("console", "process.terminal", e)
        if self.ctx.console_fd is None:
            raise StepError("console", "process.terminal is true but there is no console "
                            "socket to send the terminal to", field="process.terminal",
                            hint="pass --console-socket, or set process.terminal to false")
        import socket
        s = socket.socket(fileno=self.ctx.console_fd)
        from ..console import send_master
        send_master(s, master)
        s.close()
        os.close(master)
        import fcntl
        import termios
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        if slave > 2:
            os.close(slave)

    def op_mask(self, path):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                L.mount("tmpfs", path, "tmpfs", L.MS_RDONLY, None)
            else:
                L.mount("/dev/null", path, None, L.MS_BIND)
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise

    def op_readonly_path(self, path):
        try:
            L.mount(path, path, None, L.MS_BIND | L.MS_REC)
        except OSError as e:
            if e.errno == errno.ENOENT:
                return
            raise
        L.mount(None, path, None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | L.MS_REC |
                _statvfs_flags(path))

    def op_sysctl(self, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        with open(path, "w") as f:
            f.write(value)

    def op_hostname(self, name):
        L.sethostname(name)

    def op_domainname(self, name):
        L.setdomainname(name)

    def op_readonly_root(self):
        L.mount(None, "/", None, L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | _statvfs_flags("/"))

    # ------------------------------------------------------------ process
    def prepare_process(self, proc):
        """Everything about the process that can fail is checked here, at
        create time: the executable, rlimits, oom score, cwd."""
        env = dict(e.split("=", 1) for e in proc.env)
        exe = _lookup(proc.args[0], env.get("PATH"))
        for name, res, soft, hard in proc.rlimits:
            try:
                L.setrlimit(res, soft, hard)
            except OSError as e:
                raise StepError("setrlimit", f"setrlimit {name} soft={soft} hard={hard}: "
                                f"{e.strerror}", field="process.rlimits", syscall="setrlimit",
                                errno=e.errno,
                                hint="the soft limit must not exceed the hard one, and a hard "
                                     "limit above the current one needs CAP_SYS_RESOURCE")
        if proc.oom_score_adj is not None:
            try:
                with open("/proc/self/oom_score_adj", "w") as f:
                    f.write(str(proc.oom_score_adj))
            except OSError as e:
                raise _oserr("oom-score-adj", "process.oomScoreAdj", e, "write",
                             "/proc/self/oom_score_adj")
        if not os.path.isdir(proc.cwd):
            try:
                os.makedirs(proc.cwd, 0o755, exist_ok=True)
            except OSError as e:
                raise _oserr("cwd", "process.cwd", e, "mkdir", proc.cwd)
        if self.plan.personality:
            dom = self.plan.personality.get("domain")
            val = {"LINUX": 0x0000, "LINUX32": 0x0008}.get(dom)
            if val is None:
                raise StepError("personality", f"unknown domain {dom!r}",
                                field="linux.personality.domain")
            L.personality(val)
        return exe

    def prepare_exec(self, proc):
        """Everything before execve that needs no `start`: -> (env, the
        seccomp filter still to load or None, None) or (None, None, error
        message)."""
        try:
            env = dict(e.split("=", 1) for e in proc.env)
            late = self.switch_user(proc, env, defer_seccomp=True)
            return env, late, None
        except BaseException as e:  # noqa: BLE001
            return None, None, _describe(proc, e)

    def exec_process(self, proc, exe, state, fifo_fd, ready=None):
        """After `start`: startContainer hooks, then tell `start` ("0" on the
        fifo, or "E" and the error), then user, capabilities, seccomp, exec
        (ready: prepare_exec did the middle part already).  Later failures
        go to stderr and the log."""
        try:
            if ready is not None and ready[2] is not None:
                os.write(fifo_fd, b"E" + ready[2].encode()[:3000])
                os._exit(1)
            if self.plan.hooks.get("startContainer"):
                from ..hooks import run_hooks
                state = dict(state, status="created")
                try:
                    run_hooks("startContainer", self.plan.hooks["startContainer"], state)
                except RuncPyError as e:
                    os.write(fifo_fd, b"E" + str(e).encode()[:3000])
                    os._exit(1)
            os.write(fifo_fd, b"0")
            os.close(fifo_fd)
            if ready is not None:
                env, late, _ = ready
                if late is not None:
                    from .. import seccomp as seccomp_mod
                    seccomp_mod.load(late)
            else:
                env = dict(e.split("=", 1) for e in proc.env)
                self.switch_user(proc, env)
            for s in _CATCH + (signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(s, signal.SIG_DFL)
            from .sealed import execve
            execve(self.helper_fd, exe, proc.args, env)
        except BaseException as e:  # noqa: BLE001
            _log_late(self.ctx.log_fd, _describe(proc, e))
            os._exit(127 if isinstance(e, OSError) and e.errno == errno.ENOENT else
                     126 if isinstance(e, OSError) else 1)

    def switch_user(self, proc, env, defer_seccomp=False):
        return finalize(proc, env, self.ctx.seccomp, self.userns, capsets=self.ctx.capsets,
                        warn=lambda m: _log_late(self.ctx.log_fd, m, level="warning",
                                                 stderr=False),
                        defer_seccomp=defer_seccomp)


def _describe(proc, e):
    return str(e) if isinstance(e, RuncPyError) else (
        f"exec {proc.args[0]}: {e.strerror}" if isinstance(e, OSError) else str(e))


def _log_late(log_fd, msg, level="error", stderr=True):
    if stderr:
        try:
            os.write(2, f"runc-py: {msg}\n".encode())
        except OSError:
            pass
    if log_fd is not None:
        import time
        from .. import fastjson as json
        line = json.dumps({"level": level, "msg": msg,
                           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        try:
            os.write(log_fd, (line + "\n").encode())
        except OSError:
            pass
