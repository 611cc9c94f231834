"""Faults on the way from the registry: broken connections (resume with
Range), corrupt blobs (rejected, nothing stored), 5xx/429 (retried), a
pull killed halfway (the next one finishes it) and concurrent pulls."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from manager.errors import RegistryError
from manager.services import images as svc
from manager.store.images import ImageStore
from tests.support import images as timages

pytestmark = pytest.mark.requires("root", "registry", "busybox")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def layer_digest(registry, tag="latest"):
    return timages.build_image([timages.busybox_layer()]).blobs and \
        [d for d in timages.build_image([timages.busybox_layer()]).blobs
         if d != timages.build_image([timages.busybox_layer()]).config_digest][0]


def test_broken_connection_resumes_with_range(paths, proxy, busybox_image, registry):
    layer = layer_digest(registry)
    proxy.cut_blob[layer] = 300_000
    img = svc.pull(paths, f"{proxy.host}/busybox:latest")
    gets = [e for e in proxy.log if e[1].endswith(layer)]
    assert gets[0][2] is None and gets[1][2] == "bytes=300000-"
    assert gets[1][3] == 206
    assert os.access(img.layers[0] / "bin" / "busybox", os.X_OK)


def test_corrupt_blob_is_rejected_and_nothing_stored(paths, proxy, busybox_image, registry):
    layer = layer_digest(registry)
    proxy.corrupt_blob.add(layer)
    with pytest.raises(RegistryError, match=f"blob {layer} failed verification"):
        svc.pull(paths, f"{proxy.host}/busybox:latest", retries=0)
    store = ImageStore(paths.data_root)
    assert not store.content.has(layer)
    assert store.records() == {}
    assert store.layers.all() == []
    assert not list((paths.data_root / "blobs" / "ingest").glob("*.partial"))
    svc.pull(paths, f"{proxy.host}/busybox:latest")      # a clean retry works


def test_5xx_and_429_are_retried(paths, proxy, busybox_image):
    proxy.fail_status = [503, 429, 502]
    img = svc.pull(paths, f"{proxy.host}/busybox:latest")
    assert img.names == [f"{proxy.host}/busybox:latest"]
    assert [e[3] for e in proxy.log[:3]] == [503, 429, 502]


def test_killed_pull_is_completed_by_the_next_one(paths, proxy, busybox_image, registry):
    layer = layer_digest(registry)
    proxy.stall_blob[layer] = 500_000
    env = dict(os.environ, MYDOCKER_DATA_ROOT=str(paths.data_root), PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "manager", "pull", f"{proxy.host}/busybox"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = paths.data_root / "blobs" / "ingest" / (layer[7:] + ".partial")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if partial.exists() and partial.stat().st_size >= 500_000:
            break
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    proxy.release.set()
    assert partial.stat().st_size == 500_000
    store = ImageStore(paths.data_root)
    assert store.records() == {}
    img = svc.pull(paths, f"{proxy.host}/busybox")
    ranges = [e[2] for e in proxy.log if e[1].endswith(layer)]
    assert ranges[-1] == "bytes=500000-"
    assert not partial.exists()
    assert os.access(img.layers[0] / "bin" / "busybox", os.X_OK)


def test_two_concurrent_pulls_store_one_copy(paths, registry, multi_image):
    results, errors = [], []

    def run():
        try:
            results.append(svc.pull(paths, multi_image.ref, quiet=True))
        except Exception as e:   # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and results[0].id == results[1].id
    store = ImageStore(paths.data_root)
    assert len(store.layers.all()) == 3
    assert len(store.content.all()) == 5          # manifest, config, 3 layers
    assert list(store.records()) == [results[0].id]


def test_two_concurrent_pull_processes(paths, registry, multi_image):
    env = dict(os.environ, MYDOCKER_DATA_ROOT=str(paths.data_root), PYTHONPATH=ROOT)
    procs = [subprocess.Popen([sys.executable, "-m", "manager", "pull", "-q", multi_image.ref],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    store = ImageStore(paths.data_root)
    assert len(store.layers.all()) == 3 and len(store.records()) == 1
