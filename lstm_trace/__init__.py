"""lstm-trace: every number an LSTM, GRU or simple RNN computed, step by step.

import lstm_trace
scenario = lstm_trace.load("scenario.yaml")
tr = lstm_trace.trace(scenario)
tr.outputs["h"]
"""

from __future__ import annotations

from .api import trace
from .errors import ScenarioError
from .scenario import Scenario, load
from .trace import Run, Trace

__version__ = "0.1.0"
__all__ = ["Run", "Scenario", "ScenarioError", "Trace", "__version__", "load", "trace"]
