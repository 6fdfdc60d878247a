"""Local stand-ins for the public images docker-compose.yml names, for a machine that reaches no
image registry: a Debian base made with debootstrap from the mirror apt already uses, imported into
the engine, then Python, PostgreSQL and Prometheus from Debian's packages in it (Dockerfiles in
tests/compose/standins/). Grafana has none: the test runs the stack without it.

Builds reach the package registries through the machine's network, which may inspect TLS: the
machine's own extra CA certificates are copied (never committed: git ignores them) into
docker/extra-ca/, which the project's Dockerfile installs before pip runs.
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from loadlab import REPO
from tests.compose.engine import DockerEngine

BASE = "loadlab-standin/debian:bookworm"
HERE = Path(__file__).parent / "standins"
# the variable docker-compose.yml reads -> the stand-in that replaces its default image
IMAGES = {
    "PYTHON_IMAGE": ("python", "loadlab-standin/python:test"),
    "POSTGRES_IMAGE": ("postgres", "loadlab-standin/postgres:test"),
    "PROMETHEUS_IMAGE": ("prometheus", "loadlab-standin/prometheus:test"),
}
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
LOCAL_CA = Path("/usr/local/share/ca-certificates")


def debian_mirror() -> str:
    """The Debian archive apt uses on this machine (deb822 `URIs:` or one-line `deb URL suite`)."""
    files = [APT_SOURCES[0], *sorted(APT_SOURCES[1].glob("*"))] if APT_SOURCES[1].is_dir() else [APT_SOURCES[0]]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text()
        for url in re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
            if "security" not in url:
                return url
    return "http://deb.debian.org/debian"


def build(engine: DockerEngine, workdir: Path) -> dict[str, str]:
    """Build the base and the stand-ins in `engine`; returns the environment that selects them."""
    if engine.docker("image", "inspect", BASE, check=False).returncode != 0:
        rootfs = workdir / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror()],
            check=True,
            capture_output=True,
        )
        with subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE) as tar:
            engine.docker("import", "-", BASE, stdin=tar.stdout)
        assert tar.returncode == 0
        shutil.rmtree(rootfs, ignore_errors=True)

    def one(folder: str, tag: str) -> None:
        engine.docker("build", "--network", "host", "--quiet", "-t", tag, str(HERE / folder))

    with ThreadPoolExecutor(len(IMAGES)) as pool:
        for future in [pool.submit(one, folder, tag) for folder, tag in IMAGES.values()]:
            future.result()
    return {variable: tag for variable, (_, tag) in IMAGES.items()}


@contextmanager
def extra_ca() -> Iterator[list[Path]]:
    """The machine's local CA certificates in docker/extra-ca/ while the images build; removed after."""
    target = REPO / "docker" / "extra-ca"
    added = []
    for cert in sorted(LOCAL_CA.glob("*.crt")) if LOCAL_CA.is_dir() else []:
        copy = target / cert.name
        if not copy.exists():
            shutil.copyfile(cert, copy)
            added.append(copy)
    try:
        yield added
    finally:
        for copy in added:
            copy.unlink(missing_ok=True)
