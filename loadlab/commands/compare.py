"""`loadlab compare A B`: B against A, point by point (loadlab.comparison)."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from loadlab import comparison

    comparison.add_parser(sub).set_defaults(handler=comparison.main)
