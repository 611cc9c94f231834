"""Resources and confinement seen from inside a container run by the runtime
under test (and by runc, through RUNTIME=runc): cgroup limits, device rules,
seccomp, capabilities, no_new_privs.  Issue "resources and confinement"."""
import os

import pytest

from tests.support.runtime import leftover_cgroups, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox", "cgroup_v1")]

MiB = 1024 * 1024


def _cgroup_of(pid, controller):
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return os.path.join("/sys/fs/cgroup", controller, path.lstrip("/"))
    raise AssertionError(f"{controller} not in /proc/{pid}/cgroup")


@spec("config-linux.md#control-groups", "MUST",
      "memory.limit: sets limit of memory usage in bytes; a process past it is OOM-killed")
def test_memory_limit_oom_kills(rt, bundle):
    bundle.config["linux"]["resources"] = {"memory": {"limit": 16 * MiB, "swap": 16 * MiB}}
    # busybox tail keeps its whole (newline-free) input in memory: 64 MiB of it.
    # The OOM killer takes tail; about one run in ten, a second OOM (while
    # tail's memory is being freed) took the reporting shell (pid 1) as well.
    # So the pipeline runs in a subshell with oom_score_adj 500 and tail raises
    # its own to 1000 (raising needs no privilege): pid 1, at 0, is the last
    # candidate and only waits.  A killed subshell also reports 137.
    bundle.args("(echo 500 > /proc/self/oom_score_adj && head -c 67108864 /dev/zero | "
                "(echo 1000 > /proc/self/oom_score_adj && exec tail) > /dev/null); "
                "echo tail=$?")
    r = rt.run(rt.new_id("oom"), bundle)
    assert r.rc == 0, r
    assert r.stdout.split() == ["tail=137"], r    # SIGKILL from the OOM killer


@spec("config-linux.md#control-groups", "MUST", "pids.limit bounds the number of tasks")
def test_pids_limit_bounds_fork_loop(rt, bundle):
    bundle.config["linux"]["resources"] = {"pids": {"limit": 10}}
    # the fork loop runs in a subshell (a failed fork ends it); builtins only after
    bundle.args("(i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done) 2>/dev/null; "
                "read n < /sys/fs/cgroup/pids/pids.current; read m < /sys/fs/cgroup/pids/pids.max; "
                "echo $n $m")
    r = rt.run(rt.new_id("pids"), bundle)
    assert r.rc == 0, r
    current, limit = r.stdout.split()
    assert limit == "10"
    assert 2 <= int(current) <= 10


@spec("config-linux.md#control-groups", "MUST", "cpu quota, period, shares and cpuset.cpus "
      "appear in the container's cgroup")
def test_cpu_files(rt, bundle):
    bundle.config["linux"]["resources"] = {"cpu": {"quota": 50000, "period": 100000,
                                                   "shares": 512, "cpus": "0"}}
    bundle.args("sleep", "30")
    cid = rt.new_id("cpu")
    assert rt.create(cid, bundle).rc == 0
    pid = rt.state(cid)["pid"]
    cpu = _cgroup_of(pid, "cpu")
    assert open(os.path.join(cpu, "cpu.cfs_quota_us")).read().strip() == "50000"
    assert open(os.path.join(cpu, "cpu.cfs_period_us")).read().strip() == "100000"
    assert open(os.path.join(cpu, "cpu.shares")).read().strip() == "512"
    cpuset = _cgroup_of(pid, "cpuset")
    assert open(os.path.join(cpuset, "cpuset.cpus")).read().strip() == "0"
    assert rt.delete(cid, force=True).rc == 0
    assert not leftover_cgroups(cid)


@spec("config-linux.md#control-groups", "MUST", "devices: a device the rules deny cannot "
      "be opened, one they allow can")
@pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="needs the fuse driver (10:229)")
@pytest.mark.parametrize("allowed", [False, True])
def test_device_rules(rt, bundle, allowed):
    rules = [{"allow": False, "access": "rwm"}]
    if allowed:
        rules.append({"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"})
    bundle.config["linux"]["resources"] = {"devices": rules}
    bundle.config["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10,
                                          "minor": 229, "fileMode": 0o666}]
    bundle.args("(exec 3</dev/fuse) 2>/dev/null && echo fuse-open || echo fuse-denied; "
                "echo x > /dev/null && echo null-ok")
    r = rt.run(rt.new_id("dev"), bundle)
    assert r.stdout.split() == ["fuse-open" if allowed else "fuse-denied", "null-ok"], r


@spec("config-linux.md#seccomp", "MUST", "a syscall matched by an SCMP_ACT_ERRNO rule fails "
      "with errnoRet while other calls work")
def test_seccomp_denies_mkdir(rt, bundle):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 1}]}
    bundle.config["root"]["readonly"] = False
    bundle.args("mkdir /tmp/d; echo rc=$?; touch /tmp/f && echo touch-ok")
    r = rt.run(rt.new_id("sec"), bundle)
    assert "Operation not permitted" in r.stderr, r
    assert r.stdout.split() == ["rc=1", "touch-ok"], r


@spec("config.md#capabilities", "MUST", "a capability missing from the sets is not held "
      "(chown fails without CAP_CHOWN and works with it)")
@pytest.mark.parametrize("keep", [True, False])
def test_cap_chown(rt, bundle, keep):
    caps = ["CAP_CHOWN"] if keep else ["CAP_KILL"]
    bundle.config["process"]["capabilities"] = {k: list(caps) for k in
                                                ("bounding", "effective", "permitted")}
    bundle.config["root"]["readonly"] = False
    bundle.args("touch /tmp/f; chown 1000 /tmp/f && echo chown-ok || echo chown-denied")
    r = rt.run(rt.new_id("cap"), bundle)
    assert r.stdout.split()[-1] == ("chown-ok" if keep else "chown-denied"), r


@spec("config.md#capabilities", "MUST", "ambient capabilities reach a non-root process")
def test_ambient_caps_reach_non_root(rt, bundle):
    caps = ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    bundle.config["process"]["capabilities"] = {k: list(caps) for k in
                                                ("bounding", "effective", "permitted",
                                                 "inheritable", "ambient")}
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    bundle.args("grep -E '^Cap(Amb|Eff)' /proc/self/status")
    r = rt.run(rt.new_id("amb"), bundle)
    assert r.rc == 0, r
    vals = dict(line.split(":") for line in r.stdout.splitlines())
    want = (1 << 10) | (1 << 0)        # CAP_NET_BIND_SERVICE, CAP_CHOWN
    assert int(vals["CapAmb"], 16) == want
    assert int(vals["CapEff"], 16) == want


@spec("config.md#process", "MUST", "noNewPrivileges sets no_new_privs, visible in "
      "/proc/self/status")
@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privs_visible(rt, bundle, nnp):
    bundle.config["process"]["noNewPrivileges"] = nnp
    bundle.args("grep NoNewPrivs /proc/self/status")
    r = rt.run(rt.new_id("nnp"), bundle)
    assert r.stdout.split() == ["NoNewPrivs:", "1" if nnp else "0"], r


@spec("config-linux.md#control-groups", "MUST", "an invalid limit is an error naming the "
      "field, and no cgroup is left behind")
def test_bad_limit_leaves_nothing(rt, bundle):
    bundle.config["linux"]["resources"] = {"cpu": {"shares": 1}}   # kernel minimum is 2
    cid = rt.new_id("bad")
    bundle.args("true")
    r = rt.create(cid, bundle)
    assert r.rc != 0
    if "runc-py" in os.path.basename(rt.cmd):
        assert "linux.resources.cpu.shares" in r.stderr, r
    assert not leftover_cgroups(cid)
    assert rt.list_ids() == []
