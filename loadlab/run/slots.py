"""Each point of a run with the ports and labels it will use, fixed when the run starts: Prometheus is
told every scrape target at once, so each is scraped from the moment its process listens."""

from dataclasses import dataclass

from loadlab.config.run_config import Point, RunConfig, run_label
from loadlab.stack import ports
from loadlab.stack.placement import REMOTE_PORTS, Placement
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB, ScrapeTarget
from loadlab.stack.servers import ServerSpec

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Slot:
    """A point with the server that serves it, the ports and the labels it will use."""

    point: Point
    title: str  # "[2/11] async io-sleep"
    spec: ServerSpec  # the point's target server: the app on target_port, its metrics on metrics_port
    locust_port: int
    labels: dict[str, str]
    host: str = HOST  # where this machine reaches the target and Locust (Placement.local)
    # A target loadlab does not start (--target-host, --url): it runs already, and is scraped at
    # `metrics_at` (host:port; None: it has no metrics to scrape, --url alone)
    running_elsewhere: bool = False
    metrics_at: str | None = None

    @property
    def target_port(self) -> int:
        return self.spec.port

    @property
    def metrics_address(self) -> str:
        """Where Prometheus scrapes the target: the port every worker serves its metrics on from a thread,
        so a point whose handlers block the event loop (blocking-sleep) is scraped all the same."""
        return self.metrics_at or f"{self.host}:{self.spec.metrics_port}"

    @property
    def locust_address(self) -> str:
        return f"{self.host}:{self.locust_port}"

    @property
    def external(self) -> bool:
        """A service loadlab did not start and has no server metrics to scrape (`--url` alone)."""
        return self.running_elsewhere and self.metrics_at is None

    @property
    def long_lived(self) -> bool:
        """Scraped, but not started for this point: its counters hold what came before, so the point's
        counts are from a scrape just before its load (loadlab.run.drive's baseline)."""
        return self.running_elsewhere and self.metrics_at is not None

    def scrape_targets(self) -> list[ScrapeTarget]:
        locust = [ScrapeTarget(LOCUST_JOB, self.locust_address, **self.labels)]
        return locust if self.external else [ScrapeTarget(TARGETS_JOB, self.metrics_address, **self.labels), *locust]


def slots(config: RunConfig, run_id: str, points: list[Point], placement: Placement) -> list[Slot]:
    picked = ports.free_ports(3 * len(points))  # each point's target, its metrics, its Locust
    remote = placement.target_host  # the lab's targets, served by hand on that machine
    url_only = bool(config.own and config.own.url)  # a user's service running already
    found = []
    for i, point in enumerate(points):
        host, port, metrics_port = placement.bind, picked[3 * i], None if url_only else picked[3 * i + 1]
        metrics_at = config.metrics_url.removeprefix("http://") if url_only and config.metrics_url else None
        if remote:
            (port, metrics_port), host = REMOTE_PORTS[point.target], remote
            metrics_at = f"{remote}:{metrics_port}"
        spec = ServerSpec(
            point.target,
            config.server,
            config.workers,
            host=host,
            port=port,
            loop=config.loop,
            metrics_port=metrics_port,
            wrapped=bool(config.own and config.own.app),
            threads=config.threads,
        )
        labels = {
            "run_id": run_label(run_id, point.id),
            "target": point.target,
            "server": config.server,
            "workers": str(config.workers),
            "scenario": point.scenario.name,
        }
        title = f"[{i + 1}/{len(points)}] {point.target} {point.scenario.name}"
        found.append(
            Slot(point, title, spec, picked[3 * i + 2], labels, placement.local, bool(remote) or url_only, metrics_at)
        )
    return found
