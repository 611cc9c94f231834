"""Write fast launchers for runc-py and mydocker into a bin directory.

A pip console script starts the interpreter with the full site-packages scan
(~35 ms on our machines, plus ~60 ms when reached through the pyenv shim).
The runtime is called 3-4 times per container by its callers, so its launcher
runs the real interpreter with -IS (isolated, no site scan) and puts exactly the paths it needs on
sys.path: the project and the directory holding its dependencies.  runc-py's
launcher may use a faster-starting CPython of the same version (see
runtime_python)."""
import os
import sys
import sysconfig

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

TEMPLATE = """#!{python} -IS
import sys
sys.path[:0] = {paths!r}
{prelude}from {module} import main
main()
"""
# runc-py: start the cgroup-attach grace period before the runtime's own
# imports (runc_py/cgattach.py)
RUNTIME_PRELUDE = "from runc_py.cgattach import warm_for\nwarm_for(sys.argv)\n"


def main(bindir):
    write(bindir)
    # pip's console scripts (setup.py entry points) sit earlier on PATH under
    # pyenv and start the interpreter with the full site scan: replace them
    # with the same fast launchers so that `runc-py` on PATH is always fast.
    scripts = sysconfig.get_paths()["scripts"]
    if os.path.realpath(scripts) != os.path.realpath(bindir) and any(
            os.path.exists(os.path.join(scripts, n)) for n in ("runc-py", "mydocker")):
        write(scripts)


def _startup_ms(python, runs=7):
    """Best wall time of `python -IS -c pass`, in ms."""
    import subprocess
    import time
    best = None
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([python, "-IS", "-c", "pass"], check=True)
        dt = (time.perf_counter() - t) * 1000
        best = dt if best is None else min(best, dt)
    return best


def runtime_python(paths, this=None, candidates=None):
    """The interpreter for the runc-py launcher, which callers start 3-4
    times per container.  A distribution's CPython of the same X.Y (Debian
    builds it with PGO and LTO, statically linked) starts ~2.5 ms faster than
    a plain source build such as pyenv's and runs Python code faster; the
    project's C extensions are built for this X.Y's ABI, which patch releases
    keep.  Used only when it imports the runtime's native module from the
    same paths and really starts faster; otherwise this interpreter."""
    import subprocess
    this = os.path.realpath(this or sys.executable)
    ver = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if candidates is None:
        candidates = [f"/usr/bin/python{ver}", f"/usr/local/bin/python{ver}"]
    probe = (f"import sys; sys.path[:0] = {paths!r}; "
             f"assert sys.version_info[:2] == {tuple(sys.version_info[:2])!r}; "
             "import runc_py._native, runc_py.cli")
    best, best_ms = this, None
    for cand in candidates:
        cand = os.path.realpath(cand)
        if cand == this or not os.access(cand, os.X_OK):
            continue
        ok = subprocess.run([cand, "-IS", "-c", probe], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode == 0
        if not ok:
            continue
        if best_ms is None:
            best_ms = _startup_ms(this)
        ms = _startup_ms(cand)
        if ms < best_ms * 0.95:
            best, best_ms = cand, ms
    return best


def write(bindir):
    purelib = sysconfig.get_paths()["purelib"]
    platlib = sysconfig.get_paths()["platlib"]
    paths = [PROJECT] + sorted({purelib, platlib})
    python = os.path.realpath(sys.executable)
    fast = runtime_python(paths)
    for name, module in (("runc-py", "runc_py.cli"), ("mydocker", "manager.cli")):
        dest = os.path.join(bindir, name)
        tmp = dest + ".tmp"
        with open(tmp, "w") as f:
            f.write(TEMPLATE.format(python=fast if name == "runc-py" else python, paths=paths,
                                    module=module,
                                    prelude=RUNTIME_PRELUDE if name == "runc-py" else ""))
        os.chmod(tmp, 0o755)
        os.replace(tmp, dest)
        print("installed", dest)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/local/bin")
