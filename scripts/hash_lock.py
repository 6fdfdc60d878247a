"""requirements.hashes.txt from requirements.lock: what the image's `pip install --require-hashes` reads.

requirements.lock stays the one source of versions. This file lists the image's runtime packages
(pyproject.toml's dependencies and everything they pull in on Linux with CPython 3.11, extras
included, plus Apache Otava, installed without its dependencies: why, in requirements.lock), each
at the lock's version, with the sha256 of every wheel pip may pick in the image: glibc Linux
(bookworm's glibc 2.36 and older) on x86_64 and aarch64.

    .venv/bin/python scripts/hash_lock.py           # rewrite it: pip downloads the wheels and hashes them
    .venv/bin/python scripts/hash_lock.py --check   # offline: exit 1 if its packages or versions no longer match

The dependency tree is read from the installed packages' metadata (make setup installs the lock), so
the check needs no network; a package the lock does not pin is an error, not a guess.
"""

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
HASHED = ROOT / "requirements.hashes.txt"
NO_DEPS = ("apache-otava",)  # installed as the lock says, without what it declares
ARCHES = ("x86_64", "aarch64")
GLIBC_MINOR = 36  # bookworm's glibc 2.36: a wheel for it or any older glibc installs there
LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}  # older names of some manylinux_2_N tags
PYTHON = "3.11"
HEADER = """\
# Generated from requirements.lock by scripts/hash_lock.py; do not edit (rerun it after changing the lock).
# The image's runtime packages at the lock's versions, with the sha256 of each wheel for CPython {python}
# on {platforms} (a package without a wheel for one of them: its source archive too):
# `pip install --require-hashes --no-deps -r requirements.hashes.txt`.
"""


def lock_pins(path: Path = LOCK) -> dict[str, str]:
    """Canonical name -> `name==version` as the lock spells it."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            if not sep:
                raise SystemExit(f"{path.name}: {line!r} is not pinned with ==")
            pins[canonicalize_name(name)] = f"{name.strip()}=={version.strip()}"
    return pins


def runtime_packages() -> set[str]:
    """Canonical names of pyproject's dependencies and all they require here, plus NO_DEPS."""
    roots = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    todo = [Requirement(r) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    names = {canonicalize_name(n) for n in NO_DEPS}
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(key[0])
        for text in metadata.requires(req.name) or []:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in {"", *req.extras}):
                todo.append(dep)
    return names


def expected_pins() -> list[str]:
    pins = lock_pins()
    missing = sorted(runtime_packages() - set(pins))
    if missing:
        raise SystemExit(f"requirements.lock pins no version of {', '.join(missing)}: add them to it")
    return sorted((pins[name] for name in runtime_packages()), key=str.lower)


def hashed_pins(path: Path = HASHED) -> dict[str, list[str]]:
    """`name==version` -> its hashes, as requirements.hashes.txt lists them."""
    entries: dict[str, list[str]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("--hash") else line.strip()
        if not line:
            continue
        if line.startswith("--hash="):
            entries[current].append(line.removeprefix("--hash=").rstrip(" \\"))
        else:
            current = line.rstrip(" \\").strip()
            entries[current] = []
    return entries


def platform_tags(arch: str) -> list[str]:
    tags = []
    for minor in range(GLIBC_MINOR, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in LEGACY:
            tags.append(f"{LEGACY[minor]}_{arch}")
    return tags


def _download(pins: list[str], folder: Path, options: list[str]) -> str:
    """pip download of `pins` into `folder`; the pin pip found no file for ("" when it got them all)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        requirements.write("\n".join(pins) + "\n")
        requirements.flush()
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *options]
        result = subprocess.run([*command, "-d", str(folder), "-r", requirements.name], capture_output=True, text=True)
    if result.returncode == 0:
        return ""
    missing = re.search(r"No matching distribution found for (\S+)", result.stderr)
    if missing is None or missing[1] not in pins:
        raise SystemExit(f"pip download failed:\n{result.stderr}")
    return missing[1]


def download_hashes(pins: list[str]) -> dict[str, set[str]]:
    """Canonical name -> sha256 of each wheel pip downloads for ARCHES, and of the source archive of a
    package that has no wheel for one of them (pip builds it there)."""
    hashes: dict[str, set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folders = []
        for arch in ARCHES:
            folder = Path(tmp) / arch
            options = ["--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp"]
            options += ["--abi", f"cp{PYTHON.replace('.', '')}"]
            for platform in platform_tags(arch):  # pip does not widen a given manylinux tag to older ones
                options += ["--platform", platform]
            left, without_wheel = list(pins), []
            while missing := _download(left, folder, options):
                left.remove(missing)
                without_wheel.append(missing)
            if without_wheel:
                sources = Path(tmp) / f"{arch}-sdist"
                if _download(without_wheel, sources, ["--no-binary=:all:"]):
                    raise SystemExit(f"no wheel for {arch} and no source archive: {', '.join(without_wheel)}")
                folders.append(sources)
            folders.append(folder)
        for folder in folders:
            for file in sorted(folder.iterdir()):
                if file.suffix == ".whl":
                    name = parse_wheel_filename(file.name)[0]
                else:
                    name = parse_sdist_filename(file.name)[0]
                hashes.setdefault(canonicalize_name(name), set()).add(hashlib.sha256(file.read_bytes()).hexdigest())
    return hashes


def write() -> None:
    pins = expected_pins()
    hashes = download_hashes(pins)
    platforms = f"glibc <= 2.{GLIBC_MINOR} Linux on {' and '.join(ARCHES)}"
    lines = [HEADER.format(python=PYTHON, platforms=platforms)]
    for pin in pins:
        name = canonicalize_name(pin.split("==")[0])
        digests = sorted(hashes.get(name, ()))
        if not digests:
            raise SystemExit(f"pip downloaded no wheel of {pin}")
        lines.append(" \\\n".join([pin, *(f"    --hash=sha256:{d}" for d in digests)]) + "\n")
    HASHED.write_text("".join(lines))
    print(f"{HASHED.name}: {len(pins)} packages, {sum(len(h) for h in hashes.values())} wheel hashes")


def check(hashed: Path = HASHED) -> list[str]:
    """What differs between requirements.hashes.txt and the lock; empty when they agree."""
    if not hashed.exists():
        return [f"{hashed.name} is missing"]
    listed = hashed_pins(hashed)
    expected = expected_pins()
    problems = [f"{pin}: the lock wants it, {hashed.name} does not list it" for pin in expected if pin not in listed]
    problems += [f"{pin}: listed in {hashed.name}, not what the lock wants" for pin in listed if pin not in expected]
    problems += [f"{pin}: no sha256 hash" for pin, digests in listed.items() if not digests]
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the lock, offline; exit 1 if they differ")
    if parser.parse_args(argv).check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"regenerate it: .venv/bin/python scripts/{Path(__file__).name}", file=sys.stderr)
        return 1 if problems else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
