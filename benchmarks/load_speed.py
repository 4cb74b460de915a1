"""Loading a 1 MB scenario: lstm_trace.load() against PyYAML's C loader reading the same file.

    python benchmarks/load_speed.py [--repeat 7]

The scenario holds an (8, 900, 16) input and a small LSTM, written as numpy
prints arrays. The target is under 0.3 s; the ratio shows what validation and
line-keeping cost over a bare parse that yields only nested lists.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

import lstm_trace


def write_scenario(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    features, units = 16, 8
    x = rng.normal(size=(8, 900, features)).round(6)
    lines = [
        "layer: LSTM",
        f"units: {units}",
        f"kernel: {rng.normal(size=(features, 4 * units)).round(4).tolist()}",
        f"recurrent_kernel: {rng.normal(size=(units, 4 * units)).round(4).tolist()}",
        f"bias: {rng.normal(size=4 * units).round(4).tolist()}",
        "inputs:",
        *(f"  - {row.tolist()}" for row in x),
    ]
    path = folder / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_scenario(Path(folder))
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        times: dict[str, list[float]] = {"yaml.load (C loader)": [], "lstm_trace.load()": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            yaml.load(path.read_text(), Loader=loader)  # a safe loader
            times["yaml.load (C loader)"].append(time.perf_counter() - start)
            start = time.perf_counter()
            lstm_trace.load(path)
            times["lstm_trace.load()"].append(time.perf_counter() - start)
        size = path.stat().st_size / 1e6
    base = statistics.median(times["yaml.load (C loader)"])
    print(f"a {size:.2f} MB scenario, median of {args.repeat}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:24s} {med * 1000:7.1f} ms   {med / base:.2f}×")


if __name__ == "__main__":
    main()
