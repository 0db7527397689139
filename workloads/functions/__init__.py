"""The FaaS function library: one plain module per function.

Each module defines
  handler(event: dict) -> JSON-serialisable result    the function itself
  make_event(size="small"|"medium"|"large", seed=0)   a deterministic input
  check(event, result) -> bool                        an independent correctness check
and may set TENANT (the owning tenant, default "default") and DESCRIPTION.

`sfs serve` discovers functions by scanning this folder (or --functions DIR):
drop a file named like `my_function.py` here and it is served at
POST /run/my_function.  Files starting with "_" are not functions.
"""
