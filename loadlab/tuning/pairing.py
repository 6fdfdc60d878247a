"""Pairing the two sides of `loadlab compare`: points of two runs (each with its repetitions), or
configurations of two sweeps, matched on some of their fields. One line names what cannot be paired."""

from collections.abc import Callable
from typing import Any

from loadlab.errors import LoadlabError
from loadlab.results.point import PointResult
from loadlab.results.repeats import base_id
from loadlab.tuning.comparison_result import ONLY_A, ONLY_B, Result, Row

Key = Callable[[Any], tuple]
Label = Callable[[Any], str]


def point_label(p: PointResult) -> str:
    return f"{p.target} {p.scenario} {p.server} x{p.workers}"


def point_key(match: tuple[str, ...]) -> Key:
    return lambda p: tuple(getattr(p, f) for f in match)


def _two(side: str, unit: str, first: str, match: tuple[str, ...]) -> LoadlabError:
    return LoadlabError(
        f"{side} has two {unit}s matching {first} on {', '.join(match)}: "
        "cannot tell which to compare; match on more fields (--match)"
    )


def group_points(points: list[PointResult], match: tuple[str, ...], side: str) -> list[list[PointResult]]:
    """The points of one run by their key on `match`, each with its repetitions (`--repeat`); two
    different points with one key, or one repetition twice, are refused."""
    key = point_key(match)
    groups: dict[tuple, list[PointResult]] = {}
    for p in points:
        groups.setdefault(key(p), []).append(p)
    for group in groups.values():
        repeats = [p.repeat for p in group]
        if len(group) > 1 and (
            None in repeats or len(set(repeats)) < len(repeats) or len({base_id(p) for p in group}) > 1
        ):
            raise _two(side, "point", point_label(group[0]), match)
    return list(groups.values())


def pair(unit: str, a: list, b: list, key: Key, label: Label, match: tuple[str, ...]) -> tuple[list, list, list]:
    """(common pairs, only in A, only in B) of `a` and `b` by `key`; refuses none in common."""

    def index(items: list, side: str) -> dict:
        found: dict = {}
        for item in items:
            k = key(item)
            if k in found:
                raise _two(side, unit, label(found[k]), match)
            found[k] = item
        return found

    index_a, index_b = index(a, "A"), index(b, "B")
    common = [(index_a[k], index_b[k]) for k in index_a if k in index_b]
    if not common:
        listed_a = ", ".join(label(x) for x in a) or "none"
        listed_b = ", ".join(label(x) for x in b) or "none"
        hint = "; --match target,scenario compares across servers and worker counts" if len(match) > 2 else ""
        raise LoadlabError(
            f"A and B have no {unit} in common when matched on {', '.join(match)} (A: {listed_a}; B: {listed_b}){hint}"
        )
    only_a = [index_a[k] for k in index_a if k not in index_b]
    only_b = [index_b[k] for k in index_b if k not in index_a]
    return common, only_a, only_b


def add_only(result: Result, only_a: list, only_b: list, label: Label) -> None:
    for verdict, items in ((ONLY_A, only_a), (ONLY_B, only_b)):
        for x in items:
            result.rows.append(Row(label(x), "", None, None, None, None, verdict, f"{verdict}: not compared"))
