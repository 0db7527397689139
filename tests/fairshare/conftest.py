from pathlib import Path

import pytest

from fairshare.model import load_problem

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "problems"


@pytest.fixture
def example():
    return lambda name: load_problem(EXAMPLES / name)
