"""The report's figures: matplotlib on its non-interactive Agg backend, each figure drawn once and
kept twice, as SVG inlined in the page and as a PNG file beside it.

An inlined SVG needs nothing but the page: matplotlib's own `<?xml>`, DOCTYPE and metadata (which
name URLs) are cut, text stays text (`svg.fonttype: none`, so the browser's sans-serif draws it and
the file stays small), and every `id` is prefixed with the figure's name so that the clip paths and
markers of one figure never resolve to another's. The artists that carry data get an id of their
own (`<name>-data-N`), so a test can tell a drawn bar or line from an empty pair of axes.
"""

import io
import re
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np

matplotlib.use("Agg")  # no display, no GUI toolkit: the same on a laptop, a server and CI

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from loadlab.report.html import esc

WIDTH_IN = 9.0  # inches; 100 dpi in the PNG
HEIGHT_IN = 3.8
PNG_DPI = 100
COLORS = {"sync": "#1f77b4", "async": "#ff7f0e"}  # the targets keep their colour in every figure
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
RC = {"svg.fonttype": "none", "font.size": 9, "axes.grid": True, "grid.alpha": 0.3, "axes.axisbelow": True}

_CUT = (
    re.compile(r"<\?xml[^>]*\?>\s*"),
    re.compile(r"<!DOCTYPE[^>]*>\s*"),
    re.compile(r"\s*<metadata>.*?</metadata>", re.S),
    re.compile(r'\s+xmlns(:\w+)?="[^"]*"'),
)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "figure"


def inline_svg(svg: str, prefix: str, label: str) -> str:
    """Matplotlib's SVG document as an element to put in HTML: no prolog, no metadata, no namespace
    URLs, ids prefixed with `prefix`, and an accessible label."""
    for pattern in _CUT:
        svg = pattern.sub("", svg)
    svg = svg.replace("xlink:href=", "href=")
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)
    svg = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{esc(label)}" ', 1).strip()


@dataclass
class Plot:
    """One matplotlib figure being drawn, with its axes."""

    name: str
    title: str
    fig: Figure
    axes: list[Axes]
    _marked: int = 0

    def data(self, *artists: object) -> None:
        """Mark the artists that draw measured or fitted data (bars, lines, steps, points)."""
        for artist in artists:
            if isinstance(artist, Artist):
                self._marked += 1
                artist.set_gid(f"data-{self._marked}")
            elif isinstance(artist, Iterable) and not isinstance(artist, str):
                self.data(*artist)


@dataclass
class Rendered:
    name: str
    title: str
    svg: str  # inline <svg> element
    png: Path
    overlapping: list[str] = field(default_factory=list)  # texts overlapping each other or the edge: none, we hope


@dataclass
class Figures:
    """The figures of one report; PNGs go to `png_dir`, linked from the page as `link_dir/<name>.png`."""

    png_dir: Path
    link_dir: str
    rendered: list[Rendered] = field(default_factory=list)
    _style: ExitStack = field(default_factory=ExitStack)

    def __enter__(self) -> "Figures":
        """Draw within the report's style (font size, grid, text kept as text in the SVG)."""
        self._style.enter_context(matplotlib.rc_context(RC))
        return self

    def __exit__(self, *exc: object) -> None:
        self._style.close()

    def new(
        self, name: str, title: str, ncols: int = 1, height: float = HEIGHT_IN, width: float = WIDTH_IN, nrows: int = 1
    ) -> Plot:
        name = _safe_name(name)
        taken = {r.name for r in self.rendered}
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
        return Plot(name, title, fig, axes)

    def render(self, plot: Plot, caption: str = "") -> str:
        """Draw `plot` to SVG and PNG; its <figure> element for the page."""
        plot.fig.suptitle(plot.title, fontsize=11)
        for ax in plot.axes:
            if ax.get_legend() is None and not plot.fig.legends and ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        # one drawing at the PNG's resolution lays the figure out and gives both the PNG and the drawn
        # texts' boxes; the SVG keeps that layout (its text is drawn by the browser's font anyway)
        canvas = FigureCanvasAgg(plot.fig)
        plot.fig.set_dpi(PNG_DPI)
        canvas.draw()
        self.png_dir.mkdir(parents=True, exist_ok=True)
        png = self.png_dir / f"{plot.name}.png"
        matplotlib.image.imsave(png, np.asarray(canvas.buffer_rgba()), dpi=PNG_DPI)
        unreadable = overlaps(canvas)
        plot.fig.set_layout_engine("none")
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": plot.name}):
            buffer = io.StringIO()
            plot.fig.savefig(buffer, format="svg", metadata={"Date": None})
        svg = inline_svg(buffer.getvalue(), plot.name, plot.title)
        self.rendered.append(Rendered(plot.name, plot.title, svg, png, unreadable))
        link = f"{self.link_dir}/{png.name}"
        text = f"{esc(caption)} " if caption else ""
        return (
            f'<figure id="fig-{esc(plot.name)}">{svg}<figcaption>{text}'
            f'<a href="{esc(link)}">PNG</a></figcaption></figure>'
        )


def drawn_texts(fig: Figure) -> list[Text]:
    """Every text a drawn figure shows: titles, axis labels, the tick labels inside each axis's view,
    annotations and legends."""
    texts: list[Text] = [fig._suptitle] if fig._suptitle is not None else []
    texts += fig.texts
    for legend in fig.legends:
        texts += legend.get_texts()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis._update_ticks():  # the ticks inside the view: the ones drawn
                texts += [tick.label1, tick.label2]
            texts += [axis.label, axis.offsetText]
        texts += [ax.title, ax._left_title, ax._right_title, *ax.texts]
        if ax.get_legend() is not None:
            texts += ax.get_legend().get_texts()
    unique = list({id(t): t for t in texts}.values())  # the suptitle is among fig.texts too
    return [t for t in unique if t.get_visible() and t.get_text().strip()]


def overlaps(canvas: FigureCanvasAgg, tolerance_px: float = 0.5) -> list[str]:
    """The pairs of texts of a figure drawn on `canvas` whose boxes overlap (by more than
    `tolerance_px` each way), and the texts the figure's edge cuts, measured with the renderer that drew it."""
    renderer = canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in drawn_texts(canvas.figure)]
    edge = canvas.figure.bbox
    found = [
        f"{a!r} is cut by the figure's edge"
        for a, box in boxes
        if min(box.x0 - edge.x0, box.y0 - edge.y0, edge.x1 - box.x1, edge.y1 - box.y1) < -tolerance_px
    ]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            width = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
            height = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
            if width > tolerance_px and height > tolerance_px:
                found.append(f"{a!r} overlaps {b!r}")
    return found


def color(key: str, i: int) -> str:
    return COLORS.get(key, PALETTE[i % len(PALETTE)])
