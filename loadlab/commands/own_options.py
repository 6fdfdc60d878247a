"""The options that point loadlab at a user's own service: `--app` and its settings (`loadlab serve`
and `run`), and for `run` the load (`--locustfile`, `--requests`) and `--url`. Parsing only; what
they become is loadlab.config.own."""

import argparse

DEFAULT_HEALTH = "/"


def add_app_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("your own app")
    group.add_argument("--app", metavar="MODULE:ATTR", help="serve your ASGI or WSGI app (package.module:attr)")
    group.add_argument("--app-dir", dest="app_dir", metavar="PATH", help="import --app from here (default .)")
    group.add_argument(
        "--factory", action="store_true", help="--app names a function of no arguments that returns the app"
    )
    group.add_argument(
        "--env-file", dest="env_file", metavar="FILE", help="KEY=VALUE settings for your app's environment"
    )
    group.add_argument(
        "--health", metavar="PATH", help=f"a path of your app that answers 2xx once it is up (default {DEFAULT_HEALTH})"
    )


def add_load_options(p: argparse.ArgumentParser, url: bool = True) -> None:
    """--locustfile and --requests; --url too where a running service can be loaded (`run`, not `sweep`)."""
    group = p.add_argument_group("your own load")
    group.add_argument("--locustfile", metavar="FILE", help="your Locust User classes")
    group.add_argument("--requests", dest="requests_file", metavar="FILE", help="a TOML list of requests to send")
    if url:
        group.add_argument(
            "--url",
            metavar="URL",
            help="load a service that is already running (client side only, unless --metrics-url)",
        )


def app_settings_given(args: argparse.Namespace) -> list[str]:
    """The app's settings given on the command line, as options (for errors about their use without --app)."""
    given = {"--app-dir": args.app_dir, "--factory": args.factory, "--env-file": args.env_file, "--health": args.health}
    return [option for option, value in given.items() if value]


def what_will_be_loaded(config) -> str:
    """One line, printed before anything starts: which service, with what load, at what rate, how long."""
    own = config.own
    where = (
        f"{own.url} (running already; "
        + (f"its metrics scraped at {config.metrics_url})" if config.metrics_url else "client side only)")
        if own.url
        else (f"{own.app.ref} ({own.app.kind.upper()}) on {config.server} x{config.workers}, served here")
    )
    load = own.locustfile or own.requests
    if config.model == "open":
        rate = f"open model at {config.rate:g} requests/s (at most {config.max_inflight} in flight)"
    elif config.model == "ramp":
        rate = f"ramp of {config.step_users} users every {config.step_seconds:g}s up to {config.users}"
    else:
        rate = f"closed model, {config.users} users" + (
            f", think time {config.think_time_s:g}s" if own.requests else ""
        )
    return (
        f"loadlab run: will load {where} with {load}: {rate}, for {config.warmup_s:g}s warm-up + "
        f"{config.duration_s:g}s measured, health {own.health}"
    )
