"""Finish-time fairness for GPU training jobs: the job model, a lease-based
round simulator, Themis (partial-allocation auction) and the DRF, LAS and
Gavel-FTF baselines.  See docs/fairshare.md, "GPU jobs and finish-time
fairness"."""
