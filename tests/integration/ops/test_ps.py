"""ps: the container's processes, as host pids (json) or host ps lines."""
import json

import pytest

from .helpers import comm, start_container

pytestmark = pytest.mark.requires("root", "busybox")

LOOP = "echo up > /shared/up; while :; do sleep 1; done"


def test_ps_json_lists_sh_and_sleep(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    r = rt("ps", "--format", "json", cid)
    assert r.rc == 0, r
    pids = json.loads(r.stdout)
    assert rt.state(cid)["pid"] in pids
    assert {"sh", "sleep"} <= {comm(p) for p in pids}, pids


def test_ps_table_keeps_header_and_only_container_lines(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    r = rt("ps", cid)
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"], lines
    body = lines[1:]
    assert any("sleep 1" in ln for ln in body), r.stdout
    assert any(ln.split()[1] == str(rt.state(cid)["pid"]) for ln in body), r.stdout
    assert len(body) <= 3, f"lines from outside the container: {r.stdout}"


def test_ps_passes_extra_arguments_to_host_ps(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    for argv in (("ps", cid, "-o", "pid,comm"), ("ps", "--", cid, "-o", "pid,comm")):
        r = rt(*argv)
        assert r.rc == 0, r
        lines = r.stdout.splitlines()
        assert lines[0].split() == ["PID", "COMMAND"], lines
        assert {ln.split()[1] for ln in lines[1:]} >= {"sh", "sleep"}, r.stdout


def test_ps_of_unknown_container_is_an_error(rt):
    r = rt("ps", "rpyconf-no-such-container")
    assert r.rc == 1, r
    assert "does not exist" in r.stderr, r
    if rt.label == "runc-py":       # runc-py also names the id
        assert "rpyconf-no-such-container" in r.stderr, r
