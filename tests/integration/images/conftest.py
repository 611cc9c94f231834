"""Fixtures for the image tests: one real docker-registry for the session
(on a free 127.0.0.1 port), images pushed to it once, and a fresh
mydocker store per test.  Other test packages can reuse them with
`from tests.integration.images.conftest import registry, busybox_image`."""
import os
from types import SimpleNamespace

import pytest

from manager.paths import Paths
from tests.support import images as timages
from tests.support.registry import FaultProxy, Registry, have_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    if not have_registry():
        pytest.skip("needs Debian's docker-registry")
    reg = Registry(tmp_path_factory.mktemp("mydocker-test-registry"))
    reg.start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def busybox_image(registry):
    """busybox:latest (one gzip layer, OCI manifest) in the session registry."""
    if not os.path.exists(timages.BUSYBOX):
        pytest.skip("needs Debian's busybox-static")
    digest = timages.push_busybox_image(registry.url, "busybox", "latest")
    return SimpleNamespace(ref=f"{registry.host}/busybox:latest", digest=digest,
                           repo=f"{registry.host}/busybox")


@pytest.fixture(scope="session")
def multi_image(registry):
    """multi:v1: busybox + files + whiteout/opaque layer (Docker schema2, gzip)."""
    if not os.path.exists(timages.BUSYBOX):
        pytest.skip("needs Debian's busybox-static")
    built = timages.build_image(timages.multilayer_layers(), fmt="docker")
    digest = timages.push_image(registry.url, "multi", "v1", built)
    return SimpleNamespace(ref=f"{registry.host}/multi:v1", digest=digest, built=built)


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.setenv("MYDOCKER_CONFIG", str(tmp_path / "config"))
    monkeypatch.delenv("MYDOCKER_INSECURE_REGISTRIES", raising=False)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MYDOCKER_RETRY_BACKOFF", "0.02")
    return Paths(tmp_path / "data", tmp_path / "run")


@pytest.fixture
def proxy(registry):
    p = FaultProxy(registry.port).start()
    yield p
    p.stop()
