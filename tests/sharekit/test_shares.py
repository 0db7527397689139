"""The published-shares file: round trip, atomic replacement, validation."""
import json
import os

import pytest

from sharekit.shares import PublishedShares, SharesWatcher, TenantShare, default_path, publish, read


def _shares(version, alice=0.75):
    return PublishedShares("node0", version, 1.0, {
        "alice": TenantShare(150, alice, "sharekit-tenants/alice"),
        "bob": TenantShare(50, 1 - alice, "sharekit-tenants/bob")}, 1, "sharekit-tenants")


def test_round_trip_and_mode(tmp_path):
    path = tmp_path / "agents" / "node0.json"
    publish(path, _shares(3))
    got = read(path)
    assert got == _shares(3)
    assert got.shares() == {"alice": 0.75, "bob": 0.25}
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert [p.name for p in path.parent.iterdir()] == ["node0.json"]  # no temporary left


def test_missing_file_is_none(tmp_path):
    assert read(tmp_path / "nope.json") is None


@pytest.mark.parametrize("field, value, message", [
    ("version", -1, "version"), ("node", "../x", "node"), ("updated", float("nan"), "updated"),
])
def test_invalid_top_level_fields_are_named(tmp_path, field, value, message):
    data = _shares(1).to_json()
    data[field] = value
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message):
        read(path)


def test_invalid_tenant_is_named(tmp_path):
    data = _shares(1).to_json()
    data["tenants"]["bob"]["share"] = 1.5
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="tenant 'bob'.*share"):
        read(path)


def test_watcher_follows_new_versions_and_keeps_last_good(tmp_path):
    path = tmp_path / "node0.json"
    watcher = SharesWatcher(path, min_interval_s=0.0)
    assert watcher.current() is None
    publish(path, _shares(1))
    assert watcher.current().version == 1
    publish(path, _shares(2, alice=0.5))
    assert watcher.current().shares()["alice"] == 0.5
    path.write_text("{broken")
    assert watcher.current().version == 2


def test_default_path_rejects_path_tricks():
    with pytest.raises(ValueError):
        default_path("../etc")
    assert default_path("node0").name == "node0.json"
