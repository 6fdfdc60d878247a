"""`python -m loadlab.load.worker MASTER_HOST [MASTER_PORT]`: become a Locust worker started apart from
its master, with the command line loadlab.load.command builds (the compose stack's locust-worker
service runs this). Imports no Locust: it execs it."""

import os
import sys

from loadlab.load.command import worker_command


def main(argv: list[str]) -> None:
    if not 1 <= len(argv) <= 2:
        sys.exit(f"usage: python -m loadlab.load.worker MASTER_HOST [MASTER_PORT]; got {argv}")
    cmd = worker_command(argv[0], *(int(port) for port in argv[1:]))
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
