"""The main job: `mydocker run` and what a Docker user does next (ps, logs,
stop, rm, inspect, exec, start, wait), on runc and on runc-py."""
import time

import pytest

pytestmark = pytest.mark.requires("root", "busybox", "runc", "overlay", "registry")


def test_hello_world_attached(mdr, name):
    r = mdr("run", "--name", name, mdr.images.busybox, "echo", "Hello World")
    assert r.rc == 0, r
    assert r.out == "Hello World\n"
    ps = mdr.ok("ps", "-a", "--filter", f"name={name}", "--format", "{{.Names}} {{.Status}}")
    assert ps.out.startswith(f"{name} Exited (0)")
    mdr.ok("rm", name)
    assert mdr("inspect", name).rc == 1


def test_exit_code_and_streams_are_passed_on(mdr):
    r = mdr("run", "--rm", mdr.images.busybox, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (r.rc, r.out, r.err) == (3, "out\n", "err\n")


def test_rm_leaves_nothing_behind(mdr):
    before = (mdr.records(), mdr.mounts())
    r = mdr("run", "--rm", mdr.images.busybox, "true")
    assert r.rc == 0, r
    mdr.wait_for(lambda: (mdr.records(), mdr.mounts()) == before, what="--rm cleanup")
    assert mdr.monitors() == [] or all(p for p in mdr.monitors())


def test_rm_is_done_when_run_returns(mdr):
    """`run --rm` returns once the container is gone: record, rootfs mount,
    run dir, the runtime's container and its cgroup (no waiting needed)."""
    def leftovers():
        dirs = [mdr.run_root / "runtimes" / mdr.runtime, mdr.run_root / "c"]
        return (mdr.records(), mdr.mounts(), mdr.cgroups(),
                [sorted(p.name for p in d.iterdir()) if d.exists() else [] for d in dirs])
    before = leftovers()
    r = mdr("run", "--rm", mdr.images.busybox, "sh", "-c", "echo done")
    assert (r.rc, r.out) == (0, "done\n"), r
    assert leftovers() == before


def test_monitor_holds_none_of_the_callers_fds(mdr, name):
    """A monitor outlives `run -d`; it must not keep open what the caller gave
    mydocker (a pipe a script reads to EOF, say)."""
    import os
    import subprocess
    r, w = os.pipe()
    try:
        p = subprocess.run(mdr.argv("run", "-d", "--name", name, mdr.images.busybox,
                                    "sleep", "30"),
                           env=mdr.env, cwd=str(mdr.base), capture_output=True, timeout=30,
                           pass_fds=(w,))
        assert p.returncode == 0, p
        os.close(w)
        w = None
        os.set_blocking(r, False)
        assert os.read(r, 1) == b"", "someone still holds the pipe's write end"
        assert mdr.inspect(name)["State"]["Running"] is True
    finally:
        if w is not None:
            os.close(w)
        os.close(r)
        mdr("rm", "-f", name)


def test_detached_ps_logs_stop_rm(mdr, name):
    r = mdr.ok("run", "-d", "--name", name, mdr.images.busybox, "sh", "-c",
               "trap 'echo got TERM; exit 0' TERM; echo started; while true; do sleep 0.1; done")
    cid = r.out.strip()
    assert len(cid) == 64
    ps = mdr.ok("ps")
    header = ps.out.splitlines()[0].split()
    assert header[:3] == ["CONTAINER", "ID", "IMAGE"] and header[-1] == "NAMES"
    assert any(line.startswith(cid[:12]) and line.rstrip().endswith(name) and "Up " in line
               for line in ps.out.splitlines())
    mdr.wait_for(lambda: "started" in mdr.ok("logs", name).out, what="log line")
    t0 = time.monotonic()
    assert mdr.ok("stop", name).out.strip() == name
    assert time.monotonic() - t0 < 5, "stop waited for the timeout although TERM was handled"
    doc = mdr.inspect(cid[:8])
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 0
    assert mdr.ok("logs", name).out == "started\ngot TERM\n"
    assert name not in mdr.ok("ps").out
    mdr.ok("rm", cid[:12])
    assert cid not in mdr.records()


def test_stop_kills_after_timeout(mdr, name):
    mdr.ok("run", "-d", "--name", name, mdr.images.busybox, "sleep", "100")
    t0 = time.monotonic()
    mdr.ok("stop", "-t", "1", name)
    assert 0.9 < time.monotonic() - t0 < 8
    assert mdr.inspect(name)["State"]["ExitCode"] == 137
    # stop of a stopped container: fine and silent, like Docker
    r = mdr("stop", name)
    assert r.rc == 0 and r.out.strip() == name
    mdr.ok("rm", name)


def test_inspect_shape(mdr, name):
    mdr.ok("run", "-d", "--name", name, "-e", "FOO=bar", "--label", "a=b",
           mdr.images.busybox, "sleep", "100")
    doc = mdr.inspect(name)
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "HostConfig",
                "Config", "Mounts", "NetworkSettings"):
        assert key in doc
    st = doc["State"]
    for key in ("Status", "Running", "Paused", "Restarting", "OOMKilled", "Pid", "ExitCode",
                "StartedAt", "FinishedAt"):
        assert key in st
    assert st["Status"] == "running" and st["Running"] is True and st["Pid"] > 0
    assert doc["Name"] == "/" + name and doc["Path"] == "sleep" and doc["Args"] == ["100"]
    assert doc["Image"].startswith("sha256:")
    assert "FOO=bar" in doc["Config"]["Env"] and doc["Config"]["Labels"]["a"] == "b"
    with open(f"/proc/{st['Pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
    r = mdr.ok("inspect", "--format", "{{.State.Status}}|{{.Name}}|{{json .Args}}", name)
    assert r.out == f"running|/{name}|[\"100\"]\n"
    mdr.ok("rm", "-f", name)


def test_exec(mdr, name):
    mdr.ok("run", "-d", "--name", name, mdr.images.busybox, "sleep", "100")
    r = mdr("exec", name, "sh", "-c", "echo $((6*7)); echo oops >&2; exit 4")
    assert (r.rc, r.out, r.err) == (4, "42\n", "oops\n")
    r = mdr("exec", "-e", "X=1", "-w", "/tmp", "-u", "app", name, "sh", "-c",
            "echo $X $(pwd) $(id -u)")
    assert r.out == "1 /tmp 1000\n", r
    r = mdr("exec", "-i", name, "cat", input="piped\n")
    assert r.out == "piped\n", r
    r = mdr("exec", name, "nosuchcmd")
    assert r.rc == 127 and 'exec: "nosuchcmd": executable file not found in $PATH' in r.err
    mdr.ok("rm", "-f", name)
    r = mdr("exec", name, "true")
    assert r.rc != 0 and "No such container" in r.err


def test_create_start_wait(mdr, name):
    cid = mdr.ok("create", "--name", name, mdr.images.busybox, "sh", "-c",
                 "sleep 0.3; echo done; exit 7").out.strip()
    assert mdr.inspect(name)["State"]["Status"] == "created"
    assert "Created" in mdr.ok("ps", "-a", "--filter", f"id={cid[:10]}").out
    mdr.ok("start", name)
    r = mdr("wait", name)
    assert r.out.strip() == "7", r
    assert mdr.ok("logs", name).out == "done\n"
    # start again: runs the command again, log appends
    r = mdr("start", "-a", name)
    assert r.rc == 7 and r.out == "done\n"
    assert mdr.ok("logs", name).out == "done\ndone\n"
    mdr.ok("rm", name)


def test_command_not_found(mdr, name):
    r = mdr("run", "--name", name, mdr.images.busybox, "foo")
    assert r.rc == 127
    assert 'exec: "foo": executable file not found in $PATH' in r.err
    assert mdr.inspect(name)["State"]["ExitCode"] == 127
    mdr.ok("rm", name)
    before = (mdr.records(), mdr.mounts())
    r = mdr("run", "--rm", mdr.images.busybox, "/etc/passwd")
    assert r.rc == 126, r
    mdr.wait_for(lambda: (mdr.records(), mdr.mounts()) == before, what="cleanup")


def test_stdin_interactive(mdr):
    r = mdr("run", "--rm", "-i", mdr.images.busybox, "sh", "-c", "tr a-z A-Z",
            input="hello stdin\n")
    assert (r.rc, r.out) == (0, "HELLO STDIN\n"), r
