"""The one place that builds a Locust command line: for `loadlab run`, the benchmarks and the tests.

Imports no Locust: it runs in loadlab's process, Locust in a subprocess (see loadlab.load).
"""

import math
import sys
from dataclasses import dataclass
from pathlib import Path

from loadlab.contract.ports import LOCUST_MASTER_PORT

LOCUSTFILES = {
    "closed": "locustfiles/closed_model.py",
    "open": "locustfiles/open_model.py",
    "ramp": "locustfiles/closed_model.py,locustfiles/step_ramp.py",
}
# A user's own load (`loadlab run --locustfile/--requests`): loadlab.load.user_load, set up through the environment
OWN_LOCUSTFILES = {
    "closed": "locustfiles/user_closed.py",
    "open": "locustfiles/user_open.py",
    "ramp": "locustfiles/user_closed.py,locustfiles/step_ramp.py",
}
MODELS = tuple(LOCUSTFILES)
BASELINE_LOCUSTFILE = "locustfiles/baseline.py"  # a plain FastHttpUser: what the suite's additions are measured against
STOP_TIMEOUT_S = 30  # users finish the request in flight: client and server counts then agree


@dataclass(frozen=True)
class LoadSpec:
    """How load is offered: the model and its settings (closed: users; open: rate; ramp: steps)."""

    model: str = "closed"
    users: int = 1  # closed; ramp: the last step's users
    think_time_s: float = 0.0
    rate: float = 10.0  # open: requests per second in total
    max_inflight: int = 1000  # open
    step_users: int = 10  # ramp
    step_seconds: float = 5.0  # ramp
    processes: int = 1
    workers: int = 0  # Locust workers started apart (the compose stack's): this Locust is their master


def _headless(
    locustfile: str,
    host: str,
    run_time_s: float,
    csv_prefix: Path | None,
    stop_timeout_s: float,
    loglevel: str = "WARNING",
) -> list[str]:
    """Locust's own options: headless against `host`, ending by itself after `run_time_s` (whole
    seconds, rounded up: Locust's -t takes no fractions)."""
    cmd = [sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--host", host]
    cmd += ["-t", f"{math.ceil(run_time_s)}s", "--stop-timeout", f"{stop_timeout_s:g}", "--loglevel", loglevel]
    return cmd + (["--csv", str(csv_prefix)] if csv_prefix is not None else [])


def command(
    load: LoadSpec,
    host: str,
    scenario: str | None,
    run_time_s: float,
    *,
    warmup_s: float = 0.0,
    csv_prefix: Path | None = None,
    prometheus_port: int = 0,
    linger_s: float = 0.0,
    stop_timeout_s: float = STOP_TIMEOUT_S,
    start_file: Path | None = None,
    bind: str = "127.0.0.1",
    master_port: int | None = None,
    loglevel: str = "WARNING",
    latency_log: Path | None = None,
) -> list[str]:
    """The suite's Locust on one scenario. Run it with the repository as working directory.
    With `start_file`, the test waits until that file exists (see loadlab.load.gate). With
    `load.workers`, it is the master of that many `locust --worker -f -` processes, which connect to
    `bind`:`master_port` (default LOCUST_MASTER_PORT, which they know) and forward their counts (see
    loadlab.load.distributed). With `load.processes` > 1, its master and the workers it forks meet
    on 127.0.0.1 (not Locust's default, every interface), at `master_port`: give one reserved for it
    (loadlab.stack.ports.free_port), as a run does; left out, it is Locust's default, 5557, which
    clashes with any other Locust doing the same. `scenario` None: the user's own load (OWN_LOCUSTFILES)."""
    locustfile = LOCUSTFILES[load.model] if scenario is not None else OWN_LOCUSTFILES[load.model]
    cmd = _headless(locustfile, host, run_time_s, csv_prefix, stop_timeout_s, loglevel)
    cmd += ["--scenario", scenario] if scenario is not None else []
    cmd += ["--warmup", f"{warmup_s:g}", "--prometheus-host", bind]
    if load.workers:
        cmd += ["--master", "--expect-workers", str(load.workers)]
        cmd += ["--master-bind-host", bind, "--master-bind-port", str(master_port or LOCUST_MASTER_PORT)]
    if start_file is not None:
        cmd += ["--start-file", str(start_file)]
    if latency_log is not None:  # every request's latency as HdrHistograms (loadlab.load.latency)
        cmd += ["--latency-log", str(latency_log)]
    cmd += ["--prometheus-port", str(prometheus_port), "--prometheus-linger", f"{linger_s:g}"]
    if load.model == "open":
        # one scheduler user per process is enough: the rate, not the users, sets the load
        schedulers = max(load.processes, load.workers)
        cmd += ["-u", str(schedulers), "-r", str(schedulers)]
        cmd += ["--rate", f"{load.rate:g}", "--max-inflight", str(load.max_inflight)]
    elif load.model == "ramp":
        cmd += ["--step-users", str(load.step_users), "--step-seconds", f"{load.step_seconds:g}"]
        cmd += ["--max-users", str(load.users), "--think-time", f"{load.think_time_s:g}"]
    else:
        cmd += ["-u", str(load.users), "-r", str(load.users), "--think-time", f"{load.think_time_s:g}"]
    if load.processes > 1:
        cmd += ["--processes", str(load.processes)]
        if not load.workers:  # the forked workers are on this machine: the master listens on loopback only
            cmd += ["--master-bind-host", "127.0.0.1"]
            if master_port is not None:
                cmd += ["--master-bind-port", str(master_port), "--master-port", str(master_port)]
    return cmd


def baseline_command(host: str, users: int, run_time_s: float, csv_prefix: Path | None = None) -> list[str]:
    """A plain FastHttpUser on /hello with none of the suite's additions: the benchmarks' yardstick."""
    cmd = _headless(BASELINE_LOCUSTFILE, host, run_time_s, csv_prefix, STOP_TIMEOUT_S)
    return [*cmd, "-u", str(users), "-r", str(users)]


def worker_command(master_host: str, master_port: int = LOCUST_MASTER_PORT) -> list[str]:
    """A Locust worker started apart from its master (the compose stack's, or a test's): it gets the
    locustfile from the master (`-f -`) and, with LOADLAB_FORWARD_METRICS set, sends it its client
    metrics (see loadlab.load.distributed). It exits when its master quits."""
    cmd = [sys.executable, "-m", "locust", "--worker", "-f", "-"]
    return [*cmd, "--master-host", master_host, "--master-port", str(master_port)]
