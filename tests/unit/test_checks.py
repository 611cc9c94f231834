"""Cross-field checks of config.json (runc_py.spec.checks): each rule the
schema cannot express is reported at the path of the field to fix; good
configs pass; malformed input never makes the checks crash."""
import copy
import json
import os
import subprocess
import sys

import pytest

from runc_py.spec.checks import CAPABILITIES, RLIMITS, check, warnings
from runc_py.spec.default import default_spec
from runc_py.spec.schema import Problem

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def load(name):
    with open(os.path.join(HERE, "configs", name)) as f:
        return json.load(f)


def paths(problems):
    return [p.path for p in problems]


def without_ns(doc, kind):
    doc["linux"]["namespaces"] = [n for n in doc["linux"]["namespaces"] if n["type"] != kind]


# --- good configs -----------------------------------------------------------------

@pytest.mark.parametrize("doc", [
    default_spec(), default_spec(rootless=True), load("full.json"), load("runc-1.1.5-spec.json"),
], ids=["default", "rootless", "full", "runc-spec"])
def test_good_configs_have_no_errors(doc):
    assert check(doc) == []


@pytest.mark.requires("runc")
def test_config_written_by_runc_spec_has_no_errors(tmp_path):
    subprocess.run(["runc", "spec"], cwd=tmp_path, check=True, capture_output=True)
    with open(tmp_path / "config.json") as f:
        assert check(json.load(f)) == []


def test_tables_match_the_kernel():
    assert CAPABILITIES["CAP_CHOWN"] == 0
    assert CAPABILITIES["CAP_SYS_ADMIN"] == 21
    assert CAPABILITIES["CAP_CHECKPOINT_RESTORE"] == 40
    assert len(CAPABILITIES) == 41
    assert RLIMITS["RLIMIT_NOFILE"] == 7 and RLIMITS["RLIMIT_RTTIME"] == 15


# --- each rule, with the exact path ---------------------------------------------

def _hostname_no_uts(d):
    without_ns(d, "uts")


def _domainname_no_uts(d):
    without_ns(d, "uts")
    d["hostname"] = ""
    d["domainname"] = "example.test"


def _mappings_no_userns(d):
    d["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]


def _userns_no_gid_mappings(d):
    d["linux"]["namespaces"].append({"type": "user"})
    d["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000, "size": 1}]


def _rlimit_dup(d):
    d["process"]["rlimits"].append({"type": "RLIMIT_CORE", "soft": 0, "hard": 0})
    d["process"]["rlimits"].append({"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1})


def _seccomp(extra=None, rules=None, default="SCMP_ACT_ALLOW"):
    def fn(d):
        d["linux"]["seccomp"] = dict({"defaultAction": default, "syscalls": rules or []},
                                     **(extra or {}))
    return fn


def _set(path, value):
    def fn(d):
        obj = d
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value
    return fn


def _chain(*fns):
    def fn(d):
        for f in fns:
            f(d)
    return fn


CASES = [
    # ociVersion / root / process
    (_set(["ociVersion"], "2.0.0"), ["ociVersion"], "not supported"),
    (_set(["ociVersion"], "v1"), ["ociVersion"], "SemVer"),
    (lambda d: d.pop("root"), ["root"], "required on Linux"),
    (_set(["root"], {"path": ""}), ["root.path"], "is required"),
    (_set(["process", "args"], []), ["process.args"], "at least one entry"),
    (lambda d: d["process"].pop("args"), ["process.args"], "at least one entry"),
    (_set(["process", "args"], ["", "x"]), ["process.args[0]"], "must not be empty"),
    (_set(["process", "cwd"], "tmp"), ["process.cwd"], "absolute path"),
    (lambda d: d["process"].pop("cwd"), ["process.cwd"], "is required"),
    (_set(["process", "env"], ["A=1", "=2", "B"]), ["process.env[1]", "process.env[2]"],
     "KEY=value"),
    (_set(["process", "rlimits", 0, "type"], "RLIMIT_FILES"), ["process.rlimits[0].type"],
     "unknown resource limit 'RLIMIT_FILES'"),
    (_rlimit_dup, ["process.rlimits[2].type"], "duplicates process.rlimits[0].type"),
    (_set(["process", "rlimits", 0, "soft"], 4096), ["process.rlimits[0].soft"],
     "must not exceed hard (4096 > 1024)"),
    (_set(["process", "oomScoreAdj"], 1001), ["process.oomScoreAdj"], "-1000 to 1000"),
    (_set(["process", "ioPriority"], {"class": "IOPRIO_CLASS_BE", "priority": 8}),
     ["process.ioPriority.priority"], "0 to 7"),
    (_set(["process", "scheduler"], {"policy": "SCHED_FIFO"}), ["process.scheduler.priority"],
     "1 to 99 for SCHED_FIFO"),
    (_set(["process", "scheduler"], {"policy": "SCHED_OTHER", "priority": 5}),
     ["process.scheduler.priority"], "must be 0 for SCHED_OTHER"),
    (_set(["process", "scheduler"], {"policy": "SCHED_BATCH", "nice": 20}),
     ["process.scheduler.nice"], "-20 to 19"),
    (_set(["process", "scheduler"], {"policy": "SCHED_DEADLINE", "runtime": 10, "deadline": 5}),
     ["process.scheduler.runtime"], "must not exceed deadline"),
    (_set(["process", "execCPUAffinity"], {"initial": "3-1"}), ["process.execCPUAffinity.initial"],
     "CPU list"),
    # UTS
    (_hostname_no_uts, ["hostname"], "needs a UTS namespace"),
    (_domainname_no_uts, ["domainname"], "needs a UTS namespace"),
    (_set(["hostname"], "h" * 65), ["hostname"], "at most 64 bytes"),
    # mounts
    (_set(["mounts", 0, "destination"], ""), ["mounts[0].destination"], "must not be empty"),
    (_set(["mounts", 1], {"destination": "/mnt", "type": "none", "options": ["rbind"]}),
     ["mounts[1].source"], "required for a bind mount"),
    (_set(["mounts", 1], {"destination": "/mnt", "source": "/x", "options": ["bind", "idmap"]}),
     ["mounts[1].options[1]"], "idmap needs uidMappings/gidMappings"),
    (_set(["mounts", 1], {"destination": "/mnt", "source": "/x", "options": ["bind", "idmap"],
                          "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}),
     ["mounts[1].gidMappings"], "is required when uidMappings is set"),
    # hooks
    (_set(["hooks"], {"poststop": [{"path": "/ok"}, {"path": "cleanup.sh"}]}),
     ["hooks.poststop[1].path"], "absolute path"),
    (_set(["hooks"], {"createRuntime": [{"path": "/x", "timeout": -1}]}),
     ["hooks.createRuntime[0].timeout"], "greater than zero"),
    (_set(["hooks"], {"createContainer": [{"path": "/x", "env": ["NOPE"]}]}),
     ["hooks.createContainer[0].env[0]"], "KEY=value"),
    # namespaces and id mappings
    (lambda d: d["linux"]["namespaces"].append({"type": "pid"}), ["linux.namespaces[5].type"],
     "duplicates linux.namespaces[0] (pid)"),
    (lambda d: d["linux"]["namespaces"].append({"type": "net"}), ["linux.namespaces[5].type"],
     "unknown namespace type 'net'"),
    (_set(["linux", "namespaces", 1], {"type": "network", "path": "var/run/netns/x"}),
     ["linux.namespaces[1].path"], "absolute path"),
    (_mappings_no_userns, ["linux.uidMappings"], "needs a user namespace"),
    (lambda d: d["linux"]["namespaces"].append({"type": "user"}),
     ["linux.uidMappings", "linux.gidMappings"], "new user namespace"),
    (_userns_no_gid_mappings, ["linux.gidMappings"], "new user namespace"),
    (_chain(lambda d: d["linux"]["namespaces"].append({"type": "user"}),
            _set(["linux", "uidMappings"], [{"containerID": 0, "hostID": 1000, "size": 10},
                                            {"containerID": 5, "hostID": 5000, "size": 10}]),
            _set(["linux", "gidMappings"], [{"containerID": 0, "hostID": 1000, "size": 0}])),
     ["linux.uidMappings[1].containerID", "linux.gidMappings[0].size"], ""),
    (_chain(lambda d: d["linux"]["namespaces"].append({"type": "user"}),
            _set(["linux", "uidMappings"], [{"containerID": 0, "hostID": 4294967000,
                                             "size": 1000}]),
            _set(["linux", "gidMappings"], [{"containerID": 0, "hostID": 0, "size": 1}])),
     ["linux.uidMappings[0].size"], "runs past 4294967295"),
    # time namespace
    (_set(["linux", "timeOffsets"], {"monotonic": {"secs": 10}}), ["linux.timeOffsets"],
     "needs a time namespace"),
    (_chain(lambda d: d["linux"]["namespaces"].append({"type": "time", "path": "/proc/1/ns/time"}),
            _set(["linux", "timeOffsets"], {"boottime": {"secs": 1}})),
     ["linux.timeOffsets"], "joining an existing time namespace"),
    (_chain(lambda d: d["linux"]["namespaces"].append({"type": "time"}),
            _set(["linux", "timeOffsets"], {"realtime": {"secs": 1},
                                            "boottime": {"nanosecs": 1_000_000_000}})),
     ["linux.timeOffsets.realtime", "linux.timeOffsets.boottime.nanosecs"], ""),
    # devices
    (_set(["linux", "devices"], [{"type": "c", "path": "/dev/fuse", "major": 10}]),
     ["linux.devices[0].minor"], "required for a device of type 'c'"),
    (_set(["linux", "devices"], [{"type": "p", "path": "/dev/fifo"}, {"type": "s", "path": "/y"}]),
     ["linux.devices[1].type"], "c, b, u, p"),
    (_set(["linux", "devices"], [{"type": "p", "path": "dev/fifo"}]), ["linux.devices[0].path"],
     "absolute path"),
    (_set(["linux", "devices"], [{"type": "p", "path": "/a"}, {"type": "p", "path": "/a"}]),
     ["linux.devices[1].path"], "duplicates linux.devices[0].path"),
    # net devices
    (_chain(lambda d: without_ns(d, "network"), _set(["linux", "netDevices"], {"eth0": {}})),
     ["linux.netDevices"], "needs a network namespace"),
    (_set(["linux", "netDevices"], {"eth0": {"name": "a-very-long-interface-name"}}),
     ["linux.netDevices.eth0.name"], "not a valid interface name"),
    # sysctl
    (_chain(lambda d: without_ns(d, "network"), _set(["linux", "sysctl"],
                                                     {"net.ipv4.ip_forward": "1"})),
     ['linux.sysctl["net.ipv4.ip_forward"]'], "needs a network namespace"),
    (_chain(lambda d: without_ns(d, "ipc"), _set(["linux", "sysctl"], {"kernel.shmmax": "1"})),
     ['linux.sysctl["kernel.shmmax"]'], "needs a ipc namespace"),
    (_set(["linux", "sysctl"], {"vm.swappiness": "10"}), ['linux.sysctl["vm.swappiness"]'],
     "not namespaced"),
    (_set(["linux", "sysctl"], {"net..ipv4": "1"}), ['linux.sysctl["net..ipv4"]'],
     "not a valid sysctl name"),
    (_set(["linux", "sysctl"], {"net/../../etc": "1"}), ['linux.sysctl["net/../../etc"]'],
     "not a valid sysctl name"),
    # cgroups
    (_set(["linux", "cgroupsPath"], "/a/../../escape"), ["linux.cgroupsPath"],
     "must not climb out"),
    (_set(["linux", "cgroupsPath"], "../sibling"), ["linux.cgroupsPath"], "must not climb out"),
    (_set(["linux", "resources", "devices", 0, "access"], "rwx"),
     ["linux.resources.devices[0].access"], "r, w and m"),
    (_set(["linux", "resources", "devices", 0, "type"], "p"), ["linux.resources.devices[0].type"],
     "a, c, b"),
    (_set(["linux", "resources", "memory"], {"limit": 200, "swap": 100}),
     ["linux.resources.memory.swap"], ">= memory.limit"),
    (_set(["linux", "resources", "memory"], {"limit": -2}), ["linux.resources.memory.limit"],
     "-1 (unlimited)"),
    (_set(["linux", "resources", "cpu"], {"quota": 50000, "burst": 60000}),
     ["linux.resources.cpu.burst"], "must not be larger than quota"),
    (_set(["linux", "resources", "cpu"], {"period": 100}), ["linux.resources.cpu.period"],
     "1000 to 1000000"),
    (_set(["linux", "resources", "cpu"], {"mems": "0,,1"}), ["linux.resources.cpu.mems"],
     "0-3,7"),
    (_set(["linux", "resources", "pids"], {"limit": -5}), ["linux.resources.pids.limit"],
     "-1 (no limit)"),
    (_set(["linux", "resources", "hugepageLimits"], [{"pageSize": "2MB", "limit": 1},
                                                     {"pageSize": "2MB", "limit": 2}]),
     ["linux.resources.hugepageLimits[1].pageSize"], "duplicates"),
    (_set(["linux", "resources", "blockIO"], {"weightDevice": [{"major": 8, "minor": 0}]}),
     ["linux.resources.blockIO.weightDevice[0]"], "at least one of weight, leafWeight"),
    (_set(["linux", "resources", "rdma"], {"mlx4_0": {}}), ["linux.resources.rdma.mlx4_0"],
     "hcaHandles, hcaObjects"),
    (_set(["linux", "resources", "unified"], {"../../cgroup.procs": "1"}),
     ['linux.resources.unified["../../cgroup.procs"]'], "without '/'"),
    (_set(["linux", "resources", "unified"], {"max": "1"}), ["linux.resources.unified.max"],
     "CONTROLLER.PARAMETER"),
    # intelRdt, memoryPolicy
    (_set(["linux", "intelRdt"], {"closID": "../x"}), ["linux.intelRdt.closID"], "without '/'"),
    (_set(["linux", "intelRdt"], {"memBwSchema": "MB:0=20\nL3:0=1"}),
     ["linux.intelRdt.memBwSchema"], "single line starting with MB:"),
    (_set(["linux", "intelRdt"], {"schemata": ["L3:0=1\nMB:0=1"]}), ["linux.intelRdt.schemata[0]"],
     "newline"),
    (_set(["linux", "memoryPolicy"], {"mode": "MPOL_BIND"}), ["linux.memoryPolicy.nodes"],
     "at least one node"),
    (_set(["linux", "memoryPolicy"], {"mode": "MPOL_LOCAL", "nodes": "0"}),
     ["linux.memoryPolicy.nodes"], "must be empty"),
    (_set(["linux", "memoryPolicy"], {"mode": "MPOL_BIND", "nodes": "0",
                                      "flags": ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"]}),
     ["linux.memoryPolicy.flags"], "cannot have both"),
    # seccomp
    (_seccomp(rules=[{"names": ["getcwd", "Open"], "action": "SCMP_ACT_ERRNO"}]),
     ["linux.seccomp.syscalls[0].names[1]"], "not a syscall name"),
    (_seccomp(rules=[{"names": [], "action": "SCMP_ACT_ERRNO"}]),
     ["linux.seccomp.syscalls[0].names"], "at least one syscall"),
    (_seccomp(rules=[{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]),
     ["linux.seccomp.syscalls[0].errnoRet"], "only allowed with SCMP_ACT_ERRNO"),
    (_seccomp({"defaultErrnoRet": 1}), ["linux.seccomp.defaultErrnoRet"],
     "only allowed with SCMP_ACT_ERRNO"),
    (_seccomp(rules=[{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]),
     ["linux.seccomp.syscalls[0].args[0].index"], "0 to 5"),
    (_seccomp(rules=[{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}]),
     ["linux.seccomp.listenerPath"], "required when an action is SCMP_ACT_NOTIFY"),
    (_seccomp({"listenerPath": "/run/agent.sock"}, default="SCMP_ACT_NOTIFY"),
     ["linux.seccomp.defaultAction"], "cannot be SCMP_ACT_NOTIFY"),
    (_seccomp({"listenerMetadata": "x"}), ["linux.seccomp.listenerMetadata"],
     "without listenerPath"),
    (_seccomp({"architectures": ["SCMP_ARCH_X86_64", "x86_64"]}),
     ["linux.seccomp.architectures[1]"], "unknown architecture"),
    (_seccomp(default="SCMP_ACT_DENY"), ["linux.seccomp.defaultAction"], "must be one of"),
    # the rest of linux.*
    (_set(["linux", "rootfsPropagation"], "recursive"), ["linux.rootfsPropagation"],
     "shared, slave, private, unbindable"),
    (_set(["linux", "readonlyPaths"], ["/proc/sys", "proc/bus"]), ["linux.readonlyPaths[1]"],
     "absolute path"),
    (_set(["linux", "maskedPaths"], ["kcore"]), ["linux.maskedPaths[0]"], "absolute path"),
    (_set(["linux", "personality"], {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}),
     ["linux.personality.flags"], "no personality flags"),
]


@pytest.mark.parametrize("fn,expected,words", CASES,
                         ids=[f"{i}-{c[1][0]}" for i, c in enumerate(CASES)])
def test_rule_is_reported_at_the_field_to_fix(fn, expected, words):
    doc = default_spec()
    fn(doc)
    problems = check(doc)
    assert paths(problems) == expected, problems
    assert all(words in p.message for p in problems), problems


def test_problems_are_frozen_problem_objects():
    doc = default_spec()
    doc["process"]["cwd"] = "x"
    (problem,) = check(doc)
    assert problem == Problem("process.cwd", "must be an absolute path (got 'x')")


def test_joined_user_namespace_needs_no_mappings():
    doc = default_spec()
    doc["linux"]["namespaces"].append({"type": "user", "path": "/proc/1/ns/user"})
    assert check(doc) == []


def test_hostname_with_joined_uts_namespace_is_allowed():
    doc = default_spec()
    doc["linux"]["namespaces"][3] = {"type": "uts", "path": "/proc/1/ns/uts"}
    assert check(doc) == []


def test_relative_cgroups_path_that_stays_inside_is_fine():
    doc = default_spec()
    doc["linux"]["cgroupsPath"] = "runc-py/a/../b"
    assert check(doc) == []


def test_process_is_optional_until_start():
    doc = default_spec()
    del doc["process"]
    assert check(doc) == []


# --- warnings -------------------------------------------------------------------

def test_unknown_capability_is_a_warning_not_an_error():
    doc = default_spec()
    doc["process"]["capabilities"]["bounding"].append("CAP_FLY")
    doc["process"]["capabilities"]["effective"][1] = "CAP_NOPE"
    assert check(doc) == []
    found = [w for w in warnings(doc) if "unknown" in w.message]
    assert paths(found) == ["process.capabilities.bounding[3]",
                            "process.capabilities.effective[1]"]
    assert found[0].message == "unknown capability 'CAP_FLY'; it will be ignored"


def test_ambient_capability_outside_permitted_and_inheritable_is_a_warning():
    doc = load("runc-1.1.5-spec.json")     # runc spec has ambient caps but no inheritable set
    assert paths(warnings(doc)) == [f"process.capabilities.ambient[{i}]" for i in range(3)]
    assert paths(warnings(load("full.json"))) == ["hooks.prestart"]


def test_other_warnings():
    doc = default_spec()
    doc["process"]["capabilities"]["inheritable"] = doc["process"]["capabilities"]["ambient"]
    assert warnings(doc) == []
    doc["mounts"][0]["destination"] = "proc"
    doc["mounts"].append({"destination": "/m", "source": "/x", "options": ["bind"],
                          "uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}],
                          "gidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]})
    doc["linux"]["resources"]["memory"] = {"kernel": -1}
    doc["linux"]["intelRdt"] = {"l3CacheSchema": "MB:0=1"}
    assert check(doc) == []
    assert paths(warnings(doc)) == ["mounts[0].destination", "mounts[7].options",
                                    "linux.resources.memory.kernel",
                                    "linux.intelRdt.l3CacheSchema"]


# --- robustness and the hot path ------------------------------------------------

def _every_location(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _every_location(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _every_location(value, prefix + (i,))


def test_checks_never_crash_on_wrong_types():
    base = load("full.json")
    for where in _every_location(base):
        for junk in (None, 7, "x", [], {}, [None], True):
            doc = copy.deepcopy(base)
            if not where:
                doc = junk
            else:
                obj = doc
                for part in where[:-1]:
                    obj = obj[part]
                obj[where[-1]] = junk
            assert isinstance(check(doc), list)
            assert isinstance(warnings(doc), list)


def test_not_an_object():
    assert check([]) == [Problem("$", "must be a JSON object")]
    assert warnings("x") == []


def test_checks_do_not_import_jsonschema():
    code = ("import sys; import runc_py.spec.checks as c; c.check({}); "
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"
