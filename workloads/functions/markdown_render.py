"""SFS/OpenLambda `mk`: render a generated Markdown document to HTML."""
import random

import markdown

from workloads.functions._params import validate

TENANT = "carol"
DESCRIPTION = "Markdown to HTML (python-markdown)"
SIZES = {"small": 10, "medium": 150, "large": 1_200}
PARAMETERS = {
    "sections": {"type": "integer", "default": 10, "minimum": 1, "maximum": 5000, "description": "sections of the document"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _document(sections, seed):
    rng = random.Random(seed)
    parts = []
    for s in range(sections):
        parts.append(f"# Section {s}\n\nSome *emphasis* and **strong** text with `code` number {rng.randrange(1000)}.\n")
        parts.append("\n".join(f"- item {s}.{i} [link](https://example.org/{i})" for i in range(rng.randint(2, 6))) + "\n")
        parts.append("| a | b |\n|---|---|\n" + "".join(f"| {rng.random():.3f} | {i} |\n" for i in range(3)))
    return "\n".join(parts)


def handler(event):
    event = validate(PARAMETERS, event)
    text = _document(event["sections"], event["seed"])
    html = markdown.markdown(text, extensions=["tables"])
    return {"html_bytes": len(html), "h1": html.count("<h1>"), "li": html.count("<li>"),
            "tables": html.count("<table>"), "html_head": html[:200]}


def make_event(size="small", seed=0):
    return {"sections": SIZES[size], "seed": seed}


def check(event, result):
    text = _document(event["sections"], event["seed"])
    items = sum(1 for line in text.splitlines() if line.startswith("- item "))
    return (result["h1"] == event["sections"] == result["tables"] and result["li"] == items
            and result["html_head"].startswith("<h1>Section 0</h1>"))
