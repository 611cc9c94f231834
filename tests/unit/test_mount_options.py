"""Mount option parsing and secure_join (no root)."""
import os

import pytest

from runc_py import mounts as M
from runc_py.syscalls import consts as L


@pytest.mark.parametrize("opts,flags,data", [
    (["nosuid", "noexec", "nodev", "ro"], L.MS_NOSUID | L.MS_NOEXEC | L.MS_NODEV | L.MS_RDONLY, ""),
    (["ro", "rw"], 0, ""),
    (["rbind"], L.MS_BIND | L.MS_REC, ""),
    (["bind", "nosuid"], L.MS_BIND | L.MS_NOSUID, ""),
    (["nosuid", "strictatime", "mode=755", "size=65536k"], L.MS_NOSUID | L.MS_STRICTATIME,
     "mode=755,size=65536k"),
    (["noatime", "atime"], 0, ""),
    (["suid"], 0, ""),
])
def test_flags_and_data(opts, flags, data):
    mo = M.parse_options(opts)
    assert mo.flags == flags
    assert mo.data == data


def test_propagation_options_are_separate():
    mo = M.parse_options(["rbind", "rslave", "private"])
    assert mo.propagation == (L.MS_SLAVE | L.MS_REC, L.MS_PRIVATE)
    assert mo.flags == L.MS_BIND | L.MS_REC


def test_bind_type_implies_bind_flag():
    assert M.parse_options([], "bind").is_bind


def test_recursive_ro_kept_aside():
    assert M.parse_options(["rro"]).recursive == ("rro",)


def test_flag_names():
    assert M.flag_names(L.MS_BIND | L.MS_REC) == "MS_BIND|MS_REC"


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "rootfs"
    (r / "etc").mkdir(parents=True)
    (r / "data").mkdir()
    os.symlink("/etc", r / "abs-link")
    os.symlink("../../../../../outside", r / "climb")
    os.symlink("/", r / "to-root")
    os.symlink("loop2", r / "loop1")
    os.symlink("loop1", r / "loop2")
    return str(r)


@pytest.mark.parametrize("path,expect", [
    ("/etc/passwd", "etc/passwd"),
    ("etc", "etc"),
    ("/../../etc", "etc"),
    ("/abs-link/x", "etc/x"),          # absolute link resolved inside root
    ("/climb/y", "outside/y"),         # cannot climb out
    ("/to-root/../../z", "z"),
    ("/data/./new/dir", "data/new/dir"),
    ("/", ""),
])
def test_secure_join_stays_inside(root, path, expect):
    got = M.secure_join(root, path)
    assert got == os.path.join(root, expect) if expect else got == root
    assert got == root or got.startswith(root + "/")


def test_secure_join_symlink_loop(root):
    with pytest.raises(M.EscapeError):
        M.secure_join(root, "/loop1/x")
