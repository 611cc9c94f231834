"""process: args, env, cwd, user (uid/gid/additionalGids/umask), rlimits,
oomScoreAdj, noNewPrivileges and capabilities, as the process sees them."""
import os

import pytest

from tests.support.runtime import deviates, spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


def status_fields(text):
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


@spec("config.md#process/args", "MUST",
      "args ... with similar semantics to execvp's argv ... that entry is used with the same "
      "semantics as execvp's file")
def test_args_passed_verbatim(rt, bundle):
    bundle.args("sh", "-c", 'printf "%s|" "$0" "$@"', "zero", "a b", "", "*")
    r = rt.run(rt.new_id(), bundle)
    assert r.rc == 0, r
    assert r.stdout == "zero|a b||*|"


@spec("config.md#process/args", "MUST",
      "that entry is used with the same semantics as execvp's file (looked up in PATH)")
def test_args0_found_in_path(rt, bundle):
    bundle.config["process"]["env"] = ["PATH=/usr/sbin:/bin"]
    bundle.args("echo", "found")
    r = rt.run(rt.new_id(), bundle)
    assert r.rc == 0, r
    assert r.stdout == "found\n"


@spec("config.md#process/env", "MUST",
      "env (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's "
      "environ")
def test_env(rt, bundle):
    bundle.config["process"]["env"] = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=",
                                       "EQ=a=b"]
    out = rt.probe(bundle, "env")
    env = dict(line.split("=", 1) for line in out.splitlines())
    assert env["FOO"] == "bar baz"
    assert env["EMPTY"] == ""
    assert env["EQ"] == "a=b"
    assert env["PATH"] == "/bin:/usr/bin"
    leaked = [k for k in env if k.startswith(("PYTEST", "RUNTIME", "VIRTUAL_ENV"))]
    assert not leaked, f"host environment leaked into the container: {leaked}"


@spec("config.md#process/cwd", "MUST",
      "cwd (string, REQUIRED) is the working directory that will be set for the executable.")
def test_cwd(rt, bundle):
    bundle.config["process"]["cwd"] = "/home/app"
    assert rt.probe(bundle, "pwd") == "/home/app\n"


@spec("config.md#process/cwd", "MUST",
      "cwd is the working directory that will be set for the executable (also one only root "
      "may enter, for a process that runs as another user: entered before the user switch)")
def test_cwd_only_root_may_enter(rt, bundle):
    bundle.config["process"]["cwd"] = "/root"
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    os.chmod(os.path.join(bundle.rootfs, "root"), 0o700)
    assert rt.probe(bundle, "pwd; id -u") == "/root\n1000\n"


@spec("config.md#process/user", "MUST",
      "uid specifies the user ID, gid the group ID, additionalGids additional group IDs in "
      "the container namespace to be added to the process")
def test_user_ids(rt, bundle):
    bundle.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [10, 2]}
    out = rt.probe(bundle, "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "1000" and lines[1] == "1000"
    assert set(lines[2].split()) == {"1000", "10", "2"}
    st = status_fields(out)
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1000"] * 4
    assert set(st["Groups"].split()) == {"10", "2"}


@spec("config.md#process/user", "MUST",
      "uid/gid in the container namespace (no supplementary groups when additionalGids is "
      "empty, and ids need no /etc/passwd entry)")
def test_user_without_passwd_entry(rt, bundle):
    bundle.config["process"]["user"] = {"uid": 4242, "gid": 4343}
    out = rt.probe(bundle, "id -u; id -g; grep ^Groups: /proc/self/status")
    lines = out.splitlines()
    assert lines[:2] == ["4242", "4343"]
    assert lines[2].split(":", 1)[1].split() in ([], ["4343"])


@spec("config.md#process/user", "MUST", "umask (int, OPTIONAL) specifies the umask of the user.")
def test_umask(rt, bundle):
    bundle.config["process"]["user"]["umask"] = 0o077
    bundle.config["root"]["readonly"] = False
    out = rt.probe(bundle, "umask; touch /tmp/f; stat -c %a /tmp/f")
    assert out.split() == ["0077", "600"]


@spec("config.md#process/user", "SHOULD",
      "If unspecified, the umask should not be changed from the calling process' umask.")
@deviates("runc", "runc sets umask 0022 when process.user.umask is unset")
def test_umask_unset_is_inherited(rt, bundle):
    bundle.config["process"]["user"].pop("umask", None)
    bundle.args("sh", "-c", "umask")
    r = rt.run(rt.new_id(), bundle, umask=0o027)
    assert r.rc == 0, r
    assert r.stdout.strip() == "0027"


@spec("config.md#process/rlimits", "MUST",
      "rlim.rlim_cur MUST match the configured value. rlim.rlim_max MUST match the "
      "configured value.")
def test_rlimits(rt, bundle):
    bundle.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
        {"type": "RLIMIT_CORE", "soft": 4096, "hard": 8192},
    ]
    out = rt.probe(bundle, "ulimit -n; cat /proc/self/limits")
    lines = out.splitlines()
    assert lines[0] == "123"
    limits = {l[:26].strip(): l[26:].split() for l in lines[1:]}
    assert limits["Max open files"][:2] == ["123", "456"]
    assert limits["Max core file size"][:2] == ["4096", "8192"]


@spec("config.md#process/oomScoreAdj", "MUST",
      "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value.")
def test_oom_score_adj(rt, bundle):
    bundle.config["process"]["oomScoreAdj"] = 123
    assert rt.probe(bundle, "cat /proc/self/oom_score_adj") == "123\n"


def _set_oom_17():
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("17")


@spec("config.md#process/oomScoreAdj", "MUST",
      "If oomScoreAdj is not set, the runtime MUST NOT change the value of oom_score_adj.")
def test_oom_score_adj_unset_unchanged(rt, bundle):
    bundle.config["process"].pop("oomScoreAdj", None)
    bundle.args("cat", "/proc/self/oom_score_adj")
    r = rt.run(rt.new_id(), bundle, preexec_fn=_set_oom_17)
    assert r.rc == 0, r
    assert r.stdout == "17\n"


@spec("config.md#process/noNewPrivileges", "MUST",
      "setting noNewPrivileges to true prevents the process from gaining additional "
      "privileges")
@pytest.mark.parametrize("value,expect", [(True, "1"), (False, "0")])
def test_no_new_privileges(rt, bundle, value, expect):
    bundle.config["process"]["noNewPrivileges"] = value
    out = rt.probe(bundle, "grep ^NoNewPrivs: /proc/self/status")
    assert status_fields(out)["NoNewPrivs"] == expect


CAP_BITS = {"CAP_KILL": 5, "CAP_NET_BIND_SERVICE": 10, "CAP_AUDIT_WRITE": 29,
            "CAP_CHOWN": 0, "CAP_SYS_ADMIN": 21}


def mask(*names):
    return sum(1 << CAP_BITS[n] for n in names)


@spec("config.md#process/capabilities", "MUST",
      "capabilities ... arrays that specifies the sets of capabilities for the process")
@pytest.mark.parametrize("uid", [0, 1000])
def test_capabilities(rt, bundle, uid):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"]
    bundle.config["process"]["user"] = {"uid": uid, "gid": uid}
    bundle.config["process"]["capabilities"] = {
        "bounding": caps + ["CAP_AUDIT_WRITE"], "effective": caps, "permitted": caps,
        "inheritable": caps, "ambient": caps}
    st = status_fields(rt.probe(bundle, "cat /proc/self/status"))
    want = mask(*caps)
    assert int(st["CapBnd"], 16) == mask("CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN",
                                         "CAP_AUDIT_WRITE")
    assert int(st["CapEff"], 16) == want
    assert int(st["CapPrm"], 16) == want
    assert int(st["CapInh"], 16) == want
    assert int(st["CapAmb"], 16) == want


@spec("config.md#process/capabilities", "MUST",
      "the effective field is an array of effective capabilities that are kept for the "
      "process (a dropped capability really is gone)")
def test_dropped_capability_denied(rt, bundle):
    bundle.config["process"]["capabilities"] = {k: ["CAP_KILL"] for k in
                                                ("bounding", "effective", "permitted")}
    bundle.config["root"]["readonly"] = False
    out = rt.probe(bundle, "touch /tmp/f; chown 1000 /tmp/f 2>&1; echo rc=$?")
    assert "rc=1" in out


def _hard_nofile():
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


@spec("config.md#process/rlimits", "MUST",
      "rlim.rlim_max MUST match the configured value (a limit the runtime cannot raise is an "
      "error, never silently lower).")
def test_rlimit_above_host_hard_limit(rt, bundle):
    want = _hard_nofile() * 2 if _hard_nofile() < 1 << 20 else 1 << 20
    bundle.config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": want,
                                            "hard": want}]
    bundle.args("sh", "-c", "ulimit -Hn")
    cid = rt.new_id()
    r = rt.run(cid, bundle)
    if r.rc == 0:
        assert r.stdout.strip() == str(want), "rlimit silently not applied as configured"
    else:
        assert rt.state(cid) is None and rt.root_entries() == []


@spec("config.md#process/oomScoreAdj", "MUST",
      "If oomScoreAdj is set, the runtime MUST set oom_score_adj to the given value (or, when "
      "it cannot, generate an error).")
def test_negative_oom_score_adj(rt, bundle):
    bundle.config["process"]["oomScoreAdj"] = -500
    bundle.args("cat", "/proc/self/oom_score_adj")
    cid = rt.new_id()
    r = rt.run(cid, bundle)
    if r.rc == 0:
        assert r.stdout == "-500\n"
    else:
        assert rt.state(cid) is None and rt.root_entries() == []
