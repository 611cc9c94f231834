"""The light stand-ins `mydocker run` and the monitor use instead of heavier
stdlib modules: they must give the same results as what they replace."""
import json
import os

import pytest

from manager import jsonfast, specgen
from manager.errors import InvalidReference
from manager.registry import reference
from manager.services.create import _valid_name, simple_tagged
from manager.errors import UsageError
from manager.store.statefile import rmtree

DOCS = [{"a": 1, "b": [1, 2.5, None, True, False, "x\u00e9\n\"q\""], "c": {}, "d": [],
         "z": {"y": [{}], "x": 1e100, "w": -0.0}}, [], {}, "str", 3, None, [1, [2, [3]]],
        {"Config": {"Env": ["A=1"], "Labels": {"b": "2", "a": "1"}}, "Id": "x" * 64}]


@pytest.mark.parametrize("doc", DOCS)
def test_jsonfast_writes_and_reads_as_json(doc):
    for indent in (None, 1, 2, 4):
        for sort_keys in (False, True):
            assert jsonfast.dumps(doc, indent=indent, sort_keys=sort_keys) == \
                json.dumps(doc, indent=indent, sort_keys=sort_keys)
    text = json.dumps(doc)
    assert jsonfast.loads(text) == json.loads(text)
    assert jsonfast.loads(text.encode()) == json.loads(text)


@pytest.mark.parametrize("bad", ["", "{", "[1,]", "{} x", "nul"])
def test_jsonfast_rejects_what_json_rejects(bad):
    with pytest.raises(ValueError):
        jsonfast.loads(bad)


REFS = ["busybox", "busybox:latest", "busybox:1.36", "library/busybox", "user/app:v1",
        "docker.io/library/busybox", "index.docker.io/user/app", "localhost/app",
        "localhost:5000/ns/app:v2", "127.0.0.1:5000/busybox:latest", "quay.io/a/b/c:tag",
        "sha256:abcd", "a.b:1/c", "app:-bad", "app:.bad", "app:", "app/", "/app", "a//b",
        "a__b", "a___b", "a--b", "a-", "-a", "ab.", "host:port/x", "x" * 300,
        "app:" + "t" * 129, "app:" + "t" * 128, "registry-1.docker.io/library/x"]


@pytest.mark.parametrize("ref", REFS)
def test_simple_tagged_agrees_with_reference_parse(ref):
    """Where the quick image look-up computes a name, it is reference.parse's,
    or (for a reference parse rejects) a string no valid reference gives."""
    fast = simple_tagged(ref)
    try:
        expected = reference.parse(ref).tagged
    except InvalidReference:
        expected = None
    if expected is not None and fast is not None:
        assert fast == expected
    if expected is None and fast is not None:
        with pytest.raises(InvalidReference):
            reference.parse(fast)


@pytest.mark.parametrize("ref", ["BusyBox", "app@sha256:" + "a" * 64, "a" * 64,
                                 "sha256:" + "b" * 64, "app:tag with space", "ü"])
def test_simple_tagged_leaves_the_rest_to_the_image_store(ref):
    assert simple_tagged(ref) is None


@pytest.mark.parametrize("name, ok", [("web", True), ("/web", True), ("a", False),
                                      ("w-1.b_c", True), ("bad name!", False), ("-x", False),
                                      ("xy\n", True), ("x\n", False), ("é1", False)])
def test_container_names_as_docker_checks_them(name, ok):
    import re
    assert bool(re.match(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$", name)) == ok
    if ok:
        assert _valid_name(name) == name.lstrip("/")
    else:
        with pytest.raises(UsageError):
            _valid_name(name)


def test_records_behave_like_the_dataclasses_they_replace():
    a = specgen.ContainerOptions(image="x", env=["A=1"])
    b = specgen.ContainerOptions(image="x", env=["A=1"])
    assert a == b and a != specgen.ContainerOptions(image="y")
    assert specgen.ContainerOptions().env == [] and specgen.ContainerOptions().env is not \
        specgen.ContainerOptions().env
    d = a.asdict()
    assert d["image"] == "x" and d["env"] == ["A=1"] and d["env"] is not a.env
    assert set(d) == {n for n, _ in specgen.ContainerOptions.FIELDS}
    assert specgen.MountSpec("bind", "/c", "/h", True, ["ro"]) == \
        specgen.MountSpec(type="bind", destination="/c", source="/h", readonly=True,
                          options=["ro"])
    with pytest.raises(TypeError):
        specgen.MountSpec("bind")
    with pytest.raises(TypeError):
        specgen.ContainerOptions(nope=1)


def test_rmtree_removes_a_tree_without_following_links(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "file").write_text("x")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f").write_text("x")
    os.symlink(keep, tree / "link")
    rmtree(str(tree))
    assert not tree.exists() and (keep / "file").exists()
    rmtree(str(tmp_path / "missing"))
