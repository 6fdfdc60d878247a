"""The soak itself: every point (target x scenario) loaded at once, at a constant open-model rate,
for the whole soak, with a checkpoint every `checkpoint_s`; built from `loadlab run`'s blocks.

    RunConfig, slots      one point per target and scenario, each its own server, Locust and ports
    Run.start_stack       Prometheus, PostgreSQL, the upstream, as for a run
    Processes             each point's target and its Locust at its gate, then every gate opened
    sample.checkpoint     every `checkpoint_s` after the warm-up, appended to soak/checkpoints.jsonl
    Collector.drain       at the end, each point's result as a run has it (client and server counts)

Ctrl-C (or SIGTERM) ends the loop: the checkpoints taken so far stay, the processes stop, and the
caller prints the verdict so far. A target that dies ends the soak as failed, its checkpoints kept.
"""

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from loadlab import queries
from loadlab.config.run_config import RunConfig, plan, run_label
from loadlab.errors import FAILED, LoadlabError
from loadlab.judge import slo
from loadlab.results.folder import RunFolder
from loadlab.run.drive import Driven, check_health, target_died
from loadlab.run.engine import Run
from loadlab.run.processes import LINGER_S
from loadlab.run.slots import slots
from loadlab.soak import sample
from loadlab.soak.record import SoakRecord, SoakSettings
from loadlab.stack import pinning, ports, servers
from loadlab.stack.prometheus import LOCUST_JOB, find_binary
from loadlab.stack.servers import ServerSpec

END_MARGIN_S = 5.0  # Locust runs this long past the last checkpoint, so that checkpoint sees load
POLL_S = 0.5

log = logging.getLogger("loadlab.run.soak")


@dataclass
class Ended:
    folder: RunFolder
    status: str  # complete, interrupted, failed
    notes: list[str] = field(default_factory=list)


class _Say:
    """What Run needs of a progress display: notes, printed as they come."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say

    def note(self, line: str) -> None:
        self.say(line)

    def phase(self, *args: object) -> None:
        pass

    def point_done(self, line: str) -> None:
        self.say(line)


def config_for(settings: SoakSettings, run_id: str, results_root: str) -> RunConfig:
    return RunConfig(
        points=[(scenario, target) for target in settings.targets for scenario in settings.scenarios],
        server=settings.server,
        workers=settings.workers,
        model="open",
        rate=settings.rate,
        duration_s=settings.duration_s + END_MARGIN_S,
        warmup_s=settings.warmup_s,
        run_id=run_id,
        results_root=results_root,
        suite="soak",
    )


def soak(settings: SoakSettings, run_id: str, results_root: str, say: Callable[[str], None]) -> Ended:
    """Run the soak; every checkpoint is in the folder whatever happens."""
    config = config_for(settings, run_id, results_root)
    points = plan(config)
    limits = slo.load(Path(config.slo_file))
    servers.check(ServerSpec("sync", config.server, config.workers), config.threads, config.db_pool)
    find_binary()
    config = replace(config, cpus=pinning.resolve(config.pin))
    held_before = ports.held()
    folder = RunFolder.create(Path(config.results_root), config.run_id)
    folder.write_config(asdict(config))
    record = SoakRecord(folder.path)
    record.start(replace(settings, started_at=time.time()))
    handler = logging.FileHandler(folder.log("run"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    run_log = logging.getLogger("loadlab.run")
    run_log.addHandler(handler)
    run_log.setLevel(logging.INFO)
    ended = Ended(folder, "failed")
    try:
        with ExitStack() as stack:
            run_ = Run(config, folder, stack, _Say(say), limits)
            try:
                ended.status = _measure(run_, stack, slots(config, folder.run_id, points, run_.placement), record, say)
            except KeyboardInterrupt:
                ended.status = "interrupted"
            except LoadlabError as exc:
                ended.notes.append(str(exc))
            run_.finish(ended.status)
            say("stopping every process")
    finally:
        record.end(ended.status, ended.notes)
        run_log.removeHandler(handler)
        handler.close()
        ports.release(ports.held() - held_before)
    return ended


def _measure(run_: Run, stack: ExitStack, run_slots: list, record: SoakRecord, say: Callable[[str], None]) -> str:
    settings, c = record.settings(), run_.config
    run_.start_stack(run_slots)
    processes = run_.processes
    stack.callback(processes.background.shutdown, wait=True, cancel_futures=True)
    stack.callback(processes.stop_all)
    pairs = [processes.start_pair(slot) for slot in run_slots]
    for slot, pair in zip(run_slots, pairs, strict=True):
        processes.ready(slot, pair.target).result()
        check_health(slot.point, pair.target.url)
        run_.prometheus.wait_until_up(slot.metrics_address)
    for slot in run_slots:
        processes.open_gate(slot)
    started, start = time.time(), time.monotonic()
    for slot in run_slots:
        run_.prometheus.wait_until_up(slot.locust_address, job=LOCUST_JOB)
    watched = [
        sample.Watched(
            slot.point.id,
            pair.target.proc.pid,
            pair.locust.pid,
            slot.metrics_address,
            queries.selector(
                run_id=run_label(run_.folder.run_id, slot.point.id),
                target=slot.point.target,
                scenario=slot.point.scenario.name,
            ),
        )
        for slot, pair in zip(run_slots, pairs, strict=True)
    ]
    total = int(settings.duration_s // settings.checkpoint_s)
    say(f"soak {run_.folder.run_id}: {len(run_slots)} points at {c.rate:g} rps each, {total} checkpoints")
    for k in range(1, total + 1):
        due = start + settings.warmup_s + k * settings.checkpoint_s
        while (left := due - time.monotonic()) > 0:
            for slot, pair in zip(run_slots, pairs, strict=True):
                if not pair.target.alive():
                    raise target_died(slot.point, pair.target)
                if pair.locust.poll() is not None:
                    raise LoadlabError(f"{slot.point.id}: Locust exited with status {pair.locust.returncode}", FAILED)
            time.sleep(min(POLL_S, left))
        point = sample.checkpoint(watched, run_.prometheus, settings.checkpoint_s, k * settings.checkpoint_s)
        record.append(point)
        say(sample.summary_line(point, k, total))
    for slot, pair in zip(run_slots, pairs, strict=True):  # Locust ends by itself, END_MARGIN_S on
        code = pair.locust.wait(END_MARGIN_S + LINGER_S + 30)
        if code not in (0, 1):  # 1: some requests failed, which the result reports
            raise LoadlabError(f"{slot.point.id}: Locust exited with status {code}", FAILED)
        stopped_at = time.time()
        driven = Driven(started, stopped_at, time.monotonic() - start - settings.warmup_s, False, "")
        result, interrupted = run_.collector.drain(slot, driven)
        run_.summary.points.append(result)
        run_.folder.write_summary(run_.summary)
        if interrupted:
            raise KeyboardInterrupt
        pair.target.stop()
    return "complete"
