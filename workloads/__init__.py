"""Workloads: trace readers, a synthetic generator and load rescaling.

Every reader yields the same record type, :class:`workloads.invocation.Invocation`.
"""
