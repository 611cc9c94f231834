"""The README's main job, offline: build a busybox image from Debian's
busybox-static, serve it from a local registry (Debian's docker-registry on
127.0.0.1), `mydocker pull` it, and `mydocker run --rm` it with runc-py.

Everything lives under a temporary data root (or DEMO_DIR) and the registry
is stopped afterwards; the exit code is the container's."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.support.images import push_busybox_image  # noqa: E402
from tests.support.registry import Registry  # noqa: E402


def main():
    bindir = os.environ.get("BINDIR", "/usr/local/bin")
    mydocker = os.path.join(bindir, "mydocker")
    keep = bool(os.environ.get("DEMO_DIR"))
    work = os.environ.get("DEMO_DIR") or tempfile.mkdtemp(prefix="mydocker-demo-")
    try:
        return _demo(mydocker, bindir, work)
    finally:
        if not keep:
            import shutil
            shutil.rmtree(work, ignore_errors=True)


def _demo(mydocker, bindir, work):
    env = dict(os.environ, MYDOCKER_DATA_ROOT=os.path.join(work, "data"),
               MYDOCKER_RUN_ROOT=os.path.join(work, "run"))
    with Registry(os.path.join(work, "registry")) as reg:
        ref = f"{reg.host}/demo/busybox:latest"
        print(f"+ built busybox image and pushed it to the local registry as {ref}")
        push_busybox_image(reg.url, "demo/busybox", "latest")
        for argv in (["pull", ref], ["images"],
                     ["run", "--rm", "--runtime", os.path.join(bindir, "runc-py"), ref,
                      "echo", "Hello World"]):
            print("+ mydocker " + " ".join(argv), flush=True)
            rc = subprocess.run([mydocker] + argv, env=env).returncode
            if rc != 0:
                return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
