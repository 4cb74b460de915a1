"""Which steps, batch rows and units to show: numbered from 1 wherever a person writes them."""

from __future__ import annotations

from dataclasses import dataclass, replace


class SelectionError(ValueError):
    """A --steps/--batch/--units value that does not parse or is out of range."""


Spans = tuple[tuple[int, int], ...]  # 0-based [start, stop) ranges as written


def parse_spans(text: str, what: str) -> Spans | None:
    """'1,3-5' → ((0, 1), (2, 5)), or None for 'all'; refuses zero, negatives and reversed ranges.

    Only the form is checked here, and no list is built: the sizes to check the ranges against are the
    trace's, known once it has run (`parse_ranges`)."""
    if text.strip().lower() == "all":
        return None
    spans: list[tuple[int, int]] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            start, stop = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise SelectionError(f"--{what} takes numbers and ranges like 1,3-5; found {part[:40]!r}") from None
        if start < 1 or stop < start:
            raise SelectionError(f"--{what}: {part[:40]!r} is not a range counted from 1")
        spans.append((start - 1, stop))
    if not spans:
        raise SelectionError(f"--{what} is empty")
    return tuple(spans)


def parse_ranges(text: str, what: str, size: int) -> list[int]:
    """'1,3-5' → [0, 2, 3, 4] (0-based), each range checked against `size` (the trace's steps, batch rows or
    units) before any list is built: '--steps 1-100000000' of a 3-step trace is refused, not expanded."""
    spans = parse_spans(text, what)
    if spans is None:
        return list(range(size))
    last = max(stop for _, stop in spans)
    if last > size:
        raise SelectionError(f"--{what}: {last} is beyond the last ({size})")
    return list(dict.fromkeys(k for start, stop in spans for k in range(start, stop)))


@dataclass(frozen=True)
class Selection:
    """0-based picks, or None for the default (all, or what fits)."""

    steps: tuple[int, ...] | None = None
    batch: tuple[int, ...] | None = None
    units: tuple[int, ...] | None = None
    precision: int = 4
    full: bool = False
    weights: bool = True
    explain: bool = False  # every equation of every shown unit, in symbols and with its numbers
    summary_after: int = 12  # longer runs show a few steps in full and all of them at a glance
    slide: bool = False  # a slide: the title and the steps, without the notes, the returns and what had no effect

    def checked(self, steps: int, batch: int, units: int) -> Selection:
        """This selection with 'all' resolved, refusing picks beyond the trace's own sizes."""

        def resolve(picks: tuple[int, ...] | None, size: int) -> tuple[int, ...] | None:
            return tuple(range(size)) if picks == (-1,) else picks

        new = replace(self, steps=resolve(self.steps, steps), batch=resolve(self.batch, batch),
                      units=resolve(self.units, units))  # fmt: skip
        for picks, size, what in (
            (new.steps, steps, "steps"),
            (new.batch, batch, "batch"),
            (new.units, units, "units"),
        ):
            if picks and max(picks) >= size:
                raise SelectionError(f"--{what}: {max(picks) + 1} is beyond the last ({size})")
        return new

    def step_list(self, steps: int) -> list[int]:
        return list(self.steps) if self.steps is not None else list(range(steps))

    def shown_steps(self, steps: int) -> tuple[list[int], bool]:
        """The steps to show in full, and whether the rest are summarised."""
        if self.steps is not None or steps <= self.summary_after:
            return self.step_list(steps), False
        return [0, 1, steps - 1], True

    def batch_list(self, batch: int) -> list[int]:
        return list(self.batch) if self.batch is not None else [0]
