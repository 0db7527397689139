"""Run a whole cluster on this machine: one node agent per node, each tenant's load in its groups."""
