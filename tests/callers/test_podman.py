"""podman (through conmon) drives the runtime: run, exec, logs, stop."""
import uuid

import pytest

from . import support as s

pytestmark = [pytest.mark.requires("root", "busybox"), pytest.mark.caller("podman")]

LOOP = 'trap "exit 3" TERM; echo started; while :; do sleep 0.1; done'


def _run_args(podman, *extra):
    return ["run", "--network", "none", "--cgroup-parent", podman.cgroup_parent, *extra]


def test_podman_run_rm_echo(rt, podman):
    r = podman(rt, *_run_args(podman, "--rm"), s.IMAGE, "echo", "hello")
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    assert r.stdout == "hello\n"
    s.check_calls(rt, "create", "start", "delete")


def test_podman_exec_logs_stop(rt, podman):
    name = f"{s.PREFIX}pm-{uuid.uuid4().hex[:8]}"
    r = podman(rt, *_run_args(podman, "-d", "--name", name), s.IMAGE, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        r = podman(rt, "exec", name, "sh", "-c", "echo hi from $(hostname)")
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert r.stdout.startswith("hi from "), r.stdout
        r = podman(rt, "logs", name)
        assert r.returncode == 0 and "started" in r.stdout, r
        r = podman(rt, "stop", "--time", "10", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        r = podman(rt, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        assert r.stdout.split() == ["exited", "3"], r
        s.check_calls(rt, "create", "start", "exec", "kill")
    finally:
        podman(rt, "rm", "--force", "--time", "0", name)


def test_podman_pause_unpause_update(rt, podman):
    name = f"{s.PREFIX}pm-{uuid.uuid4().hex[:8]}"
    r = podman(rt, *_run_args(podman, "-d", "--name", name), s.IMAGE, "sh", "-c", LOOP)
    assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
    try:
        def status():
            return podman(rt, "inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        r = podman(rt, "pause", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert status() == "paused"
        r = podman(rt, "unpause", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        assert status() == "running"
        r = podman(rt, "update", "--memory", "64m", name)
        assert r.returncode == 0, f"{r.stderr}\ncalls:\n{rt.report()}"
        pid = int(podman(rt, "inspect", "--format", "{{.State.Pid}}", name).stdout)
        assert s.memory_limit_of(pid) == 64 << 20
        s.check_calls(rt, "pause", "resume", "update")
    finally:
        podman(rt, "rm", "--force", "--time", "0", name)
