"""Benchmark: pull and unpack, mydocker against skopeo and umoci.

Starts Debian's docker-registry on a free 127.0.0.1 port, pushes a
multi-layer image (busybox + generated layers, gzip), then, interleaved
for --rounds rounds, each into a fresh store:
  pull:   `mydocker pull` (download + verify + unpack)  vs
          `skopeo copy docker://... oci:DIR` (download + verify, no unpack)
          and skopeo copy + `umoci unpack` (the same work as ours)
  unpack: our layer unpack of the skopeo OCI layout  vs  `umoci unpack`
Prints medians and ratios (ours / theirs; below 1.0 means we are faster).

    python3 bench/bench_pull.py [--rounds 5] [--layers 4] [--mb 12]
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PYTHON = os.path.realpath(sys.executable)


def generated_layer(seed, mb):
    """~mb MB of files: many small text files and a few larger ones."""
    from tests.support.images import layer_tar
    rnd = random.Random(seed)
    entries, total, i = [("dir", f"data{seed}")], 0, 0
    words = [("%x" % rnd.getrandbits(32)).encode() for _ in range(4096)]
    while total < mb * 1_000_000:
        if i % 50 == 49:
            size = rnd.randint(200_000, 1_000_000)
        else:
            size = rnd.randint(100, 20_000)
        body = b" ".join(rnd.choice(words) for _ in range(size // 8 + 1))[:size]
        if i % 100 == 0:
            entries.append(("dir", f"data{seed}/d{i // 100}"))
        entries.append(("file", f"data{seed}/d{i // 100}/f{i}", body))
        total += size
        i += 1
    return layer_tar(entries), i


def run(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    return time.perf_counter() - t


UNPACK_SNIPPET = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from manager.store.layers import LayerStore, chain_ids
layout, dest = sys.argv[2], sys.argv[3]
index = json.load(open(layout + "/index.json"))
m = json.load(open(layout + "/blobs/" + index["manifests"][0]["digest"].replace(":", "/")))
cfg = json.load(open(layout + "/blobs/" + m["config"]["digest"].replace(":", "/")))
diff = cfg["rootfs"]["diff_ids"]
chains = chain_ids(diff)
store = LayerStore(dest)
from concurrent.futures import ThreadPoolExecutor
def one(i):
    d = m["layers"][i]["digest"]
    store.create(chains[i], diff[i], chains[i - 1] if i else None,
                 layout + "/blobs/" + d.replace(":", "/"), d)
with ThreadPoolExecutor(4) as ex:
    list(ex.map(one, range(len(diff))))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--layers", type=int, default=4, help="generated layers on top of busybox")
    ap.add_argument("--mb", type=float, default=12, help="uncompressed MB per generated layer")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for tool in ("docker-registry", "skopeo", "umoci"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: install Debian's {tool}")
    from tests.support import images as timages
    from tests.support.registry import Registry
    work = tempfile.mkdtemp(prefix="mydocker-bench-")
    try:
        with Registry(os.path.join(work, "registry")) as reg:
            layers, nfiles = [timages.busybox_layer()], 0
            for s in range(a.layers):
                tar, n = generated_layer(s, a.mb)
                layers.append(tar)
                nfiles += n
            built = timages.build_image(layers, compression="gzip")
            timages.push_image(reg.url, "bench", "latest", built)
            ref = f"{reg.host}/bench:latest"
            size = sum(len(b) for b in built.blobs.values())
            print(f"image: {len(layers)} layers, {nfiles} generated files, "
                  f"{size / 1e6:.1f} MB compressed, {sum(map(len, layers)) / 1e6:.1f} MB tar",
                  file=sys.stderr)
            times = {"mydocker pull": [], "skopeo copy": [], "skopeo copy + umoci unpack": [],
                     "mydocker unpack": [], "umoci unpack": []}
            env = dict(os.environ, PYTHONPATH=ROOT)
            for r in range(a.rounds):
                d = os.path.join(work, f"r{r}")
                os.makedirs(d)
                times["mydocker pull"].append(run(
                    [PYTHON, "-m", "manager", "--data-root", f"{d}/ours", "pull", "-q", ref],
                    env=env))
                t_copy = run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                              f"docker://{ref}", f"oci:{d}/layout:latest"])
                times["skopeo copy"].append(t_copy)
                t_umoci = run(["umoci", "unpack", "--rootless" if os.geteuid() else "--keep-dirlinks",
                               "--image", f"{d}/layout:latest", f"{d}/bundle"])
                times["umoci unpack"].append(t_umoci)
                times["skopeo copy + umoci unpack"].append(t_copy + t_umoci)
                times["mydocker unpack"].append(run(
                    [PYTHON, "-c", UNPACK_SNIPPET, ROOT, f"{d}/layout", f"{d}/unpacked"],
                    env=env))
                shutil.rmtree(d)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratios = {
        "pull: mydocker / skopeo copy": med["mydocker pull"] / med["skopeo copy"],
        "pull: mydocker / (skopeo copy + umoci unpack)":
            med["mydocker pull"] / med["skopeo copy + umoci unpack"],
        "unpack: mydocker / umoci": med["mydocker unpack"] / med["umoci unpack"],
    }
    if a.json:
        print(json.dumps({"median_seconds": med, "ratios": ratios}, indent=2))
        return
    for k, v in med.items():
        print(f"{k:32s} median {v * 1000:8.1f} ms  ({', '.join(f'{x * 1000:.0f}' for x in times[k])})")
    for k, v in ratios.items():
        print(f"{k:48s} {v:5.2f}")


if __name__ == "__main__":
    main()
