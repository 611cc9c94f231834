"""The v2 code paths on a real cgroup2 filesystem, also on hybrid hosts: a
private directory under the cgroup2 mount serves as the root of a pure-v2
layout.  Membership, cgroup.freeze, cgroup.kill, nested cleanup, and the
clear error for a controller the hierarchy does not offer."""
import os
import signal
import time

import pytest

from runc_py.cgroups import CgroupError

from .helpers import read_line, run_in

pytestmark = pytest.mark.requires("root")


def test_v2_membership_freeze_and_kill(v2_root):
    cg = v2_root("/pod/c")
    cg.setup({})
    assert os.path.isdir(cg.unified_dir)

    def spin():
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        time.sleep(60)
    pid, fd = run_in(cg, spin, wait=False)
    os.close(fd)
    deadline = time.monotonic() + 5
    while len(cg.pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(cg.pids()) == 2 and pid in cg.pids()
    with open(f"/proc/{pid}/cgroup") as f:
        v2_line = [ln for ln in f.read().splitlines() if ln.startswith("0::")][0]
    assert v2_line.endswith("/pod/c")
    cg.freeze()
    assert cg.freezer_state() == "FROZEN"
    cg.thaw()
    assert cg.freezer_state() == "THAWED"
    cg.destroy()                           # cgroup.kill, then rmdir
    _, status = os.waitpid(pid, 0)
    assert os.WTERMSIG(status) == signal.SIGKILL
    assert not os.path.exists(os.path.dirname(cg.unified_dir))   # /pod was ours too


def test_v2_nested_cgroups_removed_on_destroy(v2_root):
    cg = v2_root()
    cg.setup({})
    inner = os.path.join(cg.unified_dir, "a", "b")

    def nest():
        os.makedirs(inner)
        r, w = os.pipe()
        grandchild = os.fork()
        if grandchild == 0:
            with open(os.path.join(inner, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            os.write(w, b"x")
            time.sleep(60)
            os._exit(0)
        os.read(r, 1)
        return grandchild
    pid, fd = run_in(cg, nest, wait=False)
    grandchild = read_line(fd)
    os.close(fd)
    assert grandchild in cg.pids()
    with open(os.path.join(inner, "cgroup.procs")) as f:
        assert f.read().split() == [str(grandchild)]
    cg.destroy()
    os.waitpid(pid, 0)
    assert not os.path.exists(cg.unified_dir)


def test_v2_controller_not_offered_is_a_clear_error(v2_root):
    cg = v2_root()
    offered = cg.layout.v2_controllers
    if "memory" in offered:
        pytest.skip("this cgroup2 root offers memory")
    with pytest.raises(CgroupError) as e:
        cg.setup({"memory": {"limit": 1 << 26}})
    assert e.value.field == "linux.resources.memory.limit"
    assert "memory controller" in str(e.value)
    assert not cg.exists()
