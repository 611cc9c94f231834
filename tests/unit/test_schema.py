"""The OCI JSON Schemas in oci-spec/ and runc_py.spec.schema.validate: good
documents pass, and each bad one is reported at the JSON path of the field
that is wrong, with a message that says what is expected."""
import copy
import glob
import json
import os
import shutil
import subprocess
import sys

import pytest

from runc_py.spec import schema
from runc_py.spec.default import default_spec
from runc_py.spec.schema import Problem, format_path, validate, validate_all, validate_kind

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = os.path.join(HERE, "configs")
REPO = os.path.dirname(os.path.dirname(HERE))


def load(name):
    with open(os.path.join(CONFIGS, name)) as f:
        return json.load(f)


def paths(problems):
    return [p.path for p in problems]


# --- the schema files themselves --------------------------------------------------

@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(REPO, "oci-spec", "*", "*.json"))))
def test_schema_files_are_valid_draft_2020_12(path):
    import jsonschema
    with open(path) as f:
        doc = json.load(f)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(doc)


def test_readme_names_the_spec_versions():
    with open(os.path.join(REPO, "oci-spec", "README.md")) as f:
        text = f.read()
    assert "v1.3" in text and "v1.1" in text


# --- good documents ---------------------------------------------------------------

@pytest.mark.parametrize("name,kind", [
    ("full.json", "config"),
    ("runc-1.1.5-spec.json", "config"),
    ("state.json", "state"),
    ("features.json", "features"),
    ("manifest.json", "manifest"),
    ("index.json", "index"),
    ("image-config.json", "image-config"),
])
def test_good_documents_pass(name, kind):
    assert validate(load(name), kind) == []


@pytest.mark.parametrize("rootless", [False, True])
def test_our_default_spec_passes(rootless):
    assert validate(default_spec(rootless=rootless)) == []


@pytest.mark.requires("runc")
def test_config_written_by_runc_spec_passes(tmp_path):
    subprocess.run(["runc", "spec"], cwd=tmp_path, check=True, capture_output=True)
    with open(tmp_path / "config.json") as f:
        assert validate(json.load(f)) == []


def test_descriptor_kind():
    desc = load("manifest.json")["config"]
    assert validate_kind(desc, "descriptor") == []
    del desc["size"]
    assert validate_kind(desc, "descriptor") == [Problem("size", "is required")]


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown document kind 'bogus'"):
        validate({}, "bogus")


def test_unknown_properties_are_ignored_as_the_spec_requires():
    doc = default_spec()
    doc["com.example.extension"] = {"anything": [1, 2]}
    doc["process"]["somethingNew"] = True
    assert validate(doc) == []


# --- bad runtime configs: exact path, helpful message -------------------------------

def mutate(fn):
    doc = default_spec()
    fn(doc)
    return doc


def _set(path, value):
    def fn(doc):
        obj = doc
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value
    return fn


def _del(path):
    def fn(doc):
        obj = doc
        for part in path[:-1]:
            obj = obj[part]
        del obj[path[-1]]
    return fn


BAD_CONFIGS = [
    # (mutation, expected path, words the message must contain)
    (_del(["ociVersion"]), "ociVersion", "is required"),
    (_set(["ociVersion"], "1.0"), "ociVersion", "SemVer"),
    (_del(["root"]), "root", "is required"),
    (_set(["root"], {"readonly": True}), "root.path", "is required"),
    (_set(["root", "readonly"], "yes"), "root.readonly", "must be a boolean"),
    (_set(["mounts", 3, "options"], "nosuid"), "mounts[3].options", "must be an array"),
    (_set(["mounts", 0, "destination"], ""), "mounts[0].destination", "must not be empty"),
    (_del(["mounts", 2, "destination"]), "mounts[2].destination", "is required"),
    (_set(["mounts", 1, "uidMappings"], [{"containerID": 0, "hostID": 1, "size": 1}]),
     "mounts[1].gidMappings", "is required when uidMappings is set"),
    (_del(["process", "cwd"]), "process.cwd", "is required"),
    (_set(["process", "cwd"], "work"), "process.cwd", "absolute path"),
    (_set(["process", "args"], []), "process.args", "must not be empty"),
    (_set(["process", "env"], ["PATH=/bin", "NOVALUE"]), "process.env[1]", "KEY=value"),
    (_set(["process", "user", "uid"], -1), "process.user.uid", "integer from 0 to 4294967295"),
    (_set(["process", "user", "gid"], 2 ** 32), "process.user.gid", "4294967295"),
    (_set(["process", "user", "uid"], "0"), "process.user.uid", "must be an integer"),
    (_set(["process", "user", "uid"], True), "process.user.uid", "must be an integer"),
    (_set(["process", "rlimits", 0, "type"], "RLIMIT_FOO"), "process.rlimits[0].type",
     "must be one of RLIMIT_AS"),
    (_set(["process", "rlimits", 0, "soft"], -5), "process.rlimits[0].soft", ">= 0"),
    (_del(["process", "rlimits", 0, "hard"]), "process.rlimits[0].hard", "is required"),
    (_set(["process", "capabilities", "bounding", 1], "kill"),
     "process.capabilities.bounding[1]", "capability name"),
    (_set(["process", "consoleSize"], {"height": 10}), "process.consoleSize.width", "is required"),
    (_set(["process", "ioPriority"], {"class": "IOPRIO_CLASS_BE", "priority": 9}),
     "process.ioPriority.priority", "from 0 to 7"),
    (_set(["process", "ioPriority"], {"class": "BE", "priority": 1}),
     "process.ioPriority.class", "IOPRIO_CLASS_RT"),
    (_set(["process", "scheduler"], {"policy": "SCHED_FAST"}), "process.scheduler.policy",
     "SCHED_OTHER"),
    (_set(["process", "scheduler"], {"nice": 1}), "process.scheduler.policy", "is required"),
    (_set(["process", "execCPUAffinity"], {"final": "0-3;7"}), "process.execCPUAffinity.final",
     "0-3,7"),
    (_set(["process", "oomScoreAdj"], 1.5), "process.oomScoreAdj", "must be an integer"),
    (_set(["hostname"], 42), "hostname", "must be a string"),
    (_set(["hooks"], {"poststart": [{"path": "notify"}]}), "hooks.poststart[0].path",
     "absolute path"),
    (_set(["hooks"], {"prestart": [{"path": "/bin/x", "timeout": 0}]}),
     "hooks.prestart[0].timeout", "> 0"),
    (_set(["hooks"], {"createRuntime": [{"args": ["x"]}]}), "hooks.createRuntime[0].path",
     "is required"),
    (_set(["annotations"], {"": "x"}), "annotations", "invalid key"),
    (_set(["annotations"], {"com.example": 1}), 'annotations["com.example"]', "must be a string"),
    (_set(["linux", "namespaces", 0, "type"], "pidd"), "linux.namespaces[0].type",
     "must be one of pid, network, mount, ipc, uts, user, cgroup, time"),
    (_set(["linux", "namespaces", 1, "path"], "proc/1/ns/net"), "linux.namespaces[1].path",
     "absolute path"),
    (_set(["linux", "uidMappings"], [{"containerID": 0, "hostID": 1000}]),
     "linux.uidMappings[0].size", "is required"),
    (_set(["linux", "timeOffsets"], {"monotonic": {"nanosecs": -1}}),
     "linux.timeOffsets.monotonic.nanosecs", "from 0 to 4294967295"),
    (_set(["linux", "devices"], [{"path": "/dev/x", "type": "c", "major": 1}]),
     "linux.devices[0].minor", "is required"),
    (_set(["linux", "devices"], [{"path": "/dev/x", "type": "x"}]), "linux.devices[0].type",
     "must be one of c, b, u, p"),
    (_set(["linux", "devices"], [{"path": "dev/x", "type": "p"}]), "linux.devices[0].path",
     "absolute path"),
    (_set(["linux", "netDevices"], {"eth0": {"name": 5}}), "linux.netDevices.eth0.name",
     "must be a string"),
    (_set(["linux", "resources", "devices", 0, "access"], "rwx"),
     "linux.resources.devices[0].access", "r, w and m"),
    (_del(["linux", "resources", "devices", 0, "allow"]), "linux.resources.devices[0].allow",
     "is required"),
    (_set(["linux", "resources", "memory"], {"limit": "1G"}), "linux.resources.memory.limit",
     "must be an integer"),
    (_set(["linux", "resources", "memory"], {"swappiness": 101}),
     "linux.resources.memory.swappiness", "from 0 to 100"),
    (_set(["linux", "resources", "cpu"], {"shares": -2}), "linux.resources.cpu.shares",
     "must be an integer >= 0 (uint64)"),
    (_set(["linux", "resources", "cpu"], {"quota": 2 ** 63}), "linux.resources.cpu.quota",
     "9223372036854775807"),
    (_set(["linux", "resources", "cpu"], {"cpus": "a-b"}), "linux.resources.cpu.cpus", "0-3,7"),
    (_set(["linux", "resources", "pids"], {"limit": "max"}), "linux.resources.pids.limit",
     "must be an integer"),
    (_set(["linux", "resources", "blockIO"], {"weightDevice": [{"major": 8, "minor": 0}]}),
     "linux.resources.blockIO.weightDevice[0]", "at least one of weight, leafWeight"),
    (_set(["linux", "resources", "blockIO"], {"weight": 70000}),
     "linux.resources.blockIO.weight", "from 0 to 65535"),
    (_set(["linux", "resources", "blockIO"], {"throttleReadBpsDevice": [{"major": 8, "minor": 0}]}),
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate", "is required"),
    (_set(["linux", "resources", "hugepageLimits"], [{"pageSize": "2M", "limit": 1}]),
     "linux.resources.hugepageLimits[0].pageSize", "2MB"),
    (_set(["linux", "resources", "rdma"], {"mlx5_1": {}}), "linux.resources.rdma.mlx5_1",
     "at least one of hcaHandles, hcaObjects"),
    (_set(["linux", "resources", "unified"], {"memory.max": 5}),
     'linux.resources.unified["memory.max"]', "must be a string"),
    (_set(["linux", "resources", "network"], {"priorities": [{"name": "eth0"}]}),
     "linux.resources.network.priorities[0].priority", "is required"),
    (_set(["linux", "intelRdt"], {"memBwSchema": "L3:0=1"}), "linux.intelRdt.memBwSchema",
     "MB:"),
    (_set(["linux", "memoryPolicy"], {"nodes": "0"}), "linux.memoryPolicy.mode", "is required"),
    (_set(["linux", "memoryPolicy"], {"mode": "MPOL_BIND", "flags": ["MPOL_F_X"]}),
     "linux.memoryPolicy.flags[0]", "MPOL_F_NUMA_BALANCING"),
    (_set(["linux", "sysctl"], {"net.ipv4.ip_forward": 1}), 'linux.sysctl["net.ipv4.ip_forward"]',
     "must be a string"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_DENY"}),
     "linux.seccomp.defaultAction", "SCMP_ACT_KILL"),
    (_set(["linux", "seccomp"], {}), "linux.seccomp.defaultAction", "is required"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW",
                                 "architectures": ["SCMP_ARCH_Z80"]}),
     "linux.seccomp.architectures[0]", "SCMP_ARCH_X86_64"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW",
                                 "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
     "linux.seccomp.syscalls[0].names", "must not be empty"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_IS"}]}]}),
     "linux.seccomp.syscalls[0].args[0].op", "SCMP_CMP_EQ"),
    (_set(["linux", "seccomp"], {"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
     "linux.seccomp.listenerPath", "is required when listenerMetadata is set"),
    (_set(["linux", "rootfsPropagation"], "bogus"), "linux.rootfsPropagation",
     "must be one of shared, slave, private, unbindable"),
    (_set(["linux", "maskedPaths"], ["/proc/kcore", "proc/keys"]), "linux.maskedPaths[1]",
     "absolute path"),
    (_set(["linux", "personality"], {"domain": "LINUX64"}), "linux.personality.domain",
     "LINUX, LINUX32"),
    (_set(["linux"], []), "linux", "must be an object"),
]


@pytest.mark.parametrize("fn,path,words", BAD_CONFIGS,
                         ids=[f"{i}-{c[1]}" for i, c in enumerate(BAD_CONFIGS)])
def test_bad_config_is_reported_at_its_path(fn, path, words):
    problems = validate(mutate(fn))
    assert paths(problems) == [path], problems
    assert words in problems[0].message


def test_every_problem_is_reported_not_just_the_first():
    doc = default_spec()
    doc["process"]["cwd"] = "relative"
    doc["linux"]["namespaces"].append({"type": "nope"})
    doc["mounts"][5]["options"] = [1]
    assert sorted(paths(validate(doc))) == sorted([
        "process.cwd", "linux.namespaces[5].type", "mounts[5].options[0]"])


def test_root_document_of_wrong_type():
    assert validate([]) == [Problem("$", "must be an object (got [])")]


def test_message_shows_the_value_given():
    doc = mutate(_set(["linux", "namespaces", 0, "type"], "pidd"))
    assert validate(doc)[0].message == (
        'must be one of pid, network, mount, ipc, uts, user, cgroup, time (got "pidd")')


def test_problem_is_frozen_and_prints_path_first():
    p = Problem("mounts[3].options", "must be an array")
    assert str(p) == "mounts[3].options: must be an array"
    with pytest.raises(AttributeError):
        p.path = "x"


def test_rootfs_propagation_accepts_recursive_forms_callers_send():
    for value in ("rslave", "rshared", "rprivate", "runbindable", "private"):
        assert validate(mutate(_set(["linux", "rootfsPropagation"], value))) == []


def test_semver_prerelease_versions_pass():
    for version in ("1.0.2-dev", "1.1.0-rc.2", "1.2.0+build.5"):
        assert validate(mutate(_set(["ociVersion"], version))) == []


# --- state and features -----------------------------------------------------------

def test_state_requires_pid_when_created_or_running():
    state = load("state.json")
    del state["pid"]
    assert validate(state, "state") == [Problem("pid", "is required")]
    state["status"] = "stopped"
    assert validate(state, "state") == []


def test_state_bundle_must_be_absolute():
    state = load("state.json")
    state["bundle"] = "bundle"
    assert paths(validate(state, "state")) == ["bundle"]


def test_state_allows_runtime_defined_status():
    state = load("state.json")
    state["status"] = "paused"
    assert validate(state, "state") == []


def test_features_requires_versions_and_allows_null():
    feats = load("features.json")
    feats["hooks"] = None
    feats["linux"]["seccomp"]["enabled"] = None
    assert validate(feats, "features") == []
    del feats["ociVersionMax"]
    feats["linux"]["cgroup"]["v2"] = "yes"
    assert paths(validate(feats, "features")) == ["ociVersionMax", "linux.cgroup.v2"]


# --- image documents --------------------------------------------------------------

BAD_IMAGE_DOCS = [
    ("manifest.json", "manifest", _set(["schemaVersion"], 1), "schemaVersion", "must be 2"),
    ("manifest.json", "manifest", _del(["config"]), "config", "is required"),
    ("manifest.json", "manifest", _set(["config", "digest"], "sha256:ABC"), "config.digest",
     "64 lowercase hex"),
    ("manifest.json", "manifest", _set(["layers", 0, "digest"], "sha256" + "0" * 64),
     "layers[0].digest", "digest"),
    ("manifest.json", "manifest", _set(["layers", 1, "size"], -1), "layers[1].size", "from 0 to"),
    ("manifest.json", "manifest", _set(["layers", 0, "mediaType"], "tar+gzip"),
     "layers[0].mediaType", "media type"),
    ("manifest.json", "manifest", _set(["mediaType"], "application/json"), "mediaType",
     "application/vnd.oci.image.manifest.v1+json"),
    ("manifest.json", "manifest", _set(["config", "mediaType"], "application/vnd.oci.empty.v1+json"),
     "artifactType", "is required"),
    ("index.json", "index", _del(["manifests"]), "manifests", "is required"),
    ("index.json", "index", _del(["manifests", 0, "platform", "os"]), "manifests[0].platform.os",
     "is required"),
    ("index.json", "index", _set(["manifests", 1, "data"], "not base64!"), "manifests[1].data",
     "base64"),
    ("image-config.json", "image-config", _del(["rootfs"]), "rootfs", "is required"),
    ("image-config.json", "image-config", _set(["rootfs", "type"], "layer"), "rootfs.type",
     'must be "layers"'),
    ("image-config.json", "image-config", _set(["rootfs", "diff_ids", 1], "sha256:xyz"),
     "rootfs.diff_ids[1]", "sha256"),
    ("image-config.json", "image-config", _set(["created"], "yesterday"), "created", "RFC 3339"),
    ("image-config.json", "image-config", _set(["config", "Env"], ["FOO"]), "config.Env[0]",
     "VARNAME=VARVALUE"),
    ("image-config.json", "image-config", _set(["config", "ExposedPorts"], {"http": {}}),
     "config.ExposedPorts", "invalid key"),
    ("image-config.json", "image-config", _del(["architecture"]), "architecture", "is required"),
]


@pytest.mark.parametrize("name,kind,fn,path,words", BAD_IMAGE_DOCS,
                         ids=[f"{c[1]}-{c[3]}" for c in BAD_IMAGE_DOCS])
def test_bad_image_document_is_reported_at_its_path(name, kind, fn, path, words):
    doc = load(name)
    fn(doc)
    problems = validate(doc, kind)
    assert paths(problems) == [path], problems
    assert words in problems[0].message


def test_image_config_optional_fields_may_be_null():
    doc = load("image-config.json")
    for key in ("created", "author", "variant", "history"):
        doc[key] = None
    for key in ("Cmd", "Entrypoint", "Env", "Volumes", "Labels", "User", "ExposedPorts"):
        doc["config"][key] = None
    assert validate(doc, "image-config") == []


def test_unregistered_digest_algorithms_pass_when_they_fit_the_grammar():
    doc = load("manifest.json")
    doc["layers"][0]["digest"] = "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"
    assert validate(doc, "manifest") == []


# --- helpers and layout -----------------------------------------------------------

@pytest.mark.parametrize("parts,text", [
    ([], "$"),
    (["process"], "process"),
    (["mounts", 3, "options"], "mounts[3].options"),
    (["linux", "namespaces", 0, "type"], "linux.namespaces[0].type"),
    (["linux", "sysctl", "net.ipv4.ip_forward"], 'linux.sysctl["net.ipv4.ip_forward"]'),
    (["annotations", ""], 'annotations[""]'),
    ([0, "a"], "[0].a"),
])
def test_format_path(parts, text):
    assert format_path(parts) == text


def test_validate_all_adds_cross_field_checks_once():
    doc = default_spec()
    doc["process"]["cwd"] = "relative"        # both the schema and the checks see this
    doc["linux"]["namespaces"] = [n for n in doc["linux"]["namespaces"] if n["type"] != "uts"]
    problems = validate_all(doc)
    assert paths(problems) == ["process.cwd", "hostname"]


def test_schemas_found_in_installed_layout(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "runc_py"
    shutil.copytree(os.path.join(REPO, "runc_py", "spec"), pkg / "spec",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "__init__.py").write_text("")
    for mod in ("fastjson.py", "lazyre.py"):
        shutil.copy(os.path.join(REPO, "runc_py", mod), pkg / mod)
    shutil.copytree(os.path.join(REPO, "oci-spec"), pkg / "oci-spec")
    code = ("import runc_py.spec.schema as s; print(s.schema_dir()); "
            "print(s.validate({'ociVersion': '1.0.0'}))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    env.pop("RUNC_PY_OCI_SPEC", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout.splitlines()
    assert out[0] == str(pkg / "oci-spec")
    assert "root" in out[1] and "is required" in out[1]


def test_missing_schemas_say_where_they_were_looked_for(monkeypatch, tmp_path):
    monkeypatch.setattr(schema, "_validators", {})
    monkeypatch.setenv("RUNC_PY_OCI_SPEC", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="RUNC_PY_OCI_SPEC"):
        validate({})


def test_nullable_fields_explain_the_non_null_form():
    doc = load("image-config.json")
    doc["config"]["Labels"] = {"a": 1}
    assert validate(doc, "image-config") == [Problem("config.Labels.a", "must be a string (got 1)")]
    feats = load("features.json")
    feats["annotations"] = 5
    assert validate(feats, "features") == [
        Problem("annotations", "must be an object or null (got 5)")]


def test_wrong_types_anywhere_near_the_top_give_one_clear_problem_each():
    base = load("full.json")
    where = [(k,) for k in base] + [(k, k2) for k in base if isinstance(base[k], dict)
                                    for k2 in base[k]]
    for parts in where:
        for junk in (None, 7, [None]):
            doc = copy.deepcopy(base)
            obj = doc
            for part in parts[:-1]:
                obj = obj[part]
            if type(obj[parts[-1]]) is type(junk):
                continue
            obj[parts[-1]] = junk
            problems = validate(doc)
            assert problems, (parts, junk)
            assert all(p.path.startswith(format_path(list(parts))) for p in problems), problems
            assert all(p.message and "{" not in p.message[:1] for p in problems)
