"""process.capabilities on the real kernel: a forked child applies the sets in
the runtime's order and execs busybox; /proc/self/status and chown show what
the container's process really has."""
import os

import pytest

from runc_py import caps
from runc_py.caps import CAP_NAMES

from .helpers import BUSYBOX, run_child, status_fields

pytestmark = pytest.mark.requires("root", "busybox")

# runc's default set for containers (Docker's)
DEFAULT = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
           "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
           "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NAMES[n]
    return f"{m:016x}"


def init_sequence(config, uid=None, nnp=False):
    """What the runtime's init does, in its order."""
    sets = caps.available(caps.parse(config), held=caps.held_caps())

    def setup():
        caps.drop_bounding(sets)
        if uid is not None:
            caps.prepare_user_switch()
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            caps.finish_user_switch()
        caps.apply(sets)
        if nnp:
            caps.set_no_new_privs()
    return setup


def all_sets(names, ambient=()):
    return {"bounding": names, "effective": names, "permitted": names,
            "inheritable": names, "ambient": list(ambient)}


def proc_status(setup):
    r = run_child(setup, [BUSYBOX, "cat", "/proc/self/status"])
    assert r.code == 0, r.err
    return status_fields(r.out)


def test_root_container_gets_exactly_the_bounding_set():
    st = proc_status(init_sequence(all_sets(DEFAULT)))
    assert st["CapBnd"] == mask(DEFAULT)
    assert st["CapEff"] == mask(DEFAULT)
    assert st["CapPrm"] == mask(DEFAULT)
    assert st["CapAmb"] == mask([])


def test_dropped_chown_makes_chown_fail(shared_dir):
    f = os.path.join(shared_dir, "f")
    open(f, "w").close()
    without = [c for c in DEFAULT if c != "CAP_CHOWN"]
    r = run_child(init_sequence(all_sets(without)), [BUSYBOX, "chown", "1000", f])
    assert r.code == 1
    assert "Operation not permitted" in r.err
    assert os.stat(f).st_uid == 0


def test_kept_chown_lets_chown_succeed(shared_dir):
    f = os.path.join(shared_dir, "f")
    open(f, "w").close()
    r = run_child(init_sequence(all_sets(DEFAULT)), [BUSYBOX, "chown", "1000", f])
    assert r.code == 0, r.err
    assert os.stat(f).st_uid == 1000


def test_ambient_caps_reach_a_non_root_process(shared_dir):
    kept = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]
    st = proc_status(init_sequence(all_sets(kept, ambient=kept), uid=1000))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["CapAmb"] == mask(kept)
    assert st["CapEff"] == mask(kept)
    assert st["CapPrm"] == mask(kept)
    assert st["CapBnd"] == mask(kept)
    # and they work: uid 1000 can give a root-owned file away
    f = os.path.join(shared_dir, "f")
    open(f, "w").close()
    r = run_child(init_sequence(all_sets(kept, ambient=kept), uid=1000),
                  [BUSYBOX, "chown", "1000", f])
    assert r.code == 0, r.err
    assert os.stat(f).st_uid == 1000


def test_without_ambient_a_non_root_process_has_nothing_after_exec(shared_dir):
    kept = ["CAP_CHOWN"]
    st = proc_status(init_sequence(all_sets(kept), uid=1000))
    assert st["CapEff"] == st["CapPrm"] == st["CapAmb"] == mask([])
    assert st["CapInh"] == mask(kept)
    f = os.path.join(shared_dir, "f")
    open(f, "w").close()
    r = run_child(init_sequence(all_sets(kept), uid=1000), [BUSYBOX, "chown", "1000", f])
    assert r.code == 1 and "Operation not permitted" in r.err


def test_no_new_privs_visible():
    st = proc_status(init_sequence(all_sets(DEFAULT), nnp=True))
    assert st["NoNewPrivs"] == "1"
    st = proc_status(init_sequence(all_sets(DEFAULT)))
    assert st["NoNewPrivs"] == "0"


def test_effective_smaller_than_permitted():
    config = all_sets(DEFAULT)
    config["effective"] = ["CAP_KILL"]

    def setup():
        init_sequence(config, uid=1000)()
        eff, prm, inh = caps.current()
        os.write(1, f"{sorted(eff)} {prm == inh == caps.parse(config).permitted}".encode())
        os._exit(0)
    r = run_child(setup, [BUSYBOX, "true"])
    assert r.out == f"[{CAP_NAMES['CAP_KILL']}] True"


def test_ambient_not_inheritable_warns_and_goes_on():
    config = {"bounding": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"],
              "effective": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}
    sets = caps.parse(config)

    def setup():
        init_sequence(config, uid=1000)()
        caps.apply(sets, warn=lambda m: os.write(2, f"warning: {m}\n".encode()))
    r = run_child(setup, [BUSYBOX, "grep", "CapAmb", "/proc/self/status"])
    assert r.code == 0
    assert "process.capabilities.ambient: cannot raise CAP_CHOWN" in r.err
    assert "must also be inheritable" in r.err
    assert r.out.split() == ["CapAmb:", mask([])]


def test_caps_the_host_root_lacks_are_skipped_not_fatal():
    # this host's root has no CAP_SYS_RESOURCE; a "privileged" config asks for all
    everything = sorted(CAP_NAMES, key=CAP_NAMES.get)
    sets = caps.available(caps.parse(all_sets(everything)), held=caps.held_caps())
    missing = [n for n in everything if CAP_NAMES[n] not in caps.held_caps()]
    assert list(sets.skipped) == missing
    st = proc_status(init_sequence(all_sets(everything)))
    held = [n for n in everything if n not in missing and CAP_NAMES[n] <= caps.last_cap()]
    assert st["CapEff"] == mask(held)


def test_bounding_drop_needs_setpcap():
    sets = caps.parse({"bounding": ["CAP_KILL"]})

    def setup():
        caps.apply(caps.parse({"permitted": ["CAP_KILL"], "effective": ["CAP_KILL"]}))
        caps.drop_bounding(sets)
    r = run_child(setup, [BUSYBOX, "true"])
    assert r.code == 127
    assert "PR_CAPBSET_DROP" in r.err and "CAP_SETPCAP" in r.err

