"""`loadlab report <results dir>`: one self-contained HTML file of a run or a sweep, plus its plots as PNGs.

results/<id>/report.html   the report: text, tables and every figure inlined; opens offline
results/<id>/report/*.png  the same figures as PNG files, for a slide or an issue

    loadlab report <run B> [--compare <run A> [--threshold 0.1] [--match target,scenario]] [--history] [--out PATH]

`--history` adds a "History" section: every series the run or sweep measured, over all the runs and
sweeps stored beside it, with Apache Otava's change points marked (loadlab.report.history_section).

`--compare A` (the command is loadlab.commands.report) adds a "Comparison with A" section: the
comparison `loadlab compare A B` prints (loadlab.report.compare_section), its verdict on top. The report is
written, and the status is 0, whether or not B regressed; `loadlab compare` is the command that fails
on a regression. A compare target that is not a run or a sweep, a run against a sweep, no point in
common: one line, status 2.

Why matplotlib, with SVG inlined in the page and PNG beside it (rather than Plotly):
- no JavaScript: the page is HTML, CSS and inline SVG, so it renders in any browser (or a mail
  client, or a CI artifact viewer that blocks scripts) and cannot fail with a script error;
- self-contained and small: an SVG figure is a few tens of kB of text (a run's whole report is
  about 120 kB), where Plotly's JavaScript inlined into the file is several MB on its own;
- one drawing, two files: the PNG is the very same matplotlib figure rasterized, not a second
  rendering that could drift from the page;
- headless: the non-interactive Agg backend needs no display or browser to draw.

What goes in: a run (summary.json, Locust's CSVs, the run's Prometheus TSDB, queried through
`loadlab.queries` like the dashboards) or a sweep (sweep.json); a folder with sweep.json is a
sweep. `build(..., extra_sections=[(title, html)])` appends sections made elsewhere (e.g. the table
of `loadlab compare`); their html is inserted as is, so it must be escaped by whoever made it.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from loadlab.errors import USAGE, LoadlabError
from loadlab.results.folder import SUMMARY_FILE, RunFolder
from loadlab.results.sweep import SWEEP_FILE, SweepFolder

if TYPE_CHECKING:
    from loadlab.tuning.history import HistoryAnalysis

DEFAULT_NAME = "report.html"


def kind(folder: Path) -> str:
    """ "sweep" or "run"; one line on anything else."""
    if not folder.exists():
        raise LoadlabError(f"{folder}: no such results folder", USAGE)
    if not folder.is_dir():
        raise LoadlabError(f"{folder} is a file; give the run's or the sweep's folder", USAGE)
    if SweepFolder.holds_sweep(folder):
        return "sweep"
    if RunFolder.holds_run(folder):
        return "run"
    raise LoadlabError(
        f"{folder} is not a loadlab results folder: neither a run ({SUMMARY_FILE}) nor a sweep ({SWEEP_FILE})", USAGE
    )


def default_out(folder: Path) -> Path:
    return folder / DEFAULT_NAME


def png_dir(out: Path) -> Path:
    """Where the PNGs of the report `out` go: beside it, in a folder named like it (report.html → report/)."""
    return out.with_suffix("")


def build(
    folder: Path,
    out: Path | None = None,
    extra_sections: Iterable[tuple[str, str]] = (),
    history: "HistoryAnalysis | None" = None,
) -> Path:
    """Write the report of the run or sweep in `folder` to `out` (default `<folder>/report.html`) and
    its PNGs to `png_dir(out)`; return `out`. With `history` (loadlab.tuning.history.analyse of the
    results folder holding `folder`), a History section of the series this run or sweep measured."""
    from loadlab.report import capacity_steps, html, prometheus_data, run_section, sweep_section
    from loadlab.report.figures import Figures
    from loadlab.results.folder import write_text
    from loadlab.results.sweep import SweepSummary

    folder = Path(folder)
    found = kind(folder)
    out = Path(out) if out is not None else default_out(folder)
    if out.is_dir():
        raise LoadlabError(f"{out} is a folder; give the report's file name, e.g. {out / DEFAULT_NAME}", USAGE)
    if out.suffix.lower() not in (".html", ".htm"):
        raise LoadlabError(f"{out}: the report is HTML; give a file name ending in .html", USAGE)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Figures(png_dir(out), png_dir(out).name) as figures:
        if found == "sweep":
            sweep = SweepSummary.read(folder)
            title, subtitle = sweep_section.title(sweep), sweep_section.subtitle(sweep)
            at_capacity, why = capacity_steps.read(folder, sweep)
            sections = sweep_section.sections(sweep, figures, at_capacity, why)
        else:
            run = RunFolder(folder).summary()
            title, subtitle = run_section.title(run), run_section.subtitle(run)
            sections = run_section.sections(folder, run, prometheus_data.read(folder, run), figures)
            from loadlab.soak.record import SoakRecord

            if SoakRecord.holds_soak(folder):  # a soak's run: its drift section right after the header
                from loadlab.report import soak_section

                sections.insert(1, soak_section.section(SoakRecord(folder), figures))
        if history is not None:
            from loadlab.report import history_section

            sections.append(history_section.section(history, folder.name, figures))
    sections += [html.Section(str(t), str(h)) for t, h in extra_sections]
    write_text(out, html.page(title, subtitle, sections))
    return out


def at_end(folder: Path, say: Callable[[str], None]) -> None:
    """The report at the end of `loadlab run` or `loadlab sweep`; one that fails loses nothing measured."""
    try:
        say(f"report: {build(folder)}")
    except LoadlabError as exc:
        say(f"report: not written ({exc}); the results are intact: loadlab report {folder}")
