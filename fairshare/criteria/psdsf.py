"""PS-DSF (Khamse-Ashari et al., TPDS'18): per-server virtual dominant share
x_n / (weight gamma_{n,i}) with gamma on the server's full capacity."""
from .base import ServerSpecificCriterion


class PSDSF(ServerSpecificCriterion):
    name = "psdsf"
    residual = False
    summary = "per-server share x / (weight * gamma_{n,i}), gamma on full capacity"
