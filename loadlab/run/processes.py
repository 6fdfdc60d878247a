"""A run's processes: each point's target and Locust, started (possibly early, at the lowest CPU
priority), held at Locust's gate until the point starts, and all stopped on the way out.

Every process is started in the main thread, so a clean-up never waits for a start to end, and each
is known to `stop_all`; each also dies with loadlab through PR_SET_PDEATHSIG (loadlab.stack.procs).
"""

import json
import logging
import os
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from loadlab import REPO
from loadlab.config.run_config import RunConfig
from loadlab.load.command import LoadSpec, command
from loadlab.load.fingerprint import WORKERS_FILE_ENV
from loadlab.results.folder import RunFolder, write_text
from loadlab.run import apart
from loadlab.run.slots import Slot
from loadlab.stack import pinning, ports, procs, services
from loadlab.stack.placement import MASTER_PORT, Placement
from loadlab.stack.user_app import External

LINGER_S = 5.0  # at most: Locust serves its final counts until Prometheus has scraped them (about 1 s)
# The next point's target and Locust start in this point's warm-up at the lowest CPU priority: they run
# almost only on CPU this point leaves idle, and get their normal priority (nice 0) the moment this
# point's users stop. Only where loadlab may raise a priority again (root, or RLIMIT_NICE); elsewhere
# they start then.
EARLY_NICE = 19

log = logging.getLogger(__name__)


@dataclass
class Upcoming:
    """A point's processes, started before it (in the point before's warm-up at nice 19, or once that
    point's users stopped): its target, and its Locust waiting at the gate (loadlab.load.gate) until
    the target is healthy. A Locust whose workers run apart starts only once the last one has quit:
    there is one master port, which the workers know."""

    slot: Slot
    target: Future
    locust: subprocess.Popen | None


@dataclass
class Pair:
    """A point's target and its Locust (None when its workers run apart), just started."""

    locust: subprocess.Popen | None
    target: services.Service

    def raise_priority(self) -> None:
        """Back to nice 0, from the early start's nice 19."""
        for proc in (self.locust, self.target.proc):
            if proc is not None:
                procs.set_group_priority(proc.pid, 0)


class Processes:
    """Starts and stops a run's targets and Locusts; `background` waits for targets to serve."""

    def __init__(self, config: RunConfig, folder: RunFolder, env: dict[str, str], placement: Placement) -> None:
        self.config, self.folder, self.env, self.placement = config, folder, env, placement
        self.background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="loadlab-stack")
        self.searching = False  # a capacity search: each Locust learns its step's rate at its gate
        self._targets: list[services.Service] = []
        self._locusts: list[subprocess.Popen] = []

    def launch_target(self, slot: Slot, nice: int = 0) -> services.Service:
        c = self.config
        log_file = self.folder.log(f"{slot.point.id}-target")
        if slot.running_elsewhere:  # --url, --target-host: loaded, never started or stopped here
            return External(c.own.url if c.own and c.own.url else slot.spec.url, log_file)
        env = {**self.env, **(c.own.app.env() if c.own and c.own.app else {})}
        with pinning.side(c.cpus, pinning.TARGET):
            target = services.launch_target(slot.spec, log_file, c.threads, c.db_pool, env=env, nice=nice)
        self._targets.append(target)
        return target

    def ready(self, slot: Slot, target: services.Service) -> Future:
        """The target once it serves, waited for in the background."""
        if slot.running_elsewhere:  # a user's service answers at its health path, a lab target at /metrics
            own = self.config.own
            return self.background.submit(target.wait_ready, own.health if own else "/metrics")
        return self.background.submit(target.wait_ready, **services.target_ready(slot.spec))

    def start_locust(self, slot: Slot, nice: int = 0) -> subprocess.Popen:
        """Locust for `slot`, held at its gate until `open_gate(slot)`."""
        c, point = self.config, slot.point
        metrics_dir = self.folder.locust_metrics_dir(point.id)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        load = c.load(point)
        cmd = command(
            load,
            # the address Locust's workers reach the target at: in the compose stack they run elsewhere
            c.own.url if c.own and c.own.url else self.target_url(slot),
            None if c.own else point.scenario.name,
            c.load_s,
            warmup_s=c.warmup_s,
            csv_prefix=self.folder.locust_prefix(point.id),
            prometheus_port=slot.locust_port,
            linger_s=LINGER_S,
            start_file=self.gate(slot),
            latency_log=self.folder.latency_log(point.id),
            bind=self.placement.bind,
            master_port=self.master_port(load),
        )
        env = {**os.environ, **(c.own.locust_env() if c.own else {}), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        env[WORKERS_FILE_ENV] = str(apart.workers_file(self.folder, point.id))  # who joined (workers apart)
        with pinning.side(c.cpus, pinning.GENERATOR):
            locust = procs.start(cmd, env=env, log=self.folder.log(f"{point.id}-locust"), cwd=REPO, nice=nice)
        self._locusts.append(locust)
        return locust

    def target_url(self, slot: Slot) -> str:
        """Where Locust (and its workers) reach the lab's target: on its own machine (--target-host), or here."""
        if slot.running_elsewhere:
            return slot.spec.url
        return f"http://{self.placement.advertise}:{slot.target_port}"

    @staticmethod
    def master_port(load: LoadSpec) -> int | None:
        """Where Locust's master meets its workers: the well-known port the workers started apart know
        (the run has claimed it), else for --processes one reserved for this Locust alone, so two runs
        (or this point's and the next's Locust, started early) never clash on Locust's default."""
        if load.workers:
            return MASTER_PORT
        return ports.free_port() if load.processes > 1 else None

    def gate(self, slot: Slot) -> Path:
        return self.folder.start_file(slot.point.id)

    def waiting_locust(self, slot: Slot, nice: int = 0) -> subprocess.Popen | None:
        """Locust for `slot`, waiting at its gate; None when its workers run apart: they need the one
        master port free, so that Locust starts only when its point does."""
        return None if self.config.locust_workers else self.start_locust(slot, nice)

    def start_pair(self, slot: Slot, nice: int = 0) -> Pair:
        """The slot's Locust (waiting at its gate) and target, both at niceness `nice`."""
        return Pair(self.waiting_locust(slot, nice), self.launch_target(slot, nice))

    def upcoming(self, slot: Slot, pair: Pair | None = None) -> Upcoming:
        """The slot's processes, started now unless `pair` holds them already."""
        pair = pair or Pair(self.waiting_locust(slot), self.launch_target(slot))
        return Upcoming(slot, self.ready(slot, pair.target), pair.locust)

    def open_gate(self, slot: Slot) -> None:
        """Load from now on. A capacity search's Locust learns its step's rate here: it was started
        before the step before it was judged."""
        settings = {"rate": slot.point.rate} if self.searching else {}
        write_text(self.gate(slot), json.dumps(settings) if settings else "")

    def stop_all(self) -> None:
        for locust in self._locusts:
            procs.stop(locust)
        for target in self._targets:
            target.stop()
