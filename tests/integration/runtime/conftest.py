"""Fixtures and the scoreboard for the OCI runtime conformance suite.

RUNTIME=<command> picks the runtime under test (default: runc-py on PATH;
without it every test here is skipped with the reason).  Each test gets a
fresh work dir, a `Runtime` whose --root lives in it, and bundles copied
from one busybox rootfs built per session.  At the end of the run the
scoreboard prints pass/fail/xfail/skip counts per spec area, and, when
CONFORMANCE_JSON=<file> is set, writes them there as JSON.
"""
import collections
import json
import os
import shutil

import pytest

from tests.support import runtime as rs

HERE = os.path.dirname(os.path.abspath(__file__))

_SPECS = {}          # nodeid -> spec marker kwargs
_OUTCOMES = {}       # nodeid -> passed/failed/xfailed/xpassed/skipped/error
_COUNTER = [0]       # work dir sequence number


def _ours(item):
    return str(item.fspath).startswith(HERE + os.sep)


def pytest_configure(config):
    config.addinivalue_line("markers", "spec(ref, area, level, text): the spec sentence checked")
    config.addinivalue_line("markers", "deviates(runtime, reason): known deviation -> xfail")


def pytest_collection_modifyitems(config, items):
    path, name, reason = rs.selected_runtime()
    for item in items:
        if not _ours(item):
            continue
        mark = item.get_closest_marker("spec")
        if mark is None:
            item.add_marker(pytest.mark.xfail(
                reason="conformance test without a @spec(...) citation", run=False))
            _SPECS[item.nodeid] = {"area": "uncited", "level": "?", "ref": "?", "text": ""}
            continue
        _SPECS[item.nodeid] = dict(mark.kwargs)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))
            continue
        for dev in item.iter_markers("deviates"):
            if dev.kwargs["runtime"] == name:
                item.add_marker(pytest.mark.xfail(reason=f"{name}: {dev.kwargs['reason']}",
                                                  strict=False))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def runtime_cmd():
    path, name, reason = rs.selected_runtime()
    if reason:
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def session_dir():
    d = rs.make_session_dir()
    yield d
    rs.unmount_all_under(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def rootfs_template(session_dir):
    if not os.path.exists("/bin/busybox"):
        pytest.skip("needs Debian's busybox-static")
    return rs.build_rootfs_template(os.path.join(session_dir, "template"))


@pytest.fixture
def workdir(session_dir, request):
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")[:60]
    _COUNTER[0] += 1
    d = os.path.join(session_dir, f"{_COUNTER[0]:03d}-{name}")
    os.makedirs(d)
    os.chmod(d, 0o755)
    yield d
    rs.unmount_all_under(d)
    shutil.rmtree(d, ignore_errors=True)


def _new_runtime(cmd, workdir, tag):
    root = os.path.join(workdir, f"root-{tag}")
    logs = os.path.join(workdir, f"io-{tag}")
    os.makedirs(logs, exist_ok=True)
    return rs.Runtime(cmd, root, logs)


@pytest.fixture
def rt(runtime_cmd, workdir):
    """The runtime under test, with a private --root."""
    r = _new_runtime(runtime_cmd, workdir, "rt")
    yield r
    stubborn = r.cleanup()
    assert not stubborn, f"containers that `delete --force` did not remove: {stubborn}"


@pytest.fixture
def runc_ref(runtime_cmd, workdir):
    """Debian's runc as the reference for differential tests."""
    ref = rs.reference_runc()
    if ref is None:
        pytest.skip("differential test needs Debian's runc")
    if os.path.realpath(ref) == os.path.realpath(runtime_cmd):
        pytest.skip("differential test: RUNTIME is runc itself")
    r = _new_runtime(ref, workdir, "runc")
    yield r
    r.cleanup()


@pytest.fixture
def make_bundle(rootfs_template, workdir):
    """make_bundle(name="bundle", args=("true",)) -> a fresh Bundle."""
    def make(name="bundle", args=("true",)):
        return rs.Bundle(os.path.join(workdir, name), rootfs_template, args)
    return make


@pytest.fixture
def bundle(make_bundle):
    return make_bundle()


# ---------------------------------------------------------------- scoreboard


def pytest_runtest_logreport(report):
    if report.nodeid not in _SPECS:
        return
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "setup":
        if report.skipped:
            _OUTCOMES[report.nodeid] = "xfailed" if wasxfail else "skipped"
        elif report.failed:
            _OUTCOMES[report.nodeid] = "error"
    elif report.when == "call":
        if wasxfail:
            _OUTCOMES[report.nodeid] = "xfailed" if report.skipped else "xpassed"
        elif report.skipped:
            _OUTCOMES[report.nodeid] = "skipped"
        else:
            _OUTCOMES[report.nodeid] = report.outcome
    elif report.when == "teardown" and report.failed:
        _OUTCOMES[report.nodeid] = "error"


COLUMNS = ("passed", "failed", "error", "xfailed", "xpassed", "skipped")


def scoreboard():
    """{area: Counter(outcome)} plus the per-level MUST/SHOULD failures."""
    table = collections.OrderedDict((a, collections.Counter()) for a in rs.AREAS)
    for nodeid, outcome in _OUTCOMES.items():
        area = _SPECS[nodeid]["area"]
        table.setdefault(area, collections.Counter())[outcome] += 1
    return table


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _OUTCOMES:
        return
    path, name, reason = rs.selected_runtime()
    tr = terminalreporter
    tr.section(f"OCI runtime conformance: {path or name}")
    table = scoreboard()
    tr.write_line(f"{'spec area':40} " + " ".join(f"{c:>7}" for c in COLUMNS))
    totals = collections.Counter()
    for area, counts in table.items():
        if not counts:
            continue
        totals.update(counts)
        tr.write_line(f"{area:40} " + " ".join(f"{counts[c]:>7}" for c in COLUMNS))
    tr.write_line(f"{'TOTAL':40} " + " ".join(f"{totals[c]:>7}" for c in COLUMNS))
    bad = [(n, _SPECS[n]) for n, o in _OUTCOMES.items() if o in ("failed", "error")]
    for nodeid, s in bad:
        tr.write_line(f"  {s['level']:6} {s['ref']}: {s['text'][:90]}  [{nodeid.split('::')[-1]}]")
    out = os.environ.get("CONFORMANCE_JSON")
    if out:
        with open(out, "w") as f:
            json.dump({"runtime": path or name,
                       "areas": {a: dict(c) for a, c in table.items() if c},
                       "tests": {n: {"outcome": o, **_SPECS[n]} for n, o in _OUTCOMES.items()}},
                      f, indent=1)
