"""The 'Adding a fairness criterion' example in docs/fairshare.md must run."""
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_add_criterion_example_runs(capsys, monkeypatch):
    text = (ROOT / "docs" / "fairshare.md").read_text()
    section = text.split("## Adding a fairness criterion", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(ROOT)
    from fairshare.criteria import CRITERIA
    try:
        exec(compile(code, "docs/fairshare.md", "exec"), {})
        out = capsys.readouterr().out.splitlines()
        assert len(out) == 2
        tasks = eval(out[0])
        assert set(tasks) == {"u0", "u1", "u2"} and sum(tasks.values()) > 0
    finally:
        CRITERIA.pop("asset", None)
    assert os.path.exists(ROOT / "examples" / "problems" / "ex3.json")
