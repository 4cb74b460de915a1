"""Merging two directions: each mode's forward rule by hand, and its backward rule against central differences."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_trace.merge import MODES, Merge, merge, merge_back

F = np.array([[1.0, -2.0], [3.0, 0.5]])
B = np.array([[4.0, 1.0], [-1.0, 2.0]])


def test_each_mode_by_hand() -> None:
    assert merge("concat", F, B).tolist() == [[1, -2, 4, 1], [3, 0.5, -1, 2]]
    assert merge("sum", F, B).tolist() == [[5, -1], [2, 2.5]]
    assert merge("mul", F, B).tolist() == [[4, -2], [-3, 1]]
    assert merge("ave", F, B).tolist() == [[2.5, -0.5], [1, 1.25]]
    assert Merge("sequence", "ave", F, B).formula == "(f + b) / 2"
    with pytest.raises(ValueError, match="unknown merge mode 'max'"):
        merge("max", F, B)


@pytest.mark.parametrize("mode", MODES)
def test_each_backward_rule_is_the_derivative(mode: str) -> None:
    rng = np.random.default_rng(1)
    grad = rng.normal(size=merge(mode, F, B).shape)
    got = merge_back(mode, F, B, grad)
    eps = 1e-6
    for which, part in enumerate((F, B)):
        numeric = np.zeros_like(part)
        for index in np.ndindex(part.shape):
            up, down = [F.copy(), B.copy()], [F.copy(), B.copy()]
            up[which][index] += eps
            down[which][index] -= eps
            numeric[index] = ((merge(mode, *up) - merge(mode, *down)) * grad).sum() / (2 * eps)
        np.testing.assert_allclose(got[which], numeric, rtol=1e-7, atol=1e-9)
