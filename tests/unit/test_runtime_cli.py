"""runc-py argv parsing and signal names (no root)."""
import signal

import pytest

from runc_py.cli import parse, parse_signal
from runc_py.errors import UsageError


def test_containerd_create_argv():
    g, cmd, o, pos = parse(["--root", "/run/x", "--log", "/l.json", "--log-format", "json",
                            "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file",
                            "/p", "--console-socket", "/s", "--no-pivot", "--no-new-keyring",
                            "id1"])
    assert (g.root, g.log, g.log_format, g.systemd_cgroup) == ("/run/x", "/l.json", "json", True)
    assert cmd == "create"
    assert o == {"bundle": "/b", "pid_file": "/p", "console_socket": "/s", "no_pivot": True,
                 "no_new_keyring": True}
    assert pos == ["id1"]


def test_go_style_flags():
    g, cmd, o, pos = parse(["-root=/r", "run", "-bundle=/b", "-d", "--keep=false", "c"])
    assert g.root == "/r" and o.bundle == "/b" and o.detach is True and o.keep is False
    assert pos == ["c"]


def test_exec_stops_at_command():
    _, cmd, o, pos = parse(["exec", "-e", "A=1", "--env=B=2", "-t", "c1", "sh", "-c", "ls -l"])
    assert o.env == ["A=1", "B=2"] and o.tty is True
    assert pos == ["c1", "sh", "-c", "ls -l"]


def test_flags_after_id_for_delete():
    _, cmd, o, pos = parse(["delete", "c1", "--force"])
    assert o.force is True and pos == ["c1"]


@pytest.mark.parametrize("argv,msg", [
    (["frobnicate"], "unknown command"),
    (["create", "--bogus", "x"], "unknown flag --bogus"),
    (["create", "--bundle"], "needs a value"),
    (["run", "--detach=maybe", "x"], "true or false"),
])
def test_bad_argv(argv, msg):
    with pytest.raises(UsageError, match=msg):
        parse(argv)


@pytest.mark.parametrize("text,num", [
    ("TERM", signal.SIGTERM), ("SIGTERM", signal.SIGTERM), ("15", 15), ("kill", 9),
    ("SIGUSR1", signal.SIGUSR1), ("RTMIN+2", signal.SIGRTMIN + 2), ("hup", 1)])
def test_signal_names(text, num):
    assert parse_signal(text) == num


@pytest.mark.parametrize("bad", ["SIGFOO", "0", "99", "SIG_DFL", ""])
def test_bad_signals(bad):
    with pytest.raises(UsageError):
        parse_signal(bad)
