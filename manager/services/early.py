"""The monitor of a container about to be run, forked first thing.

`mydocker run` forks the container's monitor as soon as its command line
is parsed, so that the monitor's start-up overlaps the manager's own work
(image, record, rootfs, bundle).  This module is all that needs, so the
fork comes before any other import.

Before the fork we make the monitor's two sockets, so that the monitor
never needs the socket module unless a client attaches later: a
socketpair (our end becomes the attach connection of `run`) and the
listening attach socket, bound under a temporary name in RUN_ROOT/c/ and
renamed to RUN_ROOT/c/<id16>/attach.sock once the container exists.

The child leaves our session (setsid: the terminal's signals do not reach
it), becomes a child subreaper (kept across execve, so the monitor never
loads ctypes: the container's init is re-parented to it when the runtime
exits) and ignores the terminal's signals.  Still this process (a fork of
`mydocker`, before any exec), it waits for the config on the socketpair
and starts the container's `<runtime> run --detach` at once: the runtime
then works while the monitor's interpreter starts.  Then it execs
`python -I -S -c <BOOTSTRAP> fd:3 fd:4 LISTEN fd:5`, handing on its end of
the pair (fd 3), the listener (fd 4), a memfd holding the config and what
was started (fd 5) and the runtime's stdio pipes (fds 6-8); every other
fd it inherited is closed (stderr stays until the monitor has its log).
go() sends the config; cancel() closes the pair instead and the monitor
exits without doing anything.
"""
import os
import sys

import _signal
import _socket

from .. import libc

__all__ = ["EarlyMonitor", "command", "PROJECT_ROOT"]

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOOTSTRAP = "import sys; sys.path.insert(0, {root!r}); from manager.monitor import main; main()"
IGNORED_BY_MONITOR = (_signal.SIGHUP, _signal.SIGINT, _signal.SIGPIPE, _signal.SIGTTOU,
                      _signal.SIGTTIN)
CONFIG = 13          # attach.CONFIG (not imported: the fork comes first)
MAX_FD = 1 << 20


def command(python, listen_path, project_root=PROJECT_ROOT):
    """argv that starts a monitor with a lean interpreter (-I -S)."""
    return [python, "-I", "-S", "-c", BOOTSTRAP.format(root=project_root), "fd:3", "fd:4",
            listen_path, "fd:5"]


def _read_frame(fd):
    """The payload of the first frame on fd (None at EOF or if not CONFIG)."""
    buf = b""
    while True:
        data = os.read(fd, 65536)
        if not data:
            return None
        buf += data
        if len(buf) >= 5:
            n = int.from_bytes(buf[1:5], "big")
            if buf[0] != CONFIG:
                return None
            if len(buf) >= 5 + n:
                return buf[5:5 + n]


def _move_fds(pairs):
    """dup each source fd onto its target (inheritable), whatever the overlaps."""
    import fcntl
    high = [(fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 100), dst) for src, dst in pairs]
    for tmp, dst in high:
        os.dup2(tmp, dst)
        os.close(tmp)


def _prelaunch(chan, listen_path):
    """In the child, before the exec: wait for the config (EOF: not needed,
    exit); start the runtime's `run` at once (it then works while the
    monitor's interpreter starts); return the (fd, target) pairs to hand on:
    the config with what was started (a memfd) and the runtime's stdio pipes."""
    payload = _read_frame(chan)
    if payload is None:
        try:
            os.unlink(listen_path)
        except OSError:
            pass
        os._exit(0)
    from .. import jsonfast
    from .. import runtime_client as rc
    cfg = jsonfast.loads(payload)
    moves = []
    argv = cfg.get("launch")
    if argv:
        pid_file = os.path.join(cfg["rundir"], "pidfile")
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        log_start = rc._log_size(cfg["runtime"]["log"])
        try:
            pid, out_r, err_r, in_w = rc.spawn_with_pipes(argv, cfg.get("stdin"))
            launched = {"pid": pid, "stdout": 6, "stderr": 7,
                        "stdin": 8 if in_w is not None else None, "log_start": log_start}
            moves += [(out_r, 6), (err_r, 7)] + ([(in_w, 8)] if in_w is not None else [])
        except OSError as e:
            launched = {"error": e.strerror, "log_start": log_start}
        cfg["launched"] = launched
    fd = os.memfd_create("monitor-config", os.MFD_CLOEXEC)
    data = memoryview(jsonfast.dumps(cfg).encode())
    while data:
        data = data[os.write(fd, data):]
    os.lseek(fd, 0, os.SEEK_SET)
    return [(fd, 5)] + moves


class EarlyMonitor:
    def __init__(self, run_root, listen_path=None):
        libc.preload()              # the child's prctl needs no import after the fork
        python = os.path.realpath(sys.executable)
        base = os.path.join(run_root, "c")
        os.makedirs(base, exist_ok=True)
        self.path = listen_path or os.path.join(base, f".new-{os.urandom(8).hex()}")
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        listener = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            listener.bind(self.path)
            listener.listen(16)
            ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        except BaseException:
            listener.close()
            raise
        argv = command(python, self.path)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.setsid()
                libc.prctl(libc.PR_SET_CHILD_SUBREAPER, 1)
                for sig in IGNORED_BY_MONITOR:
                    _signal.signal(sig, _signal.SIG_IGN)
                os.chdir("/")
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                ours.close()
                chan, lfd = theirs.detach(), listener.detach()
                moves = _prelaunch(chan, self.path)
                _move_fds([(chan, 3), (lfd, 4)] + moves)
                keep = max(dst for _, dst in moves)
                os.closerange(keep + 1, MAX_FD)   # whatever our caller let us inherit
                os.execv(python, argv)
            except BaseException as e:
                try:
                    os.write(2, f"mydocker: cannot start the container's monitor: {e}\n"
                             .encode())
                except OSError:
                    pass
            finally:
                os._exit(127)
        theirs.close()
        listener.close()
        self.sock = ours

    def go(self, cfg_json, attach_path):
        """Give the monitor its attach socket's final name and its config (JSON
        text); returns our end of the pair, an attach connection from now on."""
        if attach_path != self.path:
            os.rename(self.path, attach_path)
            self.path = attach_path
        sock, self.sock = self.sock, None
        payload = cfg_json.encode()
        sock.sendall(bytes((CONFIG,)) + len(payload).to_bytes(4, "big") + payload)
        return sock

    def cancel(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            try:
                os.unlink(self.path)
            except OSError:
                pass
