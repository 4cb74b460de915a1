"""Every cap on what a scenario may ask for, in one place, each checked before the work it bounds.

A scenario is read from a file anyone may have written, so each size is
checked from what announces it (a file's size, a .npy header, a YAML node
count, the shapes) before anything that size is read, built or run. The code
reads these as `limits.NAME` when it checks, so a program may set another
value before it loads: `lstm_trace.limits.MAX_ELEMENTS = 50_000_000`. The
memory a trace may take has its own budget (budget.py, `--max-memory`).
"""

from __future__ import annotations

MAX_ELEMENTS = 20_000_000
"""Numbers in one array (inputs, a weight, an expected value, ...), and in all the arrays of one .npz."""

MAX_VALUES = 2 * MAX_ELEMENTS
"""Numbers and other values in one scenario file, each YAML alias counted as the values it stands for."""

MAX_NODES = 1_000_000
"""YAML values read one by one: all but flow lists of plain numbers ([0.5, -1, 2e-3]), which are read fast."""

MAX_FILE_BYTES = 256 * 2**20
"""The size of a scenario file and of a .csv array file."""

MAX_LAYERS = 1000
"""Layers in one network (the entries of a Keras stack, torch's num_layers): each is a run of its own."""
