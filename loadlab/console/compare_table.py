"""What `loadlab compare` prints: how the figures were tested, the table of B against A (each change
with its interval, the noise floor, the adjusted p-value and the verdict, in its colour), the notes,
and the summary line last (the one a CI log shows)."""

from rich.console import Console
from rich.table import Table

from loadlab.tuning.compare import IMPROVEMENT, NOISE, NOT_ENOUGH, REGRESSION
from loadlab.tuning.comparison_result import Result, cells, headers

LEFT = ("point", "configuration", "figure", "verdict")
STYLES = {REGRESSION: "red", NOISE: "yellow", IMPROVEMENT: "green", NOT_ENOUGH: "magenta"}


def table(result: Result) -> Table:
    t = Table(box=None, pad_edge=False, header_style="bold")
    for header in headers(result):
        t.add_column(header, justify="left" if header in LEFT else "right", no_wrap=True)
    for row, texts in zip(result.rows, cells(result), strict=True):
        t.add_row(*texts, style=STYLES.get(row.verdict))
    return t


def show(result: Result, out: Console) -> None:
    out.print(f"compare {result.kind}s: A = {result.a}, B = {result.b}; threshold ±{result.threshold:.0%}")
    if result.method:
        out.print(f"tests: {result.method}", soft_wrap=True)
    out.print()
    out.print(table(result))
    if result.notes:
        out.print()
        for note in result.notes:
            out.print(f"  {note}", soft_wrap=True)
    out.print()
    out.print(result.summary_line(), soft_wrap=True)
