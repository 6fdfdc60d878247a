"""`--latency-log PATH`: every request's latency in an HdrHistogram, merged over every Locust process,
written as HdrHistogram's standard log (loadlab.contract.latency_log) when the test stops.

Each process records every request it completes: from sending (Locust's response time, before its
stats round it) and, for the open model, from the time it was due (the locustfile puts how late it
was sent in the request's context). A worker, forked by `--processes` or started apart (the
compose stack's), sends what it recorded since its last report with each of Locust's own reports
to the master, and starts afresh: the histograms travel the way Locust's stats do, so the master's
totals cover exactly the requests of its workers' reports, the final ones included (see
loadlab.load.drain). The master (or a local runner) adds them up and writes the file.

Only the measured window counts: the warm-up's reset (loadlab.load.warmup fires Locust's
`reset_stats`) clears a process's histograms and starts a new generation. A report carries its
worker's generation and is added to that generation's totals, so a report sent before a worker's
reset can never reach the measured window's totals, whenever it arrives. Importing this module
registers the option and the listeners; it is imported only inside Locust processes.
"""

import time
from pathlib import Path

from locust import events
from locust.runners import WorkerRunner

from loadlab.contract.latency import KINDS, SCHEDULE, SCHEDULE_DELAY, SEND, Histogram
from loadlab.contract.latency_log import LatencyLog

REPORT_KEY = "loadlab_latency"


class _Recorder:
    def __init__(self) -> None:
        self.generation = 0
        self.window_start, self.window_end = time.time(), 0.0
        self.send, self.schedule = Histogram(), Histogram()  # this process's, since its last report
        self.totals: dict[int, dict[str, Histogram]] = {}  # master: generation -> kind -> every worker's

    def reset(self) -> None:
        self.generation += 1
        self.window_start = time.time()
        self.send, self.schedule = Histogram(), Histogram()
        self.totals = {g: t for g, t in self.totals.items() if g >= self.generation}

    def report(self) -> dict:
        """What this process recorded since its last report, encoded; it starts afresh."""
        own = {SEND: self.send, SCHEDULE: self.schedule}
        encoded = {kind: h.encode() for kind, h in own.items() if h.total}
        self.send, self.schedule = Histogram(), Histogram()
        return {"generation": self.generation, "histograms": encoded}

    def add_report(self, part: dict) -> None:
        generation = part.get("generation", -1)
        if generation < self.generation:
            return  # recorded before its worker's warm-up reset
        into = self.totals.setdefault(generation, {})
        for kind, blob in part.get("histograms", {}).items():
            if kind in KINDS:
                into.setdefault(kind, Histogram()).add_encoded(blob)

    def measured(self) -> dict[str, Histogram]:
        """This generation's histograms: the workers' reports plus this process's own recordings."""
        merged = {kind: Histogram() for kind in KINDS}
        for kind, h in self.totals.get(self.generation, {}).items():
            merged[kind].add(h)
        merged[SEND].add(self.send)
        merged[SCHEDULE].add(self.schedule)
        return {kind: h for kind, h in merged.items() if kind == SEND or h.total}


_recorder = _Recorder()


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--latency-log",
        default="",
        metavar="PATH",
        help="write every request's latency, as HdrHistograms in HdrHistogram's log format, to PATH (default: none)",
    )


@events.init.add_listener
def _on_init(environment, runner, **_kwargs) -> None:
    """Record when a log is asked for, or on a worker: its options come from its master after this."""
    if isinstance(runner, WorkerRunner) or environment.parsed_options.latency_log:
        environment.events.request.add_listener(_on_request)


def _on_request(response_time, context=None, **_kwargs) -> None:
    _recorder.send.record_ms(response_time)
    if context and (delay := context.get(SCHEDULE_DELAY)) is not None:
        _recorder.schedule.record_ms(response_time + 1000 * delay)


@events.reset_stats.add_listener
def _on_reset(**_kwargs) -> None:
    _recorder.reset()


@events.test_start.add_listener
def _on_test_start(**_kwargs) -> None:
    if _recorder.generation == 0:
        _recorder.window_start = time.time()


@events.report_to_master.add_listener
def _on_report_to_master(client_id, data, **_kwargs) -> None:
    data[REPORT_KEY] = _recorder.report()


@events.worker_report.add_listener
def _on_worker_report(client_id, data, **_kwargs) -> None:
    if REPORT_KEY in data:
        _recorder.add_report(data[REPORT_KEY])


@events.test_stop.add_listener
def _on_test_stop(environment, **_kwargs) -> None:
    _recorder.window_end = time.time()
    _write(environment)


@events.quitting.add_listener
def _on_quitting(environment, **_kwargs) -> None:
    _write(environment)  # again: a worker's last report may have come after the test stopped


def _write(environment) -> None:
    path = environment.parsed_options.latency_log if environment.parsed_options else ""
    if not path or isinstance(environment.runner, WorkerRunner):
        return
    end = _recorder.window_end or time.time()
    LatencyLog(_recorder.window_start, end, _recorder.measured()).write(Path(path))
