"""HTML building blocks of the analyst report: one self-contained page, no scripts, no external
files (images are PNG data URIs, the stylesheet is inline), so it opens offline in any browser.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #222;
       margin: 0; background: #f4f5f7; line-height: 1.45; }
header { background: #1f3b57; color: #fff; padding: 22px 40px; }
header h1 { margin: 0 0 6px 0; font-size: 26px; }
header p { margin: 2px 0; color: #d8e2ec; }
nav { background: #fff; border-bottom: 1px solid #d5d9de; padding: 10px 40px; }
nav a { margin-right: 22px; color: #1f3b57; text-decoration: none; font-weight: bold; }
main { padding: 10px 40px 40px 40px; max-width: 1320px; }
section { background: #fff; border: 1px solid #d5d9de; border-radius: 6px;
          padding: 8px 26px 22px 26px; margin: 22px 0; }
h2 { color: #1f3b57; border-bottom: 2px solid #1f3b57; padding-bottom: 6px; }
h3 { color: #1f3b57; margin-top: 26px; }
figure { margin: 16px 0; }
figure img { max-width: 100%; border: 1px solid #e3e6ea; }
figcaption { color: #555; font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; margin: 10px 0 16px 0; font-size: 13px; }
caption { text-align: left; font-weight: bold; padding: 4px 0; color: #1f3b57; }
th, td { border: 1px solid #d5d9de; padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fbe3e6; }
.note { background: #fff8e1; border-left: 4px solid #e0b63a; padding: 8px 12px; margin: 10px 0; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
.pair > figure { flex: 0 1 auto; max-width: calc(50% - 9px); }
.muted { color: #666; font-size: 13px; }
"""

Format = Callable[[object], str]


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def figure(png: bytes, alt: str, caption: str = "") -> str:
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{data_uri(png)}" alt="{esc(alt)}">{cap}</figure>'


def paragraph(text: str, css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    return f"<p{cls}>{esc(text)}</p>"


def note(text: str) -> str:
    return f'<div class="note">{esc(text)}</div>'


def side_by_side(*parts: str) -> str:
    """Side by side while they fit (a plot and its table)."""
    return f'<div class="figures">{"".join(parts)}</div>'


def in_halves(*parts: str) -> str:
    """Plots side by side, each shrunk to half the width if need be."""
    return f'<div class="figures pair">{"".join(parts)}</div>'


def section(section_id: str, title: str, parts: Iterable[str]) -> str:
    body = "\n".join(parts)
    return f'<section id="{esc(section_id)}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


def integer(value: object) -> str:
    return "" if _missing(value) else f"{int(round(float(value))):,}"  # type: ignore[arg-type]


def percent(value: object) -> str:
    return "" if _missing(value) else f"{float(value) * 100:.1f} %"  # type: ignore[arg-type]


def decimal(digits: int) -> Format:
    return lambda v: "" if _missing(v) else f"{float(v):,.{digits}f}"  # type: ignore[arg-type]


def times(value: object) -> str:
    return "" if _missing(value) else f"{float(value):.2f}x"  # type: ignore[arg-type]


def yes_no(value: object) -> str:
    return "FLAGGED" if bool(value) else ""


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def table(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    formats: Mapping[str, Format] | None = None,
    *,
    table_id: str = "",
    caption: str = "",
    flag_column: str = "",
) -> str:
    """`frame`'s `columns` (name -> header) as an HTML table; numbers right-aligned."""
    formats = formats or {}
    head = "".join(f"<th>{esc(h)}</th>" for h in columns.values())
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for name in columns:
            fmt = formats.get(name)
            value = record.get(name)
            text = fmt(value) if fmt else ("" if _missing(value) else str(value))
            numeric = fmt is not None and fmt is not yes_no
            cells.append(
                f'<td class="num">{esc(text)}</td>' if numeric else f"<td>{esc(text)}</td>"
            )
        flagged = flag_column and bool(record.get(flag_column))
        rows.append(
            f'<tr class="flagged">{"".join(cells)}</tr>'
            if flagged
            else f"<tr>{''.join(cells)}</tr>"
        )
    ident = f' id="{esc(table_id)}"' if table_id else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f'<table{ident} class="data">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def pairs(items: Iterable[tuple[str, object]], table_id: str = "") -> str:
    """A two-column table of labelled values."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{ident}><tbody>{rows}</tbody></table>"


def page(title: str, subtitle: list[str], nav: Mapping[str, str], sections: list[str]) -> str:
    """The whole document."""
    links = "".join(f'<a href="#{esc(i)}">{esc(t)}</a>' for i, t in nav.items())
    lines = "".join(f"<p>{esc(s)}</p>" for s in subtitle)
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>{esc(title)}</h1>{lines}</header>\n<nav>{links}</nav>\n"
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
