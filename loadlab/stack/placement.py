"""Where a run's processes listen, and how a Prometheus outside the run reaches them.

Natively everything listens on 127.0.0.1 and only the run's own Prometheus scrapes it. Inside the
compose stack's `runner` container (docker-compose.yml) the run is also watched by the stack's
Prometheus, in another container: there the targets and Locust listen on every interface of the
container (its network is the stack's private one; nothing is published on the host), the run
writes its scrape targets a second time, under the container's name, to a file the stack's
Prometheus reads, and Locust's master waits for the stack's `locust-worker` containers.
The compose file sets these variables; nobody needs them natively.
"""

import json
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from loadlab.contract.ports import LOCUST_MASTER_PORT
from loadlab.stack.prometheus import ScrapeTarget, write_atomically

BIND_ENV = "LOADLAB_BIND_HOST"
ADVERTISE_ENV = "LOADLAB_ADVERTISE_HOST"
PUBLISH_ENV = "LOADLAB_PUBLISH_TARGETS"
LOCAL = "127.0.0.1"
ANY = "0.0.0.0"
MASTER_PORT = LOCUST_MASTER_PORT  # the Locust workers started apart know it; natively a run picks free ports


@dataclass(frozen=True)
class Placement:
    bind: str = LOCAL  # the interface targets, Locust's exporter and Locust's master listen on
    advertise: str = LOCAL  # the name others reach them by
    publish_targets: Path | None = None  # a file_sd file for a Prometheus outside the run

    @classmethod
    def from_env(cls, master_bind: str | None = None) -> "Placement":
        """As the compose file sets it; `master_bind` (run --master-bind, for workers on other machines)
        overrides the address, advertised as itself, or as this machine's name when it is every interface."""
        publish = os.environ.get(PUBLISH_ENV)
        bind, advertise = os.environ.get(BIND_ENV, LOCAL), os.environ.get(ADVERTISE_ENV, LOCAL)
        if master_bind:
            bind, advertise = master_bind, socket.getfqdn() if master_bind == ANY else master_bind
        return cls(bind=bind, advertise=advertise, publish_targets=Path(publish) if publish else None)

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
