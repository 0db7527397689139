import os
import pytest

from sfs.privilege import PrivilegeError, has_cap_sys_nice, require_realtime

WITH = "Name:\tx\nCapEff:\t000001ffffffffff\n"
WITHOUT = "Name:\tx\nCapEff:\t0000000000000000\n"
ONLY_NICE = f"CapEff:\t{1 << 23:016x}\n"


def test_capability_bit_23_is_read_from_capeff():
    assert has_cap_sys_nice(WITH)
    assert has_cap_sys_nice(ONLY_NICE)
    assert not has_cap_sys_nice(WITHOUT)
    assert not has_cap_sys_nice(f"CapEff:\t{(1 << 23) - 1:016x}\n")


@pytest.mark.parametrize("policy", ["sfs", "fifo"])
def test_realtime_policies_stop_without_cap_sys_nice(policy):
    with pytest.raises(PrivilegeError, match="CAP_SYS_NICE"):
        require_realtime(policy, WITHOUT)
    require_realtime(policy, ONLY_NICE)


def test_cfs_needs_no_privilege():
    require_realtime("cfs", WITHOUT)
    require_realtime("srtf-oracle", WITHOUT)


def test_cli_refuses_sfs_without_the_capability_and_runs_cfs(monkeypatch, tmp_path, capsys):
    """The capability reader is mocked: the venv's interpreter may not be readable by another user."""
    from sfs import privilege
    from sfs.cli import main
    monkeypatch.setenv("SHAREKIT_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(privilege, "effective_capabilities", lambda status_text=None: 0)
    assert main(["replay", "synthetic", "--policy", "sfs", "--limit", "5", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "CAP_SYS_NICE" in err and "error:" in err
    assert main(["replay", "synthetic", "--policy", "fifo", "--limit", "5", "--no-progress"]) == 2
    out = tmp_path / "r.csv"
    assert main(["replay", "synthetic", "--policy", "cfs", "--limit", "4", "--load", "0.3",
                 "--no-progress", "--out", str(out)]) == 0
    assert "lost 0" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 5


def test_eperm_message_names_rt_group_scheduling():
    from sfs.privilege import explain_eperm
    message = str(explain_eperm("promoting pid 1"))
    assert "EPERM" in message and "CONFIG_RT_GROUP_SCHED" in message
