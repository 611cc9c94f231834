"""events: one stats event with --stats; a stream with OOM events."""
import json
import os
import signal
import subprocess
import time

import pytest

from .helpers import start_container

pytestmark = pytest.mark.requires("root", "busybox")

LOOP = "echo up > /shared/up; while :; do sleep 1; done"
# dd reads 64 MiB of zeros into one buffer: over a 16 MiB limit, the kernel
# OOM-kills it; the shell survives and keeps the container running.  dd runs
# with oom_score_adj 1000 inside a subshell at 500, so that a second OOM while
# dd's memory is being freed takes the subshell, never the shell (pid 1).
OOM = ("echo up > /shared/up; while [ ! -e /shared/go ]; do sleep 0.05; done; "
       "(echo 500 > /proc/self/oom_score_adj && (echo 1000 > /proc/self/oom_score_adj && "
       "exec dd if=/dev/zero of=/dev/null bs=64M count=1)); echo $? > /shared/dd; "
       "while :; do sleep 1; done")


def test_events_stats_reports_memory_and_pids(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    r = rt("events", "--stats", cid)
    assert r.rc == 0, r
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, r.stdout
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    assert data["memory"]["usage"]["usage"] > 0, data["memory"]
    assert data["pids"]["current"] >= 2, data["pids"]
    assert data["cpu"]["usage"]["total"] > 0, data["cpu"]


def _stream(rt, cid, out_path, interval="1s"):
    out = open(out_path, "wb")
    p = subprocess.Popen([rt.cmd, "--root", rt.root, "events", "--interval", interval, cid],
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    out.close()
    return p


def _events(path):
    with open(path) as f:
        return [json.loads(ln) for ln in f if ln.strip().startswith("{")]


def _stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()


@pytest.mark.requires("cgroup_v1")
def test_events_stream_reports_oom(rt, bundle, ops_workdir):
    bundle.config["linux"].setdefault("resources", {})["memory"] = {
        "limit": 16 << 20, "swap": 16 << 20}
    bundle.save()
    cid, shared = start_container(rt, bundle, OOM)
    out = os.path.join(ops_workdir, "events.out")
    p = _stream(rt, cid, out)
    try:
        deadline = time.monotonic() + 5
        while not any(e["type"] == "stats" for e in _events(out)):
            assert time.monotonic() < deadline, open(out).read()
            time.sleep(0.05)
        open(os.path.join(shared, "go"), "w").close()
        deadline = time.monotonic() + 10
        while not any(e["type"] == "oom" for e in _events(out)):
            assert time.monotonic() < deadline, f"no oom event: {open(out).read()[-2000:]}"
            time.sleep(0.05)
        oom = [e for e in _events(out) if e["type"] == "oom"][0]
        assert oom["id"] == cid
        assert rt.state(cid)["status"] == "running"
    finally:
        _stop(p)


@pytest.mark.runc_py_only("runc's events keeps waiting after the container stops")
def test_events_stream_ends_when_container_stops(rt, bundle, ops_workdir):
    cid, _ = start_container(rt, bundle, LOOP)
    out = os.path.join(ops_workdir, "events.out")
    p = _stream(rt, cid, out, "200ms")
    try:
        time.sleep(0.5)
        assert p.poll() is None, open(out).read()
        assert rt.kill(cid, "KILL").rc == 0
        assert p.wait(timeout=5) == 0
        assert [e["type"] for e in _events(out)][:1] == ["stats"]
    finally:
        _stop(p)


def test_events_with_bad_interval_is_an_error(rt, bundle):
    cid, _ = start_container(rt, bundle, LOOP)
    r = rt("events", "--interval", "soon", cid)
    assert r.rc != 0, r
    assert "soon" in r.stderr or "duration" in r.stderr, r
