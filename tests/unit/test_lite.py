"""runc_py/lite.py: the small verbs' `os` on the posix module alone.  Its
functions must agree with os/os.path, and the verbs callers run most
(state, start, kill, delete, list) must not import `os` (~1.5-2 ms each)."""
import json
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


def _imported(argv):
    """Module names a `runc-py ARGV` run imports (python -X importtime)."""
    code = ("import sys; sys.path.insert(0, %r); sys.argv = ['runc-py'] + %r; "
            "from runc_py.cli import main; main()" % (PROJECT, argv))
    r = subprocess.run([sys.executable, "-IS", "-X", "importtime", "-c", code],
                       capture_output=True, text=True)
    names = {line.split("|")[-1].strip() for line in r.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    names.discard("imported package")
    return r.returncode, names


def test_small_verbs_do_not_import_os(tmp_path):
    root = tmp_path / "root"
    cdir = root / "c1"
    cdir.mkdir(parents=True)
    # a container whose init is gone: every verb takes its usual path
    (cdir / "state.json").write_text(json.dumps({
        "ociVersion": "1.2.0", "id": "c1", "status": "running", "pid": 0,
        "bundle": str(tmp_path), "_runtime": {}}))
    g = ["--root", str(root), "--log", str(tmp_path / "log.json"), "--log-format", "json"]
    runs = [(g + ["state", "c1"], 0), (g + ["list"], 0), (g + ["kill", "c1", "KILL"], 1),
            (g + ["start", "c1"], 1), (g + ["state", "nope"], 1), (g + ["delete", "c1"], 0)]
    for argv, rc in runs:
        code, names = _imported(argv)
        assert code == rc, argv
        assert "runc_py.lifecycle" in names, argv  # (the check below looks at a real run)
        assert not {"os", "posixpath", "_collections_abc"} & names, (argv, sorted(names))
    assert not cdir.exists()  # delete did its work without os
