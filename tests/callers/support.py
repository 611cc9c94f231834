"""Shared machinery for the real-caller tests (podman, containerd, Docker
driving an OCI runtime by its command line).

* `ensure(binary, package)`: the caller's binary, installed with apt-get
  when missing (root + apt-get), else a skip with the reason.
* `Wrapper`: an executable named like the runtime (`runc`, `runc-py`) that
  appends its argv (one JSON line, with the exit code) to a log and runs the
  real runtime with the same fds (containerd's shim passes fd 3), so a test
  can show exactly what the caller asked.
* `image_archive()`: a docker-archive tar (manifest.json + config + one
  layer) of the busybox rootfs from tools/busybox_rootfs, which `podman
  load`, `ctr image import` and `docker load` all read, offline.
* `Daemon`: a daemon started by a test, stopped by its pid (TERM, then
  KILL), its output kept in a file for failure messages.
* `run()`: a command with a timeout, returning CompletedProcess (text).
* `cleanup_mounts()`, `cleanup_cgroups()`: what a crashed caller leaves.
"""
import hashlib
import io
import json
import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIGS = os.path.join(PROJECT, "configs", "callers")
PREFIX = "rpycallers-"
IMAGE = "localhost/rpycallers-busybox:latest"
RUNC_PY = os.environ.get("RUNC_PY") or "/usr/local/bin/runc-py"


# ---------------------------------------------------------------- commands

def run(argv, timeout=60, env=None, check=False, input=None):
    """Run argv; never hangs past `timeout` (the whole process group is
    killed).  Returns CompletedProcess with text stdout/stderr."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                         env=env, start_new_session=True, text=True)
    try:
        out, err = p.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f"\n[test] {shlex.join(argv)} timed out after {timeout}s"
        p.returncode = -9
    r = subprocess.CompletedProcess(argv, p.returncode, out, err)
    if check and r.returncode != 0:
        raise AssertionError(f"{shlex.join(argv)} failed ({r.returncode}):\n"
                             f"{out[-2000:]}\n{err[-3000:]}")
    return r


def ensure(binary, package):
    """Path of `binary`; apt-get installs `package` when it is missing."""
    path = shutil.which(binary)
    if path:
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"needs {binary} (Debian package {package}); not root or no apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", package]
    r = run(cmd, timeout=600, env=env)
    if r.returncode != 0:
        run(["apt-get", "update", "-qq"], timeout=300, env=env)
        r = run(cmd, timeout=600, env=env)
    path = shutil.which(binary)
    if not path:
        pytest.skip(f"needs {binary}: `apt-get install {package}` failed: {r.stderr[-500:]}")
    return path


# ---------------------------------------------------------------- runtime wrapper

WRAPPER = r"""#!/bin/sh
# written by tests/callers: log the caller's argv, then run the real runtime
log={log}
real={real}
args=""
for a in "$@"; do
  a=$(printf '%s' "$a" | sed 's/\\/\\\\/g; s/"/\\"/g')
  args="$args${{args:+,}}\"$a\""
done
"$real" "$@"
rc=$?
printf '{{"pid":%s,"rc":%s,"argv":[%s]}}\n' "$$" "$rc" "$args" >> "$log"
exit $rc
"""


class Wrapper:
    """`<dir>/<name>`: logs each call to `<dir>/calls.jsonl`, then runs `real`."""

    def __init__(self, directory, name, real):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, name)
        self.name = name
        self.real = real
        self.log = os.path.join(directory, "calls.jsonl")
        with open(self.path, "w") as f:
            f.write(WRAPPER.format(log=shlex.quote(self.log), real=shlex.quote(real)))
        os.chmod(self.path, 0o755)

    def mark(self):
        """Start a new test: calls() then returns only calls made after this."""
        self._since = len(self.calls(all_calls=True))

    def calls(self, all_calls=False):
        """[{"pid", "rc", "argv"}] in call order (completed calls only),
        since the last mark() unless all_calls."""
        out = []
        try:
            with open(self.log) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        out.append({"rc": None, "argv": [line.strip()]})
        except FileNotFoundError:
            pass
        return out if all_calls else out[getattr(self, "_since", 0):]

    def verbs(self):
        return [verb_of(c["argv"]) for c in self.calls()]

    def failed(self):
        return [c for c in self.calls() if c.get("rc") not in (0, None)]

    def report(self):
        """The calls, one per line, for failure messages."""
        return "\n".join(f"  rc={c.get('rc')} {shlex.join(c['argv'])}" for c in self.calls())


# runc-py incompatibilities found by these tests, each with the exact
# runtime call it fails on; check_calls() lets them through for runc-py only
# (each has its own xfail test), so a new failure is never hidden.
# runc-py calls that are allowed to fail (a missing feature, each with its own
# xfail test): none at present.  Entries are (reason, argv matcher).
KNOWN_GAPS = {}


def known_gap(call):
    for key, (_reason, match) in KNOWN_GAPS.items():
        if match(call["argv"]):
            return key
    return None


def check_calls(w, *verbs):
    """Assert the caller really used this runtime for `verbs` and that every
    call succeeded (for runc-py, known gaps excepted: they have own tests)."""
    calls = w.calls()
    seen = [verb_of(c["argv"]) for c in calls]
    for v in verbs:
        assert v in seen, f"the caller never ran `{w.name} {v}`; calls:\n{w.report()}"
    bad = [c for c in calls if c.get("rc") != 0
           and not (w.name == "runc-py" and known_gap(c))]
    assert not bad, (f"{w.name} calls that failed:\n" +
                     "\n".join(f"  rc={c['rc']} {shlex.join(c['argv'])}" for c in bad) +
                     f"\nall calls:\n{w.report()}")


_GLOBAL_WITH_VALUE = {"--root", "--log", "--log-format", "--criu", "--rootless"}


def verb_of(argv):
    """The runtime verb in a runtime argv (skipping global flags)."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("-"):
            if "=" not in a and a in _GLOBAL_WITH_VALUE:
                i += 1
            i += 1
            continue
        return a
    return None


# ---------------------------------------------------------------- image

def _tar_rootfs(rootfs):
    """A layer tar of `rootfs` (root-owned, numeric ids) as bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for top, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(top, name)
                info = tar.gettarinfo(full, arcname=os.path.relpath(full, rootfs))
                info.uname = info.gname = ""
                info.mtime = 0
                if info.isfile():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def image_archive(dest, workdir, ref=IMAGE):
    """Write a docker-archive tar of a busybox image to `dest`."""
    import sys
    if PROJECT not in sys.path:
        sys.path.insert(0, PROJECT)
    from tools.busybox_rootfs import make_rootfs
    rootfs = os.path.join(workdir, "image-rootfs")
    make_rootfs(rootfs)
    layer = _tar_rootfs(rootfs)
    shutil.rmtree(rootfs, ignore_errors=True)
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                   "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "tests/callers"}],
    }, sort_keys=True).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    layer_dir = diff_id.split(":")[1]
    manifest = json.dumps([{"Config": f"{config_hex}.json", "RepoTags": [ref],
                            "Layers": [f"{layer_dir}/layer.tar"]}]).encode()
    repos = json.dumps({ref.rsplit(":", 1)[0]: {ref.rsplit(":", 1)[1]: layer_dir}}).encode()
    with tarfile.open(dest, "w") as tar:
        for name, data in ((f"{layer_dir}/layer.tar", layer), (f"{config_hex}.json", config),
                           ("manifest.json", manifest), ("repositories", repos)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return dest


# ---------------------------------------------------------------- daemons

class Daemon:
    """A daemon this test started; stop() signals only its pid."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait_for(self, check, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.argv[0]} exited ({self.proc.returncode}) before "
                                     f"{what}:\n{self.tail()}")
            if check():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.argv[0]}: no {what} after {timeout}s:\n{self.tail()}")

    def tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, timeout=20):
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


# ---------------------------------------------------------------- cleanup

def mounts_under(path):
    path = os.path.realpath(path)
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return out


def cleanup_mounts(path):
    for mp in sorted(mounts_under(path), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], capture_output=True)


def cleanup_cgroups(name, base="/sys/fs/cgroup"):
    """Remove (empty) cgroup dirs called `name` one or two levels down in
    every hierarchy, deepest first; returns those that could not go."""
    left = []
    for hier in sorted(os.listdir(base)):
        for parent in (os.path.join(base, hier), os.path.join(base, hier, "runc-py")):
            d = os.path.join(parent, name)
            if not os.path.isdir(d):
                continue
            for top, _dirs, _files in sorted(os.walk(d), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(top)
                except OSError:
                    left.append(top)
    return left


def remove_empty_tree(path):
    """rmdir `path` and its subdirectories, deepest first, where empty."""
    if not os.path.isdir(path):
        return
    for top, _dirs, _files in sorted(os.walk(path), key=lambda t: -len(t[0])):
        try:
            os.rmdir(top)
        except OSError:
            pass


def pids_mentioning(path):
    """Processes whose command line mentions `path` (shims of a daemon this
    session started, with its socket or state dir in their argv)."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if path in cmd:
            out.append(int(p))
    return out


def fill_config(name, tmp, dest_dir):
    """configs/callers/<name> with @TMP@ replaced by `tmp`, written into
    `dest_dir`; returns the new path."""
    with open(os.path.join(CONFIGS, name)) as f:
        text = f.read().replace("@TMP@", tmp)
    os.makedirs(dest_dir, exist_ok=True)
    path = os.path.join(dest_dir, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def memory_limit_of(pid):
    """The memory limit of `pid`'s cgroup, read from the host (v1 or v2)."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if "memory" in ctrls.split(","):
                with open(f"/sys/fs/cgroup/{ctrls}{path}/memory.limit_in_bytes") as g:
                    return int(g.read())
            if ctrls == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
                with open(f"/sys/fs/cgroup{path}/memory.max") as g:
                    text = g.read().strip()
                    return -1 if text == "max" else int(text)
    raise AssertionError(f"pid {pid}: no memory cgroup")
