"""Start-up: `lstm-trace run` on the seed example against a Python that only imports its libraries.

    python benchmarks/startup.py [--repeat 21]

All are fresh processes of this interpreter, taken in turn; the script prints
their medians and the ratios to the first (the target is at most 1.3×). The
middle row shows how much of that budget rich's Console takes by itself.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "lstm-trace"  # the console script pip installs beside this Python
COMMANDS = {
    "import numpy, yaml, click, rich": [sys.executable, "-c", "import numpy, yaml, click, rich"],
    # what printing anything with rich costs: its Console, which `import rich` alone does not load
    "  … and rich.console": [sys.executable, "-c", "import numpy, yaml, click, rich, rich.console"],
    "lstm-trace run scenarios/seed.yaml": [
        *([str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "lstm_trace"]),
        "run",
        "scenarios/seed.yaml",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat + 1):  # the first round warms the file cache and is dropped
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["import numpy, yaml, click, rich"][1:])
    print(f"start-up, {args.repeat} rounds in turn")
    for name, values in times.items():
        med = statistics.median(values[1:])
        print(f"  {name:36s} {med * 1000:6.1f} ms   {med / base:.2f}×")


if __name__ == "__main__":
    main()
