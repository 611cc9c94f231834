"""process.capabilities, the pure half: names, parsing, what the kernel can grant."""
import subprocess
import sys

import pytest

from runc_py import caps
from runc_py.caps import CAP_NAMES, CapError, CapSets


def test_kernel_numbering():
    assert CAP_NAMES["CAP_CHOWN"] == 0
    assert CAP_NAMES["CAP_SETPCAP"] == 8
    assert CAP_NAMES["CAP_SYS_ADMIN"] == 21
    assert CAP_NAMES["CAP_AUDIT_READ"] == 37
    assert CAP_NAMES["CAP_CHECKPOINT_RESTORE"] == 40
    assert sorted(CAP_NAMES.values()) == list(range(41))


def test_parse_all_five_sets():
    sets = caps.parse({
        "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_AUDIT_WRITE", "CAP_KILL"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    })
    assert sets.bounding == {29, 5, 10}
    assert sets.effective == {29, 5}
    assert sets.ambient == {10}
    assert sets.names("effective") == ["CAP_KILL", "CAP_AUDIT_WRITE"]
    assert sets.skipped == ()


def test_missing_sets_are_empty():
    sets = caps.parse({"bounding": ["CAP_CHOWN"]})
    assert sets.bounding == {0}
    assert sets.effective == sets.permitted == sets.inheritable == sets.ambient == frozenset()
    assert caps.parse(None) == CapSets()


def test_unknown_name_is_rejected_with_its_path():
    with pytest.raises(CapError) as e:
        caps.parse({"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_FOO"]})
    assert e.value.field == "process.capabilities.bounding[2]"
    assert "unknown capability 'CAP_FOO'" in str(e.value)


def test_lowercase_name_gets_a_hint():
    with pytest.raises(CapError) as e:
        caps.parse({"effective": ["chown"]}, field="process.capabilities")
    assert e.value.field == "process.capabilities.effective[0]"
    assert e.value.hint == "did you mean CAP_CHOWN?"


def test_non_strict_parse_skips_unknown_names():
    sets = caps.parse({"bounding": ["CAP_CHOWN", "CAP_FOO"], "effective": ["CAP_FOO"]},
                      strict=False)
    assert sets.bounding == {0}
    assert sets.skipped == ("CAP_FOO",)


@pytest.mark.parametrize("bad, field", [
    ([], "process.capabilities"),
    ({"bounding": "CAP_CHOWN"}, "process.capabilities.bounding"),
    ({"ambient": [7]}, "process.capabilities.ambient[0]"),
])
def test_wrong_types(bad, field):
    with pytest.raises(CapError) as e:
        caps.parse(bad)
    assert e.value.field == field


def test_last_cap_reads_the_kernel_file(tmp_path):
    p = tmp_path / "cap_last_cap"
    p.write_text("38\n")
    assert caps.last_cap(str(p)) == 38
    assert caps.last_cap(str(tmp_path / "missing")) == 40


def test_available_skips_caps_the_kernel_lacks():
    sets = caps.parse({"bounding": ["CAP_BPF", "CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"],
                       "ambient": ["CAP_PERFMON"]})
    out = caps.available(sets, last=37)
    assert out.bounding == {0}
    assert out.ambient == frozenset()
    assert out.skipped == ("CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE")


def test_available_skips_caps_the_runtime_does_not_hold(tmp_path):
    status = tmp_path / "status"
    # CapPrm/CapBnd without CAP_SYS_RESOURCE (24), like this host's root
    full = (1 << 41) - 1
    status.write_text(f"Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t{full & ~(1 << 24):016x}\n"
                      f"CapEff:\t{full:016x}\nCapBnd:\t{full:016x}\n")
    held = caps.held_caps(str(status))
    assert 24 not in held and 0 in held and 40 in held
    sets = caps.parse({"bounding": ["CAP_SYS_RESOURCE", "CAP_KILL"],
                       "permitted": ["CAP_SYS_RESOURCE"]})
    out = caps.available(sets, last=40, held=held)
    assert out.bounding == {5}
    assert out.permitted == frozenset()
    assert out.skipped == ("CAP_SYS_RESOURCE",)


def test_masks_split_low_and_high_words():
    assert caps._masks({0, 31}) == (0x80000001, 0)
    assert caps._masks({32, 40}) == (0, 0x101)


def test_pure_half_does_not_load_native():
    code = ("import sys; import runc_py.caps as c; c.parse({'bounding': ['CAP_CHOWN']}); "
            "print('runc_py._native' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=caps.__file__.rsplit("/runc_py/", 1)[0], check=True)
    assert out.stdout.strip() == "False"
