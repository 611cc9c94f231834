"""cffi builder (out-of-line API mode) for runc_py._native.

Built at install time by setup.py (cffi_modules) or by hand with
`python native/build_native.py` (the Makefile's `native` target)."""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))

ffibuilder = FFI()
with open(os.path.join(HERE, "nsutil.h")) as f:
    ffibuilder.cdef("\n".join(
        line for line in f
        if not line.startswith("#") and "<stdint.h>" not in line))

ffibuilder.set_source(
    "runc_py._native",
    '#include "nsutil.h"',
    sources=[os.path.join(HERE, "nsutil.c"), os.path.join(HERE, "pyfork.c")],
    include_dirs=[HERE],
    extra_compile_args=["-O2", "-Wall"],
)

if __name__ == "__main__":
    os.chdir(os.path.dirname(HERE))
    ffibuilder.compile(tmpdir=os.path.join(os.path.dirname(HERE), "build", "native"), verbose=False)
    import shutil, glob
    for so in glob.glob(os.path.join(os.path.dirname(HERE), "build", "native", "runc_py", "_native*.so")):
        shutil.copy(so, os.path.join(os.path.dirname(HERE), "runc_py"))


def build_exec_helper(out_dir=None):
    """Build the static exec helper (native/exec_helper.c) next to the
    package: runc_py/_exec_helper."""
    import subprocess
    root = os.path.dirname(HERE)
    out = os.path.join(out_dir or os.path.join(root, "runc_py"), "_exec_helper")
    src = os.path.join(HERE, "exec_helper.c")
    if os.uname().machine == "x86_64":
        # freestanding: no libc, ~9 KB (see the comment in exec_helper.c)
        r = subprocess.run(["gcc", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin",
                            "-fno-stack-protector", "-fno-asynchronous-unwind-tables",
                            "-fno-pie", "-no-pie", "-Wl,--build-id=none", "-Os", "-s",
                            "-DRUNC_PY_FREESTANDING", "-o", out, src])
        if r.returncode == 0 and _helper_works(out):
            return out
    subprocess.run(["gcc", "-static", "-Os", "-s", "-o", out, src], check=True)
    return out


def _helper_works(path):
    """The built helper execs a program, and says why it cannot."""
    import subprocess
    ok = subprocess.run(["runc-py-exec", "/bin/echo", "echo", "hi"], executable=path,
                        capture_output=True, text=True)
    bad = subprocess.run(["runc-py-exec", "/nonexistent", "x"], executable=path,
                         capture_output=True, text=True)
    return (ok.returncode == 0 and ok.stdout == "hi\n" and bad.returncode == 127
            and "No such file or directory" in bad.stderr)


if __name__ == "__main__":
    build_exec_helper()
