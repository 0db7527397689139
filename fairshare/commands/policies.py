"""List the policy names `--policy` accepts, with a one-line definition each."""
from ..policies import describe, policy_names
from ..selection import SELECTIONS


def add_arguments(parser):
    parser.add_argument("--all", action="store_true", help="also list criterion:selection combinations")


def run(args) -> int:
    names = policy_names(include_combinations=args.all)
    width = max(map(len, names))
    for n in names:
        print(f"{n:<{width}}  {describe(n) if ':' not in n else ''}".rstrip())
    print("\nserver-selection rules for pooled criteria (use CRITERION:RULE):")
    for n, cls in SELECTIONS.items():
        print(f"  {n:<9} {cls.summary}")
    return 0
