"""The Cgroup object against a temporary fake cgroup tree (v1, v2, hybrid),
without root.  The fake behaves like cgroupfs where it matters: mkdir makes
the control files, rmdir removes a directory that still holds them, and on v2
a controller's files appear only once the parent enables it in
cgroup.subtree_control."""
import errno
import os

import pytest

from runc_py.cgroups import Cgroup, CgroupError, PARENT, expand_slice, fs, resolve_path

MB = 1 << 20

V1_FILES = {
    "cpu": {"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1",
            "cpu.cfs_burst_us": "0", "cpu.idle": "0", "cpu.rt_period_us": "1000000",
            "cpu.rt_runtime_us": "0", "cpu.stat": "nr_periods 7\nnr_throttled 2\n"
                                                  "throttled_time 900\n"},
    "cpuacct": {"cpuacct.usage": "5000", "cpuacct.usage_percpu": "3000 2000",
                "cpuacct.stat": "user 3\nsystem 1\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {"memory.limit_in_bytes": "9223372036854771712", "memory.memsw.limit_in_bytes": "",
               "memory.soft_limit_in_bytes": "", "memory.swappiness": "60",
               "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
               "memory.usage_in_bytes": "4096", "memory.max_usage_in_bytes": "8192",
               "memory.failcnt": "0", "memory.stat": "cache 100\ntotal_cache 200\n",
               "memory.kmem.tcp.limit_in_bytes": "", "memory.use_hierarchy": "1"},
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm"},
    "freezer": {"freezer.state": "THAWED"},
    # a current kernel: BFQ's weight files, no CFQ ones
    "blkio": {"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
              "blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
              "blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
              "blkio.throttle.io_service_bytes_recursive": "8:0 Read 512\n8:0 Write 0\nTotal 512"},
    "pids": {"pids.max": "max", "pids.current": "1"},
    "hugetlb": {"hugetlb.2MB.limit_in_bytes": "", "hugetlb.2MB.usage_in_bytes": "0",
                "hugetlb.2MB.max_usage_in_bytes": "0", "hugetlb.2MB.failcnt": "0"},
    "net_cls": {"net_cls.classid": "0"},
    "net_prio": {"net_prio.ifpriomap": ""},
    "name=systemd": {},
}
V1_ROOT = {"cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_burst_us", "cpu.idle",
                   "cpu.rt_runtime_us", "cpu.rt_period_us"],
           "memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                      "memory.kmem.tcp.limit_in_bytes"]}
V2_FILES = {
    "": {"cgroup.freeze": "0", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.kill": "",
         "cgroup.max.depth": "max"},
    "cpu": {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
            "cpu.stat": "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 0\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {"memory.max": "max", "memory.swap.max": "max", "memory.low": "0",
               "memory.high": "max", "memory.current": "4096",
               "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
               "memory.stat": "anon 4096\nfile 0\n"},
    "pids": {"pids.max": "max", "pids.current": "0"},
    "io": {"io.weight": "default 100", "io.max": "", "io.stat": "8:0 rbytes=10 wbytes=20 rios=1 "
                                                                "wios=2 dbytes=0 dios=0"},
    "hugetlb": {"hugetlb.2MB.max": "max", "hugetlb.2MB.rsvd.max": "max",
                "hugetlb.2MB.current": "0", "hugetlb.2MB.events": "max 0"},
    "rdma": {"rdma.max": ""},
}


class FakeCgroupfs:
    """A tmpdir that behaves enough like cgroupfs for the manager."""

    def __init__(self, tmp_path, monkeypatch, mode="v1", v1=None, v2_controllers=None,
                 root_missing=()):
        self.root = str(tmp_path / "cgroup")
        self.mountinfo = str(tmp_path / "mountinfo")
        self.log = []
        self.mode = mode
        self.v1 = {}
        self.v2 = None
        lines = []
        if mode in ("v1", "hybrid"):
            for sub in (v1 if v1 is not None else [k for k in V1_FILES if k != "hugetlb" or
                                                     mode == "v1"]):
                d = os.path.join(self.root, sub.replace("name=", ""))
                self.v1[d] = sub
                lines.append(f"1 1 0:1 / {d} rw - cgroup cgroup rw,{sub}")
        if mode in ("v2", "hybrid"):
            self.v2 = self.root if mode == "v2" else os.path.join(self.root, "unified")
            lines.append(f"2 1 0:2 / {self.v2} rw - cgroup2 cgroup2 rw")
        with open(self.mountinfo, "w") as f:
            f.write("\n".join(lines) + "\n")
        for d, sub in self.v1.items():
            os.makedirs(d)
            self._put(d, {"cgroup.procs": ""})
            self._put(d, {k: v for k, v in V1_FILES[sub].items()
                          if k in V1_ROOT.get(sub, []) and k not in root_missing})
            if sub == "cpuset":
                self._put(d, {"cpuset.cpus": "0-3", "cpuset.mems": "0"})
        if self.v2:
            ctrls = v2_controllers if v2_controllers is not None else \
                ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma"]
            os.makedirs(self.v2, exist_ok=True)
            self._put(self.v2, {"cgroup.procs": "", "cgroup.controllers": " ".join(ctrls),
                                "cgroup.subtree_control": ""})
        monkeypatch.setattr(fs, "mkdir", self.mkdir)
        monkeypatch.setattr(fs, "rmdir", self.rmdir)
        real_write = fs.write
        monkeypatch.setattr(fs, "write", lambda p, v, field=None: self.write(real_write, p, v,
                                                                               field))

    @staticmethod
    def _put(d, files):
        for name, content in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(content)

    def _hierarchy(self, path):
        for d, sub in self.v1.items():
            if path.startswith(d + "/"):
                return sub
        return "unified"

    def mkdir(self, path, field=None):
        if os.path.isdir(path):
            return False
        os.mkdir(path)
        sub = self._hierarchy(path)
        self._put(path, {"cgroup.procs": ""})
        if sub == "unified":
            parent = os.path.dirname(path)
            enabled = open(os.path.join(parent, "cgroup.subtree_control")).read().split()
            self._put(path, {"cgroup.controllers": " ".join(enabled), "cgroup.subtree_control": ""})
            self._put(path, V2_FILES[""])
            for c in enabled:
                self._put(path, V2_FILES[c])
        else:
            self._put(path, V1_FILES[sub])
        return True

    def rmdir(self, path, field=None):
        if not os.path.isdir(path):
            return False
        if any(os.path.isdir(os.path.join(path, n)) for n in os.listdir(path)):
            raise CgroupError(field, f"cannot remove {path}", file=path, errno=errno.EBUSY)
        for n in os.listdir(path):
            os.unlink(os.path.join(path, n))
        os.rmdir(path)
        return True

    def write(self, real_write, path, value, field):
        self.log.append((os.path.relpath(path, self.root), value))
        d, name = os.path.split(path)
        if name == "cgroup.subtree_control":
            have = open(path).read().split()
            ctrl = value.lstrip("+")
            if ctrl not in open(os.path.join(d, "cgroup.controllers")).read().split():
                raise CgroupError(field, f"cannot write to {path}", file=path, value=value,
                                  errno=errno.ENOENT)
            self._put(d, {name: " ".join(have + [ctrl])})
            for child in os.listdir(d):
                cd = os.path.join(d, child)
                if os.path.isdir(cd):
                    self._put(cd, {"cgroup.controllers": " ".join(have + [ctrl])})
                    self._put(cd, V2_FILES[ctrl])
            return
        real_write(path, value, field)
        if name == "cgroup.freeze":
            self._put(d, {"cgroup.events": f"populated 0\nfrozen {value}\n"})

    def read(self, *parts):
        with open(os.path.join(self.root, *parts)) as f:
            return f.read()

    def cgroup(self, cid="c1", path=None, **kw):
        return Cgroup.for_container(cid, path, root=self.root, mountinfo=self.mountinfo, **kw)

    def dirs(self):
        return sorted(os.path.relpath(top, self.root) for top, _, _ in os.walk(self.root))


@pytest.fixture
def fake(tmp_path, monkeypatch):
    return lambda **kw: FakeCgroupfs(tmp_path, monkeypatch, **kw)


# ---------------------------------------------------------------- paths

@pytest.mark.parametrize("cid,path,systemd,expected", [
    ("abc", None, False, f"{PARENT}/abc"),
    ("abc", "", False, f"{PARENT}/abc"),
    ("abc", "/my/runtime/abc", False, "/my/runtime/abc"),
    ("abc", "//my//./abc/", False, "/my/abc"),
    ("abc", "pod1/abc", False, f"{PARENT}/pod1/abc"),
    ("abc", "system.slice:runc-py:abc", True, "/system.slice/runc-py-abc.scope"),
    ("abc", "machine-pod1.slice:crio:abc", True, "/machine.slice/machine-pod1.slice/crio-abc.scope"),
    ("abc", ":docker:abc", True, "/system.slice/docker-abc.scope"),
    ("abc", "-.slice::abc", True, "/abc.scope"),
    ("abc", "user.slice:x:my-a.slice", True, "/my.slice/my-a.slice"),
    ("abc", None, True, "/system.slice/runc-py-abc.scope"),
])
def test_resolve_path(cid, path, systemd, expected, tmp_path):
    assert resolve_path(cid, path, systemd, systemd_probe=str(tmp_path / "none")) == expected


@pytest.mark.parametrize("path,systemd,text", [
    ("/a/../../etc", False, "'..'"),
    ("../escape", False, "'..'"),
    ("/", False, "root cgroup"),
    ("/a\0b", False, "NUL"),
    ("/plain/path", True, "slice:prefix:name"),
    ("a:b", True, "slice:prefix:name"),
    ("system:runc:abc", True, "not a systemd slice name"),
    ("a--b.slice:runc:abc", True, "not a valid systemd slice"),
    ("system.slice:runc:a/b", True, "must not contain '/'"),
])
def test_bad_cgroups_path_names_the_field(path, systemd, text, tmp_path):
    with pytest.raises(CgroupError) as e:
        resolve_path("abc", path, systemd, systemd_probe=str(tmp_path / "none"))
    assert e.value.field == "linux.cgroupsPath" and text in str(e.value)


def test_systemd_cgroup_with_systemd_running_fails_clearly(tmp_path):
    (tmp_path / "system").mkdir()
    with pytest.raises(CgroupError) as e:
        resolve_path("abc", "system.slice:x:abc", True, systemd_probe=str(tmp_path / "system"))
    assert "systemd is running" in str(e.value) and e.value.hint


def test_expand_slice():
    assert expand_slice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice"


# ---------------------------------------------------------------- v1

def test_v1_setup_writes_every_controller(fake):
    t = fake(mode="v1")
    cg = t.cgroup("c1", "/runcpy-test/c1")
    cg.setup({"memory": {"limit": 64 * MB, "swap": 96 * MB, "swappiness": 5},
              "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "1", "mems": "0"},
              "pids": {"limit": 20}, "blockIO": {"weight": 300},
              "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
              "network": {"classID": 0x100001}})
    leaf = "runcpy-test/c1"
    assert t.read("memory", leaf, "memory.limit_in_bytes") == str(64 * MB)
    assert t.read("memory", leaf, "memory.memsw.limit_in_bytes") == str(96 * MB)
    assert t.read("memory", leaf, "memory.swappiness") == "5"
    assert t.read("cpu", leaf, "cpu.shares") == "512"
    assert t.read("cpu", leaf, "cpu.cfs_quota_us") == "50000"
    assert t.read("cpuset", leaf, "cpuset.cpus") == "1"
    assert t.read("pids", leaf, "pids.max") == "20"
    assert t.read("blkio", leaf, "blkio.bfq.weight") == "300"      # the BFQ fallback
    assert t.read("hugetlb", leaf, "hugetlb.2MB.limit_in_bytes") == "0"
    assert t.read("net_cls", leaf, "net_cls.classid") == str(0x100001)
    # new v1 cpusets inherit their parent's cpus and mems before anything joins
    assert t.read("cpuset", "runcpy-test", "cpuset.cpus") == "0-3"
    assert t.read("cpuset", "runcpy-test", "cpuset.mems") == "0"
    assert f"{t.root}/memory/runcpy-test" in cg.created


def test_v1_devices_are_written_in_order(fake):
    t = fake(mode="v1")
    cg = t.cgroup()
    cg.setup({"devices": [{"allow": False, "access": "rwm"},
                          {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"},
                          {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}]})
    devs = [(p.rsplit("/", 1)[1], v) for p, v in t.log if "/devices." in p]
    assert devs == [("devices.deny", "a"), ("devices.allow", "c 1:3 rw"),
                    ("devices.deny", "c 1:3 w")]


def test_v1_memory_limit_raised_above_memsw_writes_memsw_first(fake, monkeypatch):
    t = fake(mode="v1")
    cg = t.cgroup()
    cg.setup({"memory": {"limit": 10 * MB, "swap": 20 * MB}})
    real = fs.write

    def kernel_like(path, value, field=None):
        # the v1 kernel refuses memory.limit > memory.memsw.limit
        if path.endswith("memory.limit_in_bytes"):
            memsw = open(os.path.join(os.path.dirname(path), "memory.memsw.limit_in_bytes")).read()
            if int(value) > int(memsw):
                raise CgroupError(field, "EINVAL", file=path, value=value, errno=errno.EINVAL)
        real(path, value, field)
    monkeypatch.setattr(fs, "write", kernel_like)
    cg.update({"memory": {"limit": 40 * MB, "swap": 80 * MB}})
    leaf = cg.paths["memory"]
    assert open(f"{leaf}/memory.limit_in_bytes").read() == str(40 * MB)
    assert open(f"{leaf}/memory.memsw.limit_in_bytes").read() == str(80 * MB)


def test_missing_file_names_field_file_and_leaves_nothing(fake):
    t = fake(mode="v1")
    before = t.dirs()
    cg = t.cgroup("c1", "/runcpy-test/c1")
    with pytest.raises(CgroupError) as e:
        cg.setup({"pids": {"limit": 5}, "blockIO": {"leafWeight": 100}})
    assert e.value.field == "linux.resources.blockIO.leafWeight"
    assert e.value.file.endswith("/blkio/runcpy-test/c1/blkio.leaf_weight")
    assert e.value.errno == errno.ENOENT and "blkio.leaf_weight" in str(e.value)
    assert t.dirs() == before


def test_validate_probes_root_files_before_creating(fake):
    t = fake(mode="v1", root_missing=("memory.memsw.limit_in_bytes",))
    before = t.dirs()
    cg = t.cgroup()
    with pytest.raises(CgroupError) as e:
        cg.setup({"memory": {"limit": MB, "swap": 2 * MB}})
    assert e.value.field == "linux.resources.memory.swap" and "swapaccount" in str(e.value)
    assert t.dirs() == before
    cg.validate({"memory": {"limit": MB, "swap": -1}})      # unlimited needs no accounting


def test_controller_not_mounted_is_named(fake):
    t = fake(mode="v1", v1=["cpu", "memory", "pids"])
    with pytest.raises(CgroupError) as e:
        t.cgroup().validate({"network": {"classID": 1}})
    assert e.value.field == "linux.resources.network.classID"
    assert "net_cls controller" in str(e.value)
    with pytest.raises(CgroupError) as e:
        t.cgroup().validate({"devices": [{"allow": False}]})
    assert e.value.field == "linux.resources.devices"
    with pytest.raises(CgroupError) as e:
        t.cgroup().validate({"unified": {"memory.high": "1"}})
    assert "cgroup v2" in str(e.value)


@pytest.mark.parametrize("res,field", [
    ({"memory": {"limit": -5}}, "linux.resources.memory.limit"),
    ({"pids": {"limit": 1 << 40}}, "linux.resources.pids.limit"),
    ({"devices": [{"allow": False, "type": "z"}]}, "linux.resources.devices[0].type"),
])
def test_bad_input_leaves_no_cgroup(fake, res, field):
    t = fake(mode="v1")
    before = t.dirs()
    with pytest.raises(CgroupError) as e:
        t.cgroup().setup(res)
    assert e.value.field == field
    assert t.dirs() == before


def test_v1_freeze_thaw_and_counters(fake):
    t = fake(mode="v1")
    cg = t.cgroup()
    cg.setup({})
    cg.freeze()
    assert cg.freezer_state() == "FROZEN"
    cg.thaw()
    assert cg.freezer_state() == "THAWED"
    with open(os.path.join(cg.paths["memory"], "memory.oom_control"), "w") as f:
        f.write("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert cg.oom_kill_count() == 2
    st = cg.stats()
    assert st["memory"]["usage"]["usage"] == 4096 and st["memory"]["cache"] == 200
    assert st["memory"]["oom_kill"] == 2
    assert st["cpu"]["usage"]["percpu"] == [3000, 2000]
    assert st["cpu"]["throttling"] == {"periods": 7, "throttledPeriods": 2, "throttledTime": 900}
    assert st["pids"] == {"current": 1, "limit": 0}
    assert st["blkio"]["ioServiceBytesRecursive"][0] == {"major": 8, "minor": 0, "op": "Read",
                                                         "value": 512}
    assert "2MB" in st["hugetlb"]


def test_pids_are_read_recursively(fake):
    t = fake(mode="v1")
    cg = t.cgroup()
    cg.setup({})
    with open(os.path.join(cg.paths["pids"], "cgroup.procs"), "w") as f:
        f.write("10\n11\n")
    t.mkdir(os.path.join(cg.paths["memory"], "nested"))
    with open(os.path.join(cg.paths["memory"], "nested", "cgroup.procs"), "w") as f:
        f.write("12\n")
    assert cg.pids() == [10, 11, 12]


def test_create_refuses_a_cgroup_that_has_processes(fake):
    t = fake(mode="v1")
    first = t.cgroup("c1", "/shared")
    first.setup({})
    with open(os.path.join(first.paths["memory"], "cgroup.procs"), "w") as f:
        f.write(f"{os.getpid()}\n")
    with pytest.raises(CgroupError) as e:
        t.cgroup("c2", "/shared").create()
    assert e.value.field == "linux.cgroupsPath" and "has processes" in str(e.value)


def test_destroy_removes_nested_cgroups_and_created_parents_only(fake):
    t = fake(mode="v1", v1=["memory", "pids"])
    os.makedirs(f"{t.root}/memory/existing")
    before = t.dirs()
    cg = t.cgroup("c1", "/existing/runcpy-test/c1")
    cg.setup({"pids": {"limit": 3}})
    t.mkdir(os.path.join(cg.paths["pids"], "inner"))
    t.mkdir(os.path.join(cg.paths["pids"], "inner", "deeper"))
    saved = cg.to_dict()
    again = Cgroup.from_dict(saved)          # as `delete` would, from state.json
    assert again.paths == cg.paths
    again.destroy()
    assert t.dirs() == before                # existing/ stays; what we made is gone
    again.destroy()                          # idempotent


def test_parent_shared_with_another_container_survives(fake):
    t = fake(mode="v1", v1=["pids"])
    a, b = t.cgroup("a"), t.cgroup("b")
    a.setup({})
    b.setup({})
    a.destroy()
    assert os.path.isdir(f"{t.root}/pids/runc-py/b")
    b.destroy()
    assert not os.path.exists(f"{t.root}/pids/runc-py/a")


def test_update_check_before_update(fake):
    t = fake(mode="v1")
    cg = t.cgroup()
    cg.setup({})
    with open(os.path.join(cg.paths["memory"], "memory.usage_in_bytes"), "w") as f:
        f.write(str(100 * MB))
    with pytest.raises(CgroupError) as e:
        cg.update({"memory": {"limit": 50 * MB, "checkBeforeUpdate": True}})
    assert e.value.field == "linux.resources.memory.limit" and "current usage" in str(e.value)
    cg.update({"memory": {"limit": 200 * MB, "checkBeforeUpdate": True}})
    assert t.read("memory", "runc-py/c1", "memory.limit_in_bytes") == str(200 * MB)


# ---------------------------------------------------------------- v2

def test_v2_setup_enables_controllers_and_writes(fake):
    t = fake(mode="v2")
    cg = t.cgroup("c1", "/runcpy-test/c1")
    assert cg.layout.mode == "v2" and list(cg.paths) == ["unified"]
    cg.setup({"memory": {"limit": 64 * MB, "swap": 96 * MB, "reservation": MB},
              "cpu": {"shares": 1024, "quota": 20000, "cpus": "0-1"},
              "pids": {"limit": 10}, "blockIO": {"weight": 1000, "throttleReadBpsDevice": [
                  {"major": 8, "minor": 0, "rate": 4096}]},
              "hugepageLimits": [{"pageSize": "2MB", "limit": 2 * MB}],
              "rdma": {"mlx5_1": {"hcaHandles": 2}},
              "unified": {"memory.high": "50000000", "cgroup.max.depth": "2"}})
    for d in ("", "runcpy-test"):
        enabled = t.read(d, "cgroup.subtree_control").split()
        for c in ("cpu", "memory", "pids", "io", "cpuset", "hugetlb", "rdma"):
            assert c in enabled, (d, c)
    leaf = "runcpy-test/c1"
    assert t.read(leaf, "memory.max") == str(64 * MB)
    assert t.read(leaf, "memory.swap.max") == str(32 * MB)
    assert t.read(leaf, "memory.low") == str(MB)
    assert t.read(leaf, "memory.high") == "50000000"           # unified wins, written last
    assert t.read(leaf, "cpu.weight") == "39"
    assert t.read(leaf, "cpu.max") == "20000 100000"
    assert t.read(leaf, "cpuset.cpus") == "0-1"
    assert t.read(leaf, "pids.max") == "10"
    assert t.read(leaf, "io.weight") == "default 10000"        # no BFQ: converted io.weight
    assert t.read(leaf, "io.max") == "8:0 rbps=4096"
    assert t.read(leaf, "hugetlb.2MB.max") == str(2 * MB)
    assert t.read(leaf, "hugetlb.2MB.rsvd.max") == str(2 * MB)
    assert t.read(leaf, "rdma.max") == "mlx5_1 hca_handle=2"
    assert t.read(leaf, "cgroup.max.depth") == "2"


def test_v2_missing_controller_is_named_and_nothing_created(fake):
    t = fake(mode="v2", v2_controllers=["cpu", "pids"])
    before = t.dirs()
    for res, field, ctrl in [
        ({"memory": {"limit": MB}}, "linux.resources.memory.limit", "memory"),
        ({"unified": {"io.max": "8:0 rbps=1"}}, 'linux.resources.unified["io.max"]', "io"),
        ({"memory": {"swappiness": 1}}, "linux.resources.memory.swappiness", None),
        ({"network": {"classID": 7}}, "linux.resources.network.classID", None),
    ]:
        with pytest.raises(CgroupError) as e:
            t.cgroup().setup(res)
        assert e.value.field == field
        if ctrl:
            assert f"{ctrl} controller" in str(e.value)
        assert t.dirs() == before


def test_v2_freeze_oom_and_stats(fake):
    t = fake(mode="v2")
    cg = t.cgroup()
    cg.setup({"memory": {"limit": MB}})
    cg.freeze()
    assert cg.freezer_state() == "FROZEN"
    assert t.read("runc-py/c1", "cgroup.freeze") == "1"
    cg.thaw()
    assert cg.freezer_state() == "THAWED"
    assert cg.oom_kill_count() == 1
    st = cg.stats()
    assert st["memory"]["usage"]["limit"] == MB and st["memory"]["oom_kill"] == 1
    assert st["cpu"]["usage"]["total"] == 10000
    assert st["blkio"]["ioServiceBytesRecursive"][1] == {"major": 8, "minor": 0, "op": "Write",
                                                         "value": 20}
    cg.destroy()
    assert not os.path.exists(f"{t.root}/runc-py")


# ---------------------------------------------------------------- hybrid

def test_hybrid_routes_each_controller_to_its_hierarchy(fake):
    t = fake(mode="hybrid", v1=["cpu", "memory", "devices", "freezer", "pids"],
             v2_controllers=["hugetlb"])
    cg = t.cgroup()
    assert cg.layout.mode == "hybrid" and "unified" in cg.paths
    cg.setup({"memory": {"limit": MB}, "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
              "unified": {"hugetlb.2MB.max": "4194304"}})
    assert t.read("memory", "runc-py/c1", "memory.limit_in_bytes") == str(MB)
    assert t.read("unified", "runc-py/c1", "hugetlb.2MB.max") == "4194304"
    assert t.read("unified", "cgroup.subtree_control").split() == ["hugetlb"]
    with pytest.raises(CgroupError) as e:
        cg.validate({"unified": {"memory.high": "1"}})
    assert "memory controller is not available in the cgroup v2 hierarchy" in str(e.value)
    with pytest.raises(CgroupError) as e:
        cg.validate({"blockIO": {"weight": 100}})
    assert "blkio controller" in str(e.value) and "v2: hugetlb" in str(e.value)
    cg.destroy()
    assert t.dirs() == sorted(["."] + [d for d in ("cpu", "memory", "devices", "freezer", "pids",
                                                   "unified")])
