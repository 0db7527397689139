"""The `scl` command."""
from sharekit.cli import dispatch

COMMANDS = {
    "config": ("scl.commands.config", "print compiler and linker flags for C programs (--cflags, --libs, --preload, --libdir)"),
    "bench": ("scl.commands.bench", "lock subversion benchmark: pthread mutex, spinlock, ticket lock and u-SCL side by side"),
    "trace": ("scl.commands.trace", "eBPF: per-thread lock hold, wait and opportunity of a running program"),
}


def main(argv=None) -> int:
    return dispatch("scl", "Scheduler-cooperative locks.", COMMANDS, argv)


if __name__ == "__main__":
    raise SystemExit(main())
