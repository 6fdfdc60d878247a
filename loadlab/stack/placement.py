"""Where a run's processes listen, and how a Prometheus outside the run reaches them.

Natively everything listens on 127.0.0.1 and only the run's own Prometheus scrapes it. Inside the
compose stack's `runner` container (docker-compose.yml) the run is also watched by the stack's
Prometheus, in another container: there the targets and Locust listen on every interface of the
container (its network is the stack's private one; nothing is published on the host), the run
writes its scrape targets a second time, under the container's name, to a file the stack's
Prometheus reads, and Locust's master waits for the stack's `locust-worker` containers.
The compose file sets these variables; nobody needs them natively.

Targets on another machine (`--target-host ADDR`, docs/multi-host.md): the run starts none; each
target is served there by `loadlab serve` on the well-known ports below, Locust loads it at ADDR and
the run's Prometheus scrapes its metrics port at ADDR. A user's service elsewhere (`--url`) is
scraped where `--metrics-url` says.
"""

import ipaddress
import json
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from loadlab.contract.ports import LOCUST_MASTER_PORT, TARGET_METRICS_PORT, TARGET_PORT
from loadlab.errors import USAGE, LoadlabError
from loadlab.stack.prometheus import ScrapeTarget, write_atomically

BIND_ENV = "LOADLAB_BIND_HOST"
ADVERTISE_ENV = "LOADLAB_ADVERTISE_HOST"
PUBLISH_ENV = "LOADLAB_PUBLISH_TARGETS"
LOCAL = "127.0.0.1"
ANY = "0.0.0.0"
MASTER_PORT = LOCUST_MASTER_PORT  # the Locust workers started apart know it; natively a run picks free ports
# Where `loadlab serve` serves each target on a --target-host machine: (port, metrics port)
REMOTE_PORTS = {"sync": (TARGET_PORT, TARGET_METRICS_PORT), "async": (TARGET_PORT + 1, TARGET_METRICS_PORT + 1)}
REACH_TIMEOUT_S = 3.0
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def target_host(text: str) -> str:
    """--target-host: an IP address or a host name, without scheme or port; not every interface."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if _HOSTNAME.match(text) and not text.replace(".", "").isdigit():
            return text
        raise ValueError(f"expected an address or host name (no scheme, no port), got {text!r}") from None
    if address.version == 6:
        raise ValueError(f"{text}: IPv6 addresses are not supported here; give an IPv4 address or a host name")
    if address.is_unspecified:
        raise ValueError(f"{text} is every interface, not a machine: give the targets' machine's address")
    return str(address)


def serve_command(target: str, host: str) -> str:
    """What serves `target` on the --target-host machine, where the run expects it."""
    port, metrics_port = REMOTE_PORTS[target]
    return f"loadlab serve --target {target} --host {host} --port {port} --metrics-port {metrics_port}"


def reach(url: str, what: str, hint: str) -> None:
    """A clear one-line usage error, before anything starts, when `url` does not answer."""
    import httpx

    try:
        httpx.get(url, timeout=REACH_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise LoadlabError(f"{what} {url} does not answer ({type(exc).__name__}): {hint}", USAGE) from None


def reach_targets(host: str, targets: Iterable[str]) -> None:
    """Every target the run loads answers at --target-host on its metrics port."""
    for target in dict.fromkeys(targets):
        url = f"http://{host}:{REMOTE_PORTS[target][1]}/metrics"
        what = f"--target-host {host}: the {target} target's metrics"
        reach(url, what, f"start it there: {serve_command(target, host)}")


@dataclass(frozen=True)
class Placement:
    bind: str = LOCAL  # the interface targets, Locust's exporter and Locust's master listen on
    advertise: str = LOCAL  # the name others reach them by
    publish_targets: Path | None = None  # a file_sd file for a Prometheus outside the run
    target_host: str | None = None  # the targets' machine (--target-host): nothing of them runs here

    @classmethod
    def from_env(cls, master_bind: str | None = None, target_host: str | None = None) -> "Placement":
        """As the compose file sets it; `master_bind` (run --master-bind, for workers on other machines)
        overrides the address, advertised as itself, or as this machine's name when it is every interface."""
        publish = os.environ.get(PUBLISH_ENV)
        bind, advertise = os.environ.get(BIND_ENV, LOCAL), os.environ.get(ADVERTISE_ENV, LOCAL)
        if master_bind:
            bind, advertise = master_bind, socket.getfqdn() if master_bind == ANY else master_bind
        publish_targets = Path(publish) if publish else None
        return cls(bind=bind, advertise=advertise, publish_targets=publish_targets, target_host=target_host)

    @property
    def local(self) -> str:
        """Where this machine's Prometheus and the run reach what listens on `bind`."""
        return LOCAL if self.bind in (LOCAL, ANY) else self.bind

    def publish(self, targets: Iterable[ScrapeTarget]) -> None:
        """Write `targets`, under the advertised name, for the outside Prometheus (if there is one)."""
        if self.publish_targets is None:
            return
        entries = [
            replace(t, address=f"{self.advertise}:{t.address.rsplit(':', 1)[1]}").file_sd_entry() for t in targets
        ]
        self.publish_targets.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.publish_targets, json.dumps(entries, indent=2) + "\n")

    def unpublish(self) -> None:
        """The run is over: the outside Prometheus stops scraping its processes (which are gone)."""
        if self.publish_targets is not None:
            self.publish_targets.unlink(missing_ok=True)
