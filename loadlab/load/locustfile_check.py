"""`python -m loadlab.load.locustfile_check FILE`: FILE's User classes, found by Locust's own loader,
one name a line; or one line saying why it has none (it does not import, or defines no User class),
and exit status 2. `loadlab run --locustfile` runs it in a child interpreter before anything starts:
importing Locust patches the interpreter with gevent."""

import sys

from loadlab.errors import USAGE


def main(path: str) -> int:
    try:
        from locust.util.load_locustfile import load_locustfile

        classes, _shapes = load_locustfile(path)
    except BaseException as exc:
        lines = str(exc).strip().splitlines()
        print(
            f"--locustfile {path} does not import: {type(exc).__name__}: {lines[0] if lines else ''}", file=sys.stderr
        )
        return USAGE
    if not classes:
        print(
            f"--locustfile {path}: no User class (a class deriving from Locust's HttpUser, FastHttpUser or User, "
            "not abstract)",
            file=sys.stderr,
        )
        return USAGE
    print("\n".join(classes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
