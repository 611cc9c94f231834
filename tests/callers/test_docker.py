"""dockerd (with its own containerd) drives the runtime: run, exec, logs,
stop."""
import time
import uuid

import pytest

from . import support as s

pytestmark = [pytest.mark.requires("root", "busybox"), pytest.mark.caller("docker")]

LOOP = 'trap "exit 3" TERM; echo started; while :; do sleep 0.1; done'


def _runtime(dockerd, rt):
    return dockerd.RUNTIME_NAMES[rt.name]


def test_docker_run_rm_echo(rt, dockerd):
    r = dockerd.docker("run", "--runtime", _runtime(dockerd, rt), "--rm", "--network", "none",
                       s.IMAGE, "echo", "hello")
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    assert r.stdout == "hello\n"
    s.check_calls(rt, "create", "start", "delete")


def test_docker_exec_logs_stop(rt, dockerd):
    name = f"{s.PREFIX}dk-{uuid.uuid4().hex[:8]}"
    r = dockerd.docker("run", "-d", "--runtime", _runtime(dockerd, rt), "--name", name,
                       "--network", "none", s.IMAGE, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        r = dockerd.docker("exec", name, "sh", "-c", "echo hi from $(hostname)")
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert r.stdout.startswith("hi from "), r.stdout
        r = dockerd.docker("logs", name)
        assert r.returncode == 0 and "started" in r.stdout, r
        r = dockerd.docker("stop", "-t", "10", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        r = dockerd.docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        assert r.stdout.split() == ["exited", "3"], r
        s.check_calls(rt, "create", "start", "exec", "kill")
    finally:
        dockerd.docker("rm", "-f", name)


def test_docker_cleanup_calls_all_succeed(rt, dockerd, gap):
    """After `delete`, Docker's shim calls `delete --force`: runc answers 0."""
    r = dockerd.docker("run", "--runtime", _runtime(dockerd, rt), "--rm", "--network", "none",
                       s.IMAGE, "true")
    assert r.returncode == 0, r.stderr
    bad = [c for c in rt.calls() if c["rc"] != 0]
    assert not bad, rt.report()


def test_docker_pause_top_update(rt, dockerd):
    name = f"{s.PREFIX}dk-{uuid.uuid4().hex[:8]}"
    r = dockerd.docker("run", "-d", "--runtime", _runtime(dockerd, rt), "--name", name,
                       "--network", "none", s.IMAGE, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        def status():
            return dockerd.docker("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        r = dockerd.docker("pause", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert status() == "paused"
        r = dockerd.docker("unpause", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert status() == "running"
        for _ in range(50):   # the loop's `sleep 0.1` comes and goes: look a few times
            r = dockerd.docker("top", name)
            if r.returncode != 0 or "sleep 0.1" in r.stdout:
                break
            time.sleep(0.02)
        assert r.returncode == 0 and "sleep 0.1" in r.stdout, f"{r}\ncalls:\n{rt.report()}"
        r = dockerd.docker("update", "--memory", "64m", "--memory-swap", "128m", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        pid = int(dockerd.docker("inspect", "--format", "{{.State.Pid}}", name).stdout)
        assert s.memory_limit_of(pid) == 64 << 20
        s.check_calls(rt, "pause", "resume", "ps", "update")
    finally:
        dockerd.docker("rm", "-f", name)
