"""tools/install_launchers: the launchers callers start, and the choice of
interpreter for runc-py's."""
import os
import subprocess
import sys

from tools import install_launchers as IL


def _paths():
    import sysconfig
    return [IL.PROJECT] + sorted({sysconfig.get_paths()["purelib"],
                                  sysconfig.get_paths()["platlib"]})


def test_runtime_python_keeps_this_interpreter_without_candidates():
    assert IL.runtime_python(_paths(), candidates=[]) == os.path.realpath(sys.executable)


def test_runtime_python_refuses_a_candidate_that_cannot_import_the_runtime(tmp_path):
    fake = tmp_path / "python3.11"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    assert IL.runtime_python(_paths(), candidates=[str(fake)]) == \
        os.path.realpath(sys.executable)


def test_written_launcher_runs_runc_py(tmp_path):
    IL.write(str(tmp_path))
    first = (tmp_path / "runc-py").read_text().splitlines()[0]
    assert first.startswith("#!") and first.endswith(" -IS")
    out = subprocess.run([str(tmp_path / "runc-py"), "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert "runc-py version" in out


def test_launcher_puts_the_project_first_and_dependencies_after_the_stdlib(tmp_path):
    IL.write(str(tmp_path))
    text = (tmp_path / "runc-py").read_text().splitlines()
    python = text[0][2:].split()[0]
    setup = next(line for line in text if "sys.path" in line)
    out = subprocess.run([python, "-IS", "-c", setup + "; print('\\n'.join(sys.path))"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == IL.PROJECT
    stdlib = [i for i, p in enumerate(out) if p.rstrip("/").endswith("lib-dynload")]
    deps = [out.index(p) for p in _paths()[1:]]
    assert stdlib and deps and min(deps) > max(stdlib), out
