"""hooks: prestart, createRuntime, createContainer (during create),
startContainer, poststart (during start), poststop (during delete), in that
order, each fed the state JSON on stdin; failures and timeouts.

Every hook is one small shell script that appends a record to a log:
`== <name> <mount ns> <$FOO> <$3> <net ns of state.pid> <argv0 of state.pid>`,
then the JSON it read on stdin."""
import json
import os
import time

import pytest

from tests.support.runtime import deviates, pid_alive, spec, wait_for_file

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]

HOOK = """#!/bin/sh
name=$1; log=$2
state=$(cat)
pid=$(echo "$state" | sed -n 's/.*"pid": *\\([0-9][0-9]*\\).*/\\1/p')
pidns=$(readlink /proc/${pid:-0}/ns/net 2>/dev/null || echo -)
pidcmd=$(tr '\\000' ' ' < /proc/${pid:-0}/cmdline 2>/dev/null | cut -d' ' -f1)
{ printf '== %s %s %s %s %s %s\\n' "$name" "$(readlink /proc/self/ns/mnt)" "${FOO:--}" \\
    "${3:--}" "$pidns" "${pidcmd:--}"
  printf '%s\\n' "$state"; } >> "$log"
case "$name" in
  fail*) exit 1 ;;
  sleep*) echo $$ > "$log.pid"; exec sleep 10 ;;
esac
exit 0
"""
ORDER = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]
IN_CONTAINER_PATH = {"startContainer"}   # path resolves in the container namespace


class Hooks:
    """Writes the hook script (host side and inside the rootfs) and reads its log."""

    def __init__(self, bundle):
        self.bundle = bundle
        self.host_log_dir = bundle.share("hooklog", "/hooklog")
        self.host_log = os.path.join(self.host_log_dir, "log")
        self.host_script = os.path.join(bundle.path, "hook.sh")
        with open(self.host_script, "w") as f:
            f.write(HOOK)
        os.chmod(self.host_script, 0o755)
        bundle.write_rootfs_file("/hook.sh", HOOK, mode=0o755)
        bundle.config["hooks"] = {}

    def add(self, kind, name=None, timeout=None, env=None, extra=()):
        inside = kind in IN_CONTAINER_PATH
        path = "/hook.sh" if inside else self.host_script
        log = "/hooklog/log" if inside else self.host_log
        entry = {"path": path, "args": [path, name or kind, log, *extra],
                 "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", *(env or [])]}
        if timeout is not None:
            entry["timeout"] = timeout
        self.bundle.config["hooks"].setdefault(kind, []).append(entry)
        self.bundle.save()
        return self

    def all(self, skip=()):
        for kind in ORDER:
            if kind not in skip:
                self.add(kind)
        return self

    def records(self):
        """[(name, mntns, foo, arg3, state-or-None)] in the order they ran."""
        return [r[:4] + (r[6],) for r in self.full_records()]

    def full_records(self):
        """[(name, mntns, foo, arg3, pid's netns, pid's argv0, state-or-None)]."""
        if not os.path.exists(self.host_log):
            return []
        recs = []
        for chunk in open(self.host_log).read().split("== ")[1:]:
            head, _, body = chunk.partition("\n")
            name, mnt, foo, arg3, pidns, pidcmd = head.split(" ")
            body = body.strip()
            recs.append((name, mnt, foo, arg3, pidns, pidcmd, json.loads(body) if body else None))
        return recs

    def names(self):
        return [r[0] for r in self.records()]


@pytest.fixture
def hooks(bundle):
    return Hooks(bundle)


@spec("config.md#hooks/order", "MUST",
      "Hooks MUST be called in the listed order. (prestart, createRuntime, createContainer "
      "during create; startContainer, poststart during start; poststop during delete)")
@deviates("runc", "runc 1.1 runs poststart hooks during create, before startContainer")
def test_hook_order_across_lifecycle(rt, bundle, hooks):
    hooks.all()
    bundle.args("sleep", "30")
    cid = rt.new_id()
    r = rt.create(cid, bundle)
    assert r.rc == 0, r
    assert hooks.names() == ["prestart", "createRuntime", "createContainer"]
    r = rt.start(cid)
    assert r.rc == 0, r
    assert hooks.names() == ORDER[:5]
    assert rt.kill(cid, "KILL").rc == 0
    rt.wait_status(cid, "stopped")
    r = rt.delete(cid)
    assert r.rc == 0, r
    assert hooks.names() == ORDER


@spec("config.md#hooks/state", "MUST",
      "The state of the container MUST be passed to hooks over stdin")
def test_hooks_get_state_on_stdin(rt, bundle, hooks):
    hooks.all()
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    host_pid = rt.state(cid)["pid"]
    assert rt.start(cid).rc == 0
    assert rt.delete(cid, force=True).rc == 0
    recs = hooks.records()
    assert sorted(r[0] for r in recs) == sorted(ORDER)
    for name, _, _, _, state in recs:
        assert state is not None, f"{name} got nothing on stdin"
        assert state["id"] == cid, name
        assert os.path.realpath(state["bundle"]) == os.path.realpath(bundle.path), name
        assert "ociVersion" in state and "status" in state, name
        if name in ("prestart", "createRuntime", "poststart"):
            assert state["pid"] == host_pid, f"{name}: pid as seen by the runtime"


@spec("config.md#hooks/namespaces", "MUST",
      "prestart, createRuntime, poststart and poststop hooks MUST be executed in the runtime "
      "namespace; createContainer and startContainer hooks MUST be executed in the container "
      "namespace")
def test_hook_namespaces(rt, bundle, hooks):
    hooks.all()
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    container_mnt = os.readlink(f"/proc/{rt.state(cid)['pid']}/ns/mnt")
    assert rt.start(cid).rc == 0
    assert rt.delete(cid, force=True).rc == 0
    host_mnt = os.readlink("/proc/self/ns/mnt")
    seen = {r[0]: r[1] for r in hooks.records()}
    for name in ("prestart", "createRuntime", "poststart", "poststop"):
        assert seen[name] == host_mnt, f"{name} ran outside the runtime mount namespace"
    for name in ("createContainer", "startContainer"):
        assert seen[name] == container_mnt, f"{name} ran outside the container mount namespace"


@spec("config.md#hooks/order", "MUST",
      "Hooks MUST be called in the listed order (entries of one array, with their args and "
      "env).")
def test_hook_entries_in_order_with_args_env(rt, bundle, hooks):
    hooks.add("createRuntime", "first", env=["FOO=one"], extra=["arg-a"])
    hooks.add("createRuntime", "second", env=["FOO=two"], extra=["arg-b"])
    hooks.add("createRuntime", "third")
    rt.probe(bundle, "true")
    recs = [(r[0], r[2], r[3]) for r in hooks.records()]
    assert recs == [("first", "one", "arg-a"), ("second", "two", "arg-b"), ("third", "-", "-")]


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any prestart / createRuntime / createContainer hook fails, the runtime MUST generate "
      "an error, stop the container, and continue the lifecycle at step 12.")
@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(rt, bundle, hooks, kind):
    shared = bundle.share()
    hooks.add(kind, "fail-" + kind)
    hooks.add("createContainer", "after")
    bundle.args("touch /shared/ran")
    cid = rt.new_id()
    r = rt.create(cid, bundle)
    assert r.rc != 0, r
    assert "after" not in hooks.names()
    assert rt.state(cid) is None and rt.root_entries() == [], "failed create left a container"
    assert rt.start(cid).rc != 0
    assert not os.path.exists(os.path.join(shared, "ran"))


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any createRuntime hook fails, the runtime MUST ... continue the lifecycle at step "
      "12 (destroy), then step 13: The poststop hooks MUST be invoked by the runtime.")
def test_failing_create_hook_runs_poststop(rt, bundle, hooks):
    hooks.add("createRuntime", "fail-createRuntime")
    hooks.add("poststop")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc != 0
    assert hooks.names() == ["fail-createRuntime", "poststop"]


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any startContainer hook fails, the runtime MUST generate an error, stop the "
      "container, and continue the lifecycle at step 12.")
@deviates("runc", "runc start returns 0 before init runs startContainer hooks; the failure "
          "only shows as a stopped container")
def test_failing_start_container_hook(rt, bundle, hooks):
    shared = bundle.share()
    hooks.add("startContainer", "fail-startContainer")
    bundle.args("touch /shared/ran")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    r = rt.start(cid)
    assert r.rc != 0, r
    time.sleep(0.1)
    assert not os.path.exists(os.path.join(shared, "ran")), "process ran despite the hook"
    st = rt.state(cid)
    assert st is None or st["status"] == "stopped"


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any poststart hook fails, the runtime MUST generate an error, stop the container, "
      "and continue the lifecycle at step 12.")
@deviates("runc", "runc 1.1 runs poststart hooks during create, so their failure fails create")
def test_failing_poststart_hook(rt, bundle, hooks):
    hooks.add("poststart", "fail-poststart")
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    pid = rt.state(cid)["pid"]
    r = rt.start(cid)
    assert r.rc != 0, r
    deadline = time.monotonic() + 3
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(pid), "container still running after its poststart hook failed"


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks "
      "and lifecycle continue as if the hook had succeeded.")
def test_failing_poststop_hook_is_a_warning(rt, bundle, hooks):
    hooks.add("poststop", "fail-poststop")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.start(cid).rc == 0
    rt.wait_status(cid, "stopped")
    r = rt.delete(cid)
    assert r.rc == 0, r
    assert rt.state(cid) is None and rt.root_entries() == []
    assert hooks.names() == ["fail-poststop"]


@spec("runtime.md#lifecycle/hooks", "MUST",
      "If any poststop hook fails, the runtime MUST log a warning, but the remaining hooks "
      "and lifecycle continue as if the hook had succeeded.")
@deviates("runc", "runc skips the poststop hooks after a failing one")
def test_hooks_after_failing_poststop_still_run(rt, bundle, hooks):
    hooks.add("poststop", "fail-poststop")
    hooks.add("poststop", "after")
    cid = rt.new_id()
    assert rt.run(cid, bundle).rc == 0
    assert rt.state(cid) is None
    assert hooks.names() == ["fail-poststop", "after"]


@spec("config.md#hooks/timeout", "MUST",
      "timeout (int, OPTIONAL) is the number of seconds before aborting the hook (the hook "
      "is killed and the operation fails).")
def test_hook_timeout(rt, bundle, hooks):
    hooks.add("createRuntime", "sleep-createRuntime", timeout=1)
    cid = rt.new_id()
    start = time.monotonic()
    r = rt.create(cid, bundle, timeout=9)
    elapsed = time.monotonic() - start
    assert r.rc != 0, r
    assert elapsed < 6, f"create took {elapsed:.1f}s with a 1s hook timeout"
    assert rt.state(cid) is None and rt.root_entries() == []
    pid_file = hooks.host_log + ".pid"
    assert wait_for_file(pid_file, 2)
    pid = int(open(pid_file).read())
    deadline = time.monotonic() + 2
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(pid), "the timed-out hook is still running"


@spec("config.md#hooks/timeout", "MUST", "If set, timeout MUST be greater than zero.")
def test_hook_timeout_zero_rejected(rt, bundle, hooks):
    hooks.add("createRuntime", timeout=0)
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc != 0
    assert rt.state(cid) is None and rt.root_entries() == []


@spec("runtime.md#state", "MUST",
      "For hooks executed in the container namespace, it is the pid as seen by the container.")
def test_container_namespace_hooks_see_container_pid(rt, bundle, hooks):
    hooks.add("createContainer")
    hooks.add("startContainer")
    bundle.args("true")
    rt.probe(bundle, "true")
    pids = {r[0]: r[4]["pid"] for r in hooks.records()}
    assert pids == {"createContainer": 1, "startContainer": 1}


@spec("config.md#hooks/prestart", "MUST",
      "The prestart / createRuntime hooks MUST be called as part of the create operation after "
      "the runtime environment has been created (e.g. after the container namespaces are "
      "created)")
def test_create_hooks_see_container_namespaces(rt, bundle, hooks):
    hooks.add("prestart")
    hooks.add("createRuntime")
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    netns = os.readlink(f"/proc/{rt.state(cid)['pid']}/ns/net")
    assert netns != os.readlink("/proc/self/ns/net")
    seen = {r[0]: r[4] for r in hooks.full_records()}
    assert seen == {"prestart": netns, "createRuntime": netns}


@spec("config.md#hooks/poststart", "MUST",
      "The poststart hooks MUST be called after the user-specified process is executed but "
      "before the start operation returns.")
@deviates("runc", "runc 1.1 runs poststart hooks during create, before the process runs")
def test_poststart_sees_user_process(rt, bundle, hooks):
    hooks.add("poststart")
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert hooks.names() == []
    assert rt.start(cid).rc == 0
    recs = hooks.full_records()
    assert [r[0] for r in recs] == ["poststart"], "poststart has not run when start returned"
    assert recs[0][5] == "sleep", f"poststart ran before the process was executed ({recs[0][5]})"


@spec("config.md#hooks/poststop", "MUST",
      "The poststop hooks MUST be called after the container is deleted but before the delete "
      "operation returns.")
def test_poststop_after_container_gone(rt, bundle, hooks):
    hooks.add("poststop")
    bundle.args("sleep", "30")
    cid = rt.new_id()
    assert rt.run(cid, bundle, "--detach").rc == 0
    pid = rt.state(cid)["pid"]
    assert rt.delete(cid, force=True).rc == 0
    recs = hooks.full_records()
    assert [r[0] for r in recs] == ["poststop"], "poststop has not run when delete returned"
    assert recs[0][5] != "sleep", "poststop ran while the container process was alive"
    assert not pid_alive(pid)
