"""What reaches the report's HTML: escaped text, inlined SVG that needs nothing outside the page."""

import re

from loadlab.report import figures
from loadlab.report.compare_section import report_section
from loadlab.report.html import Section, cell, esc, page, table
from loadlab.tuning.comparison import RUN_MATCH
from loadlab.tuning.comparison_result import Result, Row

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def test_text_is_escaped_quotes_included():
    assert esc(HOSTILE) == "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;"
    assert esc(3.5) == "3.5"


def test_tables_and_pages_escape_every_piece_of_text():
    text = page(HOSTILE, HOSTILE, [Section(HOSTILE, table([HOSTILE], [[cell(HOSTILE)]]))])
    assert "<script>" not in text
    # <title>, <h1>, the subtitle, the table of contents, <h2>, the table's header and its cell
    assert text.count("&lt;script&gt;") == 7
    anchor = Section(HOSTILE, "").anchor
    assert re.fullmatch(r"s-[a-z0-9-]+", anchor)


def test_the_comparison_section_escapes_the_run_names_and_needs_nothing_outside_the_page():
    result = Result("run", HOSTILE, HOSTILE, 0.1, RUN_MATCH, notes=[HOSTILE])
    result.rows.append(Row(HOSTILE, "rps", 100.0, 50.0, -0.5, 0.001, "regression", HOSTILE))
    title, inner = report_section(result)
    text = page("t", "s", [Section(title, inner)])
    assert "<script>" not in text and "<h2>Comparison with &lt;script&gt;" in text
    assert '<p class="summary bad"><strong>REGRESSED: 1 of 1 figures' in text
    # the toc, <h2>, A, B, the row's point and title (its reason), the note, the summary (its point)
    assert text.count("&lt;script&gt;") == 8
    for banned in ("<link", "http:", "https:", "@import", "url("):
        assert banned not in text


def test_the_page_has_no_script_no_external_resource():
    text = page("t", "s", [Section("a", "<p>x</p>")])
    for banned in ("<script", "<link", "http:", "https:", "@import", "url("):
        assert banned not in text


SVG = """<?xml version="1.0" encoding="utf-8" standalone="no"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"
  "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns:xlink="http://www.w3.org/1999/xlink" width="216pt" viewBox="0 0 216 144" xmlns="http://www.w3.org/2000/svg">
 <metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Matplotlib, https://matplotlib.org/</dc:title></rdf:RDF></metadata>
 <defs><clipPath id="p1"><rect x="0"/></clipPath><path id="m2" d="M 0 0"/></defs>
 <g id="data-1"><path d="M 1 1" clip-path="url(#p1)"/><use xlink:href="#m2" x="3"/></g>
</svg>
"""


def test_inlined_svg_has_no_prolog_no_url_and_ids_of_its_own():
    inline = figures.inline_svg(SVG, "fig-a", "A <title>")
    assert inline.startswith('<svg role="img" aria-label="A &lt;title&gt;" ')
    assert "http" not in inline and "<metadata" not in inline and "DOCTYPE" not in inline and "xlink" not in inline
    assert 'id="fig-a-p1"' in inline and 'clip-path="url(#fig-a-p1)"' in inline
    assert 'href="#fig-a-m2"' in inline and 'id="fig-a-data-1"' in inline
    other = figures.inline_svg(SVG, "fig-b", "B")
    assert set(re.findall(r'id="([^"]+)"', inline)).isdisjoint(re.findall(r'id="([^"]+)"', other))


def test_a_figure_marks_its_data_and_renders_to_svg_and_png(tmp_path):
    with figures.Figures(tmp_path / "png", "png") as made:
        plot = made.new("demo", "Demo <figure>")
        plot.data(plot.axes[0].bar([1, 2], [3, 4]), plot.axes[0].plot([1, 2], [1, 2]))
        element = made.render(plot, "caption & more")
    assert element.startswith('<figure id="fig-demo"><svg ')
    assert 'id="demo-data-1"' in element and 'id="demo-data-3"' in element  # two bars, one line
    assert "caption &amp; more" in element and "Demo &lt;figure&gt;" in element and '<a href="png/demo.png">' in element
    assert (tmp_path / "png" / "demo.png").read_bytes().startswith(b"\x89PNG")
    assert "http" not in element
    again = made.new("demo", "the same name")
    assert again.name == "demo-2"
