"""Plan compilation (pure): golden output and field paths in errors."""
import copy
import os

import pytest

from runc_py.errors import SpecError
from runc_py.plan import compile_plan
from runc_py.spec.default import default_spec

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "default_plan.txt")


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "rootfs").mkdir()
    return str(tmp_path)


def render(bundle, doc):
    return compile_plan(doc, bundle).render().replace(bundle, "<bundle>")


def test_default_spec_plan_matches_golden(bundle):
    got = render(bundle, default_spec())
    if os.environ.get("UPDATE_GOLDEN"):
        with open(GOLDEN, "w") as f:
            f.write(got + "\n")
    with open(GOLDEN) as f:
        assert got == f.read().rstrip("\n")


def test_plan_orders_mounts_before_pivot_and_masks_after(bundle):
    plan = compile_plan(default_spec(), bundle)
    ops = [s.op for s in plan.pre_pivot]
    assert ops[:2] == ["rootfs-propagation", "bind-rootfs"]
    assert ops.index("mount") < ops.index("device") < ops.index("dev-symlinks")
    post = [s.op for s in plan.post_pivot]
    assert post[-1] == "readonly-root"
    assert "mask" in post and "readonly-path" in post
    assert [s.field for s in plan.pre_pivot if s.op == "mount"][0] == "mounts[0]"


def test_no_default_devices_when_dev_is_bound(bundle):
    doc = default_spec()
    doc["mounts"] = [{"destination": "/dev", "type": "bind", "source": "/dev",
                      "options": ["rbind"]}]
    plan = compile_plan(doc, bundle)
    assert plan.dev_is_bind
    assert not [s for s in plan.pre_pivot if s.op == "device"]


def mutate(fn):
    doc = default_spec()
    fn(doc)
    return doc


@pytest.mark.parametrize("change,field", [
    (lambda d: d.pop("ociVersion"), "ociVersion"),
    (lambda d: d.pop("root"), "root"),
    (lambda d: d["root"].update(path="nope"), "root.path"),
    (lambda d: d["linux"]["namespaces"].append({"type": "bogus"}), "linux.namespaces[5].type"),
    (lambda d: d["linux"]["namespaces"].append({"type": "pid"}), "linux.namespaces[5].type"),
    (lambda d: d["linux"]["namespaces"].append({"type": "user", "path": "rel"}),
     "linux.namespaces[5].path"),
    (lambda d: d["linux"].update(uidMappings=[{"containerID": 0, "hostID": 1, "size": 1}]),
     "linux.uidMappings"),
    (lambda d: d["linux"].update(namespaces=[{"type": "mount"}]), "hostname"),
    (lambda d: d["process"].update(args=[]), "process.args"),
    (lambda d: d["process"].update(cwd="relative"), "process.cwd"),
    (lambda d: d["process"]["env"].append("NOEQUALS"), "process.env[2]"),
    (lambda d: d["process"]["rlimits"].append({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}),
     "process.rlimits[1].type"),
    (lambda d: d["process"]["rlimits"][0].update(soft=10, hard=5), "process.rlimits[0].soft"),
    (lambda d: d["process"]["user"].update(uid=-1), "process.user.uid"),
    (lambda d: d["mounts"][2].update(options=["nosuid", 5]), "mounts[2].options[1]"),
    (lambda d: d["mounts"].append({"destination": "/x", "type": "bind", "source": "/nonexistent-src"}),
     "mounts[7].source"),
    (lambda d: d["mounts"].append({"destination": "/x"}), "mounts[7].type"),
    (lambda d: d["linux"].update(devices=[{"path": "/dev/x", "type": "q", "major": 1, "minor": 1}]),
     "linux.devices[0].type"),
    (lambda d: d["linux"].update(devices=[{"path": "/dev/x", "type": "c"}]),
     "linux.devices[0].major"),
    (lambda d: d["linux"].update(rootfsPropagation="sideways"), "linux.rootfsPropagation"),
    (lambda d: d.update(hooks={"prestart": [{"path": "relative/hook"}]}), "hooks.prestart[0].path"),
    (lambda d: d.update(hooks={"poststop": [{"path": "/bin/true", "timeout": 0}]}),
     "hooks.poststop[0].timeout"),
])
def test_bad_fields_are_named(bundle, change, field):
    with pytest.raises(SpecError) as ei:
        compile_plan(mutate(change), bundle)
    assert ei.value.field == field, str(ei.value)
