"""Image records: DATA_ROOT/images/images.json, one entry per image ID
(the config digest, like Docker's image ID):

    {"images": {"sha256:<config>": {"names": ["127.0.0.1:5000/busybox:latest"],
        "manifest_digest": "sha256:...", "repo_digests": ["127.0.0.1:5000/busybox@sha256:..."],
        "created": "...", "size": 123, "loaded": "<when stored>"}}}

Rewritten atomically under images/lock.  A name (repository:tag) points
at one image; tagging it elsewhere leaves the old image dangling (no
names), as in Docker.  resolve() finds an image by name[:tag], by
name@digest, by full ID or by a unique ID prefix.
"""
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageNotFound, InvalidReference, StoreError
from ..registry import reference
from .atomic import FileLock, read_json, write_json
from .content import ContentStore
from .layers import LayerStore, chain_ids

__all__ = ["Image", "ImageStore"]

_HEX = re.compile(r"[a-f0-9]+")


@dataclass
class Image:
    id: str
    names: list
    manifest_digest: str
    config: dict
    layers: list            # unpacked layer dirs, bottom-most first
    created: str = ""
    size: int = 0
    repo_digests: list = field(default_factory=list)
    chain_ids: list = field(default_factory=list)
    record: dict = field(default_factory=dict, repr=False)

    @property
    def short_id(self):
        return self.id.split(":", 1)[1][:12]


class ImageStore:
    def __init__(self, data_root):
        self.data_root = Path(data_root)
        self.dir = self.data_root / "images"
        self.db = self.dir / "images.json"
        self.content = ContentStore(data_root)
        self.layers = LayerStore(data_root)

    # -- raw records ----------------------------------------------------------------------
    def _read(self):
        data = read_json(self.db, default=None)
        if data is None:
            return {"images": {}}
        if not isinstance(data, dict) or not isinstance(data.get("images"), dict):
            raise StoreError(f"image database {self.db} is damaged")
        return data

    def lock(self):
        return FileLock(self.dir / "lock")

    def _write(self, data):
        write_json(self.db, data)

    def records(self):
        return self._read()["images"]

    # -- building Image objects -------------------------------------------------------------
    def _image(self, image_id, rec):
        try:
            config = json.loads(self.content.read(image_id))
        except ValueError:
            raise StoreError(f"config of image {image_id} is not JSON")
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        chains = chain_ids(diff_ids)
        return Image(id=image_id, names=list(rec.get("names", [])),
                     manifest_digest=rec.get("manifest_digest", ""), config=config,
                     layers=[self.layers.diff_dir(c) for c in chains],
                     created=config.get("created") or rec.get("created") or "",
                     size=int(rec.get("size") or 0),
                     repo_digests=list(rec.get("repo_digests", [])), chain_ids=chains,
                     record=rec)

    def get(self, image_id):
        rec = self.records().get(image_id)
        if rec is None:
            raise ImageNotFound(f"No such image: {image_id}")
        return self._image(image_id, rec)

    def list(self):
        recs = self.records()
        out = [self._image(i, r) for i, r in recs.items()]
        out.sort(key=lambda im: (im.record.get("loaded", ""), im.id), reverse=True)
        return out

    def resolve(self, ref):
        """name[:tag], name@digest, full ID or unique ID prefix -> Image."""
        recs = self.records()
        if not isinstance(ref, str) or not ref:
            raise ImageNotFound("No such image: (empty reference)")
        bare = ref[7:] if ref.startswith("sha256:") else ref
        if len(bare) == 64 and _HEX.fullmatch(bare):
            image_id = "sha256:" + bare
            if image_id in recs:
                return self._image(image_id, recs[image_id])
            raise ImageNotFound(f"No such image: {ref}")
        try:
            r = reference.parse(ref)
        except InvalidReference:
            r = None
        if r is not None:
            if r.digest:
                want = f"{r.repository}@{r.digest}"
                for image_id, rec in recs.items():
                    if want in rec.get("repo_digests", []) or (
                            rec.get("manifest_digest") == r.digest and any(
                                n.rsplit(":", 1)[0] == r.repository for n in rec["names"])):
                        return self._image(image_id, rec)
            else:
                for image_id, rec in recs.items():
                    if r.tagged in rec.get("names", []):
                        return self._image(image_id, rec)
        if len(bare) >= 4 and _HEX.fullmatch(bare):
            hits = [i for i in recs if i[7:].startswith(bare)]
            if len(hits) == 1:
                return self._image(hits[0], recs[hits[0]])
            if len(hits) > 1:
                raise ImageNotFound(f"No such image: {ref} (the ID prefix is ambiguous: "
                                    f"{len(hits)} images match)")
        raise ImageNotFound(f"No such image: {ref}")

    # -- changes --------------------------------------------------------------------------
    def add(self, image_id, manifest_digest, name=None, repo_digest=None, size=0):
        """Record an image (its blobs and layers are already stored) and point
        name at it.  Returns the previous image ID of name if it moved."""
        with self.lock():
            data = self._read()
            recs = data["images"]
            rec = recs.setdefault(image_id, {"names": [], "repo_digests": []})
            rec["manifest_digest"] = manifest_digest
            rec["size"] = size
            rec["loaded"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            moved = None
            if name:
                moved = self._point(recs, name, image_id)
            if repo_digest:
                repo = repo_digest.split("@", 1)[0]
                rec["repo_digests"] = [d for d in rec.get("repo_digests", [])
                                       if d.split("@", 1)[0] != repo] + [repo_digest]
            self._write(data)
            return moved

    @staticmethod
    def _point(recs, name, image_id):
        moved = None
        for other_id, other in recs.items():
            if other_id != image_id and name in other.get("names", []):
                other["names"].remove(name)
                moved = other_id
        rec = recs[image_id]
        if name not in rec["names"]:
            rec["names"].append(name)
        return moved

    def tag(self, image_id, name):
        with self.lock():
            data = self._read()
            if image_id not in data["images"]:
                raise ImageNotFound(f"No such image: {image_id}")
            self._point(data["images"], name, image_id)
            self._write(data)

    def untag(self, name):
        """Remove a name; returns the image ID it pointed at (or None)."""
        with self.lock():
            data = self._read()
            for image_id, rec in data["images"].items():
                if name in rec.get("names", []):
                    rec["names"].remove(name)
                    repo = name.rsplit(":", 1)[0]
                    if not any(n.rsplit(":", 1)[0] == repo for n in rec["names"]):
                        rec["repo_digests"] = [d for d in rec.get("repo_digests", [])
                                               if d.split("@", 1)[0] != repo]
                    self._write(data)
                    return image_id
        return None

    def delete_record(self, image_id):
        with self.lock():
            data = self._read()
            data["images"].pop(image_id, None)
            self._write(data)

    def referenced(self):
        """Blob digests and chain IDs still used by some image record."""
        blobs, chains = set(), set()
        for image_id, rec in self.records().items():
            blobs.add(image_id)
            for d in [rec.get("manifest_digest")] + rec.get("extra_blobs", []):
                if d:
                    blobs.add(d)
            try:
                manifest = json.loads(self.content.read(rec["manifest_digest"]))
                blobs.update(l["digest"] for l in manifest.get("layers", []))
                config = json.loads(self.content.read(image_id))
                chains.update(chain_ids(config.get("rootfs", {}).get("diff_ids", [])))
            except (StoreError, ValueError, KeyError):
                continue
        return blobs, chains

    def add_extra_blob(self, image_id, digest):
        """Keep another blob (e.g. the index an image was pulled through) alive."""
        with self.lock():
            data = self._read()
            rec = data["images"].get(image_id)
            if rec is not None and digest not in rec.setdefault("extra_blobs", []):
                rec["extra_blobs"].append(digest)
                self._write(data)
