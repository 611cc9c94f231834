"""runc_py/lite.py: the small verbs' `os` on the posix module alone.  Its
functions must agree with os/os.path (test_import_budget.py checks that
the small verbs do without os)."""
import os
import posixpath
import subprocess
import sys

import pytest

from runc_py import lite

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PATHS = ["", "/", "//", "///", "a", "/a", "a/", "/a/", "a/b", "/a/b/", "a//b", "//a//b//",
         ".", "..", "./a", "../a", "a/./b", "a/../b", "a/b/..", "/..", "/../a", "../../a/b",
         "a/../../b", "/a/b/../../..", "///a/./b/", "a/..", ".hidden/x.json", "x/.."]


@pytest.mark.parametrize("p", PATHS)
def test_path_functions_agree_with_posixpath(p):
    assert lite.dirname(p) == posixpath.dirname(p)
    assert lite.basename(p) == posixpath.basename(p)
    assert lite.normpath(p) == posixpath.normpath(p)
    assert lite.abspath(p) == posixpath.abspath(p)


@pytest.mark.parametrize("parts", [("a",), ("a", "b"), ("a/", "b"), ("a", "/b"), ("", "b"),
                                   ("/", "x", "y/"), ("a", ""), ("a", "b", "/c", "d")])
def test_join_agrees_with_posixpath(parts):
    assert lite.join(*parts) == posixpath.join(*parts)


def test_file_tests_agree_with_os_path(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to(tmp_path / "d")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    for name in ("d", "f", "l", "dangling", "nowhere", "f/under-a-file", "d\0nul"):
        p = str(tmp_path / name)
        for fn in ("exists", "isdir", "islink"):
            assert getattr(lite, fn)(p) == getattr(os.path, fn)(p), (fn, name)


def test_makedirs_makes_parents_with_the_mode_and_honours_exist_ok(tmp_path):
    target = str(tmp_path / "a" / "b" / "c")
    old = os.umask(0)
    try:
        lite.makedirs(target, 0o711)
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert p.is_dir() and (p.stat().st_mode & 0o777) == 0o711
    lite.makedirs(target, exist_ok=True)
    with pytest.raises(FileExistsError):
        lite.makedirs(target)
    (tmp_path / "file").write_text("")
    with pytest.raises(FileExistsError):
        lite.makedirs(str(tmp_path / "file"), exist_ok=True)  # exists, but not a directory
    with pytest.raises(NotADirectoryError):
        lite.makedirs(str(tmp_path / "file" / "sub"), exist_ok=True)


def test_getenv_reads_the_process_environment_as_os_does():
    code = ("import sys; sys.path.insert(0, %r); from runc_py import lite; "
            "print(repr(lite.getenv('RPY_T'))); print(repr(lite.getenv('RPY_NONE', 'dflt')))"
            % PROJECT)
    env = {"RPY_T": "vålue with spaces", "PATH": os.environ.get("PATH", "")}
    out = subprocess.run([sys.executable, "-IS", "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == [repr("vålue with spaces"), repr("dflt")]
