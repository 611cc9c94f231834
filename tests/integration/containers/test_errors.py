"""Bad input gets a clear error, Docker's exit code, and leaves nothing
behind (records, mounts, cgroups, monitors)."""
import pytest

pytestmark = pytest.mark.requires("root", "busybox", "runc", "overlay", "registry")


@pytest.fixture
def clean(md):
    before = (md.records(), md.mounts(), md.cgroups())
    yield md
    md.wait_for(lambda: (md.records(), md.mounts(), md.cgroups()) == before,
                what="nothing left behind")


@pytest.mark.parametrize("args, message", [
    (["-v", "relative:dir:ro"], "invalid volume specification"),
    (["-v", "/tmp:/x:bogus"], "unknown option 'bogus'"),
    (["-v", "/tmp:"], "invalid volume specification"),
    (["--memory", "-5m"], "invalid size: '-5m'"),
    (["--memory", "3m"], "minimum memory limit"),
    (["--cpus", "-1"], "range of CPUs"),
    (["--ulimit", "bogus=1"], "invalid ulimit"),
    (["--restart", "sometimes"], "invalid restart policy"),
    (["--restart", "always", "--rm"], "Conflicting options: --restart and --rm"),
    (["--cap-add", "NOT_A_CAP"], "unknown capability"),
    (["--security-opt", "seccomp=/no/such/profile.json"], "opening seccomp profile"),
    (["--stop-signal", "SIGNOPE"], "invalid signal"),
    (["--name", "bad name!"], "Invalid container name"),
    (["--mount", "type=bind,target=/x"], "bind source must be an absolute path"),
])
def test_bad_run_options(clean, args, message):
    r = clean("run", "--rm", *args, clean.images.busybox, "true")
    assert r.rc == 125, r
    assert message in r.err, r.err
    assert r.err.startswith("Error: ")


def test_unknown_image(clean):
    r = clean("run", "--rm", "--pull", "never", "no-such-image:latest", "true")
    assert r.rc == 125 and "No such image" in r.err


def test_unknown_container(clean):
    for cmd in (["stop"], ["rm"], ["logs"], ["start"], ["kill"], ["inspect"], ["wait"],
                ["exec"], ["top"]):
        args = cmd + ["no-such-container"] + (["true"] if cmd == ["exec"] else [])
        r = clean(*args)
        assert r.rc != 0, (cmd, r)
        assert ("No such container: no-such-container" in r.err or
                "No such object: no-such-container" in r.err), (cmd, r)


def test_name_conflict(md, name):
    md.ok("create", "--name", name, md.images.busybox)
    r = md("run", "--name", name, md.images.busybox, "true")
    assert r.rc == 125 and f'The container name "/{name}" is already in use' in r.err
    assert len([c for c in md.records()]) == len(set(md.records()))
    md.ok("rm", name)


def test_rm_running_needs_force(md, name):
    md.ok("run", "-d", "--name", name, md.images.busybox, "sleep", "60")
    r = md("rm", name)
    assert r.rc != 0 and "container is running" in r.err and "force" in r.err
    assert md.inspect(name)["State"]["Running"] is True
    cid = md.inspect(name)["Id"]
    assert cid in md.cgroups()
    md.ok("rm", "-f", name)
    assert md("inspect", name).rc == 1
    assert cid not in md.cgroups()
    assert not any(name in m for m in md.mounts())


def test_command_not_found_leaves_nothing_with_rm(clean):
    r = clean("run", "--rm", clean.images.busybox, "no-such-command")
    assert r.rc == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in r.err


def test_unknown_runtime(clean):
    r = clean("run", "--rm", "--runtime", "no-such-runtime", clean.images.busybox, "true")
    assert r.rc == 125 and "no-such-runtime" in r.err
