
import pytest


@pytest.fixture(autouse=True)
def private_run_dir(tmp_path, monkeypatch):
    """Lock files and published shares go to a per-test directory."""
    run = tmp_path / "run"
    monkeypatch.setenv("SHAREKIT_RUN_DIR", str(run))
    return run
