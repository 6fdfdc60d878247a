"""Opening a report in headless Chromium: Debian's (`apt-get install chromium`), driven by
Playwright's Python package through `executable_path`, so no browser is downloaded."""

from pathlib import Path

import psutil
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")

# Per plot on the page: its size, and how much of it is data (the artists the report marks as data:
# bars, lines, steps, points), with the size of that data; an <img> reports its decoded size.
PLOTS_JS = """() => [...document.querySelectorAll('figure svg, figure img')].map(el => {
    const box = el.getBoundingClientRect();
    const plot = {tag: el.tagName.toLowerCase(), label: el.getAttribute('aria-label') || el.getAttribute('alt'),
                  width: box.width, height: box.height, marks: 0, dataWidth: 0, dataHeight: 0, natural: 0};
    if (plot.tag === 'img') { plot.natural = el.naturalWidth; return plot; }
    for (const g of el.querySelectorAll('g[id*="-data-"]')) {
        plot.marks += g.querySelectorAll('path, use, line, rect, polyline').length;
        const b = g.getBBox();
        plot.dataWidth = Math.max(plot.dataWidth, b.width);
        plot.dataHeight = Math.max(plot.dataHeight, b.height);
    }
    return plot;
})"""


def open_in_chromium(out: Path) -> list[dict]:
    """The report's plots as Chromium drew them; fails on a console error or any request beyond the file."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(out.as_uri(), wait_until="load")
            plots = page.evaluate(PLOTS_JS)
            page.screenshot(path=out.with_suffix(".png"), full_page=True)
        finally:
            browser.close()
    assert not [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()], "Chromium left running"
    assert errors == []
    assert requests == [out.as_uri()]
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    return plots


def assert_drawn(plots: list[dict], count: int) -> None:
    assert len(plots) == count
    for plot in plots:
        assert plot["width"] > 100 and plot["height"] > 100, plot
        if plot["tag"] == "img":
            assert plot["natural"] > 0, plot
        else:
            assert plot["marks"] > 0 and (plot["dataWidth"] > 0 or plot["dataHeight"] > 0), plot
