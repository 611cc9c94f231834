"""What the runtime's verbs import: every call starts a fresh interpreter,
so each module on a verb's path costs every caller (containerd and podman
call the runtime 3-4 times per container).  These guard the splits made
for it (DESIGN.md, "Start-up cost")."""
import json
import os
import subprocess
import sys

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def test_exec_module_loads_none_of_the_create_side():
    # exec forks and execs one process: the init's modules (mounts, the
    # init's steps, create) are not on its path
    import sysconfig
    deps = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    code = ("import sys; sys.path.insert(0, %r); sys.path += %r; import runc_py.process.exec; "
            "print(' '.join(sorted(sys.modules)))" % (PROJECT, deps))
    mods = set(subprocess.run([sys.executable, "-IS", "-c", code], capture_output=True,
                              text=True, check=True).stdout.split())
    assert "runc_py.process.exec" in mods
    assert not {"runc_py.process.init", "runc_py.process.stage1", "runc_py.mounts",
                "runc_py.create", "runc_py.cgroups", "runc_py.spec.checks"} & mods
