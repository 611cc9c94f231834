"""Terminals: the console-socket protocol (pty master sent with SCM_RIGHTS),
process.consoleSize, and `run` with a terminal in the foreground."""
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from tests.support.runtime import spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


def _read_all(fd, timeout=5.0):
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        import select
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"done" in out:
                break
    return out


@spec("runc-cli#terminal", "MUST", "with process.terminal, create sends the pty master over "
      "--console-socket (SCM_RIGHTS) and the process gets that terminal at consoleSize")
def test_console_socket(rt, bundle, tmp_path):
    bundle.config["process"]["terminal"] = True
    bundle.config["process"]["consoleSize"] = {"height": 33, "width": 101}
    bundle.args("tty; stty size; echo done")
    sock_path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        got["fds"] = fds
        conn.close()
    t = threading.Thread(target=accept)
    t.start()
    cid = rt.new_id("tty")
    r = rt.create(cid, bundle, "--console-socket", sock_path)
    t.join(10)
    assert r.rc == 0, r
    assert len(got.get("fds", [])) == 1
    master = got["fds"][0]
    assert rt.start(cid).rc == 0
    out = _read_all(master).decode().replace("\r", "")
    os.close(master)
    lines = out.split("\n")
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "33 101"
    srv.close()


@spec("runc-cli#terminal", "MUST", "run with a terminal and no console socket joins the "
      "container's pty to the caller's terminal")
@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux script")
def test_run_with_terminal_in_foreground(rt, bundle):
    bundle.config["process"]["terminal"] = True
    bundle.args("tty; stty size; read line; echo got:$line; exit 3")
    cid = rt.new_id("tty")
    cmd = f"stty rows 21 cols 77; {rt.cmd} --root {rt.root} run --bundle {bundle.path} {cid}"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], input=b"hello\n",
                       capture_output=True, timeout=30)
    out = p.stdout.decode().replace("\r", "")
    assert "/dev/pts/" in out
    assert "21 77" in out
    assert "got:hello" in out
    assert p.returncode == 3
