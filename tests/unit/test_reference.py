"""Image references parse and normalize the way Docker users expect."""
import pytest

from manager.errors import InvalidReference
from manager.registry.reference import familiar, parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("ref, domain, path, tag, digest", [
    ("alpine", "docker.io", "library/alpine", "latest", None),
    ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
    ("user/app", "docker.io", "user/app", "latest", None),
    ("docker.io/library/alpine", "docker.io", "library/alpine", "latest", None),
    ("index.docker.io/user/app:v1", "docker.io", "user/app", "v1", None),
    ("host:5000/ns/app:tag", "host:5000", "ns/app", "tag", None),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000", "busybox", "latest", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/a/b/c:v_1.2-x", "localhost:5000", "a/b/c", "v_1.2-x", None),
    ("registry.example.com/team/app", "registry.example.com", "team/app", "latest", None),
    (f"app@{D}", "docker.io", "library/app", None, D),
    (f"app:tag@{D}", "docker.io", "library/app", "tag", D),
    ("a-b__c/d_e.f", "docker.io", "a-b__c/d_e.f", "latest", None),
    ("[::1]:5000/app", "[::1]:5000", "app", "latest", None),
])
def test_valid_references_normalize(ref, domain, path, tag, digest):
    r = parse(ref)
    assert (r.domain, r.path, r.tag, r.digest) == (domain, path, tag, digest)


def test_string_forms():
    assert str(parse("alpine")) == "docker.io/library/alpine:latest"
    assert parse("alpine").tagged == "docker.io/library/alpine:latest"
    assert parse(f"app@{D}").fetch_ref == D
    assert parse(f"app:tag@{D}").fetch_ref == D
    assert parse("x:5000/app:v2").fetch_ref == "v2"
    assert familiar("docker.io/library/alpine:latest") == "alpine:latest"
    assert familiar("docker.io/user/app:v1") == "user/app:v1"
    assert familiar("127.0.0.1:5000/busybox:latest") == "127.0.0.1:5000/busybox:latest"


@pytest.mark.parametrize("ref, words", [
    ("", "empty"),
    ("Alpine", "lowercase"),
    ("user/App", "lowercase"),
    ("app:", "tag"),
    ("app:-bad", "tag"),
    ("app:" + "x" * 129, "tag"),
    ("app@sha256:abc", "64"),
    ("app@md5:" + "a" * 32, "algorithm"),
    ("app@notadigest", "algorithm:hex"),
    ("a//b", "empty path component"),
    ("app_/x", "path component"),
    ("-app", "path component"),
    ("app name", "whitespace"),
    ("host:5000/", "empty path component"),
    (":tag", "no repository name"),
    ("x/" * 130 + "y", "longer than 255"),
])
def test_invalid_references_say_what_is_wrong(ref, words):
    with pytest.raises(InvalidReference) as e:
        parse(ref)
    assert "invalid reference format" in str(e.value)
    assert words in str(e.value)
