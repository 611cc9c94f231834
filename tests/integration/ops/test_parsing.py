"""The pure parts of runc_py/ops.py: sizes, durations, update's key checks
and flags (no root, no containers)."""
import pytest

from runc_py import ops
from runc_py.cli import Args
from runc_py.errors import UsageError


@pytest.mark.parametrize("text,want", [
    ("1048576", 1 << 20), ("512k", 512 << 10), ("64m", 64 << 20), ("64M", 64 << 20),
    ("1g", 1 << 30), ("1.5g", 3 << 29), ("2GiB", 2 << 30), ("10mb", 10 << 20), ("-1", -1)])
def test_parse_bytes_like_runc(text, want):
    assert ops.parse_bytes(text, "memory") == want


@pytest.mark.parametrize("text", ["12q", "", "m", "-2", "1..2g"])
def test_parse_bytes_rejects_with_flag_name(text):
    with pytest.raises(UsageError, match="--memory"):
        ops.parse_bytes(text, "memory")


@pytest.mark.parametrize("text,want", [("5s", 5.0), ("100ms", 0.1), ("1m30s", 90.0),
                                       ("1.5s", 1.5), ("250us", 0.00025)])
def test_parse_duration_go_style(text, want):
    assert ops.parse_duration(text) == pytest.approx(want)


@pytest.mark.parametrize("text", ["soon", "5", "0", "0s", "5s x", "-1s"])
def test_parse_duration_rejects(text):
    with pytest.raises(UsageError, match="--interval"):
        ops.parse_duration(text)


def test_resource_keys_unknown_and_not_updatable():
    ops.check_resource_keys({"memory": {"limit": 1, "swap": 2}, "cpu": {"quota": 1000},
                             "pids": {"limit": 5}, "unified": {"memory.high": "1"}})
    with pytest.raises(UsageError, match="'memory.limt'"):
        ops.check_resource_keys({"memory": {"limt": 1}})
    with pytest.raises(UsageError, match="'memroy'"):
        ops.check_resource_keys({"memroy": {}})
    with pytest.raises(UsageError, match="resources.devices cannot be changed"):
        ops.check_resource_keys({"devices": []})
    with pytest.raises(UsageError, match="must be a JSON object"):
        ops.check_resource_keys([1])


def test_resources_from_flags():
    o = Args(memory="64m", memory_swap="-1", cpu_quota="50000", cpu_period="100000",
             cpuset_cpus="0", pids_limit="100", blkio_weight="300")
    assert ops.resources_from_flags(o) == {
        "memory": {"limit": 64 << 20, "swap": -1},
        "cpu": {"quota": 50000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 100}, "blockIO": {"weight": 300}}
    with pytest.raises(UsageError, match="--pids-limit"):
        ops.resources_from_flags(Args(pids_limit="many"))


def test_update_without_anything_to_update(tmp_path):
    from runc_py.lifecycle import Options
    with pytest.raises(UsageError, match="nothing to update"):
        ops.cmd_update(Options(root=str(tmp_path)), Args(), ["c1"])
