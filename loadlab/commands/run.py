"""`loadlab run` (make loadtest): its options into a RunConfig, the run, its table and where its results are."""

import argparse
import sys
from pathlib import Path
from typing import TypeVar

from loadlab.commands.arguments import duration, number, whole
from loadlab.commands.own_options import add_app_options, add_load_options, what_will_be_loaded
from loadlab.contract.scenarios import TARGETS
from loadlab.errors import LoadlabError
from loadlab.stack import pinning, servers

T = TypeVar("T")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="start the stack, load the targets (or your app) with Locust, keep the results")
    add_options(p)
    add_app_options(p)
    add_load_options(p)
    p.set_defaults(handler=main)


def add_options(p: argparse.ArgumentParser) -> None:
    """Every option defaults to None: unset ones fall back to the suite's, then RunConfig's defaults."""
    from loadlab.config.suites import SUITES
    from loadlab.load.command import MODELS

    p.add_argument("--suite", choices=SUITES, help="a named set of points and settings (make loadtest: claims)")
    p.add_argument("--scenario", action="append", help="scenario name; repeat or comma-separate for several")
    p.add_argument("--target", choices=(*TARGETS, "both"), help="which targets (default both)")
    p.add_argument("--server", choices=servers.SERVERS)
    p.add_argument("--workers", type=whole)
    p.add_argument("--threads", type=whole)
    p.add_argument("--db-pool", dest="db_pool", type=whole)
    p.add_argument("--loop", choices=servers.LOOPS)
    p.add_argument("--model", choices=MODELS, help="closed (N users), open (fixed arrival rate) or ramp (steps)")
    p.add_argument("--users", type=whole, help="closed/ramp: users (ramp: at most)")
    p.add_argument("--rate", type=number, help="open: requests per second in total")
    p.add_argument("--max-inflight", dest="max_inflight", type=whole, help="open: requests in flight at most")
    p.add_argument("--think-time", dest="think_time_s", type=duration, help="closed: pause between requests (0.5, 2s)")
    p.add_argument(
        "--duration", dest="duration_s", type=duration, help="measured per point, after warm-up (30, 30s, 2m)"
    )
    p.add_argument("--warmup", dest="warmup_s", type=duration, help="load before measuring (5, 5s, 1m)")
    p.add_argument("--processes", type=whole, help="Locust processes (default 1)")
    add_worker_options(p)
    p.add_argument("--step-users", dest="step_users", type=whole, help="ramp: users added per step")
    p.add_argument("--step-seconds", dest="step_seconds", type=duration, help="ramp: how long each step lasts (10s)")
    p.add_argument(
        "--pin",
        choices=pinning.CHOICES,
        help="generator and target on separate CPUs, half each (default auto: on with 4 CPUs or more)",
    )
    p.add_argument("--slo", dest="slo_file", help="SLO file (default slo.toml)")
    p.add_argument(
        "--repeat", type=whole, help="measure every point this many times, interleaved; prints medians and intervals"
    )
    p.add_argument(
        "--metrics-url",
        dest="metrics_url",
        metavar="URL",
        help="with --url: scrape the service's metrics here (http://host:port, path /metrics), e.g. what "
        "`loadlab serve --app ... --metrics-port` serves; without it, client side only",
    )
    p.add_argument("--run-id", dest="run_id", help="name of the results folder (default: the time)")
    p.add_argument("--results", dest="results_root", help="where results go (default results/)")


def add_worker_options(p: argparse.ArgumentParser) -> None:
    """Locust workers started apart: `loadlab worker` on other machines, the compose stack's (run and sweep)."""
    p.add_argument(
        "--expect-workers",
        "--locust-workers",
        dest="locust_workers",
        type=whole,
        metavar="N",
        help="Locust's master waits for this many worker processes started apart (loadlab worker, compose)",
    )
    p.add_argument(
        "--master-bind",
        dest="master_bind",
        metavar="ADDR",
        help="the address Locust's master, its exporter and the targets listen on, for workers on other machines",
    )
    p.add_argument(
        "--target-host",
        dest="target_host",
        metavar="ADDR",
        type=_target_host,
        help="the targets run on that machine, started there by hand (loadlab serve --target sync: ports "
        "8000/9000, async: 8001/9001); the run starts none, loads them at ADDR and scrapes their metrics there",
    )


def _target_host(text: str) -> str:
    from loadlab.stack.placement import target_host

    try:
        return target_host(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def config_from(args: argparse.Namespace):
    """The RunConfig the options ask for: each option given overrides the suite's setting, which
    overrides RunConfig's default. Every field is passed by name, so each option can be followed to
    its use."""
    from loadlab.config.own import own_load
    from loadlab.config.run_config import RunConfig
    from loadlab.config.suites import SUITES
    from loadlab.results.folder import new_run_id

    suite = RunConfig(**SUITES[args.suite]) if args.suite else RunConfig(points=[])
    targets = TARGETS if args.target in (None, "both") else (args.target,)
    own = own_load(args, _given(args.server, suite.server))  # checked now: nothing has started yet
    if own and args.target_host:
        raise LoadlabError("--target-host places the lab's targets; your service elsewhere: --url (and --metrics-url)")
    if own:
        points = [(own.scenario.name, own.target)]
    elif args.scenario:
        scenarios = [n.strip() for item in args.scenario for n in item.split(",") if n.strip()]
        points = [(name, target) for name in scenarios for target in targets]
    elif suite.points:
        points = [point for point in suite.points if point[1] in targets]
    else:
        raise LoadlabError("say what to measure: --scenario NAME (or --suite claims)")
    return RunConfig(
        points=points,
        server=_given(args.server, suite.server),
        workers=_given(args.workers, suite.workers),
        threads=_given(args.threads, suite.threads),
        db_pool=_given(args.db_pool, suite.db_pool),
        loop=_given(args.loop, suite.loop),
        model=_given(args.model, suite.model),
        users=_given(args.users, suite.users),
        rate=_given(args.rate, suite.rate),
        max_inflight=_given(args.max_inflight, suite.max_inflight),
        think_time_s=_given(args.think_time_s, suite.think_time_s),
        duration_s=_given(args.duration_s, suite.duration_s),
        warmup_s=_given(args.warmup_s, suite.warmup_s),
        processes=_given(args.processes, suite.processes),
        locust_workers=_given(args.locust_workers, suite.locust_workers),
        master_bind=args.master_bind,
        target_host=args.target_host,
        metrics_url=metrics_url(args, own),
        step_users=_given(args.step_users, suite.step_users),
        step_seconds=_given(args.step_seconds, suite.step_seconds),
        pin=_given(args.pin, suite.pin),
        slo_file=_given(args.slo_file, suite.slo_file),
        run_id=args.run_id or suite.run_id or new_run_id(),
        results_root=_given(args.results_root, suite.results_root),
        suite=args.suite,
        repeat=_given(args.repeat, suite.repeat),
        own=own,
    )


def metrics_url(args: argparse.Namespace, own) -> str | None:
    """--metrics-url, as host:port's URL: only beside --url (the lab's targets and --app are scraped anyway)."""
    from urllib.parse import urlsplit

    url = args.metrics_url
    if url is None:
        return None
    if own is None or own.url is None:
        raise LoadlabError("--metrics-url goes with --url (a service loadlab did not start)")
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port or parts.path not in ("", "/", "/metrics"):
        raise LoadlabError(f"--metrics-url takes http://host:port (its path is /metrics), got {url!r}")
    return f"http://{parts.hostname}:{parts.port}"


def _given(option: T | None, otherwise: T) -> T:
    return otherwise if option is None else option


def main(args: argparse.Namespace) -> int:
    from loadlab import report
    from loadlab.console.table import console, show
    from loadlab.run.engine import overhead_line, run
    from loadlab.stack import procs

    config = config_from(args)
    if config.own:
        print(what_will_be_loaded(config), flush=True)
    folder_path = Path(config.results_root) / config.run_id
    procs.sigterm_as_ctrl_c()
    try:
        folder, summary = run(config)
    except KeyboardInterrupt:
        print(f"\nloadlab run: interrupted; what was measured is in {folder_path}", file=sys.stderr)
        return 130
    except LoadlabError as exc:
        if folder_path.is_dir():
            exc.args = (f"{exc}; results so far in {folder_path}",)
        raise
    out = console()
    out.print()
    show(summary, out)
    out.print()
    out.print(overhead_line(summary, (summary.ended_at or summary.started_at) - summary.started_at))
    out.print(f"results: {folder.path}  (loadlab show {folder.run_id})")
    out.print(f"Prometheus data: {folder.prometheus_dir}  (serve it again: loadlab prometheus {folder.run_id})")
    report.at_end(folder.path, out.print)
    return 1 if summary.slo_broken else 0
