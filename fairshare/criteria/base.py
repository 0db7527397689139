"""The one interface every fairness criterion implements.

A criterion says how a framework's share grows with its tasks; the
progressive-filling engine (fairshare/filling.py) and the offer cycle
(fairshare/online.py) hand tasks to the lowest share first.

* pooled criteria (`server_specific = False`) implement `unit()`: the share
  one task adds, so share(n) = x_n * unit[n] on every server, and the server
  is chosen by a selection rule (`default_selection`);
* server-specific criteria (`server_specific = True`) have the per-server
  share x_n / (weight_n gamma[n, i]), where gamma[n, i] is the number of tasks
  of n that server i holds: on its full capacity, or on its free capacity
  when `residual = True`.  The engine computes gamma from the problem, so a
  new server-specific criterion only sets these two flags.
"""
from __future__ import annotations

import abc

import numpy as np

from ..model import Problem


class Criterion(abc.ABC):
    name: str = ""
    server_specific: bool = False
    residual: bool = False
    default_selection: str = "random"  # only meaningful for pooled criteria
    summary: str = ""

    def __init__(self, problem: Problem):
        self.problem = problem

    def unit(self) -> np.ndarray:
        """Share added by one task of each framework (pooled criteria)."""
        raise NotImplementedError(f"{self.name} is server-specific: its share is x / (weight * gamma)")


class ServerSpecificCriterion(Criterion):
    server_specific = True
