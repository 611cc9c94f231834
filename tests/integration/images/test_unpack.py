"""Layer unpacking: metadata kept, OCI whiteouts -> overlayfs whiteouts,
and entries that would land outside the layer refused (layer discarded)."""
import io
import os
import stat
import tarfile

import pytest

from manager.store.layers import LayerStore, apply_layers
from manager.store.unpack import UnsafeLayer, unpack
from tests.support.images import compress, layer_tar, MTIME, sha256

pytestmark = pytest.mark.requires("root")


def unpack_bytes(data, dest):
    dest.mkdir(exist_ok=True)
    return unpack(io.BufferedReader(io.BytesIO(data)), dest)


@pytest.mark.parametrize("compression", ["gzip", "zstd", None])
def test_metadata_is_kept(tmp_path, compression):
    tar = layer_tar([
        ("dir", "d", 0o750), ("file", "d/setuid", "x", 0o4755, 1000, 100),
        ("symlink", "d/link", "../elsewhere"), ("hardlink", "d/hard", "d/setuid"),
        ("char", "dev-null", 1, 3), ("fifo", "pipe"),
        ("xattr-file", "cap", "y", {"user.note": "hello", "security.capability":
                                    "\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00"
                                    "\x00\x00\x00\x00\x00\x00\x00\x00"})])
    res = unpack_bytes(compress(tar, compression), tmp_path / "l")
    assert res.diff_id == sha256(tar)
    d = tmp_path / "l"
    st = os.stat(d / "d" / "setuid")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o4755, 1000, 100)
    assert st.st_nlink == 2 and os.stat(d / "d" / "hard").st_ino == st.st_ino
    assert stat.S_IMODE(os.stat(d / "d").st_mode) == 0o750
    assert os.stat(d / "d").st_mtime == MTIME and st.st_mtime == MTIME
    assert os.readlink(d / "d" / "link") == "../elsewhere"
    assert os.lstat(d / "d" / "link").st_mtime == MTIME
    assert os.stat(d / "dev-null").st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO(os.lstat(d / "pipe").st_mode)
    assert os.getxattr(d / "cap", "user.note") == b"hello"
    assert os.getxattr(d / "cap", "security.capability")[:4] == b"\x01\x00\x00\x02"


def test_whiteouts_become_overlay_whiteouts(tmp_path):
    tar = layer_tar([("dir", "etc"), ("whiteout", "etc/gone"), ("dir", "var"),
                     ("opaque", "var"), ("file", "var/new", "n")])
    unpack_bytes(tar, tmp_path / "l")
    st = os.lstat(tmp_path / "l" / "etc" / "gone")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(tmp_path / "l" / "var", "trusted.overlay.opaque") == b"y"
    assert not (tmp_path / "l" / "var" / ".wh..wh..opq").exists()


def _raw_tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for ti, data in members:
            t.addfile(ti, io.BytesIO(data) if data else None)
    return buf.getvalue()


def _ti(name, kind=tarfile.REGTYPE, link="", size=0):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.size, ti.mode = kind, link, size, 0o644
    return ti


@pytest.mark.parametrize("members, words", [
    ([(_ti("../evil", size=1), b"x")], "outside the layer"),
    ([(_ti("a/../../evil", size=1), b"x")], "outside the layer"),
    ([(_ti("/etc/evil", size=1), b"x")], "absolute path"),
    ([(_ti("esc", tarfile.SYMTYPE, "/tmp"), None), (_ti("esc/evil", size=1), b"x")],
     "through the symlink"),
    ([(_ti("esc", tarfile.SYMTYPE, "../.."), None), (_ti("esc/x/evil", size=1), b"x")],
     "through the symlink"),
    ([(_ti("h", tarfile.LNKTYPE, "../../etc/passwd"), None)], "outside the layer"),
    ([(_ti("h", tarfile.LNKTYPE, "/etc/passwd"), None)], "absolute path"),
])
def test_escapes_are_refused(tmp_path, members, words):
    with pytest.raises(UnsafeLayer, match=words):
        unpack_bytes(_raw_tar(members), tmp_path / "l")
    assert not (tmp_path / "evil").exists() and not os.path.exists("/tmp/evil")


def test_unsafe_layer_leaves_nothing_in_the_store(tmp_path):
    bad = _raw_tar([(_ti("ok", size=1), b"x"), (_ti("../evil", size=1), b"x")])
    blob = tmp_path / "blob"
    blob.write_bytes(bad)
    store = LayerStore(tmp_path / "data")
    with pytest.raises(UnsafeLayer):
        store.create(sha256(bad), sha256(bad), None, blob)
    assert store.all() == [] and not any(p.name.startswith(".tmp")
                                         for p in store.root.iterdir())


def test_diff_id_mismatch_is_rejected(tmp_path):
    tar = layer_tar([("file", "a", "a")])
    blob = tmp_path / "blob"
    blob.write_bytes(compress(tar, "gzip"))
    store = LayerStore(tmp_path / "data")
    with pytest.raises(Exception, match="unpacks to"):
        store.create("sha256:" + "1" * 64, "sha256:" + "1" * 64, None, blob)
    assert store.all() == []


def test_vfs_fallback_applies_whiteouts(tmp_path):
    l1 = layer_tar([("dir", "etc"), ("file", "etc/a", "a"), ("file", "etc/b", "b"),
                    ("dir", "data"), ("file", "data/old", "o")])
    l2 = layer_tar([("dir", "etc"), ("whiteout", "etc/a"), ("dir", "data"),
                    ("opaque", "data"), ("file", "data/new", "n")])
    unpack_bytes(l1, tmp_path / "1")
    unpack_bytes(l2, tmp_path / "2")
    out = apply_layers([tmp_path / "1", tmp_path / "2"], tmp_path / "flat")
    assert sorted(os.listdir(out / "etc")) == ["b"]
    assert sorted(os.listdir(out / "data")) == ["new"]
