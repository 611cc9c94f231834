"""HTTP client for the OCI Distribution API (pull side).

One RegistryClient per registry host.  It pings /v2/ once to learn the
auth challenge and the scheme (https; plain http only for registries on
loopback or listed as insecure, like Docker), answers challenges through
auth.Authenticator, retries with backoff on broken connections, 5xx and
429 (honouring Retry-After), and maps 401/403/404 to clear RegistryErrors.
Blob downloads stream into a writer and resume with HTTP Range after a
broken connection.
"""
import ipaddress
import os
import time

from ..errors import RegistryError
from .auth import Authenticator, parse_challenge

__all__ = ["RegistryClient", "ManifestNotFound", "MANIFEST_TYPES", "is_loopback",
           "OCI_MANIFEST", "OCI_INDEX", "DOCKER_MANIFEST", "DOCKER_LIST"]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
SCHEMA1_TYPES = ("application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws")
MANIFEST_TYPES = (OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST)
RETRY_STATUS = (429, 500, 502, 503, 504)
HUB_API = "registry-1.docker.io"
USER_AGENT = "mydocker/0.1"


def _chunks(r, size=1 << 20):
    """Body chunks as they arrive (read1), so that bytes received before a
    connection breaks are kept for the resume."""
    import urllib3
    raw = r.raw
    if not hasattr(raw, "read1"):
        yield from r.iter_content(1 << 16)
        return
    try:
        while True:
            chunk = raw.read1(size)
            if not chunk:
                return
            yield chunk
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError,
            OSError) as e:
        import requests
        raise requests.ConnectionError(e)


class ManifestNotFound(RegistryError):
    pass


def is_loopback(domain):
    host = domain
    if host.startswith("["):
        host = host[1:host.index("]")]
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_from_env():
    return {s.strip() for s in os.environ.get("MYDOCKER_INSECURE_REGISTRIES", "").split(",")
            if s.strip()}


class RegistryClient:
    def __init__(self, domain, credentials=None, insecure=None, retries=4, backoff=None,
                 timeout=30, session=None):
        import requests
        if backoff is None:
            backoff = float(os.environ.get("MYDOCKER_RETRY_BACKOFF") or 0.25)
        self.domain = domain
        self.host = HUB_API if domain == "docker.io" else domain
        insecure = insecure_from_env() if insecure is None else set(insecure)
        self.allow_http = is_loopback(domain) or domain in insecure
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.verify = not self.allow_http
        self.auth = Authenticator(self.session, credentials, verify=self.verify, timeout=timeout)
        self.base = None

    # -- plumbing -------------------------------------------------------------------------
    def _sleep(self, attempt, response=None):
        delay = self.backoff * (2 ** attempt)
        if response is not None and response.headers.get("Retry-After"):
            value = response.headers["Retry-After"]
            try:
                delay = float(value)
            except ValueError:
                from email.utils import parsedate_to_datetime
                try:
                    delay = parsedate_to_datetime(value).timestamp() - time.time()
                except (TypeError, ValueError):
                    pass
        time.sleep(min(max(delay, 0), 60))

    def ping(self):
        """Find the scheme and the auth challenge (GET /v2/)."""
        if self.base is not None:
            return
        import requests
        schemes = ["https", "http"] if self.allow_http else ["https"]
        last = None
        for scheme in schemes:
            url = f"{scheme}://{self.host}/v2/"
            try:
                r = self._send("GET", url, {}, stream=False)
            except RegistryError as e:
                last = e
                continue
            except requests.exceptions.SSLError as e:
                last = e
                continue
            if r.status_code == 401:
                self.auth.challenge = parse_challenge(r.headers.get("WWW-Authenticate"))
            elif r.status_code == 404:
                raise RegistryError(f"{self.domain} does not serve the registry v2 API "
                                    f"({url} answered 404)")
            self.base = f"{scheme}://{self.host}"
            return
        hint = None if self.allow_http else (
            "for a plain-http registry set MYDOCKER_INSECURE_REGISTRIES=" + self.domain)
        raise RegistryError(f"cannot reach registry {self.domain}: {last}", hint=hint)

    def _send(self, method, url, headers, stream, attempts=None):
        """One request with retries on connection errors and 5xx/429."""
        import requests
        attempts = self.retries if attempts is None else attempts
        for attempt in range(attempts + 1):
            try:
                r = self.session.request(method, url, headers=headers, stream=stream,
                                         verify=self.verify, timeout=self.timeout)
            except requests.exceptions.SSLError:
                raise
            except (requests.ConnectionError, requests.Timeout) as e:
                refused = "Connection refused" in str(e)
                if attempt >= attempts or (refused and attempt >= 1):
                    why = "connection refused" if refused else f"{e.__class__.__name__}: {e}"
                    raise RegistryError(f"{method} {url}: {why}")
                self._sleep(attempt)
                continue
            if r.status_code in RETRY_STATUS and attempt < attempts:
                r.close()
                self._sleep(attempt, r)
                continue
            return r

    def request(self, method, path, scope, headers=None, stream=False):
        self.ping()
        headers = dict(headers or {})
        url = self.base + path
        tried_auth = False
        while True:
            auth = self.auth.header_for(scope)
            if auth:
                headers["Authorization"] = auth
            r = self._send(method, url, headers, stream)
            if r.status_code == 401 and not tried_auth:
                challenge = parse_challenge(r.headers.get("WWW-Authenticate"))
                if challenge[0]:
                    tried_auth = True
                    self.auth.challenge = challenge
                    self.auth.invalidate(scope)
                    r.close()
                    continue
            return r

    def _fail(self, r, what, repo):
        code = message = None
        try:
            errors = r.json().get("errors") or []
            if errors:
                code, message = errors[0].get("code"), errors[0].get("message")
        except ValueError:
            pass
        name = f"{self.domain}/{repo}"
        if r.status_code == 401:
            raise RegistryError(f"pull access denied for {name}: authentication required",
                                hint=f"repository does not exist or needs 'mydocker login "
                                     f"{self.domain}'")
        if r.status_code == 403:
            raise RegistryError(f"access to {name} denied (HTTP 403"
                                f"{': ' + message if message else ''})")
        if r.status_code == 404:
            if code == "NAME_UNKNOWN":
                raise ManifestNotFound(f"repository {name} not found or needs login "
                                       f"(asked for {what})",
                                       hint=f"check the name or 'mydocker login {self.domain}'")
            if code in ("MANIFEST_UNKNOWN", None) and what.startswith("manifest"):
                raise ManifestNotFound(f"manifest unknown: {what} not found in {name}")
            raise ManifestNotFound(f"{what} not found in {name}" +
                                   (f" ({code})" if code else ""))
        raise RegistryError(f"{what} from {name}: HTTP {r.status_code}"
                            + (f" {code}: {message}" if code else ""))

    # -- API ---------------------------------------------------------------------------------
    def scope(self, repo):
        return f"repository:{repo}:pull"

    def get_manifest(self, repo, ref, accept=MANIFEST_TYPES):
        """Returns (raw bytes, media type, Docker-Content-Digest or None)."""
        r = self.request("GET", f"/v2/{repo}/manifests/{ref}", self.scope(repo),
                         headers={"Accept": ", ".join(accept)})
        if r.status_code == 404 and not self._repo_exists(repo):
            r.close()
            raise ManifestNotFound(f"repository {self.domain}/{repo} not found or needs login",
                                   hint=f"check the name or 'mydocker login {self.domain}'")
        if r.status_code != 200:
            self._fail(r, f"manifest {ref}", repo)
        media = (r.headers.get("Content-Type") or "").split(";")[0].strip()
        body = r.content
        if media in SCHEMA1_TYPES:
            raise RegistryError(f"{self.domain}/{repo}:{ref} is a Docker schema 1 image, "
                                "which is deprecated and not supported",
                                hint="push it again with a current Docker or skopeo")
        return body, media, r.headers.get("Docker-Content-Digest")

    def _repo_exists(self, repo):
        """Registries answer MANIFEST_UNKNOWN for unknown repos too; the tags
        list tells a missing tag from a missing (or hidden) repository."""
        r = self.request("GET", f"/v2/{repo}/tags/list?n=1", self.scope(repo))
        r.close()
        return r.status_code == 200

    def download_blob(self, repo, digest, writer, size=None, progress=None, max_resumes=None):
        """Stream the blob into writer (which has .offset and .write(bytes)).
        After a broken connection the download resumes with a Range request
        from writer.offset; a server that ignores Range restarts it."""
        import requests
        resumes = 0
        max_resumes = self.retries + 4 if max_resumes is None else max_resumes
        path = f"/v2/{repo}/blobs/{digest}"
        while True:
            headers = {}
            if writer.offset:
                headers["Range"] = f"bytes={writer.offset}-"
            r = self.request("GET", path, self.scope(repo), headers=headers, stream=True)
            try:
                if r.status_code == 416 and writer.offset:
                    writer.reset()
                    continue
                if r.status_code not in (200, 206):
                    self._fail(r, f"blob {digest}", repo)
                if r.status_code == 200 and writer.offset:
                    writer.reset()
                try:
                    for chunk in _chunks(r):
                        writer.write(chunk)
                        if progress:
                            progress(writer.offset)
                    if size is None or writer.offset >= size:
                        return
                    raise requests.ConnectionError(f"connection closed at byte {writer.offset}"
                                                   f" of {size}")
                except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        requests.Timeout) as e:
                    resumes += 1
                    if resumes > max_resumes:
                        raise RegistryError(f"download of {digest} from {self.domain}/{repo} "
                                            f"kept breaking: {e}")
                    self._sleep(min(resumes - 1, 3))
            finally:
                r.close()
