from setuptools import find_packages, setup

setup(
    name="runc-py",
    version="0.1.0",
    description="An OCI runtime (runc-py) and a Docker-like manager (mydocker) in Python",
    packages=find_packages(include=["runc_py", "runc_py.*", "manager", "manager.*"]),
    package_data={"runc_py": ["_exec_helper"]},
    python_requires=">=3.9",
    setup_requires=["cffi>=1.15"],
    install_requires=["cffi>=1.15", "jsonschema>=4", "click>=8", "requests>=2.28",
                      "pyroute2>=0.7", "zstandard>=0.20"],
    cffi_modules=["native/build_native.py:ffibuilder", "native/build_seccomp.py:ffibuilder"],
    entry_points={"console_scripts": [
        "runc-py=runc_py.cli:main",
        "mydocker=manager.cli:main",
    ]},
)
