"""The HTML of a report page: escaped text, tables, preformatted blocks and PNG figures embedded as base64.

Everything the page needs is inside the one file (styles inline, images as `data:` URIs), so it opens offline
and survives being copied or mailed. A few lines of inline script, run when the page has loaded, record each
image's natural width in a `data-natural-width` attribute and the count of images that loaded in the body's
`data-images-loaded` (a headless browser's DOM dump then shows that every picture decoded).
"""

from __future__ import annotations

import base64
import datetime
import html
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f8f8f8; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
figure { display: inline-table; margin: 0.5em 1em 1em 0; vertical-align: top; }
figure img { border: 1px solid #eee; }
figcaption { display: table-caption; caption-side: bottom; font-size: 0.85em; color: #555; }
.big { font-size: 1.6em; font-weight: bold; }
"""

LOADED_SCRIPT = """
window.addEventListener("load", function () {
  var loaded = 0;
  for (var i = 0; i < document.images.length; i++) {
    var image = document.images[i];
    image.setAttribute("data-natural-width", image.naturalWidth);
    if (image.complete && image.naturalWidth > 0) { loaded++; }
  }
  document.body.setAttribute("data-images-loaded", loaded + "/" + document.images.length);
});
"""


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def table(header: Sequence[str] | None, rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    """An HTML table (header row only when header is given); columns whose index is in `numeric` align right."""
    head = f"<tr>{''.join(f'<th>{escape(h)}</th>' for h in header)}</tr>" if header else ""
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(v)}</td>' if i in numeric else f"<td>{escape(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def preformatted(text: str) -> str:
    return f"<pre>{escape(text)}</pre>"


def paragraph(text: str, css_class: str = "") -> str:
    attribute = f' class="{escape(css_class)}"' if css_class else ""
    return f"<p{attribute}>{escape(text)}</p>"


def figure(png: str | os.PathLike, caption: str) -> str:
    """A PNG file embedded as a data: URI, with its caption (also the image's alt text)."""
    data = base64.b64encode(Path(png).read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def section(title: str, *parts: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{''.join(parts)}</section>"


def page(title: str, subtitle: str, sections: Iterable[str]) -> str:
    """The whole document: head with styles, the title, the sections, the load-recording script."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n<h1>{escape(title)}</h1>{paragraph(subtitle)}\n"
        + "\n".join(sections)
        + f"\n<script>{LOADED_SCRIPT}</script>\n</body></html>\n"
    )


def run_page(
    run: Any, kind: str, results: str, summary_text: str, figures: Iterable[Any], section_order: Sequence[str]
) -> str:
    """A run's report page: results, settings, model summary, then the figures grouped in `section_order`.

    `run` needs `.config` (dict), `.info.dataset`, `.run_dir`, `.exported` and `.meta`; each figure `.section`,
    `.path`, `.caption`. `kind` names the run in the subtitle ("classification", "detection", …).
    """
    figures = list(figures)
    title = f"{run.config.get('model', 'model')} on {run.info.dataset}"
    written = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    sections = [
        results,
        section("Settings", table(("setting", "value"), sorted(run.config.items()))),
        section("Model", preformatted(summary_text)),
    ]
    for name in section_order:
        chosen = [f for f in figures if f.section == name]
        if chosen:
            sections.append(section(name, *(figure(f.path, f.caption) for f in chosen)))
    return page(title, f"{source(run, kind)} · report written {written}", sections)


def source(run: Any, kind: str) -> str:
    """Where the page's run was read from: its run folder, or a weights file and the checkpoint it was exported
    from (as `cnnkit export` recorded it)."""
    if not run.exported:
        return f"{kind} run folder {run.run_dir}"
    exported = run.meta.get("exported")
    origin = exported.get("from") if isinstance(exported, dict) else None
    return f"{kind} weights file {run.run_dir}" + (f", exported from {origin}" if origin else "")
