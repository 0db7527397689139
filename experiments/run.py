"""Rerun the papers' key results on this machine and write a report.

    python -m experiments.run              # everything (make experiments)
    python -m experiments.run --quick      # the same set, shortened (make experiments-quick, <= 15 min)
    python -m experiments.run --only fs_examples,scl_subversion

Each result (one module in experiments/results/) writes CSV data, PNG plots
and a Markdown fragment into OUT/<result>/; the report is OUT/report.md and
OUT/report.html (images embedded).  A result that fails is reported as
"not run" with its error, and the command exits 1.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from experiments import report
from experiments.base import Context, Row, machine_conditions

# Report order: the node layers, then cluster fair share, then the link.
RESULTS = ("sfs_slowdown", "scl_subversion", "scl_kvstore", "fs_examples", "fs_alibaba", "fs_gap",
           "themis", "mmf_jobs", "link")
DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def _available() -> list[str]:
    return [name for name in RESULTS
            if (Path(__file__).resolve().parent / "results" / f"{name}.py").is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shortened runs (<= 15 min on 2 cores)")
    parser.add_argument("--only", help="comma-separated result names (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default experiments/out)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--list", action="store_true", help="list the results and exit")
    args = parser.parse_args(argv)
    names = _available()
    if args.list:
        for name in names:
            print(f"{name:<16} {importlib.import_module(f'experiments.results.{name}').TITLE}")
        return 0
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            parser.error(f"unknown result(s) {', '.join(unknown)} (choose from {', '.join(names)})")
        names = [n for n in names if n in wanted]
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"Run on {time.strftime('%Y-%m-%d %H:%M')} ({'quick' if args.quick else 'full'} set): "
              f"{machine_conditions()}.  Each section states its own conditions; the verdict compares our "
              f"figure with the paper's, and the last column says why they differ where they do.")
    sections, failed = [], []
    from tqdm import tqdm
    overall = tqdm(names, desc="experiments", unit="result", disable=args.no_progress)
    for name in overall:
        overall.set_postfix_str(name)
        module = importlib.import_module(f"experiments.results.{name}")
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        ctx = Context(name, folder, args.quick, progress=not args.no_progress)
        started = time.monotonic()
        try:
            result = module.run(ctx)
            rows, fragment = result.rows, result.fragment
        except Exception as exc:   # one broken result must not lose the others
            failed.append(name)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            rows = [Row(module.TITLE, "-", "-", "-", "not run", f"failed: {detail}")]
            fragment = f"The run failed:\n\n```\n{traceback.format_exc()}```\n"
        took = time.monotonic() - started
        fragment = f"{fragment.rstrip()}\n\n*This result took {took:.0f} s.*\n"
        (folder / "fragment.md").write_text(fragment)
        sections.append((name, module.TITLE, rows, fragment))
        tqdm.write(f"{name}: {', '.join(r.verdict for r in rows)} ({took:.0f} s)")
    md, html = report.write(args.out, sections, header)
    print(f"report: {md}\n        {html}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
