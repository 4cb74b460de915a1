"""Start-up: `lstm-trace run` on the seed example against a Python that only imports its libraries.

    python benchmarks/startup.py [--repeat 21] [--editable]

The target is a regular install: the script first installs this checkout with
`pip install --no-deps --target` into a temporary folder (pip compiles the
bytecode, as `pip install .` does), and runs its console script's entry with
that folder on the path, using this interpreter's numpy, yaml, click and
rich. `--editable` measures the checkout as it is imported here instead.

All are fresh processes, taken in turn round after round; the first round
warms the file cache and is dropped. The script prints min/median/max per
contender and the ratios of each round's time to the baseline's in the same
round (the target is at most 1.3×). The middle row shows how much of that
budget rich's Console takes by itself.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "import numpy, yaml, click, rich"
ENTRY = "import sys; from lstm_trace.cli import main; sys.argv[0] = 'lstm-trace'; main()"  # the console script


def _install(into: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(into),
         str(ROOT)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--editable", action="store_true", help="the checkout as imported here, not installed")
    args = parser.parse_args()
    how = "editable checkout" if args.editable else "pip install --target"
    print(f"start-up, {args.repeat} rounds in turn ({how})")
    with tempfile.TemporaryDirectory() as folder:
        env = dict(os.environ)
        if not args.editable:
            _install(Path(folder))
            env["PYTHONPATH"] = folder  # ahead of the editable install, if there is one
        commands = {
            BASE: [sys.executable, "-c", BASE],
            "  … and rich.console": [sys.executable, "-c", BASE + ", rich.console"],
            "lstm-trace run scenarios/seed.yaml": [
                sys.executable,
                "-c",
                ENTRY,
                "run",
                str(ROOT / "scenarios/seed.yaml"),
            ],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat + 1):
            for name, command in commands.items():
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                # run from the temporary folder: from the checkout, `python -c` would import its sources first
                subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL, check=True, env=env)
                times[name].append(time.perf_counter() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    _table("wall time", times)
    _table("CPU time of the process (user + system), which a busy machine disturbs less", cpu)


def _table(what: str, times: dict[str, list[float]]) -> None:
    base = times[BASE][1:]
    print(what)
    print(f"  {'':36s} {'median':>9s}   ratio to the baseline's time in the same round: min / median / max")
    for name, values in times.items():
        ratios = [t / b for t, b in zip(values[1:], base, strict=True)]
        print(f"  {name:36s} {statistics.median(values[1:]) * 1000:6.1f} ms   "
              f"{min(ratios):.2f}× / {statistics.median(ratios):.2f}× / {max(ratios):.2f}×")  # fmt: skip


if __name__ == "__main__":
    main()
