"""The comparison of `loadlab compare` as a section of the report (`loadlab report B --compare A`):
the summary (the verdict) first, the table, the notes; every text escaped."""

import html

from loadlab.tuning.compare import IMPROVEMENT, REGRESSION
from loadlab.tuning.comparison_result import Result, cells, headers

# the report's own classes (loadlab.report.html's CSS) beside the verdict's, so a verdict shows in colour
VERDICT_CSS = {REGRESSION: "bad", IMPROVEMENT: "good"}


def html_section(result: Result, heading: bool = True) -> str:
    """The comparison as an HTML fragment: a <section> with the summary (the verdict), the table and
    the notes; every text escaped. Verdicts are classes (`verdict-regression`, ...) and the report's
    `bad`/`good`. `heading=False` leaves out the <h2>, for a page that titles the section itself."""
    e = html.escape
    verdict_css = "bad" if result.regressions else "good"
    lines = [
        '<section class="loadlab-compare">',
        *([f"<h2>{e(result.kind.capitalize())} B against A</h2>"] if heading else []),
        f"<p>A: <code>{e(result.a)}</code>, B: <code>{e(result.b)}</code>, threshold ±{result.threshold:.0%}</p>",
        f'<p class="summary {verdict_css}"><strong>{e(result.summary_line())}</strong></p>',
        *([f'<p class="method">Tests: {e(result.method)}</p>'] if result.method else []),
        '<table class="compare">',
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers(result)) + "</tr></thead>",
        "<tbody>",
    ]
    for row, texts in zip(result.rows, cells(result), strict=True):
        css = " ".join(c for c in ("verdict-" + row.verdict.replace(" ", "-"), VERDICT_CSS.get(row.verdict)) if c)
        tds = "".join(f"<td>{e(t)}</td>" for t in texts)
        lines.append(f'<tr class="{e(css)}" title="{e(row.reason)}">{tds}</tr>')
    lines += ["</tbody>", "</table>"]
    if result.notes:
        lines.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in result.notes) + "</ul>")
    lines.append("</section>")
    return "\n".join(lines) + "\n"


def report_section(result: Result) -> tuple[str, str]:
    """(title, html) of the comparison for `loadlab.report.build(..., extra_sections=[...])`."""
    return f"Comparison with {result.a}", html_section(result, heading=False)
