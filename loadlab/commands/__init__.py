"""The `loadlab` subcommands, one module each (several for close kin): each `register(subparsers)` adds
its parsers and sets `handler`, the function that runs it and returns the exit status. A command
module imports only what its parser needs; its handler imports the rest, so `loadlab --help` stays fast.
"""

from loadlab.commands import (
    calibrate,
    compare,
    compose,
    export,
    history,
    report,
    results,
    run,
    serve,
    soak,
    sweep,
    tools,
    worker,
)

# the order of `loadlab --help`
COMMANDS = (serve, run, soak, sweep, report, compare, calibrate, history, results, export, tools, compose, worker)
