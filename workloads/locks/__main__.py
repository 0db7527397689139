"""python -m workloads.locks NAME [ARGS...]: build (if needed) and run a lock workload."""
import os
import sys

from workloads.locks import SOURCES, binary

if len(sys.argv) < 2 or sys.argv[1] not in SOURCES:
    print(f"usage: python -m workloads.locks {{{','.join(SOURCES)}}} [ARGS...]  (ARGS: see the program's usage)",
          file=sys.stderr)
    sys.exit(2)
path = binary(sys.argv[1])
os.execv(path, [str(path)] + sys.argv[2:])
