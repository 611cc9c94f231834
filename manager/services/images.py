"""Image services (no click): pull, ensure, list, remove, tag, inspect,
history, import of a rootfs directory, save/load, login/logout.

pull: resolve the reference, fetch the manifest (following an index to
the wanted platform), fetch the config, then download and unpack the
layers in parallel: each layer is skipped when its chain ID is already
unpacked, downloaded (resumable, digest-checked) when its blob is
missing, unpacked once (DiffID-checked) and only then is the image
recorded.  Pulls hold the store's GC lock shared; remove takes it
exclusive before deleting blobs and layers no image uses any more.
"""
import json
import os
import sys
import threading
import time

from ..errors import Conflict, ImageNotFound, InvalidReference, RegistryError
from ..registry import reference
from ..registry.platforms import (_fmt_platform, _platform_matches, host_platform,
                                  parse_platform, select_manifest)
from ..store.atomic import FileLock
from ..store.images import Image, ImageStore
from ..store.layers import chain_ids

__all__ = ["pull", "ensure", "list_images", "remove", "tag", "inspect", "history",
           "load_rootfs_image", "save", "load", "login", "logout", "host_platform",
           "parse_platform", "Image"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
}
DEFAULT_PARALLEL = 4


# -- progress output --------------------------------------------------------------------------
class Progress:
    """One line per layer.  On a terminal the lines are redrawn in place with
    a bar; otherwise each state change is printed once as a plain line."""

    def __init__(self, out, ids, quiet=False):
        self.out = out
        self.ids = ids
        self.quiet = quiet
        self.tty = (not quiet) and hasattr(out, "isatty") and out.isatty()
        self.lines = [""] * len(ids)
        self.lock = threading.Lock()
        self.last = 0.0
        if self.tty:
            for i in ids:
                out.write(f"{i}: Waiting\n")
            out.flush()

    def say(self, text):
        if not self.quiet:
            with self.lock:
                self.out.write(text + "\n")
                self.out.flush()

    def set(self, i, status):
        if self.quiet:
            return
        with self.lock:
            self.lines[i] = status
            if self.tty:
                self._draw(i)
            else:
                self.out.write(f"{self.ids[i]}: {status}\n")
                self.out.flush()

    def bytes(self, i, done, total):
        if not self.tty:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and done < (total or 0):
            return
        self.last = now
        width = 30
        frac = min(done / total, 1.0) if total else 0
        bar = "=" * int(frac * width)
        bar = (bar[:-1] + ">" if bar and frac < 1 else bar).ljust(width)
        with self.lock:
            self.lines[i] = f"Downloading [{bar}] {_human(done)}/{_human(total or 0)}"
            self._draw(i)

    def _draw(self, i):
        up = len(self.ids) - i
        self.out.write(f"\x1b[{up}A\r\x1b[2K{self.ids[i]}: {self.lines[i]}\x1b[{up}B\r")
        self.out.flush()


def _human(n):
    n = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000


class _Cancelled(Exception):
    pass


# -- pull -------------------------------------------------------------------------------------
def _store(paths):
    return ImageStore(paths.data_root)


def _gc_lock(store, shared):
    return FileLock(store.data_root / "images" / "gc.lock", shared=shared)


def _verify_manifest(raw, expected, header, what):
    from ..store.content import digest_of
    algo = (expected or header or "sha256:").split(":", 1)[0]
    if algo not in ("sha256", "sha512"):
        algo = "sha256"
    actual = digest_of(raw, algo)
    if expected and actual != expected:
        raise RegistryError(f"manifest for {what} has digest {actual}, expected {expected}; "
                            "rejected")
    if header and header.split(":", 1)[0] == algo and header != actual:
        raise RegistryError(f"manifest for {what} has digest {actual} but the registry "
                            f"says {header}; rejected")
    return actual if algo == "sha256" else digest_of(raw)


def _json(raw, what):
    try:
        obj = json.loads(raw)
    except ValueError:
        raise RegistryError(f"{what} is not valid JSON")
    if not isinstance(obj, dict):
        raise RegistryError(f"{what} is not a JSON object")
    return obj


def _check_manifest(m, what):
    if m.get("schemaVersion") != 2:
        raise RegistryError(f"{what}: unsupported manifest schemaVersion "
                            f"{m.get('schemaVersion')!r} (schema 1 is not supported)")
    if not isinstance(m.get("config"), dict) or not m["config"].get("digest"):
        raise RegistryError(f"{what}: manifest has no config descriptor")
    for layer in m.get("layers") or []:
        if layer.get("mediaType") not in LAYER_TYPES:
            raise RegistryError(f"{what}: unsupported layer media type "
                                f"{layer.get('mediaType')!r}")


def _fetch_blob(client, repo, store, desc, progress=None, cancel=None):
    digest, size = desc["digest"], desc.get("size")
    if store.content.has(digest):
        return False

    def tick(n):
        if cancel is not None and cancel.is_set():
            raise _Cancelled()
        if progress:
            progress(n, size)

    with store.content.ingest(digest, size) as w:
        if w.done:
            return False
        client.download_blob(repo, digest, w, size=size, progress=tick)
        w.commit()
    return True


def pull(paths, ref, platform=None, out=sys.stderr, *, parallel=None, insecure=None,
         authfile=None, quiet=False, retries=None):
    """Pull ref into the store under paths.data_root; returns the Image."""
    from ..registry import credentials
    from ..registry.client import RegistryClient
    r = reference.parse(ref)
    want = parse_platform(platform) if platform else host_platform()
    store = _store(paths)
    store.layers.cleanup_temp()
    kwargs = {} if retries is None else {"retries": retries}
    client = RegistryClient(r.domain, credentials.get(r.domain, authfile), insecure=insecure,
                            **kwargs)
    shown = reference.familiar(str(r))
    say = (lambda s: None) if quiet else (lambda s: (out.write(s + "\n"), out.flush()))
    say(f"{r.fetch_ref if not r.digest else r.digest}: Pulling from "
        f"{reference.familiar(r.repository) if r.domain == 'docker.io' else r.path}")
    with _gc_lock(store, shared=True):
        raw, media, header = client.get_manifest(r.path, r.fetch_ref)
        top_digest = _verify_manifest(raw, r.digest, header, shown)
        doc = _json(raw, f"manifest of {shown}")
        media = media or doc.get("mediaType") or ""
        index_raw = None
        via_index = False
        if media in INDEX_TYPES or (media not in (OCI_MANIFEST, DOCKER_MANIFEST)
                                    and "manifests" in doc):
            index_raw = raw
            desc = select_manifest(doc, want, shown)
            accept = [desc["mediaType"]] if desc.get("mediaType") else None
            raw, media, header = client.get_manifest(
                r.path, desc["digest"], **({"accept": accept} if accept else {}))
            manifest_digest = _verify_manifest(raw, desc["digest"], header, shown)
            doc = _json(raw, f"manifest of {shown} for {_fmt_platform(want)}")
            via_index = True
        else:
            manifest_digest = top_digest
        _check_manifest(doc, shown)
        cfg_desc = doc["config"]
        _fetch_blob(client, r.path, store, cfg_desc)
        config = _json(store.content.read(cfg_desc["digest"]), f"config of {shown}")
        if not via_index:
            have = (config.get("os"), config.get("architecture"), config.get("variant"))
            if have[0] and have[1] and not _platform_matches(
                    want, {"os": have[0], "architecture": have[1], "variant": have[2]}):
                raise RegistryError(f"image {shown} is for {_fmt_platform(have)}, not for "
                                    f"{_fmt_platform(want)}",
                                    hint=f"use --platform {_fmt_platform(have)} to pull it "
                                         "anyway")
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        layers = doc.get("layers") or []
        if len(diff_ids) != len(layers):
            raise RegistryError(f"{shown}: manifest has {len(layers)} layers but the config "
                                f"lists {len(diff_ids)} diff_ids")
        chains = chain_ids(diff_ids)
        ids = [d["digest"].split(":", 1)[1][:12] for d in layers]
        progress = Progress(out, ids, quiet=quiet)
        cancel = threading.Event()

        def work(i):
            desc = layers[i]
            if store.layers.has(chains[i]):
                progress.set(i, "Already exists")
                return
            if store.content.has(desc["digest"]):
                progress.set(i, "Download complete (already stored)")
            else:
                progress.set(i, "Pulling fs layer")
                _fetch_blob(client, r.path, store, desc,
                            progress=lambda n, total: progress.bytes(i, n, total),
                            cancel=cancel)
                progress.set(i, "Download complete")
            if cancel.is_set():
                raise _Cancelled()
            progress.set(i, "Extracting")
            store.layers.create(chains[i], diff_ids[i], chains[i - 1] if i else None,
                                store.content.path(desc["digest"]), desc["digest"])
            progress.set(i, "Pull complete")

        _run_parallel(work, len(layers), parallel or _default_parallel(), cancel)
        store.content.put(raw, manifest_digest)
        if index_raw is not None:
            store.content.put(index_raw, top_digest)
        size = sum(int(store.layers.meta(c).get("size") or 0) for c in chains)
        name = r.tagged if (r.tag or not r.digest) else None
        before = None
        if name:
            try:
                before = store.resolve(name).id
            except ImageNotFound:
                before = None
        store.add(cfg_desc["digest"], manifest_digest, name=name,
                  repo_digest=f"{r.repository}@{top_digest}", size=size)
        if index_raw is not None:
            store.add_extra_blob(cfg_desc["digest"], top_digest)
    say(f"Digest: {top_digest}")
    if before == cfg_desc["digest"]:
        say(f"Status: Image is up to date for {shown}")
    else:
        say(f"Status: Downloaded newer image for {shown}")
    return store.get(cfg_desc["digest"])


def _default_parallel():
    try:
        return max(1, int(os.environ.get("MYDOCKER_MAX_CONCURRENT_DOWNLOADS", DEFAULT_PARALLEL)))
    except ValueError:
        return DEFAULT_PARALLEL


def _run_parallel(work, n, workers, cancel):
    if n == 0:
        return
    from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
    pool = ThreadPoolExecutor(max_workers=min(workers, n), thread_name_prefix="pull")
    futures = [pool.submit(work, i) for i in range(n)]
    try:
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in done:
            if f.exception() is not None and not isinstance(f.exception(), _Cancelled):
                raise f.exception()
        for f in futures:
            f.result()
    except BaseException:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def ensure(paths, ref, policy="missing", out=sys.stderr, **kw):
    """The image for `docker run --pull=POLICY`: always | missing | never."""
    if policy not in ("always", "missing", "never"):
        raise InvalidReference(f"invalid pull policy {policy!r}: use always, missing or never")
    store = _store(paths)
    if policy != "always":
        try:
            return store.resolve(ref)
        except ImageNotFound:
            if policy == "never":
                raise
        out.write(f"Unable to find image '{ref}' locally\n")
    return pull(paths, ref, out=out, **kw)


# -- list / tag / remove / inspect / history -------------------------------------------------
def _split_name(name):
    repo, _, tag = name.rpartition(":")
    return reference.familiar(repo), tag


def list_images(paths, repository=None, dangling=None):
    """Rows for `images`: dicts with repository, tag, id, created, size, digest."""
    rows = []
    want = None
    if repository:
        try:
            want = reference.parse(repository, default_tag=False)
        except InvalidReference:
            want = None
    for img in _store(paths).list():
        names = img.names or []
        if dangling is True and names or dangling is False and not names:
            continue
        digests = {d.split("@")[0]: d.split("@")[1] for d in img.repo_digests}
        entries = [(n.rpartition(":")[0], n.rpartition(":")[2]) for n in names] or \
                  [(repo, None) for repo in digests] or [(None, None)]
        for repo, tag_ in entries:
            if want and (repo != want.repository or (want.tag and tag_ != want.tag)):
                continue
            rows.append({"repository": reference.familiar(repo) if repo else "<none>",
                         "tag": tag_ or "<none>", "id": img.id, "created": img.created,
                         "size": img.size, "digest": digests.get(repo, "<none>") if repo
                         else "<none>"})
    return rows


def tag(paths, source, target):
    store = _store(paths)
    img = store.resolve(source)
    r = reference.parse(target)
    if r.digest:
        raise InvalidReference(f"refusing to tag with a digest: {target!r}")
    store.tag(img.id, r.tagged)
    return img


def _images_in_use(paths):
    try:
        from ..store.containers import ContainerStore
    except ImportError:
        return set()
    try:
        return set(ContainerStore(paths.data_root).image_ids_in_use())
    except Exception:
        return set()


def remove(paths, ref, force=False):
    """`rmi`: untag, and delete the image (and what no other image shares)
    once it has no names.  Returns the "Untagged:/Deleted:" lines."""
    store = _store(paths)
    img = store.resolve(ref)
    in_use = img.id in _images_in_use(paths)
    short = img.short_id
    name = None
    try:
        r = reference.parse(ref)
        if r.tagged in img.names and not r.digest:
            name = r.tagged
    except InvalidReference:
        pass
    out = []
    if name:
        if len(img.names) > 1:
            store.untag(name)
            return [f"Untagged: {reference.familiar(name)}"]
        if in_use and not force:
            raise Conflict(f"unable to remove repository reference {ref!r} (must force) - "
                           f"a container is using its referenced image {short}")
        names = [name]
    else:
        if in_use and not force:
            raise Conflict(f"unable to delete {short} (must be forced) - image is being "
                           "used by a container")
        if len(img.names) > 1 and not force:
            raise Conflict(f"unable to delete {short} (must be forced) - image is "
                           "referenced in multiple repositories")
        names = list(img.names)
    for n in names:
        store.untag(n)
        out.append(f"Untagged: {reference.familiar(n)}")
    for d in img.repo_digests:
        out.append(f"Untagged: {reference.familiar(d)}")
    if in_use:          # forced: keep it dangling for the container that uses it
        return out
    with _gc_lock(store, shared=False):
        store.delete_record(img.id)
        out.append(f"Deleted: {img.id}")
        out += _gc(store)
    return out


def _gc(store):
    """Delete blobs and layers no image record uses (caller holds the GC lock)."""
    blobs, chains = store.referenced()
    out = []
    for c in store.layers.all():
        if c not in chains:
            store.layers.remove(c)
            out.append(f"Deleted: {c}")
    for d in store.content.all():
        if d not in blobs:
            store.content.delete(d)
    return out


def prune(paths):
    """Remove dangling images not used by containers."""
    store = _store(paths)
    in_use = _images_in_use(paths)
    out = []
    with _gc_lock(store, shared=False):
        for image_id, rec in store.records().items():
            if not rec.get("names") and image_id not in in_use:
                store.delete_record(image_id)
                out.append(f"Deleted: {image_id}")
        out += _gc(store)
    return out


def inspect(paths, ref):
    img = _store(paths).resolve(ref)
    c = img.config
    return {
        "Id": img.id,
        "RepoTags": [reference.familiar(n) for n in img.names],
        "RepoDigests": [reference.familiar(d) for d in img.repo_digests],
        "Parent": "",
        "Comment": c.get("comment", ""),
        "Created": img.created,
        "Author": c.get("author", ""),
        "Config": c.get("config") or {},
        "Architecture": c.get("architecture", ""),
        "Variant": c.get("variant"),
        "Os": c.get("os", ""),
        "Size": img.size,
        "ManifestDigest": img.manifest_digest,
        "RootFS": {"Type": "layers", "Layers": (c.get("rootfs") or {}).get("diff_ids", [])},
        "GraphDriver": {"Name": "overlay", "Data": {
            "LowerDir": ":".join(str(p) for p in reversed(img.layers))}},
        "Metadata": {"LastTagTime": img.record.get("loaded", "")},
    }


def history(paths, ref):
    """Rows newest first: id, created, created_by, size, comment."""
    store = _store(paths)
    img = store.resolve(ref)
    sizes = [int(store.layers.meta(cid).get("size") or 0) for cid in img.chain_ids]
    hist = img.config.get("history") or [{"created": img.created} for _ in sizes]
    rows = []
    li = 0
    for h in hist:
        size = 0
        if not h.get("empty_layer"):
            size = sizes[li] if li < len(sizes) else 0
            li += 1
        rows.append({"id": "<missing>", "created": h.get("created", ""),
                     "created_by": h.get("created_by", ""), "size": size,
                     "comment": h.get("comment", "")})
    rows.reverse()
    if rows:
        rows[0]["id"] = img.id
    return rows


# -- local images ----------------------------------------------------------------------------
def load_rootfs_image(paths, name, rootfs_dir, config=None, created_by=None):
    """Import a directory (or a tar file, maybe compressed) as a one-layer
    image called name; config adds/overrides keys of the image's "config"."""
    from ..store import archive
    return archive.import_rootfs(_store(paths), name, rootfs_dir, config=config,
                                 created_by=created_by)


def save(paths, refs, output, fmt="docker"):
    from ..store import archive
    store = _store(paths)
    images = []
    for ref in refs:
        img = store.resolve(ref)
        try:
            r = reference.parse(ref)
            names = [r.tagged] if r.tagged in img.names else list(img.names)
        except InvalidReference:
            names = list(img.names)
        images.append((img, names))
    return archive.save(store, images, output, fmt)


def load(paths, source, out=None):
    from ..store import archive
    store = _store(paths)
    with _gc_lock(store, shared=True):
        return archive.load(store, source, out=out)


def login(domain, username, password, authfile=None, insecure=None):
    """Check the credentials against the registry, then store them."""
    from ..registry import credentials
    from ..registry.client import RegistryClient
    client = RegistryClient(domain, (username, password), insecure=insecure)
    client.ping()
    scheme, params = client.auth.challenge
    if scheme:
        if scheme == "bearer":
            client.auth.header_for(None)     # token server checks the password
        else:
            r = client.session.get(client.base + "/v2/", verify=client.verify,
                                   headers={"Authorization": client.auth.basic_header()},
                                   timeout=client.timeout)
            if r.status_code == 401:
                raise RegistryError(f"login to {domain} failed: unauthorized: wrong "
                                    "username or password")
            if r.status_code != 200:
                raise RegistryError(f"login to {domain} failed: HTTP {r.status_code}")
    return credentials.store(domain, username, password, authfile)


def logout(domain, authfile=None):
    from ..registry import credentials
    return credentials.erase(domain, authfile)
