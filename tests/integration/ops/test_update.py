"""update: new limits land in the container's cgroup, seen from the host."""
import json
import os

import pytest

from .helpers import host_cgroup_dir, read_file, start_container

pytestmark = pytest.mark.requires("root", "busybox")

LOOP = "echo up > /shared/up; while :; do sleep 1; done"


@pytest.mark.requires("cgroup_v1")
def test_update_memory_changes_the_cgroup_limit(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    mem = host_cgroup_dir(rt.state(cid)["pid"], "memory")
    r = rt("update", "--memory", "64m", cid)
    assert r.rc == 0, r
    assert read_file(os.path.join(mem, "memory.limit_in_bytes")) == str(64 << 20)
    r = rt("update", "--memory", str(48 << 20), cid)
    assert r.rc == 0, r
    assert read_file(os.path.join(mem, "memory.limit_in_bytes")) == str(48 << 20)


def test_update_from_resources_json_on_stdin_and_file(rt, bundle, ops_workdir):
    cid, _ = start_container(rt, bundle, LOOP)
    pids = host_cgroup_dir(rt.state(cid)["pid"], "pids")
    path = os.path.join(ops_workdir, "res.json")
    with open(path, "w") as f:
        json.dump({"pids": {"limit": 42}}, f)
    r = rt("update", "--resources", path, cid)
    assert r.rc == 0, r
    assert read_file(os.path.join(pids, "pids.max")) == "42"
    r = rt("update", "--pids-limit", "77", cid)
    assert r.rc == 0, r
    assert read_file(os.path.join(pids, "pids.max")) == "77"


@pytest.mark.runc_py_only("runc ignores unknown JSON keys")
def test_update_with_unknown_key_names_it(rt, bundle, ops_workdir):
    cid, _ = start_container(rt, bundle, LOOP)
    path = os.path.join(ops_workdir, "res.json")
    with open(path, "w") as f:
        json.dump({"memory": {"limt": 1 << 26}}, f)
    r = rt("update", "--resources", path, cid)
    assert r.rc == 1, r
    assert "memory.limt" in r.stderr, r
    with open(path, "w") as f:
        json.dump({"pids": {"limit": "lots"}}, f)
    r = rt("update", "--resources", path, cid)
    assert r.rc == 1 and "pids.limit" in r.stderr, r


def test_update_with_bad_size_is_an_error(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    r = rt("update", "--memory", "12q", cid)
    assert r.rc != 0, r
    assert "12q" in r.stderr, r


def test_update_of_stopped_container_is_an_error(rt, bundle):
    bundle.args("true")
    cid = rt.new_id("stopped")
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    r = rt("update", "--memory", "64m", cid)
    assert r.rc != 0, r
    assert "stopped" in r.stderr or "not running" in r.stderr, r
