"""pause / resume: the container's processes stop and continue."""
import time

import pytest

from .helpers import counter, start_container, wait_counter_past

pytestmark = pytest.mark.requires("root", "busybox")


def test_pause_stops_the_loop_and_resume_continues_it(rt, bundle):
    cid, shared = start_container(rt, bundle)
    assert wait_counter_past(shared, 2)
    r = rt("pause", cid)
    assert r.rc == 0, r
    assert rt.state(cid)["status"] == "paused"
    frozen_at = counter(shared)
    time.sleep(0.4)
    assert counter(shared) == frozen_at, "the counter advanced while the container was paused"
    r = rt("resume", cid)
    assert r.rc == 0, r
    assert rt.state(cid)["status"] == "running"
    assert wait_counter_past(shared, frozen_at), "the counter did not move after resume"


def test_paused_container_can_be_force_deleted(rt, bundle):
    cid, _ = start_container(rt, bundle)
    assert rt("pause", cid).rc == 0
    r = rt.delete(cid, force=True)
    assert r.rc == 0, r
    assert rt.state(cid) is None


def test_pause_twice_and_resume_of_running_are_errors(rt, bundle):
    cid, _ = start_container(rt, bundle)
    r = rt("resume", cid)
    assert r.rc != 0 and "paused" in r.stderr, r
    assert rt("pause", cid).rc == 0
    r = rt("pause", cid)
    assert r.rc != 0, r
    assert rt("resume", cid).rc == 0


def test_pause_of_stopped_container_is_an_error(rt, bundle):
    bundle.args("true")
    cid = rt.new_id("stopped")
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    r = rt("pause", cid)
    assert r.rc != 0, r
    assert "stopped" in r.stderr or "not running" in r.stderr, r


@pytest.mark.runc_py_only("runc pauses a created container")
def test_pause_of_created_container_is_an_error(rt, bundle):
    bundle.args("true")
    cid = rt.new_id("created")
    assert rt.create(cid, bundle).rc == 0
    r = rt("pause", cid)
    assert r.rc == 1, r
    assert "container is created" in r.stderr, r
    assert rt.state(cid)["status"] == "created"
