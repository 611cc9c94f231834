"""Pure translation of linux.resources into cgroup v1 and v2 file writes:
tables of spec values -> (file, value), and bad values -> an error naming
the field.  No filesystem, no root."""
import pytest

from runc_py.cgroups import CgroupError
from runc_py.cgroups import resources as r

MB = 1 << 20

# (resources, v1 writes, v2 writes); None = the version rejects it (see BAD_V2)
TABLE = [
    ({"memory": {"limit": 64 * MB}},
     [("memory.limit_in_bytes", str(64 * MB))],
     [("memory.max", str(64 * MB))]),
    ({"memory": {"limit": -1}},
     [("memory.limit_in_bytes", "-1")],
     [("memory.swap.max", "max"), ("memory.max", "max")]),
    ({"memory": {"limit": 64 * MB, "swap": 96 * MB, "reservation": 32 * MB}},
     [("memory.limit_in_bytes", str(64 * MB)), ("memory.memsw.limit_in_bytes", str(96 * MB)),
      ("memory.soft_limit_in_bytes", str(32 * MB))],
     [("memory.swap.max", str(32 * MB)), ("memory.max", str(64 * MB)),
      ("memory.low", str(32 * MB))]),
    ({"memory": {"limit": 64 * MB, "swap": -1}},
     [("memory.limit_in_bytes", str(64 * MB)), ("memory.memsw.limit_in_bytes", "-1")],
     [("memory.swap.max", "max"), ("memory.max", str(64 * MB))]),
    ({"memory": {"limit": 64 * MB, "swap": 64 * MB}},
     [("memory.limit_in_bytes", str(64 * MB)), ("memory.memsw.limit_in_bytes", str(64 * MB))],
     [("memory.swap.max", "0"), ("memory.max", str(64 * MB))]),
    ({"memory": {"swappiness": 10, "disableOOMKiller": True, "kernelTCP": 8 * MB}},
     [("memory.kmem.tcp.limit_in_bytes", str(8 * MB)), ("memory.swappiness", "10"),
      ("memory.oom_control", "1")],
     None),
    ({"memory": {"disableOOMKiller": False, "kernel": -1, "useHierarchy": True}},
     [("memory.kmem.limit_in_bytes", "-1"), ("memory.use_hierarchy", "1")],
     []),
    ({"memory": {"limit": 0}}, [], []),                      # 0 = unset, as in runc
    ({"cpu": {"shares": 1024, "quota": 50000, "period": 100000}},
     [("cpu.shares", "1024"), ("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "50000")],
     [("cpu.weight", "39"), ("cpu.max", "50000 100000")]),
    ({"cpu": {"quota": -1, "period": 250000}},
     [("cpu.cfs_period_us", "250000"), ("cpu.cfs_quota_us", "-1")],
     [("cpu.max", "max 250000")]),
    ({"cpu": {"quota": 20000}},
     [("cpu.cfs_quota_us", "20000")],
     [("cpu.max", "20000 100000")]),
    ({"cpu": {"quota": 20000, "burst": 10000, "idle": 1}},
     [("cpu.cfs_quota_us", "20000"), ("cpu.cfs_burst_us", "10000"), ("cpu.idle", "1")],
     [("cpu.max", "20000 100000"), ("cpu.max.burst", "10000"), ("cpu.idle", "1")]),
    ({"cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 950000}},
     [("cpu.rt_period_us", "1000000"), ("cpu.rt_runtime_us", "950000")],
     None),
    ({"cpu": {"cpus": "0-1,3", "mems": "0"}},
     [("cpuset.cpus", "0-1,3"), ("cpuset.mems", "0")],
     [("cpuset.cpus", "0-1,3"), ("cpuset.mems", "0")]),
    ({"pids": {"limit": 32}}, [("pids.max", "32")], [("pids.max", "32")]),
    ({"pids": {"limit": -1}}, [("pids.max", "max")], [("pids.max", "max")]),
    ({"pids": {"limit": 0}}, [("pids.max", "0")], [("pids.max", "0")]),   # the spec: 0 is real
    ({"blockIO": {"weight": 500}},
     [("blkio.weight", "500")],
     [("io.bfq.weight", "500")]),
    ({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "weight": 300}]}},
     [("blkio.weight_device", "8:0 300")],
     [("io.bfq.weight", "8:0 300")]),
    ({"blockIO": {"leafWeight": 200,
                  "weightDevice": [{"major": 8, "minor": 16, "leafWeight": 100}]}},
     [("blkio.leaf_weight", "200"), ("blkio.leaf_weight_device", "8:16 100")],
     None),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                  "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2048}],
                  "throttleReadIOPSDevice": [{"major": 8, "minor": 16, "rate": 0}],
                  "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]}},
     [("blkio.throttle.read_bps_device", "8:0 1048576"),
      ("blkio.throttle.write_bps_device", "8:0 2048"),
      ("blkio.throttle.read_iops_device", "8:16 0"),
      ("blkio.throttle.write_iops_device", "8:16 300")],
     [("io.max", "8:0 rbps=1048576"), ("io.max", "8:0 wbps=2048"), ("io.max", "8:16 riops=max"),
      ("io.max", "8:16 wiops=300")]),
    ({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MB}, {"pageSize": "1048576KB",
                                                               "limit": 0}]},
     [("hugetlb.2MB.limit_in_bytes", str(4 * MB)), ("hugetlb.2MB.rsvd.limit_in_bytes", str(4 * MB)),
      ("hugetlb.1GB.limit_in_bytes", "0"), ("hugetlb.1GB.rsvd.limit_in_bytes", "0")],
     [("hugetlb.2MB.max", str(4 * MB)), ("hugetlb.2MB.rsvd.max", str(4 * MB)),
      ("hugetlb.1GB.max", "0"), ("hugetlb.1GB.rsvd.max", "0")]),
    ({"network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500},
                                                     {"name": "lo", "priority": 7}]}},
     [("net_cls.classid", "1048577"), ("net_prio.ifpriomap", "eth0 500"),
      ("net_prio.ifpriomap", "lo 7")],
     None),
    ({"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}, "rxe3": {"hcaObjects": 5}}},
     [("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"), ("rdma.max", "rxe3 hca_object=5")],
     [("rdma.max", "mlx5_1 hca_handle=3 hca_object=10000"), ("rdma.max", "rxe3 hca_object=5")]),
    ({"unified": {"memory.high": "50000000", "cgroup.max.depth": "3"}},
     None,
     [("memory.high", "50000000"), ("cgroup.max.depth", "3")]),
    ({}, [], []),
]


def files(writes):
    return [(w.file, w.value) for w in writes]


@pytest.mark.parametrize("res,v1,v2", TABLE)
def test_v1_translation(res, v1, v2):
    if v1 is None:
        with pytest.raises(CgroupError):
            r.translate(res, "v1")
    else:
        assert files(r.translate(res, "v1")) == v1


@pytest.mark.parametrize("res,v1,v2", TABLE)
def test_v2_translation(res, v1, v2):
    if v2 is None:
        with pytest.raises(CgroupError) as e:
            r.translate(res, "v2")
        assert "cgroup v2" in str(e.value)
    else:
        assert files(r.translate(res, "v2")) == v2


def test_writes_name_their_controller_and_field():
    res = {"memory": {"limit": MB, "swap": 2 * MB}, "cpu": {"shares": 2, "cpus": "0"},
           "blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1}]},
           "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]}
    v1 = {(w.controller, w.file): w.field for w in r.translate(res, "v1")}
    assert v1[("memory", "memory.memsw.limit_in_bytes")] == "linux.resources.memory.swap"
    assert v1[("cpu", "cpu.shares")] == "linux.resources.cpu.shares"
    assert v1[("cpuset", "cpuset.cpus")] == "linux.resources.cpu.cpus"
    assert v1[("blkio", "blkio.throttle.read_bps_device")] == \
        "linux.resources.blockIO.throttleReadBpsDevice[0].rate"
    v2 = {(w.controller, w.file): w.field for w in r.translate(res, "v2")}
    assert v2[("memory", "memory.swap.max")] == "linux.resources.memory.swap"
    assert v2[("cpu", "cpu.weight")] == "linux.resources.cpu.shares"
    assert v2[("io", "io.max")] == "linux.resources.blockIO.throttleReadBpsDevice[0].rate"
    assert v2[("hugetlb", "hugetlb.2MB.max")] == "linux.resources.hugepageLimits[0].limit"


def test_weight_falls_back_from_bfq_to_io_weight():
    (w,) = r.io_v2({"blockIO": {"weight": 1000}})
    assert w.alternatives == (("io.weight", "default 10000"),)
    (w,) = r.blkio_v1({"blockIO": {"weight": 10}})
    assert w.alternatives == (("blkio.bfq.weight", "10"),)


@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 39), (512, 20), (262144, 10000)])
def test_shares_to_weight(shares, weight):
    assert r.shares_to_weight(shares) == weight


@pytest.mark.parametrize("weight,io", [(10, 1), (100, 910), (500, 4950), (1000, 10000)])
def test_blkio_weight_to_io_weight(weight, io):
    assert r.blkio_weight_to_io_weight(weight) == io


@pytest.mark.parametrize("size,name", [("2MB", "2MB"), ("2048KB", "2MB"), ("1GB", "1GB"),
                                       ("64KB", "64KB"), ("1024MB", "1GB")])
def test_hugepage_sizes_named_like_the_kernel(size, name):
    assert r.hugepage_file_size(size, "f") == name


BAD = [
    ({"memory": {"limit": -2}}, "linux.resources.memory.limit", "out of range"),
    ({"memory": {"limit": 1 << 70}}, "linux.resources.memory.limit", "out of range"),
    ({"memory": {"limit": "1G"}}, "linux.resources.memory.limit", "must be an integer"),
    ({"memory": {"limit": 1.5}}, "linux.resources.memory.limit", "must be an integer"),
    ({"memory": {"limit": True}}, "linux.resources.memory.limit", "must be an integer"),
    ({"memory": {"limit": 10 * MB, "swap": 5 * MB}}, "linux.resources.memory.swap", "below"),
    ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness", "out of range"),
    ({"memory": {"disableOOMKiller": "yes"}}, "linux.resources.memory.disableOOMKiller",
     "true or false"),
    ({"memory": []}, "linux.resources.memory", "must be an object"),
    ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares", "out of range"),
    ({"cpu": {"shares": 1 << 40}}, "linux.resources.cpu.shares", "out of range"),
    ({"cpu": {"quota": -7}}, "linux.resources.cpu.quota", "out of range"),
    ({"cpu": {"quota": 500}}, "linux.resources.cpu.quota", "too small"),
    ({"cpu": {"quota": 1 << 50}}, "linux.resources.cpu.quota", "out of range"),
    ({"cpu": {"period": 100}}, "linux.resources.cpu.period", "out of range"),
    ({"cpu": {"period": 5000000}}, "linux.resources.cpu.period", "out of range"),
    ({"cpu": {"quota": 10000, "burst": 20000}}, "linux.resources.cpu.burst", "larger than quota"),
    ({"cpu": {"idle": 2}}, "linux.resources.cpu.idle", "out of range"),
    ({"cpu": {"cpus": "0-a"}}, "linux.resources.cpu.cpus", "not a list"),
    ({"cpu": {"mems": "3-1"}}, "linux.resources.cpu.mems", "backwards"),
    ({"pids": {"limit": -2}}, "linux.resources.pids.limit", "out of range"),
    ({"pids": {"limit": 10 ** 9}}, "linux.resources.pids.limit", "out of range"),
    ({"blockIO": {"weight": 5}}, "linux.resources.blockIO.weight", "between 10 and 1000"),
    ({"blockIO": {"weight": 5000}}, "linux.resources.blockIO.weight", "out of range"),
    ({"blockIO": {"weightDevice": [{"major": 8, "minor": 0}]}},
     "linux.resources.blockIO.weightDevice[0]", "at least one"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "rate": 5}]}},
     "linux.resources.blockIO.throttleReadBpsDevice[0]", "major and minor"),
    ({"blockIO": {"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": -1}]}},
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate", "out of range"),
    ({"hugepageLimits": [{"pageSize": "2XB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize", "not a page size"),
    ({"hugepageLimits": [{"pageSize": "2MB"}]}, "linux.resources.hugepageLimits[0].limit",
     "required"),
    ({"network": {"priorities": [{"name": "eth 0", "priority": 1}]}},
     "linux.resources.network.priorities[0].name", "interface name"),
    ({"rdma": {"mlx5_1": {}}}, "linux.resources.rdma.mlx5_1", "at least one"),
]


@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("res,field,text", BAD)
def test_bad_values_name_the_field(res, field, text, version):
    with pytest.raises(CgroupError) as e:
        r.translate(res, version)
    assert e.value.field == field
    assert field in str(e.value) and text in str(e.value)


BAD_V2 = [
    ({"memory": {"swappiness": 10}}, "linux.resources.memory.swappiness"),
    ({"memory": {"disableOOMKiller": True}}, "linux.resources.memory.disableOOMKiller"),
    ({"memory": {"kernel": 1 << 20}}, "linux.resources.memory.kernel"),
    ({"memory": {"useHierarchy": False}}, "linux.resources.memory.useHierarchy"),
    ({"memory": {"swap": 5 * MB}}, "linux.resources.memory.swap"),      # no memory limit
    ({"cpu": {"realtimeRuntime": 1000}}, "linux.resources.cpu.realtimeRuntime"),
    ({"blockIO": {"leafWeight": 100}}, "linux.resources.blockIO.leafWeight"),
    ({"network": {"classID": 1}}, "linux.resources.network.classID"),
    ({"unified": {"../etc/passwd": "x"}}, 'linux.resources.unified["../etc/passwd"]'),
    ({"unified": {"memory.high": 5}}, 'linux.resources.unified["memory.high"]'),
]


@pytest.mark.parametrize("res,field", BAD_V2)
def test_v2_rejects_what_it_cannot_honour(res, field):
    with pytest.raises(CgroupError) as e:
        r.translate(res, "v2")
    assert e.value.field == field


def test_unified_on_v1_only_host_is_an_error():
    with pytest.raises(CgroupError) as e:
        r.translate({"unified": {"memory.high": "1"}}, "v1")
    assert e.value.field == "linux.resources.unified" and "cgroup v2" in str(e.value)
