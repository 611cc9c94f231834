"""containerd (ctr + containerd-shim-runc-v2) drives the runtime: run,
task exec, task kill, task rm."""
import time
import uuid

import pytest

from . import support as s

pytestmark = [pytest.mark.requires("root", "busybox"), pytest.mark.caller("containerd")]

LOOP = 'trap "exit 3" TERM; while :; do sleep 0.1; done'


def _cid():
    return f"{s.PREFIX}ctr-{uuid.uuid4().hex[:8]}"


def _run(containerd, rt, *args):
    return containerd.ctr("run", "--runc-binary", rt.path, "--fifo-dir", containerd.fifo_dir,
                          *args)


def _wait_stopped(containerd, cid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in containerd.ctr("task", "ls").stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == cid and parts[-1] == "STOPPED":
                return True
        time.sleep(0.1)
    return False


def _remove(containerd, cid):
    containerd.ctr("task", "kill", "-s", "SIGKILL", cid)
    containerd.ctr("task", "rm", "-f", cid)
    containerd.ctr("containers", "rm", cid)


def test_ctr_run_rm_echo(rt, containerd):
    cid = _cid()
    try:
        r = _run(containerd, rt, "--rm", s.IMAGE, cid, "echo", "hello")
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert r.stdout == "hello\n"
        s.check_calls(rt, "create", "start", "delete")
    finally:
        _remove(containerd, cid)


def test_ctr_task_exec_and_kill(rt, containerd):
    cid = _cid()
    r = _run(containerd, rt, "-d", s.IMAGE, cid, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        r = containerd.ctr("task", "exec", "--fifo-dir", containerd.fifo_dir, "--exec-id",
                           "e1", cid, "sh", "-c", "echo hi; ls /proc | grep -c '^[0-9]'")
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert r.stdout.startswith("hi\n"), r.stdout
        r = containerd.ctr("task", "kill", cid)              # SIGTERM
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert _wait_stopped(containerd, cid), containerd.ctr("task", "ls").stdout
        r = containerd.ctr("task", "rm", cid)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert "exit code 3" in r.stderr or r.stderr == "", r.stderr
        s.check_calls(rt, "create", "start", "exec", "kill", "delete")
    finally:
        _remove(containerd, cid)


def test_ctr_task_rm_force_after_exit(rt, containerd, gap):
    cid = _cid()
    r = _run(containerd, rt, "-d", s.IMAGE, cid, "true")
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        assert _wait_stopped(containerd, cid)
        r = containerd.ctr("task", "rm", "-f", cid)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    finally:
        _remove(containerd, cid)


def test_ctr_cleanup_calls_all_succeed(rt, containerd, gap):
    """After `delete`, the shim calls `delete --force` again: runc answers 0."""
    cid = _cid()
    try:
        r = _run(containerd, rt, "--rm", s.IMAGE, cid, "true")
        assert r.returncode == 0, r.stderr
        bad = [c for c in rt.calls() if c["rc"] != 0]
        assert not bad, rt.report()
    finally:
        _remove(containerd, cid)


def _status(containerd, cid):
    for line in containerd.ctr("task", "ls").stdout.splitlines():
        parts = line.split()
        if parts and parts[0] == cid:
            return parts[-1]
    return None


def test_ctr_task_pause_resume_ps(rt, containerd):
    cid = _cid()
    r = _run(containerd, rt, "-d", s.IMAGE, cid, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        r = containerd.ctr("task", "pause", cid)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert _status(containerd, cid) == "PAUSED"
        r = containerd.ctr("task", "resume", cid)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert _status(containerd, cid) == "RUNNING"
        r = containerd.ctr("task", "ps", cid)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        pids = [ln.split()[0] for ln in r.stdout.splitlines()[1:] if ln.strip()]
        assert len(pids) >= 2, r.stdout                     # sh and its sleep
        s.check_calls(rt, "pause", "resume", "ps")
    finally:
        _remove(containerd, cid)
