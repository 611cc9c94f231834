"""OCI runtime conformance suite: see conftest.py and tests/support/runtime.py."""
