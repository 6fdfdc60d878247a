"""Each point of a run with the ports and labels it will use, fixed when the run starts: Prometheus is
told every scrape target at once, so each is scraped from the moment its process listens."""

from dataclasses import dataclass

from loadlab.config.run_config import Point, RunConfig, run_label
from loadlab.stack import ports
from loadlab.stack.placement import Placement
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

    @property
    def target_port(self) -> int:
        return self.spec.port

    @property
    def metrics_address(self) -> str:
        """Where Prometheus scrapes the target: the port every worker serves its metrics on from a thread,
        so a point whose handlers block the event loop (blocking-sleep) is scraped all the same."""
        return f"{self.host}:{self.spec.metrics_port}"

    @property
    def locust_address(self) -> str:
        return f"{self.host}:{self.locust_port}"

    @property
    def external(self) -> bool:
        """A service loadlab did not start (`--url`): no server metrics to scrape."""
        return self.spec.metrics_port is None

    def scrape_targets(self) -> list[ScrapeTarget]:
        locust = [ScrapeTarget(LOCUST_JOB, self.locust_address, **self.labels)]
        return locust if self.external else [ScrapeTarget(TARGETS_JOB, self.metrics_address, **self.labels), *locust]


def slots(config: RunConfig, run_id: str, points: list[Point], placement: Placement) -> list[Slot]:
    picked = ports.free_ports(3 * len(points))  # each point's target, its metrics, its Locust
    return [
        Slot(
            point,
            f"[{i + 1}/{len(points)}] {point.target} {point.scenario.name}",
            ServerSpec(
                point.target,
                config.server,
                config.workers,
                host=placement.bind,
                port=picked[3 * i],
                loop=config.loop,
                metrics_port=None if config.own and config.own.url else picked[3 * i + 1],
                wrapped=bool(config.own and config.own.app),
                threads=config.threads,
            ),
            picked[3 * i + 2],
            {
                "run_id": run_label(run_id, point.id),
                "target": point.target,
                "server": config.server,
                "workers": str(config.workers),
                "scenario": point.scenario.name,
            },
            placement.local,
        )
        for i, point in enumerate(points)
    ]
