"""Lifecycle: create / start / state / kill / delete / run, checked from the
host with the runtime's own verbs and from inside the container."""
import os
import time

import pytest

from tests.support.runtime import (deviates, host_mounts_under, leftover_cgroups, pid_alive,
                                  spec, wait_for_file)

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

LOOP = 'trap "echo TERM > /shared/sig; exit 7" TERM; echo up > /shared/up; ' \
       'while :; do sleep 0.05; done'


def running(rt, bundle, tag="run"):
    """Create + start a container that loops until SIGTERM; return (id, shared dir)."""
    shared = bundle.share()
    bundle.args(LOOP)
    cid = rt.new_id(tag)
    r = rt.create(cid, bundle)
    assert r.rc == 0, r
    r = rt.start(cid)
    assert r.rc == 0, r
    assert wait_for_file(os.path.join(shared, "up")), "container process never ran"
    return cid, shared


@spec("runtime.md#lifecycle/create", "MUST",
      "the user-specified program (from process) MUST NOT be run at this time")
def test_create_does_not_run_the_process(rt, bundle):
    shared = bundle.share()
    bundle.args("echo ran > /shared/ran")
    cid = rt.new_id()
    r = rt.create(cid, bundle)
    assert r.rc == 0, r
    st = rt.state(cid)
    assert st["status"] == "created"
    time.sleep(0.2)
    assert not os.path.exists(os.path.join(shared, "ran")), "process ran before start"
    assert pid_alive(st["pid"]), "created container has no live process"


@spec("runtime.md#operations/start", "MUST",
      "This operation MUST run the user-specified program as specified by process.")
def test_start_runs_the_process(rt, bundle):
    shared = bundle.share()
    bundle.args("echo ran > /shared/ran")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    r = rt.start(cid)
    assert r.rc == 0, r
    assert wait_for_file(os.path.join(shared, "ran"))
    assert open(os.path.join(shared, "ran")).read() == "ran\n"
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"


@spec("runtime.md#operations/start", "MUST",
      "This operation MUST run the user-specified program (one that exits at once, too: "
      "start succeeds even when the process is gone by the time start looks)")
def test_start_of_a_process_that_exits_at_once(rt, bundle):
    bundle.args("true")
    for i in range(40):
        cid = rt.new_id(f"quick{i}")
        r = rt.run(cid, bundle)
        assert r.rc == 0, f"run {i}: {r}"
    for i in range(10):
        cid = rt.new_id(f"quickc{i}")
        assert rt.create(cid, bundle).rc == 0
        r = rt.start(cid)
        assert r.rc == 0, f"start {i}: {r}"
        rt.wait_status(cid, "stopped")
        assert rt.delete(cid).rc == 0


@spec("runtime.md#lifecycle/config-frozen", "MUST",
      "Any updates to config.json after this step MUST NOT affect the container.")
def test_config_changes_after_create_do_not_affect_container(rt, bundle):
    shared = bundle.share()
    bundle.args("echo original > /shared/out")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    bundle.args("echo changed > /shared/out")
    assert rt.start(cid).rc == 0
    assert wait_for_file(os.path.join(shared, "out"))
    time.sleep(0.05)
    assert open(os.path.join(shared, "out")).read() == "original\n"


@spec("runtime.md#state", "MUST",
      "This operation MUST return the state of a container as specified in the State section.")
def test_state_has_required_fields(rt, bundle):
    bundle.args("sleep", "10")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    st = rt.state(cid)
    check_state(st, cid, bundle.path, "created")
    assert rt.start(cid).rc == 0
    check_state(rt.state(cid), cid, bundle.path, "running")


def check_state(st, cid, bundle_path, status):
    assert isinstance(st, dict), st
    for key in ("ociVersion", "id", "status", "pid", "bundle"):
        assert key in st, f"state lacks {key}: {st}"
    assert isinstance(st["ociVersion"], str) and st["ociVersion"]
    assert st["id"] == cid
    assert st["status"] == status
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.isabs(st["bundle"])
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle_path)
    validate_state_schema(st)


def validate_state_schema(st):
    """Validate with the project's own state schema (oci-spec/runtime) when present."""
    try:
        from runc_py.spec.schema import validate
    except ImportError:
        return
    problems = validate(st, "state")
    assert problems == [], f"state does not match the state schema: {problems}"


@spec("runtime.md#state", "MUST",
      "pid (int, REQUIRED when status is created or running on Linux) is the ID of the "
      "container process")
def test_pid_file_matches_state_pid(rt, bundle, workdir):
    bundle.args("sleep", "10")
    cid = rt.new_id()
    pid_file = os.path.join(workdir, "container.pid")
    r = rt.create(cid, bundle, "--pid-file", pid_file)
    assert r.rc == 0, r
    pid = int(open(pid_file).read().strip())
    assert pid == rt.state(cid)["pid"]
    assert pid_alive(pid)


@spec("runtime.md#operations/kill", "MUST",
      "This operation MUST send the specified signal to the container process.")
@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15"])
def test_kill_sends_signal(rt, bundle, sig):
    cid, shared = running(rt, bundle)
    r = rt.kill(cid, sig)
    assert r.rc == 0, r
    assert wait_for_file(os.path.join(shared, "sig"))
    assert open(os.path.join(shared, "sig")).read() == "TERM\n"
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"


@spec("runtime.md#operations/kill", "MUST",
      "Attempting to send a signal to a container that is neither created nor running "
      "MUST have no effect on the container and MUST generate an error.")
def test_kill_stopped_container_fails(rt, bundle):
    cid = rt.new_id()
    bundle.args("true")
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    assert rt.kill(cid, "KILL").rc != 0
    assert rt.state(cid)["status"] == "stopped"


@spec("runtime.md#operations/kill", "MUST",
      "This operation MUST send the specified signal to the container process.")
def test_kill_created_container(rt, bundle):
    cid = rt.new_id()
    bundle.args("true")
    assert rt.create(cid, bundle).rc == 0
    assert rt.kill(cid, "KILL").rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"


@spec("runtime.md#operations/delete", "MUST",
      "Attempting to delete a container that is not stopped MUST have no effect on the "
      "container and MUST generate an error.")
@deviates("runc", "runc deletes (kills) a created container without --force")
def test_delete_created_without_force_fails(rt, bundle):
    bundle.args("true")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    pid = rt.state(cid)["pid"]
    assert rt.delete(cid).rc != 0
    st = rt.state(cid)
    assert st is not None and st["status"] == "created" and st["pid"] == pid
    assert pid_alive(pid)


@spec("runtime.md#operations/delete", "MUST",
      "Attempting to delete a container that is not stopped MUST have no effect on the "
      "container and MUST generate an error.")
def test_delete_running_without_force_fails(rt, bundle):
    cid, shared = running(rt, bundle)
    assert rt.delete(cid).rc != 0
    assert rt.state(cid)["status"] == "running"
    assert not os.path.exists(os.path.join(shared, "sig"))


@spec("runtime.md#operations/delete", "MUST",
      "Deleting a container MUST delete the resources that were created during the create step.")
def test_delete_force_removes_running_container(rt, bundle):
    cid, _ = running(rt, bundle)
    pid = rt.state(cid)["pid"]
    r = rt.delete(cid, force=True)
    assert r.rc == 0, r
    assert rt.state(cid) is None
    deadline = time.monotonic() + 3
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(pid)
    assert cid not in rt.list_ids()


@spec("runtime.md#operations/delete", "MUST",
      "Deleting a container MUST delete the resources that were created during the create step.")
def test_delete_stopped_container(rt, bundle):
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    r = rt.delete(cid)
    assert r.rc == 0, r
    assert rt.state(cid) is None
    assert rt.root_entries() == []
    assert leftover_cgroups(cid) == [], "delete left the container's cgroups"
    assert host_mounts_under(bundle.path) == [], "delete left mounts on the host"


@spec("runtime.md#operations/start", "MUST",
      "Attempting to start a container that is not created MUST have no effect on the "
      "container and MUST generate an error.")
def test_start_twice_fails(rt, bundle):
    cid, shared = running(rt, bundle)
    pid = rt.state(cid)["pid"]
    assert rt.start(cid).rc != 0
    st = rt.state(cid)
    assert st["status"] == "running" and st["pid"] == pid


@spec("runtime.md#operations/start", "MUST",
      "Attempting to start a container that is not created MUST have no effect on the "
      "container and MUST generate an error.")
def test_start_stopped_fails(rt, bundle):
    shared = bundle.share()
    bundle.args("echo x >> /shared/count")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    assert rt.start(cid).rc != 0
    time.sleep(0.1)
    assert open(os.path.join(shared, "count")).read() == "x\n"


@spec("runtime.md#operations/create", "MUST",
      "If the ID provided is not unique across all containers within the scope of the "
      "runtime ... the implementation MUST generate an error and a new container MUST NOT "
      "be created.")
def test_duplicate_id_fails(rt, bundle, make_bundle):
    cid = rt.new_id()
    bundle.args("sleep", "10")
    assert rt.create(cid, bundle).rc == 0
    first = rt.state(cid)
    other = make_bundle("other", args=("sleep", "10"))
    assert rt.create(cid, other).rc != 0
    assert rt.run(cid, other, "--detach").rc != 0
    st = rt.state(cid)
    assert st["pid"] == first["pid"] and st["status"] == "created"
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert rt.list_ids() == [cid]


@spec("runtime.md#operations/state", "MUST",
      "Attempting to query a container that does not exist MUST generate an error.")
@pytest.mark.parametrize("verb", ["state", "kill", "delete", "start"])
def test_unknown_id_fails(rt, verb):
    cid = rt.new_id("missing")
    args = {"state": ("state", cid), "kill": ("kill", cid, "KILL"),
            "delete": ("delete", cid), "start": ("start", cid)}[verb]
    r = rt(*args)
    assert r.rc != 0, r
    assert rt.root_entries() == []


@spec("runtime.md#operations/state", "MUST",
      "This operation MUST generate an error if it is not provided the ID of a container.")
@pytest.mark.parametrize("verb", ["state", "start", "kill", "delete"])
def test_missing_id_fails(rt, verb):
    r = rt(verb)
    assert r.rc != 0, r


@spec("runtime.md#operations/run", "MUST",
      "The runtime MUST run the user-specified program, as specified by process "
      "(run = create + start + wait: its exit code is the process's).")
@pytest.mark.parametrize("code", [0, 3, 42])
def test_run_returns_exit_code(rt, bundle, code):
    bundle.args(f"exit {code}")
    cid = rt.new_id()
    r = rt.run(cid, bundle)
    assert r.rc == code, r
    assert rt.state(cid) is None, "run should delete the container it made"


@spec("runtime.md#operations/run", "MUST",
      "The runtime MUST run the user-specified program, as specified by process.")
def test_run_passes_stdout(rt, bundle):
    bundle.args("echo", "hello from the container")
    r = rt.run(rt.new_id(), bundle)
    assert r.rc == 0, r
    assert r.stdout == "hello from the container\n"


@spec("runtime.md#operations/run", "MUST",
      "The runtime MUST run the user-specified program, as specified by process.")
def test_run_detach(rt, bundle):
    bundle.args("sleep", "10")
    cid = rt.new_id()
    r = rt.run(cid, bundle, "--detach", timeout=5)
    assert r.rc == 0, r
    st = rt.state(cid)
    assert st["status"] == "running" and pid_alive(st["pid"])
    assert rt.kill(cid, "KILL").rc == 0
    assert rt.wait_status(cid, "stopped")["status"] == "stopped"
    assert rt.delete(cid).rc == 0


@spec("runtime.md#operations/scope", "MUST",
      "The entity using a runtime to create a container MUST be able to use the operations "
      "defined in this specification against that same container.")
def test_list_shows_container(rt, bundle, make_bundle):
    a, b = rt.new_id("a"), rt.new_id("b")
    bundle.args("sleep", "10")
    assert rt.create(a, bundle).rc == 0
    other = make_bundle("other", args=("sleep", "10"))
    assert rt.run(b, other, "--detach").rc == 0
    assert sorted(rt.list_ids()) == sorted([a, b])
    r = rt("list")
    assert r.rc == 0 and a in r.stdout and b in r.stdout


@spec("runtime.md#operations/delete", "MUST",
      "Note that resources associated with the container, but not created by this "
      "container, MUST NOT be deleted.")
def test_delete_keeps_bundle_and_shared_dirs(rt, bundle):
    shared = bundle.share()
    bundle.args("echo kept > /shared/file")
    before = sorted(os.listdir(bundle.rootfs))
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    rt.wait_status(cid, "stopped")
    assert rt.delete(cid).rc == 0
    assert sorted(os.listdir(bundle.rootfs)) == before
    assert os.path.exists(bundle.config_path)
    assert open(os.path.join(shared, "file")).read() == "kept\n"


@spec("runtime.md#operations/create", "MUST",
      "If the ID provided is not unique ... or is not valid in any other way, the "
      "implementation MUST generate an error and a new container MUST NOT be created.")
@pytest.mark.parametrize("bad_id", ["../rpyconf-escape", "rpyconf-a/b", "rpyconf-with space",
                                    "..", ""])
def test_invalid_id_fails(rt, bundle, workdir, bad_id):
    os.makedirs(rt.root, exist_ok=True)
    before = sorted(os.listdir(workdir))
    r = rt("create", "--bundle", bundle.path, bad_id)
    assert r.rc != 0, r
    assert rt.root_entries() == []
    assert sorted(os.listdir(workdir)) == before, "an invalid id made something outside --root"


@spec("runtime.md#operations/start", "MUST", "This operation MUST generate an error if process "
      "was not set.")
def test_no_process_cannot_start(rt, bundle):
    del bundle.config["process"]
    bundle.save()
    cid = rt.new_id()
    created = rt.create(cid, bundle).rc == 0
    if created:
        assert rt.start(cid).rc != 0, "started a container that has no process"
    else:
        assert rt.state(cid) is None and rt.root_entries() == []


@spec("runtime.md#operations/kill", "MUST",
      "This operation MUST send the specified signal to the container process (an unknown "
      "signal is an error with no effect).")
def test_kill_unknown_signal_fails(rt, bundle):
    cid, shared = running(rt, bundle)
    assert rt.kill(cid, "SIGNOPE").rc != 0
    assert rt.state(cid)["status"] == "running"


@spec("runtime.md#state", "MUST",
      "stopped: the container process has exited (step 10 in the lifecycle)")
def test_state_stopped_after_exit(rt, bundle):
    bundle.args("true")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    st = rt.wait_status(cid, "stopped")
    assert st["status"] == "stopped"
    assert st["id"] == cid
    validate_state_schema(st)
