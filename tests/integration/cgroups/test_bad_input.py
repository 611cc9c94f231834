"""Bad input on the real host: a clear error naming the field, and no cgroup
left in any hierarchy, whether the value is caught before anything is made or
rejected by the kernel halfway through."""
import errno
import os

import pytest

from runc_py.cgroups import Cgroup, CgroupError

from .helpers import unique

pytestmark = pytest.mark.requires("root")


def leftovers(name):
    root = "/sys/fs/cgroup"
    found = []
    for top, dirs, _ in os.walk(root):
        found += [os.path.join(top, d) for d in dirs if name in d]
        if top.count("/") > 5:
            dirs[:] = []
    return found


@pytest.mark.parametrize("res,field", [
    ({"memory": {"limit": -42}}, "linux.resources.memory.limit"),
    ({"memory": {"limit": 1 << 80}}, "linux.resources.memory.limit"),
    ({"pids": {"limit": -3}}, "linux.resources.pids.limit"),
    ({"cpu": {"shares": 10 ** 12}}, "linux.resources.cpu.shares"),
    ({"cpu": {"quota": 1}}, "linux.resources.cpu.quota"),
    # only the kernel knows this CPU does not exist: rejected after mkdir
    ({"pids": {"limit": 5}, "cpu": {"cpus": "4000"}}, "linux.resources.cpu.cpus"),
    ({"devices": [{"allow": True, "type": "k"}]}, "linux.resources.devices[0].type"),
])
def test_bad_resources_leave_no_cgroup(res, field):
    name = unique("bad")
    cg = Cgroup.for_container(name, f"/{name}/c")
    with pytest.raises(CgroupError) as e:
        cg.setup(res)
    assert e.value.field == field and field in str(e.value)
    assert leftovers(name) == []


def test_kernel_rejection_names_file_value_and_errno():
    name = unique("bad")
    cg = Cgroup.for_container(name, f"/{name}")
    with pytest.raises(CgroupError) as e:
        cg.setup({"cpu": {"cpus": "4000"}})
    assert e.value.file.endswith(f"/{name}/cpuset.cpus") and e.value.value == "4000"
    assert e.value.errno in (errno.EINVAL, errno.ERANGE)
    assert errno.errorcode[e.value.errno] in str(e.value)
    assert leftovers(name) == []


@pytest.mark.parametrize("path", ["/../../escape", "../up", "/a/../../b"])
def test_cgroups_path_escaping_the_root_is_refused(path):
    with pytest.raises(CgroupError) as e:
        Cgroup.for_container("x", path)
    assert e.value.field == "linux.cgroupsPath" and "'..'" in str(e.value)
    assert leftovers("escape") == [] and leftovers("up") == []
