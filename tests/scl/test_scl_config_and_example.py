"""`scl config` and the C example built through scl.pc."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _scl(scl_cmd, *args, check=True):
    return subprocess.run([*scl_cmd, *args], capture_output=True, text=True, timeout=60, check=check)


def test_config_paths_exist(scl_cmd, native_built):
    libdir = Path(_scl(scl_cmd, "config", "--libdir").stdout.strip())
    incdir = Path(_scl(scl_cmd, "config", "--includedir").stdout.strip())
    pc = Path(_scl(scl_cmd, "config", "--pc-path").stdout.strip())
    preload = Path(_scl(scl_cmd, "config", "--preload").stdout.strip())
    for p in (libdir, incdir, pc, preload):
        assert p.is_absolute() and p.exists(), p
    assert (libdir / "libscl.so").exists()
    assert (incdir / "scl.h").exists()
    assert (pc / "scl.pc").exists()
    assert preload.name == "libscl-preload.so"


def test_config_flags_and_combined_output(scl_cmd, native_built):
    cflags = _scl(scl_cmd, "config", "--cflags").stdout.split()
    libs = _scl(scl_cmd, "config", "--libs").stdout.split()
    assert f"-I{native_built.includedir}" in cflags
    assert "-lscl" in libs and f"-L{native_built.libdir}" in libs
    both = _scl(scl_cmd, "config", "--cflags", "--libs").stdout.split()
    assert both == cflags + libs
    listing = _scl(scl_cmd, "config").stdout
    assert "preload" in listing and str(native_built.preload) in listing


def test_pkg_config_agrees(scl_cmd, native_built):
    if not shutil.which("pkg-config"):
        pytest.skip("pkg-config not installed")
    env = dict(os.environ, PKG_CONFIG_PATH=str(native_built.pc_path))
    out = subprocess.run(["pkg-config", "--cflags", "--libs", "scl"], env=env,
                         capture_output=True, text=True, timeout=30, check=True).stdout
    assert f"-I{native_built.includedir}" in out and "-lscl" in out


def test_config_reports_missing_build(tmp_path, monkeypatch, capsys):
    import argparse

    from scl import paths
    from scl.commands import config as config_cli
    monkeypatch.setattr(paths, "NATIVE_PREFIX", tmp_path / "nothing")
    parser = argparse.ArgumentParser()
    config_cli.add_arguments(parser)
    assert config_cli.run(parser.parse_args(["--libs"])) == 1
    err = capsys.readouterr().err
    assert "make install" in err and "libscl.so" in err


def test_c_example_builds_against_pc_and_runs(tmp_path, repo, scl_cmd, native_built):
    for name in ("pipeline.c", "Makefile"):
        shutil.copy(repo / "examples" / "c" / name, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "LD_PRELOAD")}
    build = subprocess.run(["make", "-s", f"SCL={' '.join(scl_cmd)}"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr
    run = subprocess.run(["./pipeline", "2", "2", "20000"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert ": OK" in run.stdout
    assert "Jain(opportunity)" in run.stdout
