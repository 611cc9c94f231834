"""Stage 1 of `create`: getting the container's init into its namespaces.

Usual case (direct_ok): the runtime enters the pid namespace for one fork
(enter_pidns / leave_pidns) and forks the init itself, which joins and
unshares the other namespaces (direct_init).  With a user or time namespace,
or run --no-subreaper, an intermediate process does it and forks the init
(intermediate).  Either way the init then runs process.init.container_init.
"""
import os

from ..plan.compile import NS_FLAGS
from ..syscalls import linux as L
from . import channel
from .finalize import _oserr
from .init import _await_go, _close_others, _unshare, container_init
from .pidns import _pidns_for_children


def _settle_fds(ctx, sock):
    if ctx.stdio:
        for target, fd in enumerate(ctx.stdio):
            os.dup2(fd, target)
    # fds the caller leaked to us (not preserved) must not stay open in the
    # container's init until start: a caller waiting for EOF would hang
    keep = {sock.fileno(), ctx.console_fd, ctx.log_fd, ctx.helper_fd, ctx.exit_fd}
    _close_others(3 + ctx.preserve_fds, keep)


def _join_namespaces(plan, skip=()):
    for t, p in plan.namespaces:
        if p is None or t in skip:
            continue
        try:
            fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
            try:
                L.setns(fd, NS_FLAGS[t], p)
            finally:
                os.close(fd)
        except OSError as e:
            raise _oserr("join-namespace", "linux.namespaces", e, "setns", p)


def direct_ok(plan, exit_fd):
    """Whether the runtime can fork the init itself, without the
    intermediate process: no user namespace (its mappings are written from
    outside, between two steps of the child) and no time namespace (like
    the pid namespace it applies to children only, and it must be set up
    before any); not run --no-subreaper (the intermediate reports the exit
    status there).  The pid namespace is entered by the runtime for its
    next child only (see enter_pidns)."""
    if exit_fd is not None or plan.time_offsets:
        return False
    return not any(t in ("user", "time") for t, _ in plan.namespaces)


def enter_pidns(plan):
    """In the runtime, just before forking the init directly: make the next
    child pid 1 of a new pid namespace, or a member of the one the config
    names.  Returns the fd of our own pid namespace, to go back with
    leave_pidns right after the fork (None when nothing changed)."""
    pid = [p for t, p in plan.namespaces if t == "pid"]
    if not pid:
        return None
    if pid[0] is None:
        return _pidns_for_children(lambda: _unshare(L.CLONE_NEWPID))
    return _pidns_for_children(
        lambda: _join_namespaces(plan, skip=tuple(t for t in NS_FLAGS if t != "pid")))


def direct_init(plan, ctx, sock):
    """The init forked by the runtime itself (see direct_ok): it already
    is in its pid namespace; it joins and unshares the others here."""
    try:
        if not ctx.early_start:
            _await_go(sock)
        _settle_fds(ctx, sock)
        _join_namespaces(plan, skip=("pid",))
        flags = plan.unshare_flags & ~L.CLONE_NEWPID
        if ctx.early_start:
            flags &= ~L.CLONE_NEWCGROUP  # after "go": rooted at the container's cgroup
        if flags:
            _unshare(flags)
    except BaseException as e:  # noqa: BLE001 - everything goes to the runtime
        channel.die_with(sock, e)
    container_init(plan, ctx, sock)


def intermediate(plan, ctx, sock):
    try:
        msg = channel.recv(sock)
        if msg.get("type") != "go":
            os._exit(1)
        _settle_fds(ctx, sock)
        _join_namespaces(plan)
        flags = plan.unshare_flags
        if flags & L.CLONE_NEWUSER:
            try:
                L.unshare(L.CLONE_NEWUSER)
            except OSError as e:
                raise _oserr("unshare", "linux.namespaces[user]", e, "unshare(CLONE_NEWUSER)")
            channel.send(sock, type="userns")
            if channel.recv(sock).get("type") != "mapped":
                os._exit(1)
            try:
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)
            except OSError as e:
                raise _oserr("become-root", "linux.uidMappings", e, "setresuid(0)")
            flags &= ~L.CLONE_NEWUSER
        if flags:
            _unshare(flags)
        if plan.time_offsets:
            try:
                with open("/proc/self/timens_offsets", "w") as f:
                    for clock, off in plan.time_offsets.items():
                        cid = {"monotonic": 1, "boottime": 7}.get(clock, clock)
                        f.write(f"{cid} {off.get('secs', 0)} {off.get('nanosecs', 0)}\n")
            except OSError as e:
                raise _oserr("time-offsets", "linux.timeOffsets", e, "write",
                             "/proc/self/timens_offsets")
        pid = os.fork()
        if pid == 0:
            if ctx.exit_fd is not None:
                os.close(ctx.exit_fd)
            container_init(plan, ctx, sock)
        channel.send(sock, type="pid", pid=pid)
        if ctx.exit_fd is not None:
            sock.close()
            for fd in (0, 1, 2):      # hold none of the container's stdio
                try:
                    os.close(fd)
                except OSError:
                    pass
            while True:
                try:
                    _, st = os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
            code = os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st)
            os.write(ctx.exit_fd, str(code).encode())
        os._exit(0)
    except BaseException as e:  # noqa: BLE001 - everything goes to the runtime
        channel.die_with(sock, e)
