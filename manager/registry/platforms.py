"""Platforms (pure): the host's os/arch/variant, parsing `--platform
os/arch[/variant]`, and choosing the manifest for a platform from a Docker
manifest list or an OCI image index."""
import os

from ..errors import InvalidReference, RegistryError

__all__ = ["host_platform", "parse_platform", "select_manifest", "platform_matches",
           "format_platform"]

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform():
    machine = os.uname().machine  # (platform costs ~3 ms to import)
    arch = _ARCH.get(machine, machine)
    variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine)
    return ("linux", arch, variant)


def parse_platform(text):
    """"linux/arm64/v8" -> ("linux", "arm64", "v8")."""
    if not text:
        return host_platform()
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InvalidReference(f"invalid platform {text!r}: expected os/arch[/variant], "
                               "e.g. linux/amd64 or linux/arm/v7")
    os_, arch = parts[0].lower(), parts[1].lower()
    arch = _ARCH.get(arch, arch)
    return (os_, arch, parts[2].lower() if len(parts) == 3 else None)


def _fmt_platform(p):
    return "/".join(x for x in p if x)


def _platform_matches(want, plat):
    os_, arch, variant = want
    if plat.get("os") != os_ or plat.get("architecture") != arch:
        return False
    have = plat.get("variant")
    if variant is None:
        return True
    if arch == "arm64" and variant == "v8" and not have:
        return True
    return have == variant


def select_manifest(index, want, what):
    entries = index.get("manifests") or []
    matches = [d for d in entries if _platform_matches(want, d.get("platform") or {})]
    if not matches:
        have = sorted({_fmt_platform((p.get("os"), p.get("architecture"), p.get("variant")))
                       for d in entries for p in [d.get("platform") or {}]
                       if p.get("os") not in (None, "unknown")})
        raise RegistryError(f"no matching manifest for {_fmt_platform(want)} in the manifest "
                            f"list entries of {what}",
                            hint="available: " + (", ".join(have) or "none")
                            + "; choose one with --platform")
    if want[2] is None:   # prefer the plain entry, then the highest variant
        matches.sort(key=lambda d: (d.get("platform") or {}).get("variant") or "~", reverse=True)
    return matches[0]


platform_matches = _platform_matches
format_platform = _fmt_platform
