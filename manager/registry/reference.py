"""Image references, parsed and normalized the way Docker users expect (pure).

    alpine                      -> docker.io/library/alpine:latest
    user/app                    -> docker.io/user/app:latest
    host:5000/ns/app:v1         -> host:5000/ns/app:v1
    localhost/app               -> localhost/app:latest
    app@sha256:<64 hex>         -> docker.io/library/app@sha256:...
    app:tag@sha256:<64 hex>     -> tag kept for display, the digest wins for pulls

The first path component is a registry host when it contains "." or ":"
or is "localhost"; otherwise the image is on Docker Hub.  Bad references
raise InvalidReference naming what is wrong.
"""
import re
from dataclasses import dataclass
from typing import Optional

from ..errors import InvalidReference

__all__ = ["Reference", "parse", "DEFAULT_DOMAIN", "is_digest", "familiar"]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAINS = {"index.docker.io", "registry-1.docker.io"}
DEFAULT_TAG = "latest"
NAME_TOTAL_MAX = 255

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
_DOMAIN_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(
    rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
_HEX = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str                 # "library/alpine"
    tag: Optional[str] = None
    digest: Optional[str] = None

    @property
    def repository(self):
        """domain/path, e.g. docker.io/library/alpine."""
        return f"{self.domain}/{self.path}"

    @property
    def name(self):
        return self.repository

    def with_tag(self, tag):
        return Reference(self.domain, self.path, tag, None)

    @property
    def tagged(self):
        """The name:tag string recorded in the store (tag defaults to latest)."""
        return f"{self.repository}:{self.tag or DEFAULT_TAG}"

    @property
    def fetch_ref(self):
        """What to ask the registry for: the digest if any, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self):
        s = self.repository
        if self.tag:
            s += ":" + self.tag
        if self.digest:
            s += "@" + self.digest
        return s


def is_digest(s):
    m = _DIGEST.fullmatch(s)
    if not m:
        return False
    want = _HEX.get(m.group(1))
    return want is None or (len(m.group(2)) == want and re.fullmatch("[a-f0-9]+", m.group(2)))


def _check_digest(digest, ref):
    m = _DIGEST.fullmatch(digest)
    if not m:
        raise InvalidReference(f"invalid reference format: {ref!r}: digest {digest!r} "
                               "is not of the form algorithm:hex")
    algo, hexpart = m.groups()
    if algo not in _HEX:
        raise InvalidReference(f"invalid reference format: {ref!r}: unsupported digest "
                               f"algorithm {algo!r} (use sha256)")
    if len(hexpart) != _HEX[algo] or not re.fullmatch("[a-f0-9]+", hexpart):
        raise InvalidReference(f"invalid reference format: {ref!r}: a {algo} digest has "
                               f"{_HEX[algo]} lowercase hex characters")


def parse(ref, default_tag=True):
    """Parse and normalize a reference.  With default_tag, a reference with
    neither tag nor digest gets tag "latest"."""
    if not isinstance(ref, str) or not ref:
        raise InvalidReference("invalid reference format: empty image name")
    if ref != ref.strip() or any(c.isspace() for c in ref):
        raise InvalidReference(f"invalid reference format: {ref!r} contains whitespace")
    name, digest = ref, None
    if "@" in ref:
        name, digest = ref.split("@", 1)
        _check_digest(digest, ref)
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(
                f"invalid reference format: {ref!r}: tag {tag!r} must be 1-128 of "
                "[A-Za-z0-9_.-] and not start with '.' or '-'")
    if not name:
        raise InvalidReference(f"invalid reference format: {ref!r} has no repository name")
    parts = name.split("/")
    if len(parts) > 1 and (("." in parts[0] or ":" in parts[0]) or parts[0] == "localhost"
                           or parts[0] != parts[0].lower()):
        domain, rest = parts[0], parts[1:]
        if not _DOMAIN.fullmatch(domain):
            raise InvalidReference(f"invalid reference format: {ref!r}: bad registry "
                                   f"host {domain!r}")
        if domain != domain.lower() and "." not in domain and ":" not in domain:
            raise InvalidReference(f"invalid reference format: repository name must be "
                                   f"lowercase: {ref!r}")
    else:
        domain, rest = DEFAULT_DOMAIN, parts
    if domain in LEGACY_DOMAINS:
        domain = DEFAULT_DOMAIN
    for comp in rest:
        if not comp:
            raise InvalidReference(f"invalid reference format: {ref!r} has an empty "
                                   "path component")
        if comp != comp.lower() and _COMPONENT.fullmatch(comp.lower()):
            raise InvalidReference(f"invalid reference format: repository name must be "
                                   f"lowercase: {ref!r}")
        if not _COMPONENT.fullmatch(comp):
            raise InvalidReference(
                f"invalid reference format: {ref!r}: path component {comp!r} may only "
                "hold a-z, 0-9 and single separators (., _, __, -) between them")
    path = "/".join(rest)
    if domain == DEFAULT_DOMAIN and len(rest) == 1:
        path = "library/" + path
    if len(domain) + 1 + len(path) > NAME_TOTAL_MAX:
        raise InvalidReference(f"invalid reference format: {ref!r}: repository name "
                               f"longer than {NAME_TOTAL_MAX} characters")
    if default_tag and tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def familiar(name):
    """Short form for display: docker.io/library/alpine:latest -> alpine:latest,
    docker.io/user/app -> user/app; other registries unchanged."""
    prefix = DEFAULT_DOMAIN + "/"
    if name.startswith(prefix):
        name = name[len(prefix):]
        if name.startswith("library/") and "/" not in name[len("library/"):].split(":")[0]:
            name = name[len("library/"):]
    return name
