"""Container state files and status derivation (no root)."""
import json
import os
import subprocess

import pytest

from runc_py import state as S
from runc_py.errors import NotFoundError, StateError, UsageError


@pytest.mark.parametrize("cid", ["a", "abc-1.2_x+y", "A" * 100])
def test_good_ids(cid):
    S.validate_id(cid)


@pytest.mark.parametrize("cid", ["", ".", "..", ".hidden", "a/b", "a b", "x;rm", "caf\u00e9", "a\nb"])
def test_bad_ids(cid):
    with pytest.raises(UsageError):
        S.validate_id(cid)


def make(root, cid, **data):
    c = S.Container(str(root), cid)
    os.makedirs(c.dir)
    c.data = {"ociVersion": "1.2.0", "id": cid, "status": "created", "pid": 0,
              "bundle": "/b", "_runtime": {}}
    c.data.update(data)
    c.save()
    return c


def test_dead_pid_is_stopped(tmp_path):
    p = subprocess.Popen(["true"])
    p.wait()
    c = make(tmp_path, "c1", pid=p.pid)
    assert S.Container(str(tmp_path), "c1").load().status() == "stopped"


def test_live_pid_with_fifo_is_created_then_running(tmp_path):
    p = subprocess.Popen(["sleep", "30"])
    try:
        st = S.proc_stat(p.pid)
        c = make(tmp_path, "c2", pid=p.pid, _runtime={"pid_start": st[1]})
        os.mkfifo(c.fifo_path)
        assert c.load().status() == "created"
        os.unlink(c.fifo_path)
        assert c.load().status() == "running"
        state = c.oci_state()
        assert state["pid"] == p.pid and state["status"] == "running"
    finally:
        p.kill()
        p.wait()


def test_reused_pid_is_not_the_container(tmp_path):
    """Same pid, other start time: the container is stopped, not running."""
    p = subprocess.Popen(["sleep", "30"])
    try:
        st = S.proc_stat(p.pid)
        c = make(tmp_path, "c3", pid=p.pid, _runtime={"pid_start": st[1] + 12345})
        assert c.load().status() == "stopped"
        assert c.oci_state()["pid"] == 0
    finally:
        p.kill()
        p.wait()


def test_zombie_is_stopped(tmp_path):
    p = subprocess.Popen(["true"])
    import time
    for _ in range(100):
        if S.proc_stat(p.pid) and S.proc_stat(p.pid)[0] == "Z":
            break
        time.sleep(0.01)
    c = make(tmp_path, "c4", pid=p.pid)
    assert c.load().status() == "stopped"
    p.wait()


def test_require_names_state(tmp_path):
    c = make(tmp_path, "c5", pid=0)
    c.load()
    with pytest.raises(StateError, match="cannot start container 'c5': container is stopped"):
        c.require("start", "created")


def test_unknown_container(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        S.Container(str(tmp_path), "nope").load()


def test_interrupted_create_is_stopped(tmp_path):
    os.makedirs(tmp_path / "half")
    c = S.Container(str(tmp_path), "half").load()
    assert c.status() == "stopped"


def test_list_skips_junk(tmp_path):
    make(tmp_path, "a")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "file").write_text("x")
    assert [c.id for c in S.list_containers(str(tmp_path))] == ["a"]


def test_save_is_atomic_json(tmp_path):
    c = make(tmp_path, "c6")
    with open(os.path.join(c.dir, "state.json")) as f:
        assert json.load(f)["id"] == "c6"
    assert not [n for n in os.listdir(c.dir) if n.startswith(".")]
