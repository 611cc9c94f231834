"""Fixtures for the real-caller tests: podman, containerd (ctr) and Docker
drive an OCI runtime exactly as in production, first Debian's runc (to
prove each test), then runc-py.

* `rt` — parametrized "runc" / "runc-py": a `support.Wrapper` named like
  the runtime that logs every call the caller makes (argv + exit code).
* `image_tar` — a docker-archive of a busybox image, built offline.
* `podman`, `containerd`, `dockerd` — one private instance per session
  under a temp dir (prefix rpycallers-): own storage, state, sockets and
  cgroup parents; caller packages are apt-get installed when missing.
* `gap(rt, reason)` — marks a runc-py failure that comes from a missing
  runc-py feature as xfail, with the reason (runc must still pass).

At the end every daemon this session started is stopped by pid, leftover
shims are killed by pid, mounts under the temp dir undone, and the cgroup
dirs and /run entries the callers created removed.
"""
import os
import shutil
import tempfile
import time

import pytest

from . import support as s

RUNTIMES = {"runc": "/usr/sbin/runc", "runc-py": s.RUNC_PY}
# /run entries a caller may create for itself; removed at the end if they
# did not exist before the session
RUN_DIRS = ("/run/containerd", "/run/docker", "/run/libpod")


HERE = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    config.addinivalue_line("markers", "caller(name): a real-caller test")


def pytest_collection_modifyitems(config, items):
    """A separate target: these tests install packages and start daemons, so
    they run only when tests/callers (or a file in it) is named explicitly
    (`make callers`), never as part of `pytest tests`."""
    named = any(os.path.abspath(str(a).split("::")[0]).startswith(HERE)
                for a in config.args)
    if named:
        return
    skip = pytest.mark.skip(reason="real-caller tests: run `make callers` "
                                   "(pytest tests/callers)")
    for item in items:
        if str(item.fspath).startswith(HERE + os.sep):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def callers_tmp():
    if os.geteuid() != 0:
        pytest.skip("the caller tests need root")
    before = {p for p in RUN_DIRS if os.path.exists(p)}
    d = tempfile.mkdtemp(prefix=s.PREFIX, dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    for pid in s.pids_mentioning(d):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    time.sleep(0.2)
    s.cleanup_mounts(d)
    shutil.rmtree(d, ignore_errors=True)
    for p in RUN_DIRS:
        if p not in before and os.path.isdir(p):
            s.remove_empty_tree(p)


@pytest.fixture(scope="session")
def wrappers(callers_tmp):
    out = {}
    for name, real in RUNTIMES.items():
        if real and os.access(real, os.X_OK):
            out[name] = s.Wrapper(os.path.join(callers_tmp, f"rt-{name}"), name, real)
    return out


@pytest.fixture(params=list(RUNTIMES))
def rt(request, wrappers):
    w = wrappers.get(request.param)
    if w is None:
        pytest.skip(f"{RUNTIMES[request.param]} is not installed")
    w.mark()
    return w


@pytest.fixture
def gap(request):
    """gap(rt, reason): for runc-py, turn a failure into xfail(reason)."""
    def mark(w, reason):
        if w.name == "runc-py":
            request.applymarker(pytest.mark.xfail(reason=f"runc-py: {reason}", strict=False))
    return mark


@pytest.fixture(scope="session")
def image_tar(callers_tmp):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs Debian's busybox-static")
    return s.image_archive(os.path.join(callers_tmp, "busybox.tar"), callers_tmp)


# ---------------------------------------------------------------- podman

class Podman:
    def __init__(self, tmp):
        self.tmp = tmp
        self.binary = s.ensure("podman", "podman")
        s.ensure("conmon", "conmon")
        self.env = dict(os.environ,
                        CONTAINERS_CONF=s.fill_config("containers.conf", tmp, tmp),
                        CONTAINERS_STORAGE_CONF=s.fill_config("storage.conf", tmp, tmp))
        self.cgroup_parent = f"/{os.path.basename(os.path.dirname(tmp))}-podman"

    def __call__(self, rt, *args, timeout=60):
        argv = [self.binary, "--root", f"{self.tmp}/root", "--runroot", f"{self.tmp}/run",
                "--tmpdir", f"{self.tmp}/tmp", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file"]
        if rt is not None:
            argv += ["--runtime", rt.path]
        return s.run(argv + list(args), timeout=timeout, env=self.env)


@pytest.fixture(scope="session")
def podman(callers_tmp, image_tar):
    pm = Podman(os.path.join(callers_tmp, "podman"))
    s.run([pm.binary, "--version"], check=True)
    r = pm(None, "load", "-i", image_tar)
    assert r.returncode == 0, r.stderr
    yield pm
    pm(None, "rm", "--all", "--force", "--time", "0", timeout=60)
    pm(None, "system", "reset", "--force", timeout=60)
    s.cleanup_mounts(pm.tmp)
    s.cleanup_cgroups(pm.cgroup_parent.strip("/"))


# ---------------------------------------------------------------- containerd

class Containerd:
    def __init__(self, tmp):
        self.tmp = tmp
        self.binary = s.ensure("containerd", "containerd")
        self.ctr_binary = s.ensure("ctr", "containerd")
        s.ensure("containerd-shim-runc-v2", "containerd")
        os.makedirs(tmp, exist_ok=True)
        self.address = os.path.join(tmp, "c.sock")
        # rpycallers-XXXX from the temp dir, whose random part may hold "_":
        # containerd namespaces allow only letters and digits after a "-"
        prefix, _, rand = os.path.basename(os.path.dirname(tmp)).partition("-")
        self.namespace = prefix + "-" + "".join(c if c.isalnum() else f"{ord(c):x}"
                                                for c in rand)
        self.fifo_dir = os.path.join(tmp, "fifo")
        self.daemon = s.Daemon([self.binary, "--config",
                                os.path.join(s.CONFIGS, "containerd.toml"),
                                "--root", os.path.join(tmp, "root"),
                                "--state", os.path.join(tmp, "state"),
                                "--address", self.address],
                               os.path.join(tmp, "containerd.log"))
        self.daemon.wait_for(lambda: os.path.exists(self.address) and
                             self.ctr("version").returncode == 0, "API socket")

    def ctr(self, *args, timeout=60):
        return s.run([self.ctr_binary, "--address", self.address, "-n", self.namespace,
                      *args], timeout=timeout)

    def remove_all(self):
        for cid in self.ctr("containers", "ls", "-q").stdout.split():
            self.ctr("task", "kill", "-s", "SIGKILL", cid)
            self.ctr("task", "rm", "-f", cid)
            self.ctr("containers", "rm", cid)


@pytest.fixture(scope="session")
def containerd(callers_tmp, image_tar):
    cd = Containerd(os.path.join(callers_tmp, "containerd"))
    try:
        r = cd.ctr("images", "import", image_tar, timeout=120)
        assert r.returncode == 0, r.stderr
        yield cd
    finally:
        cd.remove_all()
        cd.daemon.stop()
        for pid in s.pids_mentioning(cd.tmp):          # shims of leftover tasks
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        s.cleanup_mounts(cd.tmp)
        s.cleanup_cgroups(cd.namespace)
        s.remove_empty_tree(f"/run/containerd/runc/{cd.namespace}")


# ---------------------------------------------------------------- docker

class Dockerd:
    RUNTIME_NAMES = {"runc": "rpy-runc", "runc-py": "runcpy"}

    def __init__(self, tmp, wrappers):
        self.tmp = tmp
        self.binary = s.ensure("dockerd", "docker.io")
        # Debian's client: /usr/local/bin/docker may be another version
        self.client = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else \
            s.ensure("docker", "docker.io")
        os.makedirs(tmp, exist_ok=True)
        self.host = "unix://" + os.path.join(tmp, "d.sock")
        argv = [self.binary, "--config-file", os.path.join(s.CONFIGS, "daemon.json"),
                "--data-root", os.path.join(tmp, "data"),
                "--exec-root", os.path.join(tmp, "x"),
                "--pidfile", os.path.join(tmp, "docker.pid"), "-H", self.host]
        for name, w in wrappers.items():
            argv += ["--add-runtime", f"{self.RUNTIME_NAMES[name]}={w.path}"]
        self.daemon = s.Daemon(argv, os.path.join(tmp, "dockerd.log"))
        self.daemon.wait_for(lambda: self.docker("version").returncode == 0,
                             "API socket", timeout=60)

    def docker(self, *args, timeout=60):
        return s.run([self.client, "-H", self.host, *args], timeout=timeout)


@pytest.fixture(scope="session")
def dockerd(callers_tmp, image_tar, wrappers):
    dk = Dockerd(os.path.join(callers_tmp, "docker"), wrappers)
    try:
        r = dk.docker("load", "-i", image_tar, timeout=120)
        assert r.returncode == 0, r.stderr
        yield dk
    finally:
        ids = dk.docker("ps", "-aq").stdout.split()
        if ids:
            dk.docker("rm", "-f", *ids)
        dk.daemon.stop(timeout=30)
        for pid in s.pids_mentioning(dk.tmp):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        s.cleanup_mounts(dk.tmp)
        s.cleanup_cgroups("rpycallers-docker")
