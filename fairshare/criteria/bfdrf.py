"""BF-DRF (best-fit DRFH): DRF share, server chosen by best fit of shapes."""
from .drf import DRF


class BFDRF(DRF):
    name = "bfdrf"
    default_selection = "bestfit"
    summary = "DRF share; best-fit server (L1 distance of normalised free and demand shapes)"
