"""Fairness criteria.  Adding one: write a module with a Criterion subclass and
add one line to CRITERIA below (see docs/fairshare.md)."""
from .base import Criterion, ServerSpecificCriterion
from .bfdrf import BFDRF
from .drf import DRF
from .drfh import DRFH
from .psdsf import PSDSF
from .rpsdsf import RPSDSF
from .tsf import TSF

CRITERIA: dict[str, type[Criterion]] = {
    "drf": DRF,
    "drfh": DRFH,
    "bfdrf": BFDRF,
    "tsf": TSF,
    "psdsf": PSDSF,
    "rpsdsf": RPSDSF,
}


def register(cls: type[Criterion]) -> type[Criterion]:
    """Register a criterion from outside the package (usable as a decorator)."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a non-empty `name`")
    CRITERIA[cls.name] = cls
    return cls


__all__ = ["Criterion", "ServerSpecificCriterion", "CRITERIA", "register"]
