"""Fixtures for the container tests: real containers from busybox images
that the tests build and push to a real local registry, pulled by
`mydocker pull`, then run through the `mydocker` command line (a
subprocess, as a user would), on runc and on runc-py.

* `md` — one mydocker environment for the session: a temp data root and
  run root (prefix mdtest-), a private cgroup parent (mydocker-test-<rand>),
  the images pulled; `md(args...)` runs the CLI and returns a Result.
* `runtime` — parametrized over "runc" and "runc-py" (skipped with a reason
  when that runtime is not installed); `mdr` is `md` bound to it.
At the end every container is removed, leftover monitors (which the tests
started) are killed by pid, mounts under the data root are undone and the
cgroup parent is deleted.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support import images as timages
from tests.support.registry import Registry, have_registry

PROJECT = str(Path(__file__).resolve().parents[3])
PYTHON = os.path.realpath(sys.executable)
RUNTIMES = ["runc", "runc-py"]


class Result(SimpleNamespace):
    def __repr__(self):
        return f"Result(rc={self.rc}, out={self.out!r}, err={self.err!r})"


class MyDocker:
    def __init__(self, base, cgroup_parent):
        self.base = Path(base)
        self.data_root = self.base / "data"
        self.run_root = self.base / "run"
        self.cgroup_parent = cgroup_parent
        self.runtime = "runc"
        self.env = dict(os.environ)
        self.env.update(MYDOCKER_DATA_ROOT=str(self.data_root),
                        MYDOCKER_RUN_ROOT=str(self.run_root),
                        MYDOCKER_CGROUP_PARENT=cgroup_parent,
                        MYDOCKER_CONFIG=str(self.base / "config"),
                        PYTHONPATH=PROJECT)
        self.images = SimpleNamespace()

    def with_runtime(self, runtime):
        other = MyDocker.__new__(MyDocker)
        other.__dict__.update(self.__dict__)
        other.runtime = runtime
        return other

    def argv(self, *args):
        return [PYTHON, "-m", "manager", "--runtime", self.runtime] + [str(a) for a in args]

    def __call__(self, *args, input=None, timeout=45, check=False):
        p = subprocess.run(self.argv(*args), input=input, capture_output=True,
                           env=self.env, timeout=timeout, cwd=PROJECT,
                           text=not isinstance(input, bytes))
        r = Result(rc=p.returncode, out=p.stdout, err=p.stderr, args=args)
        if check and r.rc != 0:
            raise AssertionError(f"mydocker {' '.join(map(str, args))} failed: {r}")
        return r

    def ok(self, *args, **kw):
        return self(*args, check=True, **kw)

    def popen(self, *args, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen(self.argv(*args), env=self.env, cwd=PROJECT, **kw)

    def inspect(self, ref):
        r = self.ok("container", "inspect", ref)
        return json.loads(r.out)[0]

    # -- what the tests look at on the host ---------------------------------------------
    def records(self):
        d = self.data_root / "containers"
        return sorted(p.name for p in d.iterdir() if len(p.name) == 64) if d.exists() else []

    def monitors(self):
        out = []
        for cid in self.records():
            try:
                st = json.loads((self.data_root / "containers" / cid / "state.json").read_text())
            except (OSError, ValueError):
                continue
            if st.get("MonitorPid"):
                out.append(st["MonitorPid"])
        return out

    def mounts(self):
        root = str(self.data_root)
        with open("/proc/self/mountinfo") as f:
            return [line.split()[4] for line in f if line.split()[4].startswith(root)]

    def cgroups(self):
        found = []
        for base in Path("/sys/fs/cgroup").iterdir():
            d = base / self.cgroup_parent
            if d.is_dir():
                found += [p.name for p in d.iterdir() if p.is_dir()]
        return found

    def wait_for(self, pred, timeout=10, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


def _cleanup(m):
    if not m.data_root.exists():
        return
    for cid in m.records():
        m("rm", "-f", cid, timeout=30)
    # monitors the tests started and that somehow survived
    for cid in m.records():
        try:
            st = json.loads((m.data_root / "containers" / cid / "state.json").read_text())
            if st.get("MonitorPid"):
                os.kill(st["MonitorPid"], signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for root in (m.run_root / "runtimes").glob("*") if (m.run_root / "runtimes").exists() \
            else []:
        name = root.name
        for state in root.iterdir():
            subprocess.run([shutil.which(name) or name, "--root", str(root), "delete", "-f",
                            state.name], capture_output=True)
    for mnt in sorted(m.mounts(), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], capture_output=True)
    for base in Path("/sys/fs/cgroup").iterdir():
        d = base / m.cgroup_parent
        if d.is_dir():
            for child in d.iterdir():
                if child.is_dir():
                    try:
                        child.rmdir()
                    except OSError:
                        pass
            try:
                d.rmdir()
            except OSError:
                pass
    shutil.rmtree(m.base, ignore_errors=True)


def _push_images(registry_url):
    timages.push_busybox_image(registry_url, "busybox", "latest")
    cfg = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "APP_MODE=image"],
           "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo from-image-cmd; id; pwd"],
           "WorkingDir": "/srv/app", "User": "app", "Volumes": {"/data": {}},
           "ExposedPorts": {"8080/tcp": {}}, "StopSignal": "SIGUSR1",
           "Labels": {"org.example.role": "test"}}
    extra = [("dir", "data"), ("file", "data/seed.txt", "seeded by the image\n"),
             ("dir", "home"), ("dir", "home/app", 0o755)]
    built = timages.build_image([timages.busybox_layer(extra)], config=cfg)
    timages.push_image(registry_url, "appimg", "v1", built)


@pytest.fixture(scope="session")
def md(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs Debian's busybox-static")
    if not have_registry():
        pytest.skip("needs Debian's docker-registry")
    if not shutil.which("runc", path=os.environ.get("PATH", "") + ":/usr/sbin"):
        pytest.skip("needs Debian's runc")
    base = Path(tempfile.mkdtemp(prefix="mdtest-"))
    m = MyDocker(base, f"mydocker-test-{secrets.token_hex(4)}")
    reg = Registry(base / "registry")
    reg.start()
    try:
        _push_images(reg.url)
        m.images.busybox = f"{reg.host}/busybox:latest"
        m.images.app = f"{reg.host}/appimg:v1"
        m.registry = reg
        m.ok("pull", m.images.busybox, timeout=60)
        m.ok("pull", m.images.app, timeout=60)
        yield m
    finally:
        try:
            _cleanup(m)
        finally:
            reg.stop()
            shutil.rmtree(base, ignore_errors=True)


def runtime_available(name):
    if name == "runc":
        return shutil.which("runc", path=os.environ.get("PATH", "") + ":/usr/sbin")
    return shutil.which("runc-py")


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    if not runtime_available(request.param):
        pytest.skip(f"{request.param} not installed")
    return request.param


@pytest.fixture
def mdr(md, runtime):
    """md bound to the parametrized runtime."""
    return md.with_runtime(runtime)


@pytest.fixture
def name():
    return f"mdtest-{secrets.token_hex(4)}"
