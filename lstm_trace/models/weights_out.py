"""`convert --weights-out`: a converted layer's weights in a file its framework loads directly.

What each framework writes (torch a state_dict as .safetensors, keras and keras2 the set_weights() list
as .npz, tf1 its variables by name as .npz, onnx a model holding the node) is its express module's
`write_weights`, with the suffix it takes as `WEIGHTS_SUFFIX`; this checks the suffix and reports a file
that cannot be written.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ScenarioError, Where


def write_weights(data: Mapping[str, Any], target: str, path: Path) -> str:
    """Write `data`'s weights for `target` to `path`; returns how to load them, for the scenario's header."""
    module = importlib.import_module(f"..frameworks.express_{'keras' if target == 'keras2' else target}", __package__)
    suffix: str = module.WEIGHTS_SUFFIX
    if path.suffix.lower() != suffix:
        raise ScenarioError(
            f"--weights-out for {target} writes a {suffix} file", Where(path, None, "--weights-out"),
            found=path.suffix or "no suffix",
        )  # fmt: skip
    try:
        how: str = module.write_weights(data, path)
    except OSError as exc:
        raise ScenarioError(f"cannot write {path}: {exc.strerror or exc}", Where(path, None, "--weights-out")) from None
    return how
