"""The experiments report: rows, fragments, embedded images, failures."""
import base64

import pytest

from experiments import report, run
from experiments.base import Row


def _png(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    fig.savefig(path)
    plt.close(fig)


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict"):
        Row("c", "p", "o", "cond", "maybe")


def test_report_links_and_embeds_images(tmp_path):
    folder = tmp_path / "one"
    folder.mkdir()
    _png(folder / "plot.png")
    rows = [Row("a claim", "paper 2x", "ours 1.9x", "2 cores", "reproduced")]
    md, html = report.write(tmp_path, [("one", "Result one", rows, "Text.\n\n![a plot](plot.png)\n")], "header")
    text = md.read_text()
    assert "| one | a claim | paper 2x | ours 1.9x | 2 cores | **reproduced** |" in text
    assert "![a plot](one/plot.png)" in text
    page = html.read_text()
    encoded = base64.b64encode((folder / "plot.png").read_bytes()).decode()
    assert f"data:image/png;base64,{encoded}" in page
    assert "one/plot.png" not in page   # the HTML stands alone


def test_images_outside_the_report_are_not_embedded(tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    _png(outside)
    md, html = report.write(tmp_path, [("x", "X", [], f"![o](../../{outside.name})")], "h")
    assert "base64" not in html.read_text()


def test_runner_writes_report_for_one_result(tmp_path):
    assert run.main(["--only", "fs_examples", "--out", str(tmp_path), "--no-progress"]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "fs_examples" in text and "18 of 18 rows match" in text
    assert (tmp_path / "fs_examples" / "worked_examples.csv").is_file()
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()


def test_runner_refuses_unknown_result(tmp_path):
    with pytest.raises(SystemExit):
        run.main(["--only", "nope", "--out", str(tmp_path)])
