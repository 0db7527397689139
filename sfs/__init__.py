"""SFS: a user-space function scheduler approximating SRTF with SCHED_FIFO and CFS.

Embedding API: :mod:`sfs.scheduler` (``Scheduler``, ``SchedulerConfig``).
"""
