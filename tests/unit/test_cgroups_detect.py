"""Layout detection (v1 / v2 / hybrid) from mountinfo files, without root."""
import pytest

from runc_py.cgroups import CgroupError, detect
from runc_py.cgroups.detect import parse_mountinfo

HYBRID = """\
31 23 0:28 / {r} rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / {r}/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / {r}/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / {r}/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / {r}/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / {r}/devices rw,relatime - cgroup cgroup rw,devices
40 31 0:37 / {r}/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / {r}/unified rw,relatime - cgroup2 cgroup2 rw
"""
PURE_V2 = "30 23 0:26 / {r} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 " \
          "rw,nsdelegate,memory_recursiveprot\n"
COMBINED_V1 = """\
25 23 0:22 / {r}/cpu,cpuacct rw,nosuid shared:8 - cgroup cgroup rw,cpu,cpuacct
26 23 0:23 / {r}/net_cls,net_prio rw,nosuid shared:9 - cgroup cgroup rw,net_cls,net_prio
27 23 0:24 / {r}/pids rw,nosuid shared:10 - cgroup cgroup rw,pids
28 23 0:25 / /elsewhere/memory rw - cgroup cgroup rw,memory
"""


def write(tmp_path, text, controllers=None, v2_at=""):
    root = tmp_path / "cg"
    root.mkdir()
    if controllers is not None:
        d = root / v2_at if v2_at else root
        d.mkdir(exist_ok=True)
        (d / "cgroup.controllers").write_text(controllers + "\n")
    mi = tmp_path / "mountinfo"
    mi.write_text(text.format(r=root))
    return str(root), str(mi)


def test_hybrid(tmp_path):
    root, mi = write(tmp_path, HYBRID, "hugetlb", v2_at="unified")
    lay = detect(root, mi)
    assert lay.mode == "hybrid"
    assert lay.v1["memory"] == f"{root}/memory"
    assert lay.v1["name=systemd"] == f"{root}/systemd"
    assert lay.v2 == f"{root}/unified" and lay.v2_controllers == ("hugetlb",)
    assert lay.where("memory") == "v1" and lay.where("hugetlb") == "v2"
    assert lay.where("pids") is None


def test_pure_v2(tmp_path):
    root, mi = write(tmp_path, PURE_V2, "cpuset cpu io memory hugetlb pids rdma misc")
    lay = detect(root, mi)
    assert lay.mode == "v2" and lay.v1 == {} and lay.v2 == root
    assert lay.where("blkio", "io") == "v2" and lay.where("net_cls", None) is None


def test_v1_with_combined_mounts_and_mounts_outside_the_root(tmp_path):
    root, mi = write(tmp_path, COMBINED_V1)
    lay = detect(root, mi)
    assert lay.mode == "v1" and lay.v2 is None
    assert lay.v1["cpu"] == lay.v1["cpuacct"] == f"{root}/cpu,cpuacct"
    assert "memory" not in lay.v1          # mounted elsewhere: not ours
    assert lay.v1_hierarchies()[f"{root}/cpu,cpuacct"] == ["cpu", "cpuacct"]


def test_escaped_mount_points():
    line = r"1 2 0:3 / /sys/fs/my\040cgroup rw - cgroup2 cgroup2 rw"
    assert list(parse_mountinfo(line)) == [("/sys/fs/my cgroup", "cgroup2", "rw")]


def test_no_cgroup_mounted_is_a_clear_error(tmp_path):
    root, mi = write(tmp_path, "31 23 0:28 / {r} rw - tmpfs tmpfs rw\n")
    with pytest.raises(CgroupError) as e:
        detect(root, mi)
    assert "no cgroup filesystem is mounted" in str(e.value)


def test_missing_mountinfo(tmp_path):
    with pytest.raises(CgroupError) as e:
        detect(str(tmp_path), str(tmp_path / "nope"))
    assert "nope" in str(e.value)


def test_layout_round_trips_through_a_dict(tmp_path):
    root, mi = write(tmp_path, HYBRID, "hugetlb", v2_at="unified")
    lay = detect(root, mi)
    assert type(lay).from_dict(lay.to_dict()) == lay
