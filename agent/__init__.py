"""Node agents: one server's slice of the cluster decision, as cgroup weights.

The cluster allocator (fairshare) decides how much of each server every
tenant gets.  A node agent turns the decision for its own server into one
cgroup per tenant whose CPU weight is proportional to that tenant's
allocation.  That cgroup weight is then the single source every node-level
mechanism reads: CFS weighs the tenant's processes by it, the FaaS host runs
each tenant's sandboxes inside it, and SCL locks with the cgroup weight
source give each thread lock opportunity in proportion to it.

Modules: node.py (NodeAgent, plan_weights), loop.py (AgentLoop: follow a
decision file or URL, publish the applied shares, fall back to equal weights
when the decision goes stale), decision.py (reading and checking decisions),
guard.py + watchdog.py (one owner per parent group, no groups left after a
SIGKILL), placement.py (SCHED_FIFO tasks in the cpu root, demoted ones in
their tenant's group), check.py (measure the CPU split CFS gives).

The agent takes the allocator's JSON contract ({server: {tenant: {resource:
amount}}}, as `fairshare.Allocation.per_server()` produces), not fairshare's
classes, so it sits below the allocator and can run on a node that has only
the decision.
"""
from .decision import DecisionError, DecisionSource, parse_decision
from .loop import AgentLoop, CycleResult
from .node import NodeAgent, plan_weights
from .placement import TenantPlacement

__all__ = ["AgentLoop", "CycleResult", "DecisionError", "DecisionSource", "NodeAgent", "TenantPlacement",
           "parse_decision", "plan_weights"]
