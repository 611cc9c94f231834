"""Fixtures for the capability and seccomp tests."""
import os
import shutil
import tempfile

import pytest


@pytest.fixture
def shared_dir():
    """A temp dir that uid 1000 can use too; removed afterwards."""
    d = tempfile.mkdtemp(prefix="runcpy-test-security-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)
