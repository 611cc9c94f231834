"""Registry authentication: the Docker token flow and Basic auth.

A registry answers 401 with a challenge:
    WWW-Authenticate: Bearer realm="https://auth/token",service="reg",scope="repository:x:pull"
We GET realm?service=...&scope=... (with Basic credentials when we have
some, anonymously otherwise), read {"token" | "access_token", "expires_in",
"issued_at"} and send "Authorization: Bearer <token>", reusing the token
for the same (realm, service, scope) until shortly before it expires.
A "Basic" challenge is answered with the stored username and password.
"""
import base64
import re
import threading
import time

from ..errors import RegistryError

__all__ = ["parse_challenge", "Authenticator"]

_PARAM = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
DEFAULT_TOKEN_LIFETIME = 60     # seconds, per the token spec
EXPIRY_MARGIN = 5


def parse_challenge(header):
    """'Bearer realm="x",service="y"' -> ("bearer", {"realm": "x", "service": "y"})."""
    if not header:
        return None, {}
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for m in _PARAM.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


class Authenticator:
    """Produces Authorization headers for one registry; thread-safe."""

    def __init__(self, session, credentials=None, verify=True, timeout=30):
        self.session = session
        self.credentials = credentials     # (user, password) or None
        self.verify = verify
        self.timeout = timeout
        self._tokens = {}                  # (realm, service, scope) -> (token, expires_at)
        self._lock = threading.Lock()
        self.challenge = (None, {})

    def basic_header(self):
        if not self.credentials:
            return None
        raw = f"{self.credentials[0]}:{self.credentials[1]}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def header_for(self, scope):
        """Authorization header for scope under the last challenge seen (or None)."""
        scheme, params = self.challenge
        if scheme == "basic":
            return self.basic_header()
        if scheme != "bearer":
            return None
        realm = params.get("realm")
        if not realm:
            raise RegistryError("registry sent a Bearer challenge without a realm")
        key = (realm, params.get("service"), scope)
        with self._lock:
            cached = self._tokens.get(key)
            if cached and cached[1] > time.time():
                return "Bearer " + cached[0]
        token, expires_at = self._fetch_token(realm, params.get("service"), scope)
        with self._lock:
            self._tokens[key] = (token, expires_at)
        return "Bearer " + token

    def invalidate(self, scope):
        with self._lock:
            for key in [k for k in self._tokens if k[2] == scope]:
                del self._tokens[key]

    def _fetch_token(self, realm, service, scope):
        import requests
        query = {}
        if service:
            query["service"] = service
        if scope:
            query["scope"] = scope
        headers = {}
        basic = self.basic_header()
        if basic:
            headers["Authorization"] = basic
        try:
            r = self.session.get(realm, params=query, headers=headers, verify=self.verify,
                                 timeout=self.timeout)
        except requests.RequestException as e:
            raise RegistryError(f"cannot reach token server {realm}: {e}")
        if r.status_code in (401, 403):
            who = f"as {self.credentials[0]!r}" if self.credentials else "anonymously"
            raise RegistryError(f"token server {realm} refused {who} for {scope or 'login'}"
                                f" (HTTP {r.status_code})",
                                hint=None if self.credentials else "try mydocker login")
        if r.status_code != 200:
            raise RegistryError(f"token server {realm} answered HTTP {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise RegistryError(f"token server {realm} did not answer JSON")
        token = body.get("token") or body.get("access_token")
        if not token:
            raise RegistryError(f"token server {realm} answered without a token")
        try:
            lifetime = int(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        lifetime = max(lifetime, DEFAULT_TOKEN_LIFETIME)
        return token, time.time() + lifetime - EXPIRY_MARGIN
