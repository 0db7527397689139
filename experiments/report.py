"""Assemble the report: every result's rows in one table, then its fragment.

`report.md` links the images beside it; `report.html` embeds them (base64),
so the HTML file alone is the whole report.
"""
from __future__ import annotations

import base64
import html
import re
import time
from pathlib import Path

from experiments.base import Row, markdown_table

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")


def _relink(fragment: str, folder: str) -> str:
    """Make a fragment's relative image and file links relative to the report."""
    return _IMAGE.sub(lambda m: f"![{m.group(1)}]({folder}/{m.group(2)})"
                      if "://" not in m.group(2) else m.group(0), fragment)


def summary(rows: list[tuple[str, Row]]) -> str:
    return markdown_table(
        ["result", "claim", "paper", "ours", "conditions", "verdict", "difference"],
        [(name, r.claim, r.paper, r.ours, r.conditions, f"**{r.verdict}**", r.note) for name, r in rows])


def write(out: Path, sections: list[tuple[str, str, list[Row], str]], header: str) -> tuple[Path, Path]:
    """sections: (name, title, rows, fragment) in report order."""
    all_rows = [(name, row) for name, _, rows, _ in sections for row in rows]
    parts = [f"# Reproducing the papers' key results\n\n{header}\n",
             "## Summary\n", summary(all_rows), ""]
    for name, title, _, fragment in sections:
        parts += [f"## {title}\n", _relink(fragment.strip(), name), ""]
    text = "\n".join(parts) + "\n"
    md_path = out / "report.md"
    md_path.write_text(text)
    html_path = out / "report.html"
    html_path.write_text(to_html(text, out))
    return md_path, html_path


def to_html(markdown_text: str, base: Path) -> str:
    import markdown
    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])

    def embed(match: re.Match) -> str:
        src = match.group(2)
        path = (base / src).resolve()
        if not path.is_file() or path.suffix.lower() != ".png" or base.resolve() not in path.parents:
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode()
        return f'{match.group(1)}"data:image/png;base64,{data}"'

    body = re.sub(r'(<img[^>]*?src=)"([^"]+)"', embed, body)
    style = ("body{font-family:sans-serif;max-width:75em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #bbb;padding:3px 6px}"
             "img{max-width:100%}code{background:#f3f3f3}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sharekit: reproduced results</title>"
            f"<style>{style}</style></head><body>{body}"
            f"<hr><p><small>{html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))}</small></p></body></html>\n")
