"""The `loadlab` command: parses arguments and wires the modules that do the work."""

import argparse
import sys
from pathlib import Path

from loadlab import durations
from loadlab.errors import USAGE, LoadlabError
from loadlab.stack import procs, servers


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit status 2."""

    def error(self, message: str) -> None:
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _duration(text: str) -> float:
    """`30`, `30s`, `2m`, `1h30m`, as Locust's -t takes them."""
    try:
        return durations.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _ints(text: str) -> list[int]:
    """`1,2,4`: a comma-separated list of whole numbers."""
    return [_int(part) for part in text.split(",") if part.strip()]


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _add_sweep_options(p: argparse.ArgumentParser) -> None:
    """Every option defaults to None: unset ones come from --file, then SweepConfig's defaults (shown here)."""
    from loadlab.tuning.sweep import QUICK, SweepConfig

    d = SweepConfig()

    def listed(values: list) -> str:
        return ",".join(str(v) for v in values)

    quick = f"workers {listed(QUICK['workers'])}, {listed(QUICK['scenarios'])}, both targets, coarse steps"
    p.add_argument("--file", type=Path, help="a TOML file with the same keys (servers = [...], workers = [...])")
    p.add_argument("--quick", action="store_true", help=f"a first look: {quick}")
    p.add_argument("--server", dest="servers", type=_names, help=f"server kinds, comma-separated ({listed(d.servers)})")
    p.add_argument("--workers", type=_ints, help=f"worker counts, comma-separated ({listed(d.workers)})")
    p.add_argument("--threads", type=_ints, help=f"thread limits, comma-separated ({listed(d.threads)})")
    p.add_argument(
        "--db-pool", dest="db_pool", type=_ints, help=f"DB pool sizes, comma-separated ({listed(d.db_pool)})"
    )
    p.add_argument("--target", dest="targets", type=_names, help=f"sync, async or both ({listed(d.targets)})")
    p.add_argument(
        "--scenario", dest="scenarios", type=_names, help=f"scenarios, comma-separated ({listed(d.scenarios)})"
    )
    p.add_argument(
        "--start-rate", dest="start_rate", type=_float, help=f"first rate of each search, rps ({d.start_rate:g})"
    )
    p.add_argument("--factor", type=_float, help=f"each step up multiplies the rate by this ({d.factor:g})")
    p.add_argument(
        "--precision", type=_float, help=f"bisect until (high - low) / low is at most this ({d.precision:g})"
    )
    p.add_argument("--max-rate", dest="max_rate", type=_float, help=f"never offer more than this, rps ({d.max_rate:g})")
    p.add_argument("--max-steps", dest="max_steps", type=_int, help=f"steps per configuration at most ({d.max_steps})")
    p.add_argument(
        "--duration", dest="duration_s", type=_duration, help=f"measured per step, after warm-up ({d.duration_s:g}s)"
    )
    p.add_argument(
        "--warmup", dest="warmup_s", type=_duration, help=f"load before measuring, per step ({d.warmup_s:g}s)"
    )
    p.add_argument("--p99-ms", dest="p99_ms", type=_float, help="the SLO's p99 limit (default: slo.toml's)")
    p.add_argument("--error-ratio", dest="error_ratio", type=_float, help="the SLO's error ratio limit (slo.toml's)")
    p.add_argument("--slo", dest="slo_file", help="SLO file (default slo.toml)")
    p.add_argument("--sweep-id", dest="sweep_id", help="name of the sweep folder; the same one resumes it")
    p.add_argument("--results", dest="results_root", help="where results go (default results/)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """Every option defaults to None: unset ones fall back to the suite's, then RunConfig's defaults."""
    from loadlab.config.suites import SUITES
    from loadlab.load.command import MODELS

    p.add_argument("--suite", choices=SUITES, help="a named set of points and settings (make loadtest: claims)")
    p.add_argument("--scenario", action="append", help="scenario name; repeat or comma-separate for several")
    p.add_argument("--target", choices=(*servers.TARGETS, "both"), help="which targets (default both)")
    p.add_argument("--server", choices=servers.SERVERS)
    p.add_argument("--workers", type=_int)
    p.add_argument("--threads", type=_int)
    p.add_argument("--db-pool", dest="db_pool", type=_int)
    p.add_argument("--loop", choices=servers.LOOPS)
    p.add_argument("--model", choices=MODELS, help="closed (N users), open (fixed arrival rate) or ramp (steps)")
    p.add_argument("--users", type=_int, help="closed/ramp: users (ramp: at most)")
    p.add_argument("--rate", type=_float, help="open: requests per second in total")
    p.add_argument("--max-inflight", dest="max_inflight", type=_int, help="open: requests in flight at most")
    p.add_argument("--think-time", dest="think_time_s", type=_duration, help="closed: pause between requests (0.5, 2s)")
    p.add_argument(
        "--duration", dest="duration_s", type=_duration, help="measured per point, after warm-up (30, 30s, 2m)"
    )
    p.add_argument("--warmup", dest="warmup_s", type=_duration, help="load before measuring (5, 5s, 1m)")
    p.add_argument("--processes", type=_int, help="Locust processes (default 1)")
    p.add_argument(
        "--locust-workers",
        dest="locust_workers",
        type=_int,
        help="wait for this many `locust --worker` processes started apart (the compose stack's)",
    )
    p.add_argument("--step-users", dest="step_users", type=_int, help="ramp: users added per step")
    p.add_argument("--step-seconds", dest="step_seconds", type=_duration, help="ramp: how long each step lasts (10s)")
    p.add_argument("--slo", dest="slo_file", help="SLO file (default slo.toml)")
    p.add_argument("--run-id", dest="run_id", help="name of the results folder (default: the time)")
    p.add_argument("--results", dest="results_root", help="where results go (default results/)")


def _run_config(args: argparse.Namespace):
    from loadlab.config.run_config import RunConfig
    from loadlab.config.suites import SUITES
    from loadlab.results.folder import new_run_id

    settings = dict(SUITES[args.suite]) if args.suite else {}
    targets = servers.TARGETS if args.target in (None, "both") else (args.target,)
    if args.scenario:
        names = [n.strip() for item in args.scenario for n in item.split(",") if n.strip()]
        settings["points"] = [(name, target) for name in names for target in targets]
    elif "points" in settings:
        settings["points"] = [point for point in settings["points"] if point[1] in targets]
    else:
        raise LoadlabError("say what to measure: --scenario NAME (or --suite claims)")
    fields = (
        "server",
        "workers",
        "threads",
        "db_pool",
        "loop",
        "model",
        "users",
        "rate",
        "max_inflight",
        "think_time_s",
        "duration_s",
        "warmup_s",
        "processes",
        "locust_workers",
        "step_users",
        "step_seconds",
        "slo_file",
        "run_id",
        "results_root",
    )
    settings.update({f: getattr(args, f) for f in fields if getattr(args, f) is not None})
    settings.setdefault("run_id", new_run_id())
    return RunConfig(**settings, suite=args.suite)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="loadlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    serve = sub.add_parser("serve", help="serve a target in the foreground (Ctrl-C stops it and its workers)")
    serve.add_argument("--target", choices=servers.TARGETS, required=True)
    serve.add_argument("--server", choices=servers.SERVERS, default="uvicorn")
    serve.add_argument("--workers", type=_int, default=1)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_int, default=8000)
    serve.add_argument("--threads", type=_int, default=40, help="anyio thread limiter size (default 40)")
    serve.add_argument("--db-pool", type=_int, default=10, help="DB connection pool size per worker")
    serve.add_argument("--loop", choices=servers.LOOPS, default="auto")
    serve.add_argument("--metrics-dir", type=Path, help="multiprocess metrics directory (default: a fresh temp dir)")

    run = sub.add_parser("run", help="start the stack, load the targets with Locust, keep the results")
    _add_run_options(run)

    sweep = sub.add_parser("sweep", help="each configuration's capacity under the SLO, a model, a recommendation")
    _add_sweep_options(sweep)

    from loadlab import comparison, report

    report.add_parser(sub)
    comparison.add_parser(sub)

    show = sub.add_parser("show", help="print a finished (or interrupted) run again")
    show.add_argument("run_id")
    show.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")

    prom = sub.add_parser("prometheus", help="serve a finished run's Prometheus data again (Ctrl-C stops it)")
    prom.add_argument("run_id", help="a run id under --results, or the path of a run folder")
    prom.add_argument("--results", type=Path, default=Path("results"), help="results folder (default results/)")
    prom.add_argument("--port", type=_int, help="port on 127.0.0.1 (default 9091, or a free one)")

    sub.add_parser("generate", help="write the Prometheus rules and Grafana dashboards from code (make dashboards)")

    bench = sub.add_parser("bench", help="side-by-side benchmarks that print ratios")
    bench.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    bench.add_argument("--seconds", type=_duration, default=8.0, help="length of each measurement (8, 8s)")
    bench.add_argument("--rounds", type=_int, default=3, help="alternating rounds per side")

    comp = sub.add_parser("compose", help="the containerized stack of docker-compose.yml (make up, down, ...)")
    actions = comp.add_subparsers(dest="action", required=True, parser_class=_Parser)
    up = actions.add_parser("up", help="build, start, wait until healthy, print the URLs")
    up.add_argument("--workers", type=_int, default=2, help="Locust worker containers (default 2)")
    up.add_argument("--without-grafana", action="store_true", help="everything but Grafana")
    down = actions.add_parser("down", help="stop the stack (the data volumes stay)")
    down.add_argument("--volumes", action="store_true", help="remove the data volumes too")
    loadtest = actions.add_parser("loadtest", help="`loadlab run` inside the stack; results to results/<run_id>")
    loadtest.add_argument("run_args", nargs="*", help="`loadlab run` options (--suite claims, --duration 20, ...)")
    opened = actions.add_parser("open", help="serve a native run's Prometheus data in the stack, for Grafana")
    opened.add_argument("run", help="a run id under results/, or a run folder")

    upstream = sub.add_parser("serve-upstream", help="serve the upstream the targets call (/delay?ms=N)")
    upstream.add_argument("--host", default="127.0.0.1")
    upstream.add_argument("--port", type=_int, default=8010)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if argv[:2] == ["compose", "loadtest"]:
        # `loadlab run` options, passed on as they are (argparse's REMAINDER stops at a leading --option);
        # checked here first, so a typo fails before the stack is touched
        parser.parse_args(["run", *argv[2:]])
        args = parser.parse_args(argv[:2])
        args.run_args = argv[2:]
    else:
        args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            from loadlab.stack.serve import serve

            spec = servers.ServerSpec(args.target, args.server, args.workers, args.host, args.port, args.loop)
            return serve(spec, args.threads, args.db_pool, args.metrics_dir)
        if args.command == "serve-upstream":
            from loadlab.stack.serve import serve_upstream

            return serve_upstream(args.host, args.port)
        if args.command == "run":
            return _run(args)
        if args.command == "sweep":
            from loadlab.tuning import sweep_command

            return sweep_command.main(args)
        if args.command == "compare":
            from loadlab import comparison

            return comparison.main(args)
        if args.command == "report":
            from loadlab import report

            return report.main(args)
        if args.command == "show":
            from loadlab.console.table import console, show
            from loadlab.results.folder import RunFolder

            show(RunFolder.open(args.results, args.run_id).summary(), console())
            return 0
        if args.command == "prometheus":
            from loadlab.results.folder import RunFolder
            from loadlab.stack import reopen

            return reopen.serve(RunFolder.open(args.results, args.run_id), args.port)
        if args.command == "compose":
            from loadlab import compose

            return compose.main(args)
        if args.command == "generate":
            from loadlab import generate

            for path in generate.write_all():
                print(f"wrote {path}")
            return 0
        if args.command == "bench":
            from loadlab import bench

            unknown = sorted(set(args.names) - set(bench.BENCHMARKS))
            if unknown:
                raise LoadlabError(f"unknown benchmark {', '.join(unknown)}; valid: {', '.join(bench.BENCHMARKS)}")
            bench.run(args.names or list(bench.BENCHMARKS), args.seconds, args.rounds)
            return 0
    except LoadlabError as exc:
        print(f"loadlab {args.command}: error: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    raise AssertionError(f"unhandled command {args.command}")


def _run(args: argparse.Namespace) -> int:
    from loadlab.console.table import console, show
    from loadlab.run import overhead_line, run

    config = _run_config(args)

    procs.sigterm_as_ctrl_c()
    try:
        folder, summary = run(config)
    except KeyboardInterrupt:
        print(
            f"\nloadlab run: interrupted; what was measured is in {Path(config.results_root) / config.run_id}",
            file=sys.stderr,
        )
        return 130
    except LoadlabError as exc:
        if (Path(config.results_root) / config.run_id).is_dir():
            exc.args = (f"{exc}; results so far in {Path(config.results_root) / config.run_id}",)
        raise
    out = console()
    out.print()
    show(summary, out)
    out.print()
    out.print(overhead_line(summary, (summary.ended_at or summary.started_at) - summary.started_at))
    out.print(f"results: {folder.path}  (loadlab show {folder.run_id})")
    out.print(f"Prometheus data: {folder.path / 'prometheus'}  (serve it again: loadlab prometheus {folder.run_id})")
    from loadlab import report

    report.at_end(folder.path, out.print)
    return 1 if summary.slo_broken else 0


if __name__ == "__main__":
    sys.exit(main())
