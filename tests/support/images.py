"""Build small images from Debian's busybox-static and push them to a
registry through the Distribution HTTP API (our own pushing code, using
requests).  Layers are built in memory with fixed times and owners, so
the same call always gives the same digests.

    push_busybox_image("http://127.0.0.1:5000", "busybox", "latest") -> manifest digest
    img = build_image([busybox_layer(), layer_tar([...])], compression="zstd")
    push_image(url, "repo", "tag", img)
"""
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass, field

__all__ = ["busybox_layer", "layer_tar", "compress", "build_image", "push_image",
           "push_index", "push_busybox_image", "Built", "Pusher", "OCI_MANIFEST",
           "DOCKER_MANIFEST", "OCI_INDEX", "DOCKER_LIST", "multilayer_layers"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MTIME = 1700000000
BUSYBOX = "/bin/busybox"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(entries):
    """entries: ("dir", path[, mode]) | ("file", path, data[, mode[, uid, gid]]) |
    ("symlink", path, target) | ("hardlink", path, target) | ("whiteout", path) |
    ("opaque", dirpath) | ("char", path, major, minor) | ("fifo", path) |
    ("xattr-file", path, data, {name: value})  -> uncompressed tar bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            kind, path = e[0], e[1]
            ti = tarfile.TarInfo(path)
            ti.mtime = MTIME
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            data = None
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = e[2] if len(e) > 2 else 0o755
            elif kind in ("file", "xattr-file"):
                data = e[2] if isinstance(e[2], bytes) else e[2].encode()
                ti.size = len(data)
                ti.mode = 0o644
                if kind == "file":
                    if len(e) > 3:
                        ti.mode = e[3]
                    if len(e) > 5:
                        ti.uid, ti.gid = e[4], e[5]
                else:
                    ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e[3].items()}
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e[2]
                ti.mode = 0o777
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e[2]
                ti.mode = 0o644
            elif kind == "whiteout":
                head, _, base = path.rpartition("/")
                ti.name = (head + "/" if head else "") + ".wh." + base
                ti.mode = 0o644
                data = b""
            elif kind == "opaque":
                ti.name = path.rstrip("/") + "/.wh..wh..opq"
                ti.mode = 0o644
                data = b""
            elif kind == "char":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = e[2], e[3]
                ti.mode = 0o666
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
                ti.mode = 0o644
            else:
                raise ValueError(kind)
            tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


_BUSYBOX_CACHE = {}


def busybox_layer(extra=()):
    """A rootfs layer: /bin/busybox, its applet symlinks, /etc/passwd, /etc/group."""
    key = tuple(extra)
    if key in _BUSYBOX_CACHE:
        return _BUSYBOX_CACHE[key]
    from tools.busybox_rootfs import GROUP, PASSWD
    with open(BUSYBOX, "rb") as f:
        binary = f.read()
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    entries = [("dir", d) for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc",
                                    "proc", "sys", "dev", "root", "var", "run")]
    entries.append(("dir", "tmp", 0o1777))
    entries.append(("file", "bin/busybox", binary, 0o755))
    for a in sorted(set(applets)):
        if a != "bin/busybox":
            entries.append(("symlink", a, "/bin/busybox"))
    entries += [("file", "etc/passwd", PASSWD), ("file", "etc/group", GROUP)]
    entries += list(extra)
    data = layer_tar(entries)
    _BUSYBOX_CACHE[key] = data
    return data


def compress(data, kind):
    if kind == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if kind == "zstd":
        import zstandard
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


LAYER_MEDIA = {
    ("oci", "gzip"): "application/vnd.oci.image.layer.v1.tar+gzip",
    ("oci", "zstd"): "application/vnd.oci.image.layer.v1.tar+zstd",
    ("oci", None): "application/vnd.oci.image.layer.v1.tar",
    ("docker", "gzip"): "application/vnd.docker.image.rootfs.diff.tar.gzip",
    ("docker", None): "application/vnd.docker.image.rootfs.diff.tar",
}


@dataclass
class Built:
    manifest: bytes
    media_type: str
    config: bytes
    blobs: dict = field(default_factory=dict)     # digest -> bytes (config and layers)
    diff_ids: list = field(default_factory=list)

    @property
    def digest(self):
        return sha256(self.manifest)

    @property
    def config_digest(self):
        return sha256(self.config)


def build_image(layers, compression="gzip", fmt="oci", arch="amd64", os_name="linux",
                variant=None, config=None, compressions=None):
    """layers: uncompressed tars, bottom first.  compressions: one per layer
    (overrides compression).  fmt: "oci" or "docker" (schema2)."""
    compressions = compressions or [compression] * len(layers)
    blobs, descs, diff_ids, history = {}, [], [], []
    for i, (tar, comp) in enumerate(zip(layers, compressions)):
        blob = compress(tar, comp)
        d = sha256(blob)
        blobs[d] = blob
        descs.append({"mediaType": LAYER_MEDIA[(fmt, comp)], "digest": d, "size": len(blob)})
        diff_ids.append(sha256(tar))
        history.append({"created": "2023-11-14T22:13:20Z",
                        "created_by": f"test layer {i} ({comp or 'tar'})"})
    history.append({"created": "2023-11-14T22:13:20Z", "created_by": "CMD [\"sh\"]",
                    "empty_layer": True})
    cfg = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
           "Cmd": ["sh"]}
    cfg.update(config or {})
    image_config = {"created": "2023-11-14T22:13:20Z", "architecture": arch, "os": os_name,
                    "config": cfg, "rootfs": {"type": "layers", "diff_ids": diff_ids},
                    "history": history}
    if variant:
        image_config["variant"] = variant
    config_raw = json.dumps(image_config, sort_keys=True).encode()
    blobs[sha256(config_raw)] = config_raw
    media = OCI_MANIFEST if fmt == "oci" else DOCKER_MANIFEST
    manifest = {"schemaVersion": 2, "mediaType": media,
                "config": {"mediaType": OCI_CONFIG if fmt == "oci" else DOCKER_CONFIG,
                           "digest": sha256(config_raw), "size": len(config_raw)},
                "layers": descs}
    return Built(json.dumps(manifest, indent=3).encode(), media, config_raw, blobs, diff_ids)


class Pusher:
    """Pushes blobs and manifests; answers Bearer/Basic challenges itself."""

    def __init__(self, registry_url, credentials=None):
        import requests
        self.url = registry_url.rstrip("/")
        self.s = requests.Session()
        self.credentials = credentials
        self.auth_header = None

    def _req(self, method, url, repo, **kw):
        headers = kw.pop("headers", {})
        for _ in range(2):
            if self.auth_header:
                headers["Authorization"] = self.auth_header
            r = self.s.request(method, url, headers=headers, **kw)
            if r.status_code != 401:
                return r
            self._authenticate(r.headers.get("WWW-Authenticate", ""), repo)
        return r

    def _authenticate(self, challenge, repo):
        import base64
        from manager.registry.auth import parse_challenge
        scheme, params = parse_challenge(challenge)
        basic = None
        if self.credentials:
            basic = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        if scheme == "basic":
            self.auth_header = basic
            return
        r = self.s.get(params["realm"], params={"service": params.get("service"),
                                                  "scope": f"repository:{repo}:pull,push"},
                       headers={"Authorization": basic} if basic else {})
        r.raise_for_status()
        self.auth_header = "Bearer " + r.json()["token"]

    def blob(self, repo, data):
        d = sha256(data)
        r = self._req("HEAD", f"{self.url}/v2/{repo}/blobs/{d}", repo)
        if r.status_code == 200:
            return d
        r = self._req("POST", f"{self.url}/v2/{repo}/blobs/uploads/", repo)
        if r.status_code != 202:
            raise RuntimeError(f"upload start failed: {r.status_code} {r.text}")
        loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = self.url + loc
        sep = "&" if "?" in loc else "?"
        r = self._req("PUT", f"{loc}{sep}digest={d}", repo, data=data,
                      headers={"Content-Type": "application/octet-stream"})
        if r.status_code != 201:
            raise RuntimeError(f"blob upload failed: {r.status_code} {r.text}")
        return d

    def manifest(self, repo, ref, raw, media_type):
        r = self._req("PUT", f"{self.url}/v2/{repo}/manifests/{ref}", repo, data=raw,
                      headers={"Content-Type": media_type})
        if r.status_code != 201:
            raise RuntimeError(f"manifest push failed: {r.status_code} {r.text}")
        return sha256(raw)


def push_image(registry_url, repo, tag, built, credentials=None, pusher=None):
    p = pusher or Pusher(registry_url, credentials)
    for data in built.blobs.values():
        p.blob(repo, data)
    return p.manifest(repo, tag or built.digest, built.manifest, built.media_type)


def push_index(registry_url, repo, tag, images, fmt="oci", credentials=None):
    """images: [(Built, {"os":..., "architecture":..., ["variant"]})] -> index digest."""
    p = Pusher(registry_url, credentials)
    manifests = []
    for built, plat in images:
        push_image(registry_url, repo, None, built, pusher=p)
        manifests.append({"mediaType": built.media_type, "digest": built.digest,
                          "size": len(built.manifest), "platform": plat})
    media = OCI_INDEX if fmt == "oci" else DOCKER_LIST
    raw = json.dumps({"schemaVersion": 2, "mediaType": media, "manifests": manifests}).encode()
    return p.manifest(repo, tag, raw, media)


def push_busybox_image(registry_url, repo="busybox", tag="latest", credentials=None,
                       fmt="oci", compression="gzip"):
    """A one-layer busybox image; returns its manifest digest."""
    if not registry_url.startswith("http"):
        registry_url = "http://" + registry_url
    built = build_image([busybox_layer()], compression=compression, fmt=fmt)
    return push_image(registry_url, repo, tag, built, credentials)


def multilayer_layers():
    """busybox + a layer adding files + a layer with a whiteout and an opaque dir."""
    l2 = layer_tar([("dir", "etc/app"), ("file", "etc/app/keep.conf", "keep\n"),
                    ("file", "etc/app/old.conf", "old\n"), ("dir", "data"),
                    ("file", "data/a", "a\n"), ("file", "data/b", "b\n"),
                    ("file", "etc/remove-me", "bye\n"),
                    ("file", "bin/hello", "#!/bin/sh\necho hello from layer 2\n", 0o755),
                    ("hardlink", "bin/hello-link", "bin/hello"),
                    ("file", "etc/owned", "x\n", 0o640, 1000, 1000)])
    l3 = layer_tar([("whiteout", "etc/remove-me"), ("opaque", "data"),
                    ("dir", "data"), ("file", "data/c", "c\n"),
                    ("file", "etc/app/new.conf", "new\n")])
    return [busybox_layer(), l2, l3]
