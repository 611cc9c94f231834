# runc-py and mydocker.  `make setup` on a fresh Debian machine (as root)
# installs everything and runs a container; `make test` runs the tests.
PYTHON ?= $(shell python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
BINDIR ?= /usr/local/bin
APT_PACKAGES = busybox-static runc docker-registry libseccomp-dev skopeo umoci \
               hyperfine iproute2 gcc libc6-dev python3-dev util-linux podman conmon \
               strace
PIP_PACKAGES = setuptools wheel cffi jsonschema click requests pyroute2 zstandard cryptography pytest
DEMO_DIR ?= /tmp/runc-py-demo

.PHONY: setup install apt pip native launchers demo test unit integration callers conformance bench clean

setup: install demo

install: apt pip native launchers

apt:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	else echo "not root or no apt-get: skipping Debian packages ($(APT_PACKAGES))"; fi

pip:
	$(PYTHON) -m pip install -q $(PIP_PACKAGES)
	$(PYTHON) -m pip install -q --no-build-isolation -e .

native:
	$(PYTHON) native/build_native.py
	$(PYTHON) native/build_seccomp.py

launchers:
	$(PYTHON) tools/install_launchers.py $(BINDIR)

# The main job, offline: a busybox image built from Debian's busybox-static,
# served by a local registry, pulled and run by mydocker on runc-py; then the
# same bundle run directly by runc-py.
demo:
	BINDIR=$(BINDIR) $(PYTHON) tools/demo.py
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(PYTHON) tools/busybox_rootfs.py --bundle $(DEMO_DIR) --args echo "Hello World from runc-py"
	$(BINDIR)/runc-py run --bundle $(DEMO_DIR) runc-py-demo-$$$$

# Everything but the real-callers target (podman, containerd, docker), which
# installs and starts daemons: `make callers`, run by CI after `make test`.
test:
	RUNTIME=$${RUNTIME:-$(BINDIR)/runc-py} $(PYTHON) -m pytest -q -ra --ignore=tests/callers tests

unit:
	$(PYTHON) -m pytest -q -ra tests/unit

integration:
	RUNTIME=$${RUNTIME:-$(BINDIR)/runc-py} $(PYTHON) -m pytest -q -ra tests/integration

callers:
	$(PYTHON) -m pytest -q -ra tests/callers

# The runtime integration tests as a conformance suite: RUNTIME=runc make conformance
conformance:
	RUNTIME=$${RUNTIME:-$(BINDIR)/runc-py} $(PYTHON) -m pytest -q -ra tests/integration -m conformance

bench:
	$(PYTHON) bench/bench_runtime.py
	$(PYTHON) bench/bench_pull.py
	$(PYTHON) bench/bench_run.py

clean:
	rm -rf build *.egg-info runc_py/_native*.so runc_py/_seccomp*.so runc_py/_exec_helper
