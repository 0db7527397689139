"""rPS-DSF: PS-DSF with gamma computed on the server's residual capacity, so
every framework's key on a server changes when anything is placed there."""
from .base import ServerSpecificCriterion


class RPSDSF(ServerSpecificCriterion):
    name = "rpsdsf"
    residual = True
    summary = "per-server share x / (weight * gamma_{n,i}), gamma on free (residual) capacity"
