"""annotations: carried into the container's state."""
import pytest

from tests.support.runtime import spec

pytestmark = [pytest.mark.conformance, pytest.mark.requires("root", "busybox")]


@spec("config.md#annotations", "MUST",
      "annotations (map, OPTIONAL) contains the list of annotations associated with the "
      "container (runtime.md State)")
def test_annotations_in_state(rt, bundle):
    ann = {"com.example.key": "value", "org.example.empty": "", "x.y/z": "a b=c"}
    bundle.config["annotations"] = ann
    bundle.save()
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.state(cid).get("annotations") == ann


@spec("config.md#annotations", "MUST",
      "If no annotations were provided then this property MAY either be absent or an empty "
      "map.")
def test_no_annotations(rt, bundle):
    bundle.config.pop("annotations", None)
    bundle.save()
    cid = rt.new_id()
    assert rt.create(cid, bundle).rc == 0
    assert rt.state(cid).get("annotations", {}) == {}


@spec("config.md#annotations", "MUST",
      "Runtimes MUST handle unknown annotation keys like any other unknown property "
      "(and MUST otherwise ignore unknown properties)")
def test_unknown_properties_ignored(rt, bundle):
    bundle.config["annotations"] = {"org.example.unknown": "1"}
    bundle.config["com.example.extension"] = {"anything": [1, 2]}
    bundle.config["process"]["com.example.extra"] = True
    assert rt.probe(bundle, "echo ok") == "ok\n"
