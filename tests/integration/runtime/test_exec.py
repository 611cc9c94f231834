"""runc-py exec (runc's CLI contract): joins the container's namespaces and
cgroup, applies the process's own settings, returns its exit code; and a
program inside cannot reach the runtime's binaries (CVE-2019-5736 class)."""
import json
import os
import sys

import pytest

from tests.support.runtime import spec, wait_for_file

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

LOOP = "echo up > /shared/up; while :; do sleep 0.05; done"


@pytest.fixture
def running(rt, bundle):
    shared = bundle.share()
    bundle.args(LOOP)
    bundle.config["hostname"] = "exec-host"
    bundle.save()
    cid = rt.new_id("exec")
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert wait_for_file(os.path.join(shared, "up"))
    return cid, shared


@spec("runc-cli#exec", "MUST", "exec runs a process in the container's namespaces and "
      "returns its exit code")
def test_exec_joins_namespaces_and_returns_code(rt, running):
    cid, _ = running
    init = rt.state(cid)["pid"]
    r = rt("exec", cid, "sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; exit 5")
    assert r.rc == 5, r
    lines = r.stdout.splitlines()
    assert lines[0] == "exec-host"
    assert lines[1].startswith("sh -c echo up")
    r = rt("exec", cid, "sh", "-c", "for n in mnt pid net ipc uts; do readlink /proc/self/ns/$n; done")
    host_view = [os.readlink(f"/proc/{init}/ns/{n}") for n in ("mnt", "pid", "net", "ipc", "uts")]
    assert r.stdout.split() == host_view


@spec("runc-cli#exec", "MUST", "exec runs the process in the container's cgroup, in every "
      "hierarchy (cgroup v1 and v2)")
def test_exec_joins_the_containers_cgroups(rt, running, tmp_path):
    cid, _ = running
    init = rt.state(cid)["pid"]
    pid_file = tmp_path / "exec.pid"
    r = rt("exec", "--detach", "--pid-file", str(pid_file), cid, "sleep", "5")
    assert r.rc == 0, r
    pid = int(pid_file.read_text().strip())
    try:
        with open(f"/proc/{init}/cgroup") as f:
            want = sorted(f.read().splitlines())
        with open(f"/proc/{pid}/cgroup") as f:
            got = sorted(f.read().splitlines())
        assert got == want
    finally:
        os.kill(pid, 9)


@spec("runc-cli#exec", "MUST", "exec honours --env, --cwd, --user and --additional-gids")
def test_exec_flags(rt, running):
    cid, _ = running
    r = rt("exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000",
           "--additional-gids", "10", cid, "sh", "-c", "echo $FOO; pwd; id -u; id -g; id -G")
    assert r.rc == 0, r
    assert r.stdout.split() == ["bar", "/tmp", "1000", "1000", "1000", "10"]


@spec("runc-cli#exec", "MUST", "exec --process runs the process described in a file")
def test_exec_process_file(rt, running, tmp_path):
    cid, _ = running
    p = {"args": ["sh", "-c", "echo $A; id -u"], "env": ["A=from-file", "PATH=/bin"],
         "cwd": "/", "user": {"uid": 2, "gid": 2}}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(p))
    r = rt("exec", "--process", str(f), cid)
    assert r.rc == 0, r
    assert r.stdout.split() == ["from-file", "2"]


@spec("config.md#process/rlimits", "MUST",
      "The runtime MUST apply the rlimits in process.json to the exec'd process")
def test_exec_process_rlimits(rt, running, tmp_path):
    cid, _ = running
    p = {"args": ["sh", "-c", "ulimit -n; ulimit -Hn"], "env": ["PATH=/bin"], "cwd": "/",
         "user": {"uid": 0, "gid": 0},
         "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(p))
    r = rt("exec", "--process", str(f), cid)
    assert r.rc == 0, r
    assert r.stdout.split() == ["123", "456"]


@spec("runc-cli#exec", "MUST", "a process.json with bad fields is refused, naming the field")
def test_exec_bad_process_file(rt, running, tmp_path):
    cid, _ = running
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"args": ["true"], "cwd": "relative"}))
    r = rt("exec", "--process", str(f), cid)
    assert r.rc != 0
    assert "cwd" in r.stderr.lower()


@spec("runc-cli#exec", "MUST", "a missing program fails with runc's message")
def test_exec_missing_program(rt, running):
    cid, _ = running
    r = rt("exec", cid, "no-such-program")
    assert r.rc != 0
    assert "no-such-program" in r.stderr
    assert "executable file not found in $PATH" in r.stderr


@spec("runc-cli#exec", "MUST", "exec into a stopped or unknown container is an error")
def test_exec_stopped_or_unknown(rt, bundle):
    r = rt("exec", "no-such-container", "true")
    assert r.rc != 0 and "does not exist" in r.stderr
    bundle.args("true")
    cid = rt.new_id()
    assert rt.run(cid, bundle, "--keep").rc == 0
    r = rt("exec", cid, "true")
    assert r.rc != 0 and "stopped" in r.stderr


@spec("runc-cli#exec", "MUST", "exec --detach --pid-file leaves the process running and "
      "writes its host pid")
def test_exec_detach_pid_file(rt, running, tmp_path):
    cid, shared = running
    pf = tmp_path / "exec.pid"
    r = rt("exec", "--detach", "--pid-file", str(pf), cid, "sh", "-c",
           "echo $$ > /shared/inner; sleep 30")
    assert r.rc == 0, r
    pid = int(pf.read_text())
    assert wait_for_file(os.path.join(shared, "inner"))
    with open(f"/proc/{pid}/status") as f:
        nspid = [l for l in f if l.startswith("NSpid:")][0].split()
    assert nspid[-1] == open(os.path.join(shared, "inner")).read().strip()


@spec("runc-cli#exec", "MUST", "exec --cap adds a capability to the process")
def test_exec_cap(rt, running):
    cid, _ = running
    def capeff(*extra):
        r = rt("exec", *extra, cid, "sh", "-c", "grep CapEff /proc/self/status")
        assert r.rc == 0, r
        return int(r.stdout.split()[1], 16)
    sys_admin = 1 << 21
    assert not capeff() & sys_admin
    assert capeff("--cap", "CAP_SYS_ADMIN") & sys_admin


@spec("runc-cli#exec", "MUST", "a program whose interpreter is /proc/self/exe cannot start "
      "or reach the runtime's interpreter (CVE-2019-5736 class)")
@pytest.mark.parametrize("via", ["run", "exec"])
def test_proc_self_exe_does_not_reach_host_binary(rt, bundle, via):
    python = os.path.realpath(sys.executable)
    before = os.stat(python)
    shared = bundle.share()
    bundle.write_rootfs_file("evil", "#!/proc/self/exe\nprint('escaped')\n", mode=0o755)
    if via == "run":
        bundle.args("/evil")
        r = rt.run(rt.new_id(), bundle)
    else:
        bundle.args("echo up > /shared/up; while :; do sleep 0.05; done")
        cid = rt.new_id()
        assert rt.create(cid, bundle).rc == 0 and rt.start(cid).rc == 0
        assert wait_for_file(os.path.join(shared, "up"))
        r = rt("exec", cid, "/evil")
    assert "escaped" not in r.stdout
    if "runc-py" in os.path.basename(rt.cmd):
        assert r.rc == 127, r
        assert "runc-py-exec: not a program" in r.stderr
    after = os.stat(python)
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
