"""Pulling from a real registry (Debian's docker-registry on 127.0.0.1):
schema2 and OCI manifests, multi-arch indexes, gzip/zstd/plain layers,
whiteouts seen through a real overlay mount, and clear errors."""
import os
import stat
import subprocess

import pytest

from manager.errors import ImageNotFound, RegistryError
from manager.services import images as svc
from manager.store.images import ImageStore
from tests.support import images as timages

pytestmark = pytest.mark.requires("root", "registry", "busybox")


def blob_gets(proxy):
    return [e for e in proxy.log if e[0] == "GET" and "/blobs/" in e[1]]


def test_pull_oci_image_records_name_id_and_layers(paths, busybox_image):
    img = svc.pull(paths, busybox_image.ref)
    assert img.names == [busybox_image.ref]
    assert img.manifest_digest == busybox_image.digest
    assert img.config["config"]["Cmd"] == ["sh"]
    (layer,) = img.layers
    assert os.access(layer / "bin" / "busybox", os.X_OK)
    assert os.readlink(layer / "bin" / "sh") == "/bin/busybox"
    assert oct(os.stat(layer / "tmp").st_mode & 0o7777) == "0o1777"
    again = ImageStore(paths.data_root).resolve(busybox_image.ref)
    assert again.id == img.id == "sha256:" + img.id[7:]
    # Every store form of the name resolves to the same image.
    store = ImageStore(paths.data_root)
    assert store.resolve(img.id[7:19]).id == img.id
    assert store.resolve(f"{busybox_image.repo}@{busybox_image.digest}").id == img.id
    with pytest.raises(ImageNotFound, match="No such image: nothere"):
        store.resolve("nothere")


def test_multilayer_whiteouts_work_in_a_real_overlay_mount(paths, multi_image, tmp_path):
    img = svc.pull(paths, multi_image.ref)
    top = img.layers[2]
    st = os.lstat(top / "etc" / "remove-me")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(top / "data", "trusted.overlay.opaque") == b"y"
    assert os.stat(img.layers[1] / "etc" / "owned").st_uid == 1000
    assert os.stat(img.layers[1] / "bin" / "hello").st_ino == \
        os.stat(img.layers[1] / "bin" / "hello-link").st_ino
    assert os.stat(img.layers[1] / "etc" / "app" / "keep.conf").st_mtime == timages.MTIME
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    lower = ":".join(str(p) for p in reversed(img.layers))
    subprocess.run(["mount", "-t", "overlay", "mydocker-test", "-o", f"lowerdir={lower}",
                    str(mnt)], check=True)
    try:
        assert not (mnt / "etc" / "remove-me").exists()
        assert sorted(os.listdir(mnt / "data")) == ["c"]
        assert sorted(os.listdir(mnt / "etc" / "app")) == ["keep.conf", "new.conf", "old.conf"]
        out = subprocess.run(["chroot", str(mnt), "/bin/hello"], capture_output=True,
                             text=True)
        assert out.stdout == "hello from layer 2\n"
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_schema2_and_docker_list_by_digest(paths, registry, multi_image):
    ref = f"{registry.host}/multi@{multi_image.digest}"
    img = svc.pull(paths, ref)
    assert img.names == []           # pulled by digest only: no tag, like Docker
    assert ImageStore(paths.data_root).resolve(ref).id == img.id
    rows = svc.list_images(paths)
    assert rows[0]["repository"] == f"{registry.host}/multi" and rows[0]["tag"] == "<none>"


@pytest.mark.parametrize("compression", ["zstd", None])
def test_zstd_and_uncompressed_layers(paths, registry, compression):
    built = timages.build_image(timages.multilayer_layers(), compression=compression)
    tag = compression or "plain"
    timages.push_image(registry.url, "compressions", tag, built)
    img = svc.pull(paths, f"{registry.host}/compressions:{tag}")
    assert (img.layers[1] / "etc" / "app" / "old.conf").read_text() == "old\n"
    assert [ImageStore(paths.data_root).layers.meta(c)["diff_id"] for c in img.chain_ids] \
        == built.diff_ids


def _push_multiarch(registry, fmt):
    amd = timages.build_image([timages.busybox_layer()], arch="amd64",
                              fmt="oci" if fmt == "oci" else "docker")
    arm = timages.build_image([timages.busybox_layer(), timages.layer_tar(
        [("file", "etc/arch", "arm64\n")])], arch="arm64", variant="v8",
        fmt="oci" if fmt == "oci" else "docker")
    digest = timages.push_index(registry.url, "multiarch", fmt, [
        (amd, {"os": "linux", "architecture": "amd64"}),
        (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"})], fmt=fmt)
    return digest, amd, arm


@pytest.mark.parametrize("fmt", ["oci", "docker"])
def test_index_selects_the_platform(paths, registry, fmt):
    index_digest, amd, arm = _push_multiarch(registry, fmt)
    ref = f"{registry.host}/multiarch:{fmt}"
    img = svc.pull(paths, ref, platform="linux/arm64")
    assert img.manifest_digest == arm.digest
    assert img.config["architecture"] == "arm64"
    assert (img.layers[1] / "etc" / "arch").read_text() == "arm64\n"
    assert img.repo_digests == [f"{registry.host}/multiarch@{index_digest}"]
    if svc.host_platform()[1] == "amd64":
        assert svc.pull(paths, ref).manifest_digest == amd.digest


def test_no_manifest_for_the_platform_is_a_clear_error(paths, registry):
    _push_multiarch(registry, "oci")
    with pytest.raises(RegistryError) as e:
        svc.pull(paths, f"{registry.host}/multiarch:oci", platform="linux/s390x")
    assert "no matching manifest for linux/s390x" in str(e.value)
    assert "linux/amd64" in str(e.value) and "linux/arm64/v8" in str(e.value)
    only_arm = timages.build_image([timages.busybox_layer()], arch="arm64")
    timages.push_image(registry.url, "armonly", "latest", only_arm)
    if svc.host_platform()[1] != "arm64":
        with pytest.raises(RegistryError, match="is for linux/arm64, not for linux/"):
            svc.pull(paths, f"{registry.host}/armonly")
    assert not ImageStore(paths.data_root).records()


def test_unknown_tag_and_unknown_repository_errors(paths, registry, busybox_image):
    with pytest.raises(RegistryError, match="manifest unknown"):
        svc.pull(paths, f"{registry.host}/busybox:nosuchtag")
    with pytest.raises(RegistryError, match="not found or needs login"):
        svc.pull(paths, f"{registry.host}/nosuchrepo:latest")


def test_layers_already_present_are_never_fetched_again(paths, proxy, busybox_image):
    svc.pull(paths, f"{proxy.host}/busybox:latest")
    first = len(blob_gets(proxy))
    assert first == 2                     # config + one layer
    timages.push_image(proxy.url.replace(str(proxy.port), str(proxy.upstream_port)),
                       "busybox", "other", timages.build_image([timages.busybox_layer()]))
    proxy.log.clear()
    svc.pull(paths, f"{proxy.host}/busybox:other")
    assert blob_gets(proxy) == []


def test_plain_lines_when_not_a_terminal(paths, busybox_image):
    import io
    out = io.StringIO()
    svc.pull(paths, busybox_image.ref, out=out)
    text = out.getvalue()
    assert "Pull complete" in text and f"Digest: {busybox_image.digest}" in text
    assert "\x1b[" not in text
    out = io.StringIO()
    svc.pull(paths, busybox_image.ref, out=out)
    assert "Already exists" in out.getvalue() and "Image is up to date" in out.getvalue()


def test_ensure_policies(paths, busybox_image):
    with pytest.raises(ImageNotFound):
        svc.ensure(paths, busybox_image.ref, policy="never")
    img = svc.ensure(paths, busybox_image.ref, policy="missing")
    assert svc.ensure(paths, busybox_image.ref, policy="never").id == img.id
    assert svc.ensure(paths, busybox_image.ref, policy="always").id == img.id
