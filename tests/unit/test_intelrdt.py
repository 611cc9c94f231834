"""linux.intelRdt: refused clearly where resctrl is absent (no root)."""
import pytest

from runc_py import intelrdt
from runc_py.errors import SpecError


def test_absent_resctrl_is_a_clear_error(tmp_path):
    with pytest.raises(SpecError) as ei:
        intelrdt.check({"closID": "x"}, root=str(tmp_path / "resctrl"))
    assert ei.value.field == "linux.intelRdt"
    assert "not available" in str(ei.value)


def test_no_rdt_no_check():
    intelrdt.check(None, root="/nonexistent")


def test_apply_on_a_resctrl_like_tree(tmp_path):
    (tmp_path / "info").mkdir()
    group = intelrdt.apply({"l3CacheSchema": "L3:0=ff"}, "c1", 1234, root=str(tmp_path))
    assert group == str(tmp_path / "c1")
    assert (tmp_path / "c1" / "schemata").read_text() == "L3:0=ff\n"
    assert (tmp_path / "c1" / "tasks").read_text() == "1234"
