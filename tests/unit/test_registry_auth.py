"""Pure parts of the registry client: auth challenges, credentials file,
loopback detection and platform selection from an index."""
import json
import os
import stat

import pytest

from manager.errors import InvalidReference, RegistryError
from manager.registry import credentials
from manager.registry.auth import parse_challenge
from manager.registry.client import is_loopback
from manager.services.images import parse_platform, select_manifest


def test_parse_bearer_challenge():
    scheme, p = parse_challenge('Bearer realm="https://auth.docker.io/token",'
                                'service="registry.docker.io",scope="repository:library/'
                                'alpine:pull"')
    assert scheme == "bearer"
    assert p == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                 "scope": "repository:library/alpine:pull"}
    assert parse_challenge('Basic realm="x"') == ("basic", {"realm": "x"})
    assert parse_challenge(None) == (None, {})


@pytest.mark.parametrize("host, yes", [
    ("127.0.0.1:5000", True), ("127.3.4.5", True), ("localhost:5000", True),
    ("[::1]:5000", True), ("localhost", True), ("10.0.0.1:5000", False),
    ("registry.example.com", False), ("docker.io", False)])
def test_loopback_registries_may_use_plain_http(host, yes):
    assert is_loopback(host) is yes


def test_credentials_file_is_docker_format_and_0600(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDOCKER_CONFIG", str(tmp_path / "cfg"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "nodocker"))
    path = credentials.store("127.0.0.1:5000", "bob", "pa:ss")
    credentials.store("docker.io", "hubuser", "x")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data["auths"]) == {"127.0.0.1:5000", "https://index.docker.io/v1/"}
    assert credentials.get("127.0.0.1:5000") == ("bob", "pa:ss")
    assert credentials.get("docker.io") == ("hubuser", "x")
    assert credentials.erase("127.0.0.1:5000") is True
    assert credentials.erase("127.0.0.1:5000") is False
    assert credentials.get("127.0.0.1:5000") is None


def test_platforms():
    assert parse_platform("linux/arm64/v8") == ("linux", "arm64", "v8")
    assert parse_platform("linux/x86_64") == ("linux", "amd64", None)
    with pytest.raises(InvalidReference, match="os/arch"):
        parse_platform("linux")
    index = {"manifests": [
        {"digest": "a", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "b", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
        {"digest": "c", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "d", "platform": {"os": "unknown", "architecture": "unknown"}}]}
    assert select_manifest(index, ("linux", "amd64", None), "x")["digest"] == "a"
    assert select_manifest(index, ("linux", "arm", "v6"), "x")["digest"] == "b"
    with pytest.raises(RegistryError) as e:
        select_manifest(index, ("linux", "s390x", None), "img")
    assert "no matching manifest for linux/s390x" in str(e.value)
    assert "unknown" not in str(e.value)
