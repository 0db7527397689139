"""Cluster-level fair share: multi-resource, multi-server allocators.

Quick use:
    from fairshare import load_problem, allocate
    alloc = allocate(load_problem("examples/problems/ex1.yaml"), "psdsf")
    alloc.tasks(), alloc.per_server(), alloc.to_json()
"""
from .allocation import Allocation
from .errors import ProblemError
from .model import Framework, Problem, Server, load_problem, problem_from_dict


def allocate(problem: Problem, policy: str = "drf", seed: int = 0) -> Allocation:
    from .policies import get_policy
    return get_policy(policy)(problem, seed)


__all__ = ["Allocation", "Framework", "Problem", "ProblemError", "Server", "allocate",
           "load_problem", "problem_from_dict"]
