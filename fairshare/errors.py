"""Validation errors.  All are ValueError subclasses so callers can catch one type."""


class ProblemError(ValueError):
    """A problem description is invalid; the message names the offending item."""


class CapacityError(ProblemError):
    """A server capacity is zero, negative or not a number."""


class DemandError(ProblemError):
    """A framework demand is negative, all-zero, or fits no eligible server."""


class UnknownResourceError(ProblemError):
    """A demand or capacity names a resource no server declares."""


class DuplicateNameError(ProblemError):
    """Two servers or two frameworks share a name."""


class WeightError(ProblemError):
    """A weight is zero, negative or not a number, or max_tasks is invalid."""


class ConstraintError(ProblemError):
    """A placement constraint selects no server or names an unknown server."""
