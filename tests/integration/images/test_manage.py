"""images / tag / rmi / inspect / history / import / save / load through
the CLI, as a user types them."""
import json
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from manager.cli import _register
from manager.services import images as svc
from manager.store.images import ImageStore

pytestmark = pytest.mark.requires("root", "registry", "busybox")


class Result:
    def __init__(self, exit_code, output):
        self.exit_code, self.output = exit_code, output


def invoke(argv):
    """Run `mydocker ARGV` through manager.cli.main (its error handling
    included) and capture stdout+stderr."""
    from manager.cli import main
    runner = CliRunner()
    with runner.isolation() as streams:
        try:
            main(list(argv))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        output = streams[-1].getvalue().decode()
    return Result(code, output)


@pytest.fixture
def run(paths):
    _register()

    def run(*args, ok=True):
        r = invoke(["--data-root", str(paths.data_root)] + list(args))
        if ok:
            assert r.exit_code == 0, r.output
        return r
    return run


def test_images_tag_rmi(run, paths, busybox_image, multi_image):
    run("pull", "-q", busybox_image.ref)
    run("image", "pull", "-q", multi_image.ref)
    out = run("images").output.splitlines()
    assert out[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(l.split()[:2] == [busybox_image.repo, "latest"] for l in out[1:])
    img = ImageStore(paths.data_root).resolve(busybox_image.ref)
    run("tag", busybox_image.ref, "mine/app:v2")
    rows = svc.list_images(paths, "mine/app")
    assert [(r["repository"], r["tag"], r["id"]) for r in rows] == [("mine/app", "v2", img.id)]
    r = run("rmi", img.id[7:19], ok=False)          # two names: must force
    assert r.exit_code == 125 and "referenced in multiple repositories" in r.output
    assert run("rmi", "mine/app:v2").output == "Untagged: mine/app:v2\n"
    out = run("rmi", busybox_image.ref).output
    assert f"Untagged: {busybox_image.ref}" in out and f"Deleted: {img.id}" in out
    store = ImageStore(paths.data_root)
    assert not store.content.has(img.id)
    assert len(store.layers.all()) == 3          # the multi image's layers stay
    r = run("rmi", "nothere", ok=False)
    assert r.exit_code == 125 and "No such image: nothere" in r.output


def test_rmi_shares_layers_and_refuses_images_in_use(run, paths, registry, monkeypatch):
    from tests.support import images as timages
    base = timages.busybox_layer()
    extra = timages.layer_tar([("file", "x", "x")])
    timages.push_image(registry.url, "share", "a", timages.build_image([base]))
    timages.push_image(registry.url, "share", "b", timages.build_image([base, extra]))
    svc.pull(paths, f"{registry.host}/share:a", quiet=True)
    b = svc.pull(paths, f"{registry.host}/share:b", quiet=True)
    monkeypatch.setattr(svc, "_images_in_use", lambda p: {b.id})
    r = run("rmi", f"{registry.host}/share:b", ok=False)
    assert "container is using its referenced image" in r.output
    run("rmi", f"{registry.host}/share:a")
    assert all(os.path.isdir(p) for p in b.layers)   # the shared base layer stays
    run("rmi", "-f", f"{registry.host}/share:b")    # forced: untagged, kept for the container
    assert ImageStore(paths.data_root).get(b.id).names == []


def test_inspect_and_history(run, busybox_image, multi_image):
    run("pull", "-q", multi_image.ref)
    doc = json.loads(run("image", "inspect", multi_image.ref).output)[0]
    assert doc["RepoTags"] == [multi_image.ref]
    assert doc["Config"]["Cmd"] == ["sh"] and doc["Os"] == "linux"
    assert len(doc["RootFS"]["Layers"]) == 3
    assert run("image", "inspect", "-f", "{{.Config.Cmd}}", multi_image.ref).output == \
        '["sh"]\n'
    lines = run("image", "history", multi_image.ref).output.splitlines()
    assert lines[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert len(lines) == 5 and "CMD" in lines[1] and "0B" in lines[1]
    assert "test layer 0" in lines[4]


def test_import_rootfs_directory(run, paths, tmp_path):
    from tools.busybox_rootfs import make_rootfs
    root = make_rootfs(str(tmp_path / "rootfs"))
    out = run("image", "import", root, "local/busybox:demo", "-c", 'CMD ["echo", "hi"]').output
    img = ImageStore(paths.data_root).resolve("local/busybox:demo")
    assert out.strip() == img.id
    assert img.config["config"]["Cmd"] == ["echo", "hi"]
    assert os.readlink(img.layers[0] / "bin" / "sh") == "/bin/busybox"
    img2 = svc.load_rootfs_image(paths, "local/other", root)
    assert img2.layers == img.layers or img2.layers[0].exists()


def test_save_and_load_round_trip(run, paths, tmp_path, multi_image):
    run("pull", "-q", multi_image.ref)
    img = ImageStore(paths.data_root).resolve(multi_image.ref)
    for fmt in ("docker", "oci"):
        archive = tmp_path / f"img-{fmt}.tar"
        run("image", "save", "--format", fmt, "-o", str(archive), multi_image.ref)
        other = tmp_path / f"other-{fmt}"
        r = invoke(["--data-root", str(other), "load", "-i", str(archive)])
        assert r.exit_code == 0, r.output
        assert f"Loaded image: {multi_image.ref}" in r.output
        loaded = ImageStore(other).resolve(multi_image.ref)
        assert loaded.id == img.id and loaded.manifest_digest == img.manifest_digest
        assert sorted(os.listdir(loaded.layers[2] / "data")) == ["c"]


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
def test_skopeo_reads_our_archive_and_we_read_skopeos(run, paths, tmp_path, registry,
                                                       busybox_image):
    run("pull", "-q", busybox_image.ref)
    archive = tmp_path / "ours.tar"
    run("save", "-o", str(archive), busybox_image.ref)
    subprocess.run(["skopeo", "inspect", f"docker-archive:{archive}"], check=True,
                   capture_output=True)
    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false",
                    f"docker://{busybox_image.ref}", f"oci:{layout}:{busybox_image.ref}"],
                   check=True, capture_output=True)
    other = tmp_path / "other"
    r = invoke(["--data-root", str(other), "load", "-i", str(layout)])
    assert r.exit_code == 0, r.output
    assert ImageStore(other).resolve(busybox_image.ref).manifest_digest == busybox_image.digest
