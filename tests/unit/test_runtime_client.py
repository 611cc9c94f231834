"""runtime_client: one pure argv builder per verb, the state and error-log parsers."""
import pytest

from manager import runtime_client as rc

RT = rc.Runtime(path="/usr/bin/runc", root="/run/x", log="/var/log/x.log")
BASE = ["/usr/bin/runc", "--root", "/run/x", "--log", "/var/log/x.log", "--log-format", "json"]


@pytest.mark.parametrize("argv, tail", [
    (rc.create_argv(RT, "c1", "/b", "/p"), ["create", "--bundle", "/b", "--pid-file", "/p", "c1"]),
    (rc.create_argv(RT, "c1", "/b", "/p", "/s"),
     ["create", "--bundle", "/b", "--pid-file", "/p", "--console-socket", "/s", "c1"]),
    (rc.start_argv(RT, "c1"), ["start", "c1"]),
    (rc.state_argv(RT, "c1"), ["state", "c1"]),
    (rc.kill_argv(RT, "c1", "KILL"), ["kill", "c1", "KILL"]),
    (rc.kill_argv(RT, "c1", 15, all_processes=True), ["kill", "--all", "c1", "15"]),
    (rc.delete_argv(RT, "c1"), ["delete", "c1"]),
    (rc.delete_argv(RT, "c1", force=True), ["delete", "--force", "c1"]),
    (rc.exec_argv(RT, "c1", "/p.json", pid_file="/pid", detach=True),
     ["exec", "--process", "/p.json", "--detach", "--pid-file", "/pid", "c1"]),
    (rc.exec_argv(RT, "c1", "/p.json", console_socket="/s"),
     ["exec", "--process", "/p.json", "--console-socket", "/s", "c1"]),
    (rc.ps_argv(RT, "c1"), ["ps", "--format", "json", "c1"]),
    (rc.pause_argv(RT, "c1"), ["pause", "c1"]),
    (rc.resume_argv(RT, "c1"), ["resume", "c1"]),
    (rc.update_argv(RT, "c1", "/r.json"), ["update", "--resources", "/r.json", "c1"]),
])
def test_argv(argv, tail):
    assert argv == BASE + tail


def test_parse_state():
    st = rc.parse_state('{"ociVersion":"1.0.2","id":"c1","status":"running","pid":42,'
                        '"bundle":"/b"}')
    assert st["status"] == "running" and st["pid"] == 42
    assert rc.parse_state('{"id":"c1","status":"stopped"}')["pid"] == 0
    with pytest.raises(ValueError):
        rc.parse_state('{"id":"c1"}')


def test_last_error():
    log = "\n".join([
        '{"level":"info","msg":"starting","time":"t"}',
        '{"level":"error","msg":"first failure","time":"t"}',
        '{"level":"warning","msg":"meh","time":"t"}',
        '{"level":"error","msg":"runc create failed: unable to start container process: '
        'exec: \\"foo\\": executable file not found in $PATH","time":"t"}',
        "",
    ])
    msg = rc.last_error(log)
    assert msg.endswith('exec: "foo": executable file not found in $PATH')
    assert rc.short_error(msg) == 'exec: "foo": executable file not found in $PATH'
    assert rc.last_error("") is None
    assert rc.last_error("plain text failure\n") == "plain text failure"


@pytest.mark.parametrize("msg, code", [
    ('exec: "foo": executable file not found in $PATH', 127),
    ('exec: "/etc/passwd": permission denied', 126),
    ("exec: /bin/x: no such file or directory", 127),
    ("cgroup: cannot write memory.max", 125),
    (None, 125),
])
def test_exit_code_for_error(msg, code):
    assert rc.exit_code_for_error(msg) == code


def test_call_reports_the_runtime_error(tmp_path):
    script = tmp_path / "fake-runtime"
    script.write_text('#!/bin/sh\nlog=$4\necho \'{"level":"error","msg":"boom: bad bundle"}\' '
                      '>> "$log"\necho noise >&2\nexit 1\n')
    script.chmod(0o755)
    rt = rc.Runtime(path=str(script), root=str(tmp_path), log=str(tmp_path / "log"))
    with pytest.raises(rc.RuntimeError_) as e:
        rc.call(rt, rc.state_argv(rt, "c1"))
    assert e.value.message == "boom: bad bundle" and e.value.returncode == 1
    assert rc.state(rt, "c1") is None


def test_resolve(tmp_path):
    assert rc.resolve("/no/such/runtime") is None
    assert rc.resolve("no-such-runtime-xyz") is None
    assert rc.resolve("sh").endswith("/sh")


def _fake(path):
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return str(path)


def test_resolve_prefers_the_launcher_dir_and_skips_pyenv_shims(tmp_path, monkeypatch):
    """A pyenv shim costs ~100 ms a call: a runtime found elsewhere wins, and
    the directory of the running mydocker launcher comes first."""
    shims = tmp_path / ".pyenv" / "shims"
    other = tmp_path / "bin"
    launcher = tmp_path / "launcher"
    for d in (shims, other, launcher):
        d.mkdir(parents=True)
    _fake(shims / "fake-rt")
    monkeypatch.setenv("PATH", f"{shims}:{other}")
    monkeypatch.setattr("sys.argv", ["-c"])
    assert rc.resolve("fake-rt") == str(shims / "fake-rt")      # only a shim: still found
    _fake(other / "fake-rt")
    assert rc.resolve("fake-rt") == str(other / "fake-rt")
    _fake(launcher / "mydocker")
    _fake(launcher / "fake-rt")
    monkeypatch.setattr("sys.argv", [str(launcher / "mydocker"), "run"])
    assert rc.resolve("fake-rt") == str(launcher / "fake-rt")
    monkeypatch.setattr("sys.argv", [str(shims / "mydocker"), "run"])
    assert rc.resolve("fake-rt") == str(other / "fake-rt")


def test_run_argv():
    assert rc.run_argv(RT, "c1", "/b", "/p") == BASE + [
        "run", "--bundle", "/b", "--pid-file", "/p", "--detach", "c1"]
    assert rc.run_argv(RT, "c1", "/b", "/p", detach=False, keep=True, console_socket="/s") == \
        BASE + ["run", "--bundle", "/b", "--pid-file", "/p", "--keep", "--console-socket", "/s",
                "c1"]


def test_wait_sees_the_exit_at_once_and_kills_on_timeout():
    import os
    import time
    null = os.open(os.devnull, os.O_RDWR)
    try:
        pid = rc.spawn(["/bin/sh", "-c", "exit 7"], null, null, null)
        assert rc.wait(pid) == 7
        pid = rc.spawn(["/bin/sleep", "30"], null, null, null)
        t0 = time.monotonic()
        with pytest.raises(rc.TimedOut):
            rc.wait(pid, timeout=0.2)
        assert time.monotonic() - t0 < 5
    finally:
        os.close(null)


def test_call_returns_stdout():
    rt = rc.Runtime(path="/bin/sh", root="/tmp", log="/nonexistent/log")
    assert rc.call(rt, ["/bin/sh", "-c", "echo out; echo err >&2"]) == "out\n"
