"""`runc-py run`: create + start, then, in the foreground, wait for the
container's process with its stdio (pipes copied to ours, or a terminal
joined to ours), forward signals, return its exit status, and delete it
(unless --keep).  --detach returns after start."""
import os
import time

from . import state as S
from .errors import RuncPyError, UsageError
from .lifecycle import _warn, delete, start


def run(opts, cid, bundle, detach=False, keep=False, pid_file=None, console_socket=None,
        no_pivot=False, no_new_keyring=False, preserve_fds=0, no_subreaper=False):
    try:
        import _signal as signal  # no enum import (~5 ms)
    except ImportError:  # pragma: no cover
        import signal
    from .spec.load import load_bundle
    loaded = load_bundle(bundle)
    doc = loaded[1]
    terminal = bool((doc.get("process") or {}).get("terminal"))
    internal = None
    if terminal and not console_socket:
        if detach:
            raise UsageError("cannot allocate a terminal when detaching without "
                             "--console-socket")
        import socket
        internal, internal_peer = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM |
                                                    socket.SOCK_CLOEXEC)
    if not detach and not no_subreaper:
        from .syscalls import linux as L
        L.prctl(L.PR_SET_CHILD_SUBREAPER, 1)
    forwarded = []

    def forward(signo, _frame):
        forwarded.append(signo)
        if c_holder:
            try:
                os.kill(c_holder[0].pid, signo)
            except ProcessLookupError:
                pass
    c_holder = []
    if not detach:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                  signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(s, forward)
    pipes = None
    if not detach and not terminal:
        # as runc: a foreground container gets pipes, copied to our stdio, so
        # it cannot reopen (and truncate) the caller's files via /proc/self/fd
        pipes = [os.pipe() for _ in range(3)]
        for r, w in pipes:
            os.set_inheritable(r, False)
            os.set_inheritable(w, False)
    # Without a subreaper the init is not our child (it is double-forked):
    # runc gets it as a child with CLONE_PARENT; we keep the intermediate
    # process as its parent and have it report the exit status on a pipe.
    exit_r = exit_w = None
    if no_subreaper and not detach:
        exit_r, exit_w = os.pipe()
    try:
        from .create import create  # (exec imports this module for wait_child only)
        c = create(opts, cid, bundle, pid_file=pid_file, console_socket=console_socket,
                   no_pivot=no_pivot, no_new_keyring=no_new_keyring, preserve_fds=preserve_fds,
                   _internal_console=internal_peer if internal else None,
                   _stdio=(pipes[0][0], pipes[1][1], pipes[2][1]) if pipes else None,
                   _exit_fd=exit_w, _loaded=loaded, _start_next=True)
    except BaseException:
        if pipes:
            for r, w in pipes:
                for fd in (r, w):
                    try:
                        os.close(fd)
                    except OSError:
                        pass
        raise
    c_holder.append(c)
    master = None
    if internal is not None:
        from .console import recv_master
        internal_peer.close()
        master = recv_master(internal)
        internal.close()
        from .console import get_size, set_size
        size = get_size(0) if os.isatty(0) else None
        if size and size != (0, 0):
            set_size(master, *size)  # before the process starts, so it sees its size
    try:
        start(opts, cid, _c=c)
    except BaseException:
        try:
            delete(opts, cid, force=True, _c=c)
        except RuncPyError:
            pass
        raise
    if detach:
        return 0
    pid = c.pid
    if master is not None:
        from .console import proxy
        proxy(master, lambda: S.pid_alive(pid))
    if pipes:
        status = _pump(pipes, pid)
    elif exit_r is None:
        status = wait_child(pid)
    if exit_r is not None:
        os.close(exit_w)
        data = b""
        while True:
            chunk = os.read(exit_r, 64)
            if not chunk:
                break
            data += chunk
        os.close(exit_r)
        status = int(data) if data.strip().isdigit() else 255
        try:
            os.waitpid(-1, os.WNOHANG)  # the intermediate, which has exited
        except ChildProcessError:
            pass
    if not keep:
        try:
            delete(opts, cid, force=True, _c=c)
        except RuncPyError as e:
            _warn(opts, str(e))
    return status


def _pump(pipes, pid):
    """Copy our stdin to the container and its stdout/stderr to ours until
    both close; return the container's exit status."""
    import select
    stdin_w, out_r, err_r = pipes[0][1], pipes[1][0], pipes[2][0]
    src = {out_r: 1, err_r: 2}
    watch = [out_r, err_r]
    stdin_open = True
    try:
        os.fstat(0)
    except OSError:
        stdin_open = False
    if stdin_open:
        watch.append(0)
    else:
        os.close(stdin_w)
    status = None
    while out_r in watch or err_r in watch:
        try:
            ready, _, _ = select.select(watch, [], [], 0.5 if status is None else 0.05)
        except InterruptedError:
            continue
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if fd == 0:
                if not data:
                    watch.remove(0)
                    os.close(stdin_w)
                    stdin_open = False
                else:
                    try:
                        os.write(stdin_w, data)
                    except BrokenPipeError:
                        watch.remove(0)
                        stdin_open = False
                continue
            if not data:
                watch.remove(fd)
                os.close(fd)
            else:
                try:
                    os.write(src[fd], data)
                except BrokenPipeError:
                    pass
        if status is None:
            try:
                r, st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                r, st = (pid, 0) if not S.pid_alive(pid) else (0, 0)
            if r == pid:
                status = (os.WEXITSTATUS(st) if os.WIFEXITED(st)
                          else 128 + os.WTERMSIG(st))
        elif not ready:
            break  # the process is gone and nothing more arrives
    for fd in watch:
        if fd != 0:
            os.close(fd)
    if stdin_open:
        os.close(stdin_w)
    return wait_child(pid) if status is None else status


def wait_child(pid):
    while True:
        try:
            r, st = os.waitpid(pid, 0)
        except ChildProcessError:
            # not our child (subreaper disabled): poll until it is gone
            while S.pid_alive(pid):
                time.sleep(0.01)
            return 0
        except InterruptedError:
            continue
        if r == pid:
            if os.WIFEXITED(st):
                return os.WEXITSTATUS(st)
            if os.WIFSIGNALED(st):
                return 128 + os.WTERMSIG(st)
