"""Resource limits seen from the kernel's side, on this host's real cgroup
layout (v1, v2 or hybrid): memory OOM kill reported, pids bounding a fork
loop, cpu quota/shares/cpuset in the files and in the child's affinity."""
import os
import signal
import time

import pytest

from .helpers import read_line, run_in

MB = 1 << 20
pytestmark = pytest.mark.requires("root")


def _memory(cg):
    res = {"limit": 32 * MB}
    version, _ = cg.dir_for("memory")
    mnt = cg.layout.v1.get("memory")
    if version == "v2" or (mnt and os.path.exists(f"{mnt}/memory.memsw.limit_in_bytes")):
        res["swap"] = 32 * MB               # and no swap to escape into
    return res


def test_memory_limit_oom_kills_and_is_reported(host_cgroup):
    cg = host_cgroup()
    cg.setup({"memory": _memory(cg)})
    assert cg.oom_kill_count() == 0

    def hog():
        b = bytearray(128 * MB)
        for i in range(0, len(b), 4096):
            b[i] = 1
        return "survived"
    result, status = run_in(cg, hog)
    assert result is None, "the child should not have survived"
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert cg.oom_kill_count() >= 1
    assert cg.stats()["memory"]["oom_kill"] >= 1


def test_memory_limit_lets_small_process_live(host_cgroup):
    cg = host_cgroup()
    cg.setup({"memory": _memory(cg)})
    result, status = run_in(cg, lambda: len(bytearray(4 * MB)))
    assert result == 4 * MB and os.WEXITSTATUS(status) == 0
    assert cg.oom_kill_count() == 0


def test_pids_limit_bounds_a_fork_loop(host_cgroup):
    cg = host_cgroup()
    cg.setup({"pids": {"limit": 8}})

    def fork_loop():
        made = 0
        for _ in range(50):
            try:
                pid = os.fork()
            except BlockingIOError:
                break
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            made += 1
        return made
    pid, fd = run_in(cg, fork_loop, wait=False)
    assert read_line(fd) == 7            # itself + 7 children = 8
    # the 7 sleeping children, plus the loop itself until it exits
    assert 7 <= len(cg.pids()) <= 8
    assert 7 <= cg.stats()["pids"]["current"] <= 8
    os.close(fd)
    cg.destroy()                         # kills the sleeping grandchildren too
    os.waitpid(pid, 0)
    assert not cg.exists()


def test_cpu_quota_shares_and_cpuset(host_cgroup):
    cg = host_cgroup()
    cg.setup({"cpu": {"shares": 512, "quota": 25000, "period": 100000, "cpus": "0",
                      "mems": "0"}})
    version, d = cg.dir_for("cpu")
    if version == "v1":
        assert open(f"{d}/cpu.shares").read().strip() == "512"
        assert open(f"{d}/cpu.cfs_quota_us").read().strip() == "25000"
        assert open(f"{d}/cpu.cfs_period_us").read().strip() == "100000"
    else:
        assert open(f"{d}/cpu.weight").read().strip() == "20"
        assert open(f"{d}/cpu.max").read().strip() == "25000 100000"
    _, d = cg.dir_for("cpuset")
    assert open(f"{d}/cpuset.cpus").read().strip() == "0"
    result, _ = run_in(cg, lambda: sorted(os.sched_getaffinity(0)))
    assert result == [0]


def test_freeze_and_thaw_a_running_child(host_cgroup):
    cg = host_cgroup()
    cg.setup({})

    def ticker():
        while True:
            time.sleep(0.01)
    pid, fd = run_in(cg, ticker, wait=False)
    os.close(fd)
    cg.freeze()
    assert cg.freezer_state() == "FROZEN"
    cg.thaw()
    assert cg.freezer_state() == "THAWED"
    cg.destroy()
    _, status = os.waitpid(pid, 0)
    assert os.WTERMSIG(status) == signal.SIGKILL


def test_destroy_kills_and_removes_nested_cgroups(host_cgroup):
    from runc_py.cgroups import Cgroup
    cg = host_cgroup()
    cg.setup({"pids": {"limit": 20}})
    nested = {k: os.path.join(d, "inner") for k, d in cg.paths.items()}

    def make_nested():
        for d in nested.values():
            os.mkdir(d)
            for name in ("cpuset.cpus", "cpuset.mems"):     # v1 cpusets start empty
                if os.path.exists(os.path.join(d, name)):
                    with open(os.path.join(os.path.dirname(d), name)) as src, \
                            open(os.path.join(d, name), "w") as dst:
                        dst.write(src.read())
        r, w = os.pipe()
        grandchild = os.fork()
        if grandchild == 0:
            for d in nested.values():
                with open(os.path.join(d, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
            os.write(w, b"x")
            time.sleep(60)
            os._exit(0)
        os.read(r, 1)
        return grandchild
    pid, fd = run_in(cg, make_nested, wait=False)
    grandchild = read_line(fd)
    os.close(fd)
    assert grandchild in cg.pids()
    for d in nested.values():
        with open(os.path.join(d, "cgroup.procs")) as f:
            assert f.read().split() == [str(grandchild)]
    later = Cgroup.from_dict(cg.to_dict())     # as `delete` finds it in state.json
    later.destroy()
    os.waitpid(pid, 0)
    assert not any(os.path.exists(d) for d in nested.values())
    assert not cg.exists()
