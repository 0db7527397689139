"""GPU policy names for `fairshare simulate --model gpu`."""
from __future__ import annotations

from .baselines import DRF, LAS, GavelFTF
from .themis import Themis

GPU_POLICIES = ("themis", "drf", "las", "gavel-ftf")


def make_policy(name: str, knob: float = 0.2):
    if name == "themis":
        return Themis(knob)
    if name == "drf":
        return DRF()
    if name == "las":
        return LAS()
    if name == "gavel-ftf":
        return GavelFTF()
    raise ValueError(f"GPU policy {name!r}: use one of {', '.join(GPU_POLICIES)} (criteria such as psdsf "
                     "run with --model tasks)")
