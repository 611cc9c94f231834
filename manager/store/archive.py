"""Moving images in and out of the store without a registry.

import_rootfs: a directory (or a layer tar) becomes a one-layer OCI image.
save: images -> a tar (or directory) that is both an OCI image layout
  (oci-layout, index.json, blobs/sha256/...) and, in "docker" format, a
  Docker archive (manifest.json with Config/RepoTags/Layers), like the
  archives Docker 25+ writes, so `docker load`, `podman load` and
  `skopeo copy oci-archive:` read it.
load: a Docker archive (old layout with <id>/layer.tar too) or an OCI
  layout, as tar (maybe compressed) or directory.  Every blob is hashed on
  the way in; layers are unpacked and DiffID-checked before an image is
  recorded.
"""
import io
import json
import os
import tarfile
import tempfile
import time
from pathlib import Path

from ..errors import StoreError, UsageError
from ..registry import reference
from .content import digest_of
from .layers import chain_ids
from .unpack import detect_compression, open_uncompressed

__all__ = ["import_rootfs", "save", "load"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
LAYER_MEDIA = {None: "application/vnd.oci.image.layer.v1.tar",
               "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
DEFAULT_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _canonical(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def _diff_id_of(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        r = open_uncompressed(f)
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _tar_dir(src, f):
    """Write src as an uncompressed PAX tar (sorted, so the same tree gives
    the same bytes when times and owners are the same)."""
    with tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            rel = os.path.relpath(dirpath, src)
            if rel != ".":
                tar.add(dirpath, arcname=rel, recursive=False)
            for name in sorted(filenames) + [d for d in dirnames
                                              if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, name)
                tar.add(p, arcname=os.path.normpath(os.path.join(rel, name)), recursive=False)


def _record(store, manifest, config_digest, manifest_raw, names, blob_paths):
    """Unpack the layers of a stored manifest and record the image."""
    config = json.loads(store.content.read(config_digest))
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    layers = manifest.get("layers") or []
    if len(diff_ids) != len(layers):
        raise StoreError(f"image {config_digest}: {len(layers)} layers but "
                         f"{len(diff_ids)} diff_ids in its config")
    chains = chain_ids(diff_ids)
    size = 0
    for i, desc in enumerate(layers):
        meta = store.layers.create(chains[i], diff_ids[i], chains[i - 1] if i else None,
                                   store.content.path(desc["digest"]), desc["digest"])
        size += int(meta.get("size") or 0)
    manifest_digest = store.content.put(manifest_raw)
    if not names:
        store.add(config_digest, manifest_digest, size=size)
    for n in names:
        store.add(config_digest, manifest_digest, name=n, size=size)
    return store.get(config_digest)


def import_rootfs(store, name, source, config=None, created_by=None):
    source = Path(source)
    if not source.exists():
        raise UsageError(f"cannot import {source}: no such file or directory")
    r = reference.parse(name) if name else None
    if r is not None and r.digest:
        raise UsageError(f"cannot import as {name!r}: a digest is not a name")
    if source.is_dir():
        tmpdir = store.content.root / "ingest"
        tmpdir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=tmpdir, prefix="import-", suffix=".tar") as t:
            _tar_dir(source, t)
            t.flush()
            layer_digest = store.content.put_file(t.name)
        diff_id = layer_digest
        compression = None
    else:
        with open(source, "rb") as f:
            compression = detect_compression(f.read(4))
        layer_digest = store.content.put_file(source)
        diff_id = _diff_id_of(store.content.path(layer_digest))
    from ..registry.platforms import host_platform
    os_, arch, variant = host_platform()
    created = _now()
    cfg = {"Env": list(DEFAULT_ENV), "Cmd": ["sh"]}
    cfg.update(config or {})
    image_config = {"created": created, "architecture": arch, "os": os_, "config": cfg,
                    "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                    "history": [{"created": created,
                                 "created_by": created_by or f"mydocker import {source}"}]}
    if variant:
        image_config["variant"] = variant
    config_raw = _canonical(image_config)
    config_digest = store.content.put(config_raw)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                           "size": len(config_raw)},
                "layers": [{"mediaType": LAYER_MEDIA[compression], "digest": layer_digest,
                            "size": store.content.size(layer_digest)}]}
    return _record(store, manifest, config_digest, _canonical(manifest),
                   [r.tagged] if r else [], None)


# -- save --------------------------------------------------------------------------------------
class _DirSink:
    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def add_bytes(self, name, data):
        p = self.root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    def add_file(self, name, src):
        p = self.root / name
        if p.exists():
            return
        p.parent.mkdir(parents=True, exist_ok=True)
        import shutil
        shutil.copyfile(src, p)

    def close(self):
        pass


class _TarSink:
    def __init__(self, f):
        self.tar = tarfile.open(fileobj=f, mode="w|", format=tarfile.PAX_FORMAT)
        self.seen = set()

    def _dirs(self, name):
        parts = name.split("/")[:-1]
        for i in range(len(parts)):
            d = "/".join(parts[:i + 1])
            if d not in self.seen:
                self.seen.add(d)
                ti = tarfile.TarInfo(d)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                ti.mtime = 0
                self.tar.addfile(ti)

    def add_bytes(self, name, data):
        self._dirs(name)
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mode = 0o644
        ti.mtime = 0
        self.tar.addfile(ti, io.BytesIO(data))

    def add_file(self, name, src):
        if name in self.seen:
            return
        self._dirs(name)
        self.seen.add(name)
        ti = tarfile.TarInfo(name)
        ti.size = os.path.getsize(src)
        ti.mode = 0o644
        ti.mtime = 0
        with open(src, "rb") as f:
            self.tar.addfile(ti, f)

    def close(self):
        self.tar.close()


def save(store, images, output, fmt="docker"):
    """images: [(Image, [names])]; fmt: docker | oci | oci-dir."""
    if fmt not in ("docker", "oci", "oci-dir"):
        raise UsageError(f"unknown save format {fmt!r}: use docker, oci or oci-dir")
    if fmt == "oci-dir":
        if output in (None, "-"):
            raise UsageError("--format oci-dir needs -o DIRECTORY")
        sink, fobj = _DirSink(output), None
    elif output in (None, "-"):
        import sys
        fobj = sys.stdout.buffer
        sink = _TarSink(fobj)
    else:
        fobj = open(output, "wb")
        sink = _TarSink(fobj)
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    docker_manifest = []
    try:
        for img, names in images:
            raw = store.content.read(img.manifest_digest)
            manifest = json.loads(raw)
            blobs = [manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]
            for d in blobs:
                if not store.content.has(d):
                    raise StoreError(f"cannot save {img.short_id}: blob {d} is not in the "
                                     "store (the layer came from another image)")
            for d in [img.manifest_digest] + blobs:
                sink.add_file("blobs/" + d.replace(":", "/"), store.content.path(d))
            desc = {"mediaType": manifest.get("mediaType") or OCI_MANIFEST,
                    "digest": img.manifest_digest, "size": len(raw)}
            for n in names or [None]:
                entry = dict(desc)
                if n:
                    entry["annotations"] = {"io.containerd.image.name": n,
                                            "org.opencontainers.image.ref.name":
                                                n.rpartition(":")[2]}
                index["manifests"].append(entry)
            docker_manifest.append({
                "Config": "blobs/" + img.id.replace(":", "/"),
                "RepoTags": [reference.familiar(n) for n in names],
                "Layers": ["blobs/" + l["digest"].replace(":", "/") for l in manifest["layers"]],
            })
        sink.add_bytes("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        sink.add_bytes("index.json", _canonical(index))
        if fmt == "docker":
            sink.add_bytes("manifest.json", json.dumps(docker_manifest).encode())
        sink.close()
    finally:
        if fobj is not None and output not in (None, "-"):
            fobj.close()
    return output


# -- load --------------------------------------------------------------------------------------
class _DirSource:
    def __init__(self, root):
        self.root = Path(root)

    def has(self, name):
        return (self.root / name).is_file()

    def read(self, name):
        return (self.root / name).read_bytes()

    def open(self, name):
        return open(self.root / name, "rb")


class _TarSource:
    def __init__(self, path):
        try:
            self.tar = tarfile.open(path, "r:*")
        except tarfile.TarError as e:
            raise UsageError(f"{path} is not an image archive: {e}")
        self.members = {os.path.normpath(m.name): m for m in self.tar.getmembers()}

    def _m(self, name):
        name = os.path.normpath(name)
        m = self.members.get(name)
        for _ in range(16):     # follow symlinks inside the archive (old Docker layout)
            if m is None or not m.issym():
                break
            m = self.members.get(os.path.normpath(os.path.join(os.path.dirname(name),
                                                                m.linkname)))
        return m

    def has(self, name):
        m = self._m(name)
        return m is not None and m.isfile()

    def read(self, name):
        with self.open(name) as f:
            return f.read()

    def open(self, name):
        m = self._m(name)
        if m is None or not m.isfile():
            raise StoreError(f"archive has no file {name!r}")
        return self.tar.extractfile(m)


def _blob_name(digest):
    return "blobs/" + digest.replace(":", "/")


def load(store, source, out=None):
    """Load every image of a Docker archive or OCI layout; returns the Images."""
    source = str(source)
    if not os.path.exists(source):
        raise UsageError(f"cannot load {source}: no such file or directory")
    src = _DirSource(source) if os.path.isdir(source) else _TarSource(source)
    loaded = []
    if src.has("manifest.json"):
        try:
            entries = json.loads(src.read("manifest.json"))
        except ValueError:
            raise StoreError("manifest.json of the archive is not JSON")
        by_config = _oci_manifests_by_config(src) if src.has("index.json") else {}
        for e in entries:
            names = [reference.parse(t).tagged for t in e.get("RepoTags") or []]
            config_digest = store.content.put_stream(src.open(e["Config"]),
                                                     _digest_from_name(e["Config"]))
            known = by_config.get(config_digest)
            if known:
                img = _load_oci_manifest(store, src, known, names)
            else:
                layers = []
                for path in e.get("Layers") or []:
                    with src.open(path) as f:
                        d = store.content.put_stream(f, _digest_from_name(path))
                    with open(store.content.path(d), "rb") as f:
                        kind = detect_compression(f.read(4))
                    layers.append({"mediaType": LAYER_MEDIA[kind], "digest": d,
                                   "size": store.content.size(d)})
                manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                            "config": {"mediaType": OCI_CONFIG, "digest": config_digest,
                                       "size": store.content.size(config_digest)},
                            "layers": layers}
                img = _record(store, manifest, config_digest, _canonical(manifest), names,
                              None)
            loaded.append(img)
            _say(out, img)
    elif src.has("index.json"):
        index = json.loads(src.read("index.json"))
        for desc in index.get("manifests") or []:
            name = _name_of(desc)
            img = _load_desc(store, src, desc, [name] if name else [])
            loaded.append(img)
            _say(out, img)
    else:
        raise UsageError(f"{source} is neither a Docker archive (manifest.json) nor an OCI "
                         "layout (index.json)")
    return loaded


def _say(out, img):
    if out is not None:
        if img.names:
            for n in img.names:
                out.write(f"Loaded image: {reference.familiar(n)}\n")
        else:
            out.write(f"Loaded image ID: {img.id}\n")


def _digest_from_name(path):
    """blobs/sha256/<hex> or <hex>.json names carry the expected digest."""
    base = os.path.basename(path)
    parent = os.path.basename(os.path.dirname(path))
    if parent == "sha256" and len(base) == 64:
        return "sha256:" + base
    stem = base[:-5] if base.endswith(".json") else None
    if stem and len(stem) == 64:
        return "sha256:" + stem
    return None


def _name_of(desc):
    ann = desc.get("annotations") or {}
    for key in ("io.containerd.image.name", "org.opencontainers.image.ref.name"):
        v = ann.get(key)
        if v and ("/" in v or ":" in v or key == "io.containerd.image.name"):
            try:
                return reference.parse(v).tagged
            except Exception:
                continue
    return None


def _oci_manifests_by_config(src):
    out = {}
    try:
        index = json.loads(src.read("index.json"))
    except ValueError:
        return out
    for desc in index.get("manifests") or []:
        name = _blob_name(desc["digest"])
        if src.has(name):
            try:
                m = json.loads(src.read(name))
            except ValueError:
                continue
            if isinstance(m.get("config"), dict):
                out[m["config"]["digest"]] = desc
    return out


def _load_desc(store, src, desc, names):
    raw = src.read(_blob_name(desc["digest"]))
    if digest_of(raw) != desc["digest"]:
        raise StoreError(f"manifest {desc['digest']} in the archive does not match its digest")
    doc = json.loads(raw)
    if desc.get("mediaType") in (OCI_INDEX, DOCKER_LIST) or "manifests" in doc:
        from ..registry.platforms import host_platform, select_manifest
        return _load_desc(store, src, select_manifest(doc, host_platform(), "the archive"),
                          names)
    return _load_oci_manifest(store, src, desc, names, raw)


def _load_oci_manifest(store, src, desc, names, raw=None):
    if raw is None:
        raw = src.read(_blob_name(desc["digest"]))
    manifest = json.loads(raw)
    for d in [manifest["config"]] + manifest.get("layers", []):
        if not store.content.has(d["digest"]):
            with src.open(_blob_name(d["digest"])) as f:
                store.content.put_stream(f, d["digest"], size=d.get("size"))
    return _record(store, manifest, manifest["config"]["digest"], raw, names, None)
