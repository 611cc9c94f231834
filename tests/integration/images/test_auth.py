"""Registry auth against the reference registry: the Docker token flow
(with a small token server signing RS256 JWTs) and htpasswd Basic auth;
login/logout store credentials in Docker's config.json format, mode 0600."""
import base64
import json
import os
import stat

import pytest
from click.testing import CliRunner

from manager.errors import RegistryError
from manager.services import images as svc
from tests.support import images as timages
from tests.support.registry import Registry, TokenServer

pytestmark = pytest.mark.requires("root", "registry", "busybox")
USERS = {"alice": "wonderland"}


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory):
    pytest.importorskip("cryptography")
    work = tmp_path_factory.mktemp("mydocker-test-token")
    ts = TokenServer(work, users=USERS, anonymous_repos={"public"}).start()
    reg = Registry(work / "reg", auth=("token", ts)).start()
    timages.push_busybox_image(reg.url, "public", "latest", credentials=("alice", "wonderland"))
    timages.push_image(reg.url, "private", "latest",
                       timages.build_image(timages.multilayer_layers()),
                       credentials=("alice", "wonderland"))
    yield reg, ts
    reg.stop()
    ts.stop()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory):
    reg = Registry(tmp_path_factory.mktemp("mydocker-test-basic"),
                   auth=("htpasswd", USERS)).start()
    timages.push_busybox_image(reg.url, "app", "v1", credentials=("alice", "wonderland"))
    yield reg
    reg.stop()


def test_anonymous_token_pull_reuses_one_token(paths, token_registry):
    reg, ts = token_registry
    ts.requests.clear()
    img = svc.pull(paths, f"{reg.host}/public")
    assert img.names == [f"{reg.host}/public:latest"]
    assert ts.requests == [{"user": None, "scope": "repository:public:pull"}]


def test_private_repo_needs_login_then_works(paths, token_registry, monkeypatch):
    reg, ts = token_registry
    with pytest.raises(RegistryError) as e:
        svc.pull(paths, f"{reg.host}/private")
    assert "needs 'mydocker login" in str(e.value) or "not found or needs login" in str(e.value)
    with pytest.raises(RegistryError, match="refused as 'alice'"):
        svc.login(reg.host, "alice", "wrong")
    path = svc.login(reg.host, "alice", "wonderland")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    entry = json.loads(path.read_text())["auths"][reg.host]
    assert base64.b64decode(entry["auth"]).decode() == "alice:wonderland"
    ts.requests.clear()
    img = svc.pull(paths, f"{reg.host}/private")
    assert len(img.layers) == 3
    assert {r["user"] for r in ts.requests} == {"alice"} and len(ts.requests) == 1
    assert svc.logout(reg.host) is True
    assert reg.host not in json.loads(path.read_text())["auths"]


def test_basic_auth_with_htpasswd(paths, basic_registry):
    reg = basic_registry
    with pytest.raises(RegistryError, match="authentication required"):
        svc.pull(paths, f"{reg.host}/app:v1")
    with pytest.raises(RegistryError, match="wrong username or password"):
        svc.login(reg.host, "alice", "nope")
    svc.login(reg.host, "alice", "wonderland")
    assert svc.pull(paths, f"{reg.host}/app:v1").names == [f"{reg.host}/app:v1"]


def test_login_logout_cli(paths, basic_registry):
    from manager.cli import _register, cli
    _register()
    runner = CliRunner()
    args = ["--data-root", str(paths.data_root)]
    r = runner.invoke(cli, args + ["login", basic_registry.host, "-u", "alice",
                                   "--password-stdin"], input="wonderland\n")
    assert r.exit_code == 0, r.output
    assert "Login Succeeded" in r.output
    r = runner.invoke(cli, args + ["logout", basic_registry.host])
    assert r.exit_code == 0 and f"Removing login credentials for {basic_registry.host}" in r.output
