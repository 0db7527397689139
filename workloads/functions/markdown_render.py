"""SFS/OpenLambda `mk`: render a generated Markdown document to HTML."""
import random

import markdown

TENANT = "carol"
DESCRIPTION = "Markdown to HTML (python-markdown)"
SIZES = {"small": 10, "medium": 150, "large": 1_200}


def _document(sections, seed):
    rng = random.Random(seed)
    parts = []
    for s in range(sections):
        parts.append(f"# Section {s}\n\nSome *emphasis* and **strong** text with `code` number {rng.randrange(1000)}.\n")
        parts.append("\n".join(f"- item {s}.{i} [link](https://example.org/{i})" for i in range(rng.randint(2, 6))) + "\n")
        parts.append("| a | b |\n|---|---|\n" + "".join(f"| {rng.random():.3f} | {i} |\n" for i in range(3)))
    return "\n".join(parts)


def handler(event):
    text = _document(int(event["sections"]), int(event.get("seed", 0)))
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
