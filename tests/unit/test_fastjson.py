"""fastjson gives the same text and values as the json module."""
import json

import pytest

from runc_py import fastjson

DOCS = [{"a": 1, "b": [1, 2.5, None, True, False, "x\u00e9\n\"", {"z": []}], "c": {}},
        [], {}, {"ociVersion": "1.2.0", "id": "x", "pid": 0, "annotations": {"k": "v"}},
        "text", 5, None, [[1, [2, [3]]]]]


@pytest.mark.parametrize("doc", DOCS)
def test_same_as_json(doc):
    assert fastjson.dumps(doc) == json.dumps(doc)
    assert fastjson.dumps(doc, indent=2) == json.dumps(doc, indent=2)
    assert fastjson.loads(json.dumps(doc)) == doc
    assert fastjson.loads(json.dumps(doc, indent=4).encode()) == doc


@pytest.mark.parametrize("bad", ["", "{", '{"a":}', "{} x", "[1,]", "nul"])
def test_errors_are_value_errors(bad):
    with pytest.raises(ValueError):
        fastjson.loads(bad)


def test_unserialisable():
    with pytest.raises(TypeError):
        fastjson.dumps({"a": object()})
