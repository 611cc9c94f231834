"""Fixtures for the cgroup integration tests: Cgroup objects under
test-prefixed names, always destroyed afterwards."""
import os

import pytest

from runc_py.cgroups import Cgroup

from .helpers import cgroup2_mount, unique


@pytest.fixture
def host_cgroup():
    """Factory: a Cgroup on the host's real layout at /runcpy-test-...;
    destroyed (processes killed, dirs removed) at teardown."""
    made = []

    def make(path=None):
        cg = Cgroup.for_container(unique("c"), path or "/" + unique())
        made.append(cg)
        return cg
    yield make
    for cg in made:
        cg.destroy()
        assert not cg.exists(), f"{cg.path} left behind"


@pytest.fixture
def v2_root(tmp_path):
    """A private cgroup2 directory used as the root of a pure-v2 layout (the
    whole cgroup2 mount on pure-v2 hosts, <root>/unified on hybrid ones), and
    a mountinfo file that declares it."""
    mnt = cgroup2_mount()
    if mnt is None:
        pytest.skip("needs a cgroup2 mount under /sys/fs/cgroup")
    root = os.path.join(mnt, unique("v2root"))
    os.mkdir(root)
    mi = tmp_path / "mountinfo"
    mi.write_text(f"1 1 0:1 / {root} rw,relatime - cgroup2 cgroup2 rw\n")
    made = []

    def make(path="/c"):
        cg = Cgroup.for_container(unique("c"), path, root=root, mountinfo=str(mi))
        made.append(cg)
        return cg
    yield make
    for cg in made:
        cg.destroy()
    os.rmdir(root)
