"""Fixtures of the FaaS host tests; the helpers live in faas_support.py."""
from faas_support import functions_dir, shared_server  # noqa: F401  (pytest fixtures)
