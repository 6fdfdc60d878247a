"""The HTML of the report: escaped text, tables, sections and the page around them.

Every piece of text from a results folder goes through `esc` (`html.escape`, quotes included)
before it reaches the page; the functions here take plain text unless their parameter says `html`.
The page has its CSS inline and nothing else: no script, no font, no URL to fetch.
"""

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.sub td { color: #555; background: #fafafa; }
.bad { color: #b00020; } .good { color: #1b6e20; } .note { color: #555; font-size: 0.9em; }
figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.9em; }
dl.header { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.header dt { font-weight: bold; } dl.header dd { margin: 0; }
details { margin: 0.4em 0; } summary { cursor: pointer; }
"""


def esc(text: object) -> str:
    """`text` as HTML text or attribute value: &, <, >, " and ' escaped."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Section:
    """A titled part of the report; `html` is markup already made safe (built from `esc`'d text)."""

    title: str
    html: str

    @property
    def anchor(self) -> str:
        return "s-" + "".join(c if c.isalnum() else "-" for c in self.title.lower()).strip("-")


def number(value: float | None, digits: int = 0, unit: str = "") -> str:
    """`value` rounded for a table, or a dash when it was not measured."""
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}{unit}"


def cell(value: object, *, num: bool = False, css: str = "") -> str:
    """A <td> of escaped text; `num` right-aligns it."""
    classes = " ".join(c for c in ("num" if num else "", css) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{esc(value)}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], row_classes: Sequence[str] = ()) -> str:
    """A table of escaped headers; each row is a sequence of ready <td> cells (see `cell`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        css = row_classes[i] if i < len(row_classes) and row_classes[i] else ""
        body.append((f'<tr class="{esc(css)}">' if css else "<tr>") + "".join(row) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def header(items: Iterable[tuple[str, object]]) -> str:
    """A definition list of (name, value) pairs, both escaped."""
    return '<dl class="header">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"


def paragraph(text: str, css: str = "") -> str:
    attr = f' class="{esc(css)}"' if css else ""
    return f"<p{attr}>{esc(text)}</p>"


def bullets(items: Iterable[str], css: str = "") -> str:
    attr = f' class="{esc(css)}"' if css else ""
    return f"<ul{attr}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def details(summary: str, inner_html: str) -> str:
    """A collapsed block (no script: the browser's own <details>)."""
    return f"<details><summary>{esc(summary)}</summary>{inner_html}</details>"


def subsection(title: str, inner_html: str) -> str:
    return f"<h3>{esc(title)}</h3>{inner_html}"


def page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole document: title, a table of contents and the sections."""
    toc = "".join(f'<li><a href="#{esc(s.anchor)}">{esc(s.title)}</a></li>' for s in sections)
    body = "".join(f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>{s.html}</section>' for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f'<body><h1>{esc(title)}</h1><p class="note">{esc(subtitle)}</p><nav><ul>{toc}</ul></nav>{body}</body></html>\n'
    )
