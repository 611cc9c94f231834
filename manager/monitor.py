"""The per-container monitor (conmon's role): one small process per
container that outlives `mydocker`.

It is started as `python -I -S -c <bootstrap> RUNDIR/monitor.json` with a
sync pipe on fd 3, daemonizes (fork + setsid) and becomes a child
subreaper, so the container's init process, orphaned when `runtime create`
exits, is re-parented to it and it can reap it.  It then:

* runs `<runtime> create` with the container's stdio (pipes, or a pty
  received over --console-socket when the container has a terminal) and
  reports {"pid": N} or {"error": msg, "code": 125|126|127} on the sync pipe;
* serves the attach socket RUNDIR/attach.sock (protocol below): clients
  receive the live output, send stdin, resize the terminal, and ask it to
  `<runtime> start` the container;
* writes stdout/stderr to the json-file log (Docker's format: one JSON
  object per line with log, stream, time; rotated by size);
* reaps the container, reads whether the kernel OOM-killed it, records
  ExitCode/FinishedAt/OOMKilled in state.json, deletes the runtime's
  container, then applies the restart policy or --rm, unmounts the rootfs
  and exits.

Attach protocol: frames of 1 byte type + 4 bytes big-endian length +
payload, in both directions.  To the client: STDOUT, STDERR, STARTED (json
{"pid"}), ERROR (json {"message", "code"}), EXIT (json {"ExitCode",
"OOMKilled"}).  From the client: HELLO (json {"stdout", "stderr", "stdin"}),
START, STDIN data, STDIN_CLOSE, RESIZE (json {"h", "w"}).

Imports only the stdlib, runtime_client, rootfs and store helpers, to keep
its start-up and memory small.
"""
import errno
import json
import os
import signal
import struct
import sys
import time

selectors = socket = None     # imported in main(): the manager imports this module too

# frame types
STDIN, STDOUT, STDERR, EXIT, STARTED, ERROR = 0, 1, 2, 3, 4, 5
HELLO, START, STDIN_CLOSE, RESIZE = 9, 12, 10, 11
HDR = struct.Struct(">BI")

PR_SET_CHILD_SUBREAPER = 36
MAX_PARTIAL = 16 * 1024
CREATE_TIMEOUT = float(os.environ.get("MYDOCKER_RUNTIME_TIMEOUT", "30"))


_TRACE = os.environ.get("MYDOCKER_TRACE")


def trace(what):
    """MYDOCKER_TRACE=1: timestamps of the monitor's steps in monitor.log."""
    if _TRACE:
        sys.stderr.write(f"{time.time():.4f} monitor {what}\n")
        sys.stderr.flush()


def frame(kind, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    return HDR.pack(kind, len(payload)) + payload


class FrameReader:
    """Accumulates bytes and yields complete (type, payload) frames."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= HDR.size:
            kind, n = HDR.unpack_from(self.buf)
            if len(self.buf) < HDR.size + n:
                break
            out.append((kind, self.buf[HDR.size:HDR.size + n]))
            self.buf = self.buf[HDR.size + n:]
        return out


def rfc3339nano(ns=None):
    ns = time.time_ns() if ns is None else ns
    s, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:09d}Z"


def proc_start_time(pid):
    """Start time of pid in clock ticks (field 22 of /proc/pid/stat); 0 if it is
    gone or a zombie (a dead monitor nobody has reaped yet is dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return 0
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return 0
    return int(fields[19])


def pid_alive(pid, start):
    return bool(pid) and proc_start_time(pid) == start != 0


# ---- state.json (same protocol as store/containers.py: flock on <cdir>/lock,
# temp file + rename; kept here so the monitor needs neither pathlib nor the store)

def read_state(cdir):
    try:
        with open(os.path.join(cdir, "state.json"), "rb") as f:
            return json.load(f)
    except (FileNotFoundError, ValueError):
        return {}


def update_state(cdir, **changes):
    import fcntl
    fd = os.open(os.path.join(cdir, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        st = read_state(cdir)
        st.update(changes)
        tmp = os.path.join(cdir, f".state.json.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(st, f, indent=2, sort_keys=True)
        os.replace(tmp, os.path.join(cdir, "state.json"))
        return st
    finally:
        os.close(fd)


# ---- json-file log ----------------------------------------------------------

class JsonLog:
    """Docker's json-file log writer with size rotation (max_size 0: none)."""

    def __init__(self, path, max_size=0, max_files=1):
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.f = open(path, "ab", buffering=0)
        self.size = self.f.tell()
        self.partial = {"stdout": b"", "stderr": b""}

    def _write(self, stream, text, ns=None):
        line = json.dumps({"log": text.decode("utf-8", "replace"), "stream": stream,
                           "time": rfc3339nano(ns)}).encode() + b"\n"
        if self.max_size and self.size + len(line) > self.max_size and self.size > 0:
            self.rotate()
        self.f.write(line)
        self.size += len(line)

    def rotate(self):
        self.f.close()
        if self.max_files > 1:
            for i in range(self.max_files - 1, 0, -1):
                src = self.path if i == 1 else f"{self.path}.{i - 1}"
                if os.path.exists(src):
                    os.replace(src, f"{self.path}.{i}")
            self.f = open(self.path, "wb", buffering=0)
        else:
            self.f = open(self.path, "wb", buffering=0)
        self.size = 0

    def write(self, stream, data):
        buf = self.partial[stream] + data
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            self._write(stream, buf[:i + 1])
            buf = buf[i + 1:]
        while len(buf) >= MAX_PARTIAL:
            self._write(stream, buf[:MAX_PARTIAL])
            buf = buf[MAX_PARTIAL:]
        self.partial[stream] = buf

    def flush(self):
        for stream, buf in self.partial.items():
            if buf:
                self._write(stream, buf)
        self.partial = {"stdout": b"", "stderr": b""}

    def close(self):
        self.flush()
        self.f.close()


# ---- the monitor ------------------------------------------------------------

class Client:
    def __init__(self, sock):
        self.sock = sock
        self.reader = FrameReader()
        self.streams = set()
        self.stdin = False
        self.wants_start = False
        self.out = b""


class Monitor:
    def __init__(self, cfg, sync_fd):
        from manager import runtime_client as rc
        self.rc = rc
        self.cfg = cfg
        self.sync_fd = sync_fd
        self.cid = cfg["id"]
        self.rt = rc.Runtime(**cfg["runtime"])
        self.cdir = cfg["cdir"]
        self.rundir = cfg["rundir"]
        self.sel = selectors.DefaultSelector()
        self.clients = []
        self.pid = 0
        self.status = None
        self.started = False
        self.master = None
        self.stdin_w = None
        self.outs = {}
        self.log = JsonLog(cfg["log_path"], cfg.get("log_max_size", 0),
                           cfg.get("log_max_files", 1))
        self.winsize = None
        self.start_failed = None

    # -- state ------------------------------------------------------------------------------
    def set_state(self, **changes):
        return update_state(self.cdir, **changes)

    def report(self, msg):
        if self.sync_fd is not None:
            try:
                os.write(self.sync_fd, json.dumps(msg).encode() + b"\n")
            except OSError:
                pass
            os.close(self.sync_fd)
            self.sync_fd = None

    # -- runtime calls ----------------------------------------------------------------------
    def _spawn(self, argv, stdin, stdout, stderr):
        acts = [(os.POSIX_SPAWN_DUP2, stdin, 0), (os.POSIX_SPAWN_DUP2, stdout, 1),
                (os.POSIX_SPAWN_DUP2, stderr, 2)]
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=acts,
                              setsigdef=(signal.SIGCHLD, signal.SIGPIPE, signal.SIGINT,
                                         signal.SIGTERM, signal.SIGHUP))

    def _wait(self, pid, timeout=CREATE_TIMEOUT):
        """Wait for a runtime call; kill it when it hangs past timeout."""
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.timed_out = True
                return -9
            time.sleep(delay)
            delay = min(delay * 2, 0.02)

    def _runtime_error(self, start_size):
        msg = None
        try:
            with open(self.rt.log, "rb") as f:
                f.seek(start_size)
                msg = self.rc.last_error(f.read().decode("utf-8", "replace"))
        except OSError:
            pass
        return msg

    def create(self):
        """`runtime create` with the container's stdio; returns (pid, None) or (0, error)."""
        rc, cfg = self.rc, self.cfg
        pid_file = os.path.join(self.rundir, "pidfile")
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        null = os.open("/dev/null", os.O_RDWR)
        close_after = [null]
        console = None
        if cfg.get("tty"):
            csock_path = os.path.join(self.rundir, "console.sock")
            try:
                os.unlink(csock_path)
            except FileNotFoundError:
                pass
            console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            console.bind(csock_path)
            console.listen(1)
            argv = rc.create_argv(self.rt, self.cid, cfg["bundle"], pid_file, csock_path)
            fds = (null, null, null)
        else:
            if cfg.get("stdin"):
                r, w = os.pipe()
                self.stdin_w = w
                close_after.append(r)
                stdin = r
            else:
                stdin = null
            out_r, out_w = os.pipe()
            err_r, err_w = os.pipe()
            close_after += [out_w, err_w]
            self.outs = {out_r: "stdout", err_r: "stderr"}
            fds = (stdin, out_w, err_w)
            argv = rc.create_argv(self.rt, self.cid, cfg["bundle"], pid_file)
        log_start = rc._log_size(self.rt.log)
        trace("runtime create")
        try:
            child = self._spawn(argv, *fds)
        except OSError as e:
            for fd in close_after:
                os.close(fd)
            return 0, (f"cannot run runtime {argv[0]}: {e.strerror}", 125)
        if console is not None:
            console.settimeout(0.2)
            while self.master is None:
                try:
                    conn, _ = console.accept()
                except socket.timeout:
                    done, status = os.waitpid(child, os.WNOHANG)
                    if done:
                        child = None
                        code = os.waitstatus_to_exitcode(status)
                        break
                    continue
                with conn:
                    _, fds_in, _, _ = socket.recv_fds(conn, 4096, 1)
                if fds_in:
                    self.master = fds_in[0]
            console.close()
        for fd in close_after:
            os.close(fd)
        if child is not None:
            code = self._wait(child)
        if code != 0:
            msg = self._runtime_error(log_start) or f"runtime create exited with {code}"
            if getattr(self, "timed_out", False):
                msg = f"runtime create did not finish within {CREATE_TIMEOUT:g}s"
            self._close_io()
            return 0, (rc.short_error(msg), rc.exit_code_for_error(msg))
        trace("runtime create done")
        with open(pid_file) as f:
            self.pid = int(f.read().strip())
        if self.master is not None:
            os.set_blocking(self.master, False)
            self.outs = {self.master: "stdout"}
            if self.winsize:
                self.resize(*self.winsize)
        for fd in self.outs:
            os.set_blocking(fd, False)
            self.sel.register(fd, selectors.EVENT_READ, ("out", fd))
        return self.pid, None

    def start(self):
        trace("runtime start")
        try:
            self.rc.call(self.rt, self.rc.start_argv(self.rt, self.cid))
        except self.rc.RuntimeError_ as e:
            return self.rc.short_error(e.message)
        self.started = True
        trace("runtime start done")
        self.set_state(Status="running", Pid=self.pid, StartedAt=rfc3339nano(),
                       ExitCode=0, Error="", OOMKilled=False,
                       FinishedAt="0001-01-01T00:00:00Z")
        return None

    def delete(self):
        try:
            self.rc.call(self.rt, self.rc.delete_argv(self.rt, self.cid, force=True))
        except self.rc.RuntimeError_:
            pass

    def oom_killed(self):
        path = self.cfg.get("memory_cgroup")
        if not path:
            return False
        for name, key in (("memory.oom_control", "oom_kill"), ("memory.events", "oom_kill")):
            try:
                with open(os.path.join(path, name)) as f:
                    for line in f:
                        k, _, v = line.partition(" ")
                        if k == key and int(v) > 0:
                            return True
            except (OSError, ValueError):
                continue
        return False

    # -- io ---------------------------------------------------------------------------------
    def broadcast(self, kind, data, stream=None):
        for c in list(self.clients):
            if stream is None or stream in c.streams:
                self.send(c, frame(kind, data))

    def send(self, c, data):
        try:
            c.sock.setblocking(True)
            c.sock.sendall(data)
        except OSError:
            self.drop(c)

    def drop(self, c):
        if c in self.clients:
            self.clients.remove(c)
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()

    def read_out(self, fd):
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno != errno.EIO:      # EIO: pty closed
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            stream = self.outs.pop(fd)
            if fd != self.master:
                os.close(fd)
            self.log.flush()
            return False
        stream = self.outs[fd]
        self.log.write(stream, data)
        self.broadcast(STDOUT if stream == "stdout" else STDERR, data, stream)
        return True

    def resize(self, h, w):
        self.winsize = (h, w)
        if self.master is not None:
            import fcntl
            import termios
            try:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))
            except OSError:
                pass

    def client_input(self, c):
        try:
            data = c.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            if c.stdin and self.cfg.get("stdin_once"):
                self.close_stdin()
            self.drop(c)
            return
        for kind, payload in c.reader.feed(data):
            if kind == HELLO:
                h = json.loads(payload or b"{}")
                c.streams = {s for s in ("stdout", "stderr") if h.get(s)}
                c.stdin = bool(h.get("stdin"))
            elif kind == START:
                if self.started:
                    self.send(c, frame(STARTED, json.dumps({"pid": self.pid})))
                elif self.pid:
                    err = self.start()
                    if err:
                        self.send(c, frame(ERROR, json.dumps(
                            {"message": err, "code": self.rc.exit_code_for_error(err)})))
                        self.start_failed = err
                    else:
                        self.broadcast(STARTED, json.dumps({"pid": self.pid}))
            elif kind == STDIN:
                self.write_stdin(payload)
            elif kind == STDIN_CLOSE:
                self.close_stdin()
            elif kind == RESIZE:
                h = json.loads(payload)
                self.resize(int(h["h"]), int(h["w"]))

    def write_stdin(self, data):
        fd = self.master if self.master is not None else self.stdin_w
        if fd is None:
            return
        try:
            os.set_blocking(fd, True)
            os.write(fd, data)
        except OSError:
            pass
        finally:
            if fd == self.master:
                os.set_blocking(fd, False)

    def close_stdin(self):
        if self.master is not None:
            self.write_stdin(b"\x04")
        elif self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None

    def _close_io(self):
        for fd in list(self.outs):
            try:
                self.sel.unregister(fd)
            except (KeyError, ValueError):
                pass
            if fd != self.master:
                os.close(fd)
        self.outs = {}
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.stdin_w is not None:
            os.close(self.stdin_w)
            self.stdin_w = None

    # -- main loop --------------------------------------------------------------------------
    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(status)
                if self.status < 0:
                    self.status = 128 - self.status

    def run_once(self, listener, wake_r):
        """Serve io until the container exited and its output is drained."""
        self.status = None
        deadline = None
        self.reap()
        while True:
            if self.status is not None:
                if not self.outs:
                    break
                if deadline is None:
                    deadline = time.monotonic() + 1.0
                elif time.monotonic() > deadline:
                    break
                timeout = 0.05
            else:
                timeout = None
            for key, _ in self.sel.select(timeout):
                tag = key.data
                if tag == "listen":
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        continue
                    c = Client(conn)
                    self.clients.append(c)
                    self.sel.register(conn, selectors.EVENT_READ, ("client", c))
                elif tag == "wake":
                    try:
                        os.read(wake_r, 512)
                    except OSError:
                        pass
                    self.reap()
                elif tag[0] == "out":
                    self.read_out(tag[1])
                elif tag[0] == "client":
                    self.client_input(tag[1])
                    if self.start_failed:
                        return None
        self._close_io()
        self.log.flush()
        return self.status

    def restart_wanted(self, code, count):
        st = self._read_state()
        if st.get("StopRequested"):
            return False
        pol = self.cfg.get("restart") or {}
        name = pol.get("Name", "no")
        if name in ("always", "unless-stopped"):
            return True
        if name == "on-failure" and code != 0:
            mx = pol.get("MaximumRetryCount", 0)
            return not mx or count < mx
        return False

    def _read_state(self):
        return read_state(self.cdir)

    def main(self):
        os.makedirs(self.rundir, exist_ok=True)
        sock_path = os.path.join(self.rundir, "attach.sock")
        try:
            os.unlink(sock_path)
        except FileNotFoundError:
            pass
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(sock_path)
        listener.listen(16)
        listener.setblocking(False)
        self.sel.register(listener, selectors.EVENT_READ, "listen")
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        self.sel.register(wake_r, selectors.EVENT_READ, "wake")
        me = os.getpid()
        st = self.set_state(MonitorPid=me, MonitorStart=proc_start_time(me), StopRequested=False)
        restarts = st.get("RestartCount", 0)
        first = True
        while True:
            pid, err = self.create()
            if err:
                msg, code = err
                self.delete()
                self.set_state(Status="created" if first else "exited", Pid=0,
                               ExitCode=code, Error=msg, FinishedAt=rfc3339nano(),
                               MonitorPid=0)
                self.report({"error": msg, "code": code})
                self.broadcast(ERROR, json.dumps({"message": msg, "code": code}))
                break
            self.report({"pid": pid})
            self.start_failed = None
            code = None
            if not first or self.cfg.get("start_now"):
                err = self.start()
                if err:
                    self.start_failed = err
                    self.broadcast(ERROR, json.dumps(
                        {"message": err, "code": self.rc.exit_code_for_error(err)}))
            if not self.start_failed:
                code = self.run_once(listener, wake_r)
            if not self.started:
                # start failed or was never requested before the container died
                self._close_io()
                self.delete()
                err = self.start_failed or ""
                self.set_state(Status="created" if first else "exited", Pid=0,
                               ExitCode=self.rc.exit_code_for_error(err) if err else 0,
                               Error=err, FinishedAt=rfc3339nano(), MonitorPid=0)
                break
            trace("container exited")
            oom = self.oom_killed()
            self.delete()
            trace("runtime delete done")
            self.set_state(Status="exited", Pid=0, ExitCode=code, FinishedAt=rfc3339nano(),
                           OOMKilled=oom)
            self.broadcast(EXIT, json.dumps({"ExitCode": code, "OOMKilled": oom}))
            if not self.restart_wanted(code, restarts):
                break
            restarts += 1
            self.set_state(Status="restarting", RestartCount=restarts)
            time.sleep(min(0.1 * (2 ** min(restarts - 1, 6)), 2.0))
            if self._read_state().get("StopRequested"):
                self.set_state(Status="exited")
                break
            first = False
            self.started = False
        self.log.close()
        listener.close()
        try:
            os.unlink(sock_path)
        except OSError:
            pass
        self.finish()
        trace("finished")
        # attached clients see EOF only once --rm and the unmount are done
        for c in list(self.clients):
            self.drop(c)

    def finish(self):
        from manager import rootfs
        merged = self.cfg.get("rootfs_merged")
        if self.cfg.get("auto_remove"):
            self.set_state(Status="removing", MonitorPid=0)
            try:
                if merged:
                    rootfs.unmount(merged)
            except OSError:
                pass
            for vol in self.cfg.get("anonymous_volumes") or []:
                _rmtree(vol)
            _rmtree(self.cdir)
            _rmtree(self.rundir)
            return
        try:
            if merged:
                rootfs.unmount(merged)
        except OSError:
            pass
        self.set_state(MonitorPid=0)


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def _subreaper():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def main(argv=None):
    global selectors, socket
    import selectors
    import socket
    argv = sys.argv[1:] if argv is None else argv
    trace("main")
    path = argv[0]
    if path == "fd:4":
        # started early, in parallel with the manager's work: wait for the config path
        data = b""
        while True:
            chunk = os.read(4, 4096)
            if not chunk:
                break
            data += chunk
        os.close(4)
        path = data.decode().strip()
        if not path:
            os._exit(0)          # the manager gave up (bad input, name conflict ...)
    with open(path) as f:
        cfg = json.load(f)
    sync_fd = 3
    try:
        os.set_inheritable(sync_fd, False)   # the runtime and the container must not hold it
    except OSError:
        sync_fd = None
    # Daemonize: the parent returns at once, the child carries on in its own session.
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    os.chdir("/")
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN):
        signal.signal(sig, signal.SIG_IGN)
    _subreaper()
    logfd = os.open(os.path.join(cfg["rundir"], "monitor.log"),
                    os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(logfd, 1)
    os.dup2(logfd, 2)
    os.close(null)
    os.close(logfd)
    trace("daemonized")
    m = Monitor(cfg, sync_fd)
    try:
        m.main()
    except Exception as e:
        import traceback
        traceback.print_exc()
        m.report({"error": f"monitor failed: {e}", "code": 125})
        try:
            m.set_state(Status="exited", Pid=0, ExitCode=125, Error=f"monitor failed: {e}",
                        MonitorPid=0, FinishedAt=rfc3339nano())
        except Exception:
            pass
        os._exit(1)
    os._exit(0)


BOOTSTRAP = "import sys; sys.path.insert(0, {root!r}); from manager.monitor import main; main()"


def command(python, project_root, monitor_json):
    """argv that starts a monitor with a lean interpreter (-I -S)."""
    return [python, "-I", "-S", "-c", BOOTSTRAP.format(root=project_root), str(monitor_json)]


if __name__ == "__main__":
    main()
