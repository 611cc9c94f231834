"""Device rules enforced by the kernel: v1 devices.allow/deny on the host's
devices hierarchy, and v2 through our eBPF program attached to a real
cgroup2 directory (on a hybrid host: a private dir in <root>/unified).  A
denied device cannot be opened or mknod'ed; an allowed one can."""
import os

import pytest

from runc_py.cgroups import CgroupError
from runc_py.cgroups import devices as dev

from .helpers import run_in, try_mknod, try_open

pytestmark = pytest.mark.requires("root")

RULES = [{"allow": False, "access": "rwm"},
         {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},   # /dev/null
         {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"}]     # /dev/zero, r


def probe(tmpdir):
    def fn():
        return {"null_rw": try_open("/dev/null", os.O_RDWR),
                "zero_r": try_open("/dev/zero", os.O_RDONLY),
                "zero_w": try_open("/dev/zero", os.O_WRONLY),
                "full_r": try_open("/dev/full", os.O_RDONLY),
                "mknod_null": try_mknod(os.path.join(tmpdir, "null"), 1, 3),
                "mknod_zero": try_mknod(os.path.join(tmpdir, "zero"), 1, 5)}
    return fn


EXPECTED = {"null_rw": "ok", "zero_r": "ok", "zero_w": "Operation not permitted",
            "full_r": "Operation not permitted", "mknod_null": "ok",
            "mknod_zero": "Operation not permitted"}


@pytest.mark.requires("cgroup_v1")
def test_v1_device_rules(host_cgroup, tmp_path):
    cg = host_cgroup()
    if "devices" not in cg.layout.v1:
        pytest.skip("needs the v1 devices controller")
    cg.setup({"devices": RULES})
    listed = open(os.path.join(cg.paths["devices"], "devices.list")).read().split("\n")
    assert "c 1:3 rwm" in listed and "c 1:5 r" in listed
    result, status = run_in(cg, probe(str(tmp_path)))
    assert result == EXPECTED


def test_v2_device_rules_via_ebpf(v2_root, tmp_path):
    cg = v2_root()
    assert cg.layout.mode == "v2"
    cg.setup({"devices": RULES})
    assert len(dev.attached_programs(cg.unified_dir)) == 1
    result, _ = run_in(cg, probe(str(tmp_path)))
    assert result == EXPECTED


def test_v2_update_replaces_the_program(v2_root, tmp_path):
    cg = v2_root()
    cg.setup({"devices": RULES})
    first = dev.attached_programs(cg.unified_dir)
    cg.update({"devices": [{"allow": False, "type": "c", "major": 1, "minor": 7}]})  # /dev/full
    now = dev.attached_programs(cg.unified_dir)
    assert len(now) == 1 and now != first
    result, _ = run_in(cg, probe(str(tmp_path)))
    assert result["zero_w"] == "ok" and result["full_r"] == "Operation not permitted"
    cg.update({"devices": []})
    assert dev.attached_programs(cg.unified_dir) == []


def test_bad_device_type_leaves_no_cgroup(host_cgroup):
    cg = host_cgroup()
    with pytest.raises(CgroupError) as e:
        cg.setup({"devices": [{"allow": True, "type": "q", "major": 1, "minor": 3}]})
    assert e.value.field == "linux.resources.devices[0].type"
    assert not cg.exists()
