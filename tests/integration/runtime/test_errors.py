"""Bad input: each must fail with a non-zero exit and leave nothing behind
(no container in `list`, nothing under --root, no host mounts, no cgroups)."""
import os

import pytest

from tests.support.runtime import deviates, host_mounts_under, leftover_cgroups, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


def assert_nothing_left(rt, cid, bundle_dir):
    assert rt.state(cid) is None, "a failed create left a container behind"
    assert rt.root_entries() == [], f"left under --root: {rt.root_entries()}"
    assert rt.list_ids() == []
    assert host_mounts_under(bundle_dir) == [], "a failed create left host mounts"
    assert leftover_cgroups(cid) == [], "a failed create left cgroups"


def create_fails(rt, bundle_dir, verb="create"):
    cid = rt.new_id("bad")
    if verb == "create":
        r = rt.create(cid, bundle_dir)
    else:
        r = rt.run(cid, bundle_dir)
    assert r.rc != 0, r
    assert_nothing_left(rt, cid, bundle_dir)
    return r


@spec("runtime.md#operations/create", "MUST",
      "This operation MUST generate an error if it is not provided a path to the bundle")
def test_missing_bundle_dir(rt, workdir):
    create_fails(rt, os.path.join(workdir, "no-such-bundle"))


@spec("runtime.md#operations/create", "MUST",
      "This operation MUST generate an error if it is not provided a path to the bundle "
      "(here: the working directory, used as the default bundle, has no config.json)")
def test_create_without_bundle_in_cwd(rt, workdir):
    empty = os.path.join(workdir, "empty")
    os.makedirs(empty)
    cid = rt.new_id("bad")
    r = rt("create", cid, cwd=empty)
    assert r.rc != 0, r
    assert_nothing_left(rt, cid, empty)


@spec("runtime.md#operations/create", "MUST",
      "This operation MUST generate an error if it is not provided a path to the bundle and "
      "the container ID to associate with the container.")
def test_create_without_id(rt, bundle):
    r = rt("create", "--bundle", bundle.path)
    assert r.rc != 0, r
    assert rt.root_entries() == []


@spec("runtime.md#errors", "MUST",
      "generating an error MUST leave the state of the environment as if the operation were "
      "never attempted")
def test_missing_config_json(rt, bundle):
    os.unlink(bundle.config_path)
    create_fails(rt, bundle.path)


@spec("runtime.md#errors", "MUST",
      "generating an error MUST leave the state of the environment as if the operation were "
      "never attempted")
def test_malformed_config_json(rt, bundle):
    with open(bundle.config_path, "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    create_fails(rt, bundle.path)


@spec("config.md#root", "MUST", "A directory MUST exist at the path declared by the field.")
def test_missing_rootfs(rt, bundle):
    bundle.config["root"]["path"] = "no-such-rootfs"
    bundle.save()
    create_fails(rt, bundle.path)


@spec("runtime.md#errors", "MUST",
      "Runtimes MUST generate an error when invalid or unsupported values are encountered.")
@pytest.mark.parametrize("case", [
    "args-not-list",
    pytest.param("no-ociVersion", marks=deviates(
        "runc", "runc does not check that the REQUIRED ociVersion is present")),
    "root-path-int",
                                  "mount-no-destination", "cwd-relative", "bad-ns-type"])
def test_schema_violation(rt, bundle, case):
    c = bundle.config
    if case == "args-not-list":
        c["process"]["args"] = "sh"
    elif case == "no-ociVersion":
        del c["ociVersion"]
    elif case == "root-path-int":
        c["root"]["path"] = 42
    elif case == "mount-no-destination":
        c["mounts"].append({"type": "tmpfs", "source": "tmpfs"})
    elif case == "cwd-relative":
        c["process"]["cwd"] = "relative/dir"
    elif case == "bad-ns-type":
        c["linux"]["namespaces"].append({"type": "no-such-namespace"})
    bundle.save()
    create_fails(rt, bundle.path)


@spec("runtime.md#errors", "MUST",
      "Runtimes MUST generate an error when invalid or unsupported values are encountered.")
def test_unknown_mount_type(rt, bundle):
    bundle.add_mount("/x", "no-such-fs-type", "none")
    create_fails(rt, bundle.path)


@spec("runtime.md#lifecycle", "MUST",
      "If the runtime is unable to create the environment specified in the config.json, it "
      "MUST generate an error.")
def test_nonexistent_executable(rt, bundle):
    bundle.args("/no/such/program")
    create_fails(rt, bundle.path, verb="run")


@spec("runtime.md#lifecycle", "MUST",
      "If the runtime is unable to create the environment specified in the config.json, it "
      "MUST generate an error.")
def test_nonexistent_executable_in_path(rt, bundle):
    bundle.args("no-such-program-anywhere")
    create_fails(rt, bundle.path, verb="run")


@spec("config.md#process", "MUST",
      "If rlimits contains duplicated entries with same type, the runtime MUST generate an "
      "error.")
def test_duplicate_rlimits(rt, bundle):
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
        {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]
    bundle.save()
    create_fails(rt, bundle.path)


@spec("config.md#process", "MUST",
      "The runtime MUST generate an error for any values which cannot be mapped to a relevant "
      "kernel interface.")
def test_unknown_rlimit(rt, bundle):
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NO_SUCH", "soft": 1, "hard": 1}]
    bundle.save()
    create_fails(rt, bundle.path)


@spec("config-linux.md#namespaces", "MUST",
      "If a namespaces field contains duplicated namespaces with same type, the runtime MUST "
      "generate an error.")
def test_duplicate_namespaces(rt, bundle):
    bundle.config["linux"]["namespaces"].append({"type": "uts"})
    bundle.save()
    create_fails(rt, bundle.path)


@spec("runtime.md#errors", "MUST",
      "generating an error MUST leave the state of the environment as if the operation were "
      "never attempted (a mount that fails half-way through the mounts list)")
def test_failing_mount_leaves_nothing(rt, bundle):
    bundle.add_mount("/data", "bind", os.path.join(bundle.path, "no-such-source"), ["bind"])
    create_fails(rt, bundle.path)


@spec("runtime.md#lifecycle", "MUST",
      "If the runtime is unable to create the environment specified in the config.json, it "
      "MUST generate an error (groups the kernel refuses: the process never runs)")
def test_unusable_additional_gid(rt, bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000,
                                        "additionalGids": [4294967295]}
    bundle.args("sh", "-c", "echo RAN")
    bundle.save()
    r = create_fails(rt, bundle.path, verb="run")
    assert "RAN" not in r.stdout
    assert "gid" in r.stderr.lower(), r.stderr
