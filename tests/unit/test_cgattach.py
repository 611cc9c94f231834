"""runc_py/cgattach.py: the light cgroup helpers create/exec/delete use
without the cgroups package (no root needed: plain directories)."""
import os

import pytest

from runc_py import cgattach
from runc_py.errors import StepError


def test_remove_dirs_removes_empty_container_dirs_and_created_parents(tmp_path):
    parent = tmp_path / "runc-py"
    dirs = [parent / "c1" / h for h in ("a", "b")]
    for d in dirs:
        d.mkdir(parents=True)
    created = [str(parent), str(parent / "c1")]
    assert cgattach.remove_dirs([str(d) for d in dirs], created) is True
    assert not parent.exists()


def test_remove_dirs_keeps_a_parent_another_container_still_uses(tmp_path):
    parent = tmp_path / "runc-py"
    (parent / "other").mkdir(parents=True)
    mine = parent / "mine"
    mine.mkdir()
    assert cgattach.remove_dirs([str(mine)], [str(parent)]) is True
    assert not mine.exists() and (parent / "other").is_dir()


def test_remove_dirs_reports_busy_and_leaves_the_rest(tmp_path):
    busy = tmp_path / "busy"
    (busy / "nested").mkdir(parents=True)      # like a cgroup with a child cgroup
    later = tmp_path / "later"
    later.mkdir()
    assert cgattach.remove_dirs([str(busy), str(later)]) is False
    assert busy.is_dir() and later.is_dir()    # the caller kills and walks


def test_remove_dirs_ignores_what_is_already_gone(tmp_path):
    assert cgattach.remove_dirs([str(tmp_path / "gone")], [str(tmp_path / "gone-too")]) is True


def test_add_pid_names_the_file_it_could_not_write(tmp_path):
    missing = str(tmp_path / "nope" / "cgroup.procs")
    with pytest.raises(StepError) as e:
        cgattach.add_pid([missing], 12345)
    d = e.value.to_dict()
    assert d.get("path") == missing and d.get("syscall") == "write"
    assert "12345" in str(e.value)


def test_add_pid_writes_the_pid(tmp_path):
    f = tmp_path / "cgroup.procs"
    f.write_text("")
    cgattach.add_pid([str(f)], 4242)
    assert f.read_text() == "4242"


def test_procs_files_come_from_our_own_cgroups():
    files = cgattach._procs_files()
    assert files and all(f.endswith("/cgroup.procs") for f in files)
    assert any(os.path.exists(f) for f in files) or not os.path.isdir("/sys/fs/cgroup")


def test_join_self_writes_zero_to_each_tasks_file(tmp_path):
    files = [tmp_path / "a-tasks", tmp_path / "b-tasks"]
    for f in files:
        f.write_text("")
    cgattach.join_self([str(f) for f in files])
    assert [f.read_text() for f in files] == ["0", "0"]


def test_join_self_names_the_hierarchy_it_could_not_join(tmp_path):
    missing = str(tmp_path / "memory" / "c1" / "tasks")
    with pytest.raises(StepError) as e:
        cgattach.join_self([missing])
    d = e.value.to_dict()
    assert d.get("path") == missing and d.get("field") == "linux.cgroupsPath"
    assert str(tmp_path / "memory" / "c1") in str(e.value)
