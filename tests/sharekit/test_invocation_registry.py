import multiprocessing
import os

from sharekit import invocation_registry as reg


def test_register_and_unregister_are_seen_by_a_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAREKIT_RUN_DIR", str(tmp_path))
    with reg.RegistryWriter() as writer:
        writer.register(1234, "inv-1", "fib", "tenant-a")
        writer.register(1235, "inv-2", "gzip", "tenant-b")
        writer.unregister(1234)
        labels = reg.snapshot()
        assert set(labels) == {1235}
        assert labels[1235] == reg.InvocationLabel(1235, "inv-2", "gzip", "tenant-b")
    assert reg.snapshot() == {}, "closing the writer removes its labels"


def _write_and_die(run_dir):
    os.environ["SHAREKIT_RUN_DIR"] = run_dir
    writer = reg.RegistryWriter()
    writer.register(42, "orphan", "fib", "t")
    os._exit(0)  # no close(): simulates a crashed writer


def test_labels_of_a_dead_writer_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("SHAREKIT_RUN_DIR", str(tmp_path))
    proc = multiprocessing.get_context("fork").Process(target=_write_and_die, args=(str(tmp_path),))
    proc.start()
    proc.join()
    assert list((tmp_path / "invocations").glob("*.jsonl")), "the dead writer left its file"
    assert reg.snapshot() == {}
    assert not list((tmp_path / "invocations").glob("*.jsonl")), "snapshot cleans up dead writers' files"
