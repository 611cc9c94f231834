"""The fast path of `mydocker run|create` (manager/cli/fastpath.py) must read
a command line exactly as click does, and leave to click every command
line click would reject or treat specially: compared here on the same
argv, with click's own parser as the reference."""
import click
import pytest

from manager.cli import fastpath
from manager.paths import Paths

ACCEPTED = [
    ["run", "--rm", "busybox", "true"],
    ["run", "-it", "busybox", "sh"],
    ["run", "-dit", "--name", "x", "busybox"],
    ["run", "-d", "--name=web", "-m", "64m", "--pids-limit", "50", "busybox", "sh", "-c",
     "while :; do date; sleep 1; done"],
    ["run", "-eFOO=1", "-e", "BAR", "-e=BAZ", "--env", "Q=1", "--env=R=2", "busybox"],
    ["run", "--memory=64m", "-m", "32m", "busybox", "echo", "--rm", "-x"],
    ["run", "--cpus", "1.5", "-c", "512", "--pids-limit=10", "--stop-timeout", "3",
     "--cpu-shares=7", "busybox"],
    ["run", "--cpus", " 2 ", "--pids-limit", "1_000", "busybox"],
    ["--data-root", "/x", "--run-root=/y", "--runtime", "runc", "--debug", "run", "busybox"],
    ["--runtime=runc", "container", "run", "--rm", "busybox", "true"],
    ["container", "create", "--name", "n", "busybox"],
    ["create", "-t", "busybox"],
    ["run", "--", "busybox", "ls"],
    ["run", "--rm", "--", "-image-", "ls"],
    ["run", "busybox", "--", "ls", "--help"],
    ["run", "-v", "/a:/b", "--volume=/c:/d:ro", "-l", "a=b", "--label", "c", "-lx=y",
     "busybox"],
    ["run", "--net", "none", "--network=host", "busybox"],
    ["run", "-h", "myhost", "-hother", "busybox"],
    ["run", "-w/tmp", "-u0:0", "-itd", "busybox"],
    ["run", "-iu", "app", "busybox"],
    ["run", "--memory", "-5m", "--cpus", "-1", "busybox"],
    ["run", "-m", "--rm", "busybox"],
    ["run", "--name", "--", "busybox"],
    ["run", "-", "true"],
    ["run", "--rm", "--rm", "--name", "a", "--name", "b", "busybox"],
    ["run", "--restart", "on-failure:2", "--init", "--read-only", "--privileged",
     "--stop-signal", "USR1", "--entrypoint", "", "--hostname=h", "busybox"],
    ["run", "--cap-add", "SYS_ADMIN", "--cap-drop=NET_RAW", "--security-opt",
     "seccomp=unconfined", "--ulimit", "nofile=1:2", "--tmpfs", "/t", "--mount",
     "type=bind,source=/a,target=/b", "--env-file", "/e", "--log-opt", "max-size=1k",
     "--cgroup-parent", "p", "--pull", "never", "--runtime", "runc", "--cpuset-cpus", "0",
     "--memory-swap", "-1", "--workdir", "/w", "--user", "1", "--interactive", "--tty",
     "--detach", "busybox", "x"],
]

DECLINED = [
    [], ["run"], ["run", "--help"], ["run", "--rm=yes", "busybox"], ["run", "--nope", "busybox"],
    ["run", "-x", "busybox"], ["run", "-ix", "busybox"], ["run", "--cpus", "abc", "busybox"],
    ["run", "-c", "1.5", "busybox"], ["run", "--stop-timeout", "soon", "busybox"],
    ["run", "--name"], ["run", "-e"], ["run", "-it"], ["-h"], ["--help"], ["ps"],
    ["container", "ps"], ["container", "--help", "run", "busybox"], ["--data-root"],
    ["--debug=1", "run", "busybox"], ["--nope", "run", "busybox"], ["images"],
    ["container"], ["--", "run", "busybox"], ["run", "--rm", "--", ], ["start", "x"],
]


def click_parse(argv):
    """What click hands to run_cmd/create_cmd for argv: (context obj, command, params),
    or None when click would not run either command."""
    from manager.cli import app
    from manager.cli import container as ccli
    app._register()
    seen = []

    def capture(name):
        @click.pass_context
        def cb(ctx, **kw):
            seen.append((ctx.find_root().obj, name, kw))
        return cb

    saved = ccli.run_cmd.callback, ccli.create_cmd.callback
    ccli.run_cmd.callback, ccli.create_cmd.callback = capture("run"), capture("create")
    try:
        app.cli.main(args=list(argv), prog_name="mydocker", standalone_mode=False)
    except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        return None
    finally:
        ccli.run_cmd.callback, ccli.create_cmd.callback = saved
    return seen[0] if seen else None


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("MYDOCKER_DATA_ROOT", "MYDOCKER_RUN_ROOT", "MYDOCKER_RUNTIME"):
        monkeypatch.delenv(var, raising=False)


def same(argv):
    ref = click_parse(argv)
    fast = fastpath.parse(argv)
    assert ref is not None, f"click rejects {argv}"
    assert fast is not None, f"the fast path declines {argv}"
    obj, name, kw = ref
    g, command, fkw = fast
    assert command == name
    assert fkw == kw
    for k in fkw:
        assert type(fkw[k]) is type(kw[k]), k
    paths = fastpath.RootPaths(g["data_root"], g["run_root"])
    assert (paths.data_root, paths.run_root) == (str(obj.paths.data_root),
                                                 str(obj.paths.run_root))
    assert g["runtime"] == obj.runtime
    assert g["debug"] == obj.debug


@pytest.mark.parametrize("argv", ACCEPTED)
def test_fast_path_reads_argv_as_click_does(argv):
    same(argv)


@pytest.mark.parametrize("argv", DECLINED)
def test_fast_path_leaves_the_rest_to_click(argv):
    assert fastpath.parse(argv) is None


def test_environment_defaults_as_click(monkeypatch):
    monkeypatch.setenv("MYDOCKER_DATA_ROOT", "/env/data")
    monkeypatch.setenv("MYDOCKER_RUN_ROOT", "")
    monkeypatch.setenv("MYDOCKER_RUNTIME", "runc")
    same(["run", "busybox"])
    same(["--data-root", "/flag", "--runtime", "crun", "run", "busybox"])
    assert fastpath.RootPaths().run_root == str(Paths.from_env().run_root)


def test_click_options_come_from_the_same_table():
    """Every option of the run command is in runopts.RUN_OPTIONS, and back."""
    from manager.cli import app, runopts
    from manager.cli import container as ccli
    app._register()
    names = {p.name for p in ccli.run_cmd.params if isinstance(p, click.Option)}
    assert names == {fastpath._Opt(d, s).name for d, s in runopts.RUN_OPTIONS}
