"""Real registries for tests: Debian's docker-registry (the reference
registry) on a free 127.0.0.1 port with a temp storage dir, in three
flavours: open, htpasswd (Basic) and token auth with a tiny token server
(RS256 JWTs signed by a self-signed key, the flow Docker Hub uses).  Plus
FaultProxy, an HTTP proxy in front of a registry that cuts, corrupts or
fails requests on demand.

    with Registry(tmpdir) as reg:            # reg.url = "http://127.0.0.1:PORT"
        ...                                  # reg.host = "127.0.0.1:PORT"
"""
import base64
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path

__all__ = ["Registry", "TokenServer", "FaultProxy", "free_port", "have_registry"]

REGISTRY_BIN = "docker-registry"


def have_registry():
    return shutil.which(REGISTRY_BIN) is not None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bcrypt(password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    salt = "$2b$05$" + base64.b64encode(os.urandom(16), b"./").decode()[:22]
    return crypt.crypt(password, salt)


class Registry:
    """docker-registry serve CONFIG on 127.0.0.1:<free port>.
    auth: None | ("htpasswd", {user: password}) | ("token", TokenServer)."""

    def __init__(self, workdir, auth=None):
        self.workdir = Path(workdir)
        self.auth = auth
        self.port = None
        self.proc = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    @property
    def url(self):
        return f"http://{self.host}"

    def _config(self):
        storage = self.workdir / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        lines = [
            "version: 0.1",
            "log:", "  level: error", "  accesslog:", "    disabled: true",
            "storage:", "  filesystem:", f"    rootdirectory: {storage}",
            "  delete:", "    enabled: true",
            "  maintenance:", "    uploadpurging:", "      enabled: false",
            "http:", f"  addr: 127.0.0.1:{self.port}", "  secret: mydocker-test-secret",
        ]
        if self.auth and self.auth[0] == "htpasswd":
            pw = self.workdir / "htpasswd"
            pw.write_text("".join(f"{u}:{_bcrypt(p)}\n" for u, p in self.auth[1].items()))
            lines += ["auth:", "  htpasswd:", "    realm: test-realm", f"    path: {pw}"]
        elif self.auth and self.auth[0] == "token":
            ts = self.auth[1]
            lines += ["auth:", "  token:", f"    realm: {ts.url}/token",
                      f"    service: {ts.service}", f"    issuer: {ts.issuer}",
                      f"    rootcertbundle: {ts.cert_path}"]
        cfg = self.workdir / "config.yml"
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    def start(self):
        for _ in range(5):
            self.port = free_port()
            cfg = self._config()
            log = open(self.workdir / "registry.log", "ab")
            self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return self
                except OSError:
                    time.sleep(0.02)
            self.stop()
        raise RuntimeError("docker-registry did not start: "
                           + (self.workdir / "registry.log").read_text()[-2000:])

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Docker-style token server: GET /token?service=S&scope=repository:R:A,B
    with optional Basic auth -> {"token", "access_token", "expires_in", "issued_at"}.
    users: {name: password}; anonymous users get pull on anonymous_repos
    ("*" for all).  requests counts the token requests served."""

    def __init__(self, workdir, users=None, anonymous_repos=("*",), expires_in=300):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        import datetime
        self.workdir = Path(workdir)
        self.users = dict(users or {})
        self.anonymous_repos = set(anonymous_repos)
        self.expires_in = expires_in
        self.service = "mydocker-test-registry"
        self.issuer = "mydocker-test-issuer"
        self.requests = []
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mydocker-test-token")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = self.workdir / "token-cert.pem"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))
        self._der = self.cert.public_bytes(serialization.Encoding.DER)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def sign(self, claims):
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self._der).decode()]}
        signing = (_b64url(json.dumps(header).encode()) + "." +
                   _b64url(json.dumps(claims).encode()))
        sig = self.key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing + "." + _b64url(sig)

    def grant(self, user, scope):
        access = []
        for item in (scope or "").split(" "):
            parts = item.split(":")
            if len(parts) < 3 or parts[0] != "repository":
                continue
            repo, actions = ":".join(parts[1:-1]), parts[-1].split(",")
            if user is not None:
                allowed = [a for a in actions if a in ("pull", "push", "delete")]
            elif "*" in self.anonymous_repos or repo in self.anonymous_repos:
                allowed = [a for a in actions if a == "pull"]
            else:
                allowed = []
            if allowed:
                access.append({"type": "repository", "name": repo, "actions": allowed})
        return access

    def handle(self, query, authorization):
        user = None
        if authorization:
            kind, _, value = authorization.partition(" ")
            if kind.lower() != "basic":
                return 401, {"details": "unsupported auth"}
            u, _, p = base64.b64decode(value).decode().partition(":")
            if self.users.get(u) != p:
                return 401, {"details": "incorrect username or password"}
            user = u
        scope = query.get("scope", "")
        self.requests.append({"user": user, "scope": scope})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user or "", "aud": query.get("service"),
                  "exp": now + self.expires_in, "nbf": now - 10, "iat": now,
                  "jti": base64.b16encode(os.urandom(8)).decode(),
                  "access": self.grant(user, scope)}
        token = self.sign(claims)
        return 200, {"token": token, "access_token": token, "expires_in": self.expires_in,
                     "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}

    def start(self):
        ts = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                from urllib.parse import parse_qsl, urlsplit
                u = urlsplit(self.path)
                if u.path != "/token":
                    self.send_error(404)
                    return
                status, body = ts.handle(dict(parse_qsl(u.query)),
                                         self.headers.get("Authorization"))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class FaultProxy:
    """HTTP proxy to an upstream registry on a free 127.0.0.1 port.
    Faults (each consumed when it fires):
      cut_blob[digest] = n      send only n bytes of that blob, then drop the connection
      stall_blob[digest] = n    send n bytes, then hang until release is set (then drop)
      corrupt_blob.add(digest)  flip bytes of that blob (same length)
      fail_status = [503, 429]  answer the next requests with these statuses
    log records (method, path, Range header, status) of every request."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.cut_blob = {}
        self.stall_blob = {}
        self.release = threading.Event()
        self.corrupt_blob = set()
        self.fail_status = []
        self.retry_after = "0"
        self.log = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _do(self):
                with proxy.lock:
                    fail = proxy.fail_status.pop(0) if proxy.fail_status else None
                rng = self.headers.get("Range")
                if fail:
                    proxy.log.append((self.command, self.path, rng, fail))
                    self.send_response(fail)
                    if fail == 429:
                        self.send_header("Retry-After", proxy.retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                proxy.log.append((self.command, self.path, rng, resp.status))
                digest = self.path.rsplit("/", 1)[-1] if "/blobs/" in self.path else None
                cut = stall = None
                with proxy.lock:
                    if digest and self.command == "GET" and resp.status in (200, 206):
                        cut = proxy.cut_blob.pop(digest, None)
                        stall = proxy.stall_blob.pop(digest, None)
                        if digest in proxy.corrupt_blob:
                            proxy.corrupt_blob.discard(digest)
                            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if stall is not None:
                    self.wfile.write(data[:stall])
                    self.wfile.flush()
                    proxy.release.wait(20)
                    cut = 0
                if cut is not None:
                    self.wfile.write(data[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _do

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
