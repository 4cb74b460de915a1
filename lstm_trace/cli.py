"""The command line: thin commands over load → trace → render; the only place that writes.

Exit status: 0 done (or every expected value matched), 1 an expected value
did not match, 2 the scenario or the command line is wrong, or the output
cannot be written.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, NoReturn, cast

import click
from click.core import ParameterSource
from rich.console import Console
from rich.text import Text

from . import __version__
from .errors import ScenarioError, printable
from .output import Output, OutputError, encoding_of, fallback
from .render.numbers import AUTO, for_dtype
from .render.selection import Selection, SelectionError, parse_ranges, parse_spans
from .trace import Trace


class ExitStatus(enum.IntEnum):
    OK = 0
    MISMATCH = 1
    ERROR = 2


FORMATS = ("terminal", "markdown", "json", "html", "terminal-html", "svg", "diagram")
PER_STEP = {"diagram": "diagram", "svg": "trace"}  # formats --out-dir writes one file per step of: the file names
EXPORT_WIDTH = 140  # terminal-html is a page, not a terminal: a width that fits one
SLIDE_WIDTH = 120  # svg is a slide: 120 columns hold 4 gate blocks of 3 units side by side, ~17 px at 1280×720


MIN_WIDTH, MAX_WIDTH = 40, 1000  # the widths --width accepts; COLUMNS and the terminal's are held to them


def _console(width: int | None, stderr: bool = False) -> Console:
    """The Console, writing through `Output` (ASCII stand-ins where the encoding needs them).

    rich itself honours NO_COLOR, COLUMNS and a non-TTY stdout (no colour, width 80); a width from COLUMNS
    or the terminal outside what --width accepts is held to it: COLUMNS=1 draws 40 columns, not one.
    """
    file = cast(IO[str], Output(sys.stderr if stderr else sys.stdout))  # a text stream in all rich uses of it
    console = Console(file=file, width=width, highlight=False, soft_wrap=False)
    if width is None:
        console.width = min(max(console.width, MIN_WIDTH), MAX_WIDTH)
    return console


def _say(message: str) -> None:
    """One line on stderr: control characters from the input made visible, symbols the encoding lacks in ASCII.
    A stderr that cannot be written to is left alone: there is nowhere else to say it."""
    with contextlib.suppress(OSError, ValueError):
        click.echo(fallback(printable(message), encoding_of(sys.stderr)), err=True)


def _fail(message: str, status: ExitStatus = ExitStatus.ERROR) -> NoReturn:
    _say(f"error: {message}")
    sys.exit(status)


class _Main(click.Group):
    """The command group: output that cannot be written ends any command with one message and exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:  # click's own --help, --version or usage text, to a full disk
            if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
                raise
            _discard_stdout()
            _fail(f"cannot write to standard output: {exc.strerror}")

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OutputError as exc:
            _discard_stdout()
            _fail(str(exc))


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for it must not fail again when Python exits."""
    with contextlib.suppress(AttributeError, OSError, ValueError):  # no stdout, or not a file (tests)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _selection(steps: str | None, batch: str | None, units: str | None, precision: int, full: bool) -> Selection:
    """The selection's options, its --steps, --batch and --units checked for form now, before the scenario is
    read; they are resolved against the trace's sizes by `_fitted`, so no list is built beyond them."""
    try:
        for text, what in ((steps, "steps"), (batch, "batch"), (units, "units")):
            if text:
                parse_spans(text, what)
    except SelectionError as exc:
        _fail(str(exc))
    return Selection(precision=precision, full=full)


def _fitted(sel: Selection, tr: Trace, steps: str | None = None, batch: str | None = None,
            units: str | None = None) -> Selection:  # fmt: skip
    """The selection for this trace: digits for its dtype, and the picks read against its sizes (exit 2 beyond)."""
    run0 = tr.first
    sizes = (run0.steps, run0.h.shape[1], run0.cell.units)
    try:
        picks = [
            tuple(parse_ranges(text, what, size)) if text else getattr(sel, what)
            for text, what, size in zip((steps, batch, units), ("steps", "batch", "units"), sizes, strict=True)
        ]
        sel = replace(sel, precision=for_dtype(sel.precision, tr.scenario.dtype), steps=picks[0], batch=picks[1],
                      units=picks[2])  # fmt: skip
        return sel.checked(*sizes)
    except SelectionError as exc:
        _fail(str(exc))


def _load_and_trace(path: str, exact: bool = False, max_memory: int | None = None, view: str | None = None,
                    model: tuple[str | None, Any] | None = None) -> Trace:  # fmt: skip
    """The scenario at `path`, traced; refused (exit 2) when it is wrong, or when what the trace and `view`
    would take is over `max_memory` (default: half the available memory), before anything runs. A model
    file is read as `import` reads it, `model` giving (--layer, its inputs)."""
    from .api import trace
    from .budget import check
    from .scenario import Scenario, load

    try:
        if model is not None:
            from .models.importing import import_layer

            imported = import_layer(path, model[0], model[1], "")
            scenario = Scenario.from_dict(dict(imported.data), source=imported.model.path, exact=exact)
        else:
            scenario = load(path, exact=exact)
        check(scenario.network, max_memory, backward=scenario.backward is not None, view=view, file=scenario.source)
        return trace(scenario, max_memory=max_memory)
    except ScenarioError as exc:
        _fail(exc.format())
    except MemoryError as exc:  # what the estimate cannot see: an array the layer's build itself asks for
        _fail(f"{path}: not enough memory to build the layer: {exc or 'an allocation failed'}\n"
              "  hint: trace a smaller case: fewer batch rows, steps or units")  # fmt: skip


def _write(chunks: Iterable[str], utf8: bool = False) -> None:
    """Text to standard output; with `utf8`, a format that declares its encoding UTF-8 (JSON, HTML, SVG, a
    scenario's YAML) is written in UTF-8 whatever the terminal's, and others get ASCII stand-ins if needed."""
    out = Output(sys.stdout)
    for chunk in chunks:
        if utf8:
            out.write_utf8(chunk)
        else:
            out.write(chunk)
    out.flush()


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lstm-trace")
def main() -> None:
    """See every number an LSTM, GRU or simple RNN computed, step by step.

    A scenario file (YAML) gives the layer in its framework's own words: the
    config, the weights by their own names and shapes, and the inputs. `run`
    shows each step's products x·W, h·U and + b, every gate's pre-activation
    and activation, and the state update, with the numbers; `check` compares
    the values you worked out by hand (the scenario's `expect` block).

    Frameworks: keras (Keras 3), keras2 (tf.keras), torch (a state_dict),
    tf1 (tf.compat.v1 cells under dynamic_rnn) and onnx (the LSTM, GRU and
    RNN operators); bundled examples are in scenarios/.

    \b
    Examples:
      lstm-trace run scenarios/seed.yaml
      lstm-trace run scenario.yaml --steps 1,3-5 --units 1-4
      lstm-trace run scenario.yaml --format markdown > handout.md
      lstm-trace run scenario.yaml --exact          # fractions: 0.1 is 1/10
      lstm-trace check homework.yaml
    """


class PrecisionType(click.ParamType):
    """--precision: digits after the point (0 to 17), or `auto` for the shortest that read back."""

    name = "DIGITS|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return AUTO
        try:
            digits = int(text)
        except ValueError:
            self.fail(f"{value!r} is neither a number of digits (0 to 17) nor 'auto'", param, ctx)
        if not 0 <= digits <= 17:
            self.fail(f"{digits} is not in the range 0 to 17 (or 'auto')", param, ctx)
        return digits


class SizeType(click.ParamType):
    """--max-memory: bytes, or a number with K, M, G or T (in 1024s): 500M, 2G, 1.5G."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from .budget import parse_size

        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_max_memory = click.option(
    "--max-memory", type=SizeType(), metavar="SIZE",
    help="The most memory the trace may take: 500M, 2G, ... (K, M, G, T count in 1024s). Default: half the "
    "memory available. A scenario whose trace would take more is refused (exit 2) with the estimate, before "
    "anything runs.",
)  # fmt: skip
_steps = click.option(
    "--steps",
    metavar="LIST",
    help="Steps to show in full, counted from 1: '1,3-5', or 'all'. Default: all, or for more than 12 steps "
    "the first two and the last, with every step at a glance.",
)
_batch = click.option("--batch", metavar="LIST", help="Batch rows to show, from 1: '2' or '1-4'. Default: row 1.")
_units = click.option("--units", metavar="LIST", help="Units to show, from 1: '1,3'. Default: what fits the width.")
_precision = click.option(
    "--precision", type=PrecisionType(), default=4, show_default=True,
    help="Digits after the point for non-integral values (integral values always print exactly), or 'auto': "
    "each value with the shortest digits that read back to it in the scenario's dtype (float32 0.1 prints 0.1).",
)  # fmt: skip
EXACT_HELP = (
    "Compute with fractions, every number as written: 0.1 is 1/10 (YAML numbers and .csv cells by their text; "
    ".npy/.npz floats by the shortest decimal that reads back to the stored value). Values print as integers "
    'or p/q (-3/10); JSON writes an integer or a string "p/q". Only for layers whose activations fractions can '
    "compute: linear, relu, relu6, hard_sigmoid, hard_tanh, hard_silu (hard_swish), leaky_relu, softsign, "
    "sparse_sigmoid, sparse_plus, soft_shrink, hard_shrink; ONNX Relu, Affine, LeakyRelu, ThresholdedRelu, "
    "HardSigmoid, Softsign; torch nn.RNN with nonlinearity relu. Any other (sigmoid, tanh, elu, softmax, ...), "
    "NaN or inf is refused with exit 2."
)
_exact = click.option("--exact", is_flag=True, help=EXACT_HELP)

_output = click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
_force = click.option("--force", is_flag=True, help="With -o: overwrite the file if it exists.")
_layer = click.option(
    "--layer", metavar="NAME",
    help="Which recurrent layer of a model file: the Keras layer name, the torch module prefix or the ONNX node "
    "name (listed when the file holds several; a Keras chain of layers feeding each other as 'a,b').",
)  # fmt: skip
_inputs = click.option(
    "--inputs", "inputs_file", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
    help="A model file's inputs: .npy or .csv, (T, F) or (B, T, F). Default: made-up inputs (see --random).",
)  # fmt: skip
_random = click.option(
    "--random", "random_steps", type=click.IntRange(1, 10_000), default=3, show_default=True, metavar="T",
    help="Without --inputs: T steps of seeded random inputs in [-1, 1] (one batch row; --seed picks them).",
)  # fmt: skip
_model_seed = click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=1, show_default=True,
                           help="The random inputs' seed.")  # fmt: skip


def _model_inputs(inputs_file: str | None, random_steps: int, seed: int) -> Any:
    from .models.importing import Inputs

    return Inputs(Path(inputs_file) if inputs_file else None, steps=random_steps, seed=seed)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=True, allow_dash=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="terminal",
    show_default=True,
    help="terminal: tables for reading; markdown: pipe tables for handouts; json: every value; "
    "html: the interactive page, one offline file (every step, hover a number for its arithmetic, edit any "
    "weight or input; --steps, --batch and --units pick where it opens); terminal-html, svg: the terminal "
    "trace in colour as a page or a picture, for slides (width 140 unless --width); "
    "diagram: the cell drawn with one step's numbers, an SVG for a 16:9 slide (--steps picks the step, "
    "--batch the row, --units up to 4 units; default: the first step, the whole vectors when there are at "
    "most 4 units, else unit 1).",
)
@_steps
@_batch
@_units
@_precision
@_exact
@click.option("--full", is_flag=True, help="Show every unit and feature, however wide.")
@click.option(
    "--weights/--no-weights",
    default=True,
    show_default=True,
    help="Show the weights as they enter x·W and h·U (elided when large, like the steps).",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Write every equation of every shown unit in symbols, then with its numbers, then the result: "
    "f₁[2] = σ(x₁·W_f[:,2] + h₀·U_f[:,2] + b_f[2]) = σ(0.3 + 0 + 1) = σ(1.3) = 0.7858; h·U is expanded like x·W.",
)
@click.option("--width", type=click.IntRange(40, 1000), help="Terminal width (default: the terminal's, or COLUMNS).")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, dir_okay=True, writable=True),
    metavar="DIR",
    help="With --format diagram or svg: write one SVG per selected step into DIR (created if missing) "
    "instead of one to standard output, for slides: diagram-step-01.svg, ... (diagram-backward-step-01.svg, ... "
    "with --pass backward) or trace-step-01.svg, ... Default steps: all.",
)
@click.option(
    "--pass",
    "passes",
    type=click.Choice(("forward", "backward", "both")),
    help="Show the forward steps, the backward pass (needs the scenario's backward block: each step's δ's, "
    "last step first, and the gradients), or both. Default: both where the scenario has a backward block, else "
    "forward. JSON always holds both. --format diagram draws one pass (default forward): backward writes each "
    "value's δ on the picture; both is refused.",
)
@_max_memory
@_layer
@_inputs
@_random
@_model_seed
def run(
    scenario: str,
    fmt: str,
    steps: str | None,
    batch: str | None,
    units: str | None,
    precision: int,
    exact: bool,
    full: bool,
    weights: bool,
    explain: bool,
    width: int | None,
    out_dir: str | None,
    passes: str | None,
    max_memory: int | None,
    layer: str | None,
    inputs_file: str | None,
    random_steps: int,
    seed: int,
) -> None:
    """Trace SCENARIO and show every step's arithmetic.

    SCENARIO may also be a model file (.keras, .h5, .pt, .pth, .safetensors,
    .onnx): one layer of it is traced as `lstm-trace import` would write it
    (--layer, --inputs, --random, --seed).

    Wide layers are elided in the middle of each gate block (…) to fit the
    terminal; --units picks units, --full shows all, --format markdown never
    elides. --exact computes with fractions (see its help); --format json then
    writes every value as an integer or a string "p/q".
    """
    sel = replace(_selection(steps, batch, units, precision, full), weights=weights, explain=explain)
    if fmt == "svg":  # a slide: one step unless --steps says more, the weights only when asked for
        asked = click.get_current_context().get_parameter_source("weights") is ParameterSource.COMMANDLINE
        sel = replace(sel, slide=True, steps=sel.steps or (0,), weights=weights and asked)
    if out_dir is not None and fmt not in PER_STEP:
        _fail("--out-dir writes one file per step for --format diagram or --format svg")
    if fmt == "diagram" and passes == "both":
        _fail("--format diagram draws one picture of one pass: pick --pass forward or --pass backward")
    tr = _load_and_trace(scenario, exact, max_memory, fmt if fmt in ("json", "html") else None,
                         _model_options(scenario, layer, inputs_file, random_steps, seed))  # fmt: skip
    shown = _passes(tr, passes or ("forward" if fmt == "diagram" else None))
    sel = _fitted(sel, tr, steps, batch, units)
    if fmt == "json":
        from .render.jsonout import iter_json

        _json_note(("units", "batch", "precision", "full", "explain", "weights", "width"), RUN_JSON)
        _write(iter_json(tr, list(sel.steps) if sel.steps is not None else None), utf8=True)
    elif fmt == "markdown":
        from .render.markdown import render_markdown

        _write(line + "\n" for line in render_markdown(tr, sel, passes=shown))
    elif out_dir is not None:
        _write_steps(tr, sel, fmt, out_dir, width or (SLIDE_WIDTH if fmt == "svg" else EXPORT_WIDTH), shown)
    elif fmt == "diagram":
        if sel.steps is not None and len(sel.steps) > 1:
            _fail("--format diagram draws one step: pick one with --steps t, or write one per step with --out-dir DIR")
        _write([_diagram(tr, sel, sel.steps[0] if sel.steps else 0, shown == ("backward",))], utf8=True)
    elif fmt == "html":
        _write([_page(tr, sel)], utf8=True)
    elif fmt == "svg":
        _write([_slide(tr, sel, width or SLIDE_WIDTH, shown)], utf8=True)
    elif fmt == "terminal-html":
        _write([_export(tr, sel, fmt, width or EXPORT_WIDTH, shown)], utf8=True)
    else:
        from .render.terminal import TraceView, batched

        console = _console(width)
        for parts in batched(TraceView(tr, sel, shown).parts(console.width)):  # printed as produced: long traces stream
            console.print(parts, crop=False)


def _model_options(path: str, layer: str | None, inputs_file: str | None, random_steps: int, seed: int) -> Any:
    """(--layer, inputs) when `path` is a model file; None for a scenario, where those options are refused."""
    from .models import is_model_file

    if is_model_file(path):
        return layer, _model_inputs(inputs_file, random_steps, seed)
    given = click.get_current_context().get_parameter_source
    for name, option in (("layer", "--layer"), ("inputs_file", "--inputs"), ("random_steps", "--random")):
        if given(name) is ParameterSource.COMMANDLINE:
            _fail(f"{option} picks from a model file (.keras, .h5, .pt, .pth, .safetensors, .onnx); "
                  f"{path} is a scenario")  # fmt: skip
    return None


RUN_JSON = "which holds every step's values for every unit and batch row in full (--steps picks the steps)"


def _json_note(options: tuple[str, ...], what_json_holds: str) -> None:
    """Say which of `options`, given on the command line, JSON does not use, rather than ignore them."""
    ctx = click.get_current_context()
    given = [f"--{name}" for name in options if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
    if given:
        verb = "does" if len(given) == 1 else "do"
        _say(f"note: {', '.join(given)} {verb} not apply to --format json, {what_json_holds}")


def _page(tr: Trace, sel: Selection) -> str:
    """The interactive page, opening at the first step, batch row and unit the selection names."""
    from .page.build import render_page

    if tr.scenario.exact:
        _fail("the page computes in floating point: leave out --exact for --format html")
    first = [1 + (picks[0] if picks else 0) for picks in (sel.steps, sel.batch, sel.units)]
    return render_page(tr, start=dict(zip(("t", "b", "u"), first, strict=True)))


def _diagram(tr: Trace, sel: Selection, step: int, backward: bool = False) -> str:
    """The cell drawn at one step (0-based) for the one batch row selected, with its δ's when `backward`."""
    from .render.diagram import DiagramError, render_diagram

    if sel.batch is not None and len(sel.batch) > 1:
        _fail("--format diagram draws one batch row: pick one with --batch")
    try:
        return render_diagram(tr, step, sel.batch[0] if sel.batch else 0, sel.units, sel.precision, backward=backward)
    except DiagramError as exc:
        _fail(str(exc))


def _write_steps(tr: Trace, sel: Selection, fmt: str, out_dir: str, width: int, passes: tuple[str, ...]) -> None:
    """--out-dir: one SVG per selected step, named by the step (diagram-step-01.svg), each path said as written."""
    from pathlib import Path

    steps = sel.step_list(tr.first.steps)
    digits = max(2, len(str(tr.first.steps)))
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(f"cannot create --out-dir {out_dir}: {exc.strerror or exc}")
    backward = fmt == "diagram" and passes == ("backward",)
    name = PER_STEP[fmt] + ("-backward" if backward else "")
    for s in steps:
        svg = (
            _diagram(tr, sel, s, backward) if fmt == "diagram" else _slide(tr, replace(sel, steps=(s,)), width, passes)
        )
        path = folder / f"{name}-step-{s + 1:0{digits}d}.svg"
        try:
            path.write_text(svg, encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {path}: {exc.strerror or exc}")
        _write([f"{path}\n"])


def _slide(tr: Trace, sel: Selection, width: int, passes: tuple[str, ...]) -> str:
    """The terminal trace of the selected steps as a 16:9 slide; says so when its text is too small to read."""
    from .render.slides import READABLE_PX, as_slide

    slide = as_slide(_export(tr, sel, "svg", width, passes))
    if slide.text_px < READABLE_PX:
        _say(
            f"note: the text of this slide is {slide.text_px:.0f} px on a 1280×720 slide; fewer steps (--steps), "
            "--no-weights, a narrower --width, or one step per file (--out-dir DIR) make it larger"
        )
    return slide.svg


def _passes(tr: Trace, passes: str | None) -> tuple[str, ...]:
    """--pass as the views take it; the backward pass needs the scenario's backward block."""
    if passes is None:
        return ("forward", "backward") if tr.gradients is not None else ("forward",)
    if passes != "forward" and tr.gradients is None:
        name = next(iter(tr.outputs))
        block = f"backward: {{loss: sum, of: {name}}}   # L = Σ {name}; or {{{name}: [...]}}, dL/d{name} given"
        _fail(f"--pass {passes}: the scenario has no backward block to take gradients from; add one, e.g.\n  {block}")
    return ("forward", "backward") if passes == "both" else (passes,)


def _export(tr: Trace, sel: Selection, fmt: str, width: int, passes: tuple[str, ...]) -> str:
    """The terminal trace recorded off-screen and exported as one HTML page or SVG; the export keeps every style."""
    import io

    from .render.terminal import TraceView, batched

    console = Console(width=width, file=io.StringIO(), record=True, highlight=False)
    for parts in batched(TraceView(tr, sel, passes).parts(console.width)):
        console.print(parts, crop=False)
    if fmt == "terminal-html":
        return console.export_html(inline_styles=True)
    title = tr.scenario.title or tr.scenario.header
    return console.export_svg(title=f"lstm-trace · {title}")


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=True, allow_dash=False))
@_batch
@_units
@_precision
@_max_memory
def present(scenario: str, batch: str | None, units: str | None, precision: int, max_memory: int | None) -> None:
    """Present SCENARIO full screen, one step at a time, for a class or a projector.

    \b
    Keys: → space n  next step       ← p  back       home/end  first/last
          u  follow one unit (u again: the next; 1-9 picks one)
          d  the cell's diagram with the step's numbers
          b  the backward pass (with a backward block): its δ's, t = T first; b again: forward
          l  next layer or direction  r  next batch row  q  quit
    """
    sel = _selection(None, batch, units, precision, False)
    tr = _load_and_trace(scenario, max_memory=max_memory)
    sel = _fitted(sel, tr, None, batch, units)
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout)):  # None: closed
        _fail("present needs a terminal; `lstm-trace run` writes the trace to a file or a pipe")
    from .present import PresentApp  # Textual is imported only here: the other commands start fast

    app = PresentApp(tr, sel)
    app.run()
    sys.exit(app.return_code or ExitStatus.OK)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=True, allow_dash=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("terminal", "json")),
    default="terminal",
    show_default=True,
    help="terminal: ✓/✗ per value with the arithmetic and the mistake; json: the report as data.",
)
@_precision
@_exact
@click.option("--width", type=click.IntRange(40, 1000), help="Terminal width (default: the terminal's, or COLUMNS).")
@_max_memory
def check(scenario: str, fmt: str, precision: int, exact: bool, width: int | None, max_memory: int | None) -> None:
    """Compare the values you worked out (SCENARIO's `expect` block) with the trace.

    Each value gets ✓ (right), ✗ (wrong) or ~ (carried: wrong only because an
    earlier value of yours was wrong, and right from it). A wrong value is shown
    at its first wrong unit with the arithmetic that gives the right one, and
    the mistake is named when a known one reproduces your numbers: the output
    gate left out, a bias forgotten, the gate blocks read in another
    framework's order, a value rounded too far, one slip carried forward, ...
    Exit 0 when all match, 1 on a mismatch, 2 when the scenario is wrong.
    With --exact, your values are fractions as written too, compared exactly
    within the tolerance (tolerance: 0 asks for equality).
    """
    from .check import check as run_check

    tr = _load_and_trace(scenario, exact, max_memory, "check")
    precision = for_dtype(precision, tr.scenario.dtype)
    try:
        report = run_check(tr, precision)
    except ScenarioError as exc:
        _fail(exc.format())
    if fmt == "json":
        import json

        from .check import as_json

        _json_note(("precision", "width"), "which holds every value in full")
        _write([json.dumps(as_json(report, tr)) + "\n"], utf8=True)
    else:
        from .render.report import ReportView

        console = _console(width)
        for warning in tr.warnings:
            console.print(Text("⚠ " + warning, style="bold yellow"))
        console.print(ReportView(report, tr, precision))
    sys.exit(ExitStatus.OK if report.ok else ExitStatus.MISMATCH)


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=True, allow_dash=False))
@click.option(
    "--blank",
    "blanks",
    required=True,
    metavar="NAMES",
    help="Quantities to leave blank, comma-separated, as `expect` names them: h, c, the gates (i f g o, "
    "z r n), their sums (pre_i, ...), a framework's own block names (TF1's j).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("markdown", "html")),
    default="markdown",
    show_default=True,
    help="markdown: to edit or print; html: one printable page (no script, styles inline).",
)
@_steps
@_batch
@_units
@_max_memory
def worksheet(scenario: str, blanks: str, fmt: str, steps: str | None, batch: str | None, units: str | None,
              max_memory: int | None) -> None:  # fmt: skip
    """A worksheet: the trace of SCENARIO with the --blank quantities left blank.

    Each blank is one quantity at one step (h at t = 2), empty wherever it is
    printed for the chosen steps: table cells, equation results, the next
    step's given state, the returns. At the end: how to check the answers (an
    `expect` block to fill in, for `lstm-trace check`) and the answer key.

    \b
    Examples:
      lstm-trace worksheet scenarios/seed_three_steps.yaml --blank h,c,o > sheet.md
      lstm-trace worksheet scenario.yaml --blank pre_i,i --steps 1-2 --format html > sheet.html
    """
    from .render.worksheet import Worksheet, blank_names

    sel = _selection(steps, batch, units, 4, False)
    tr = _load_and_trace(scenario, max_memory=max_memory)
    sel = _fitted(sel, tr, steps, batch, units)
    try:
        names = blank_names(tr.scenario.network, [name.strip() for name in blanks.split(",") if name.strip()])
        sheet = Worksheet(tr, names, sel, scenario)
    except SelectionError as exc:
        _fail(str(exc))
    except ScenarioError as exc:
        _fail(exc.format())
    if fmt == "html":
        from .render.printable import page

        _write([page(sheet.lines(), f"worksheet · {tr.scenario.title or tr.scenario.header}")], utf8=True)
    else:
        _write(line + "\n" for line in sheet.lines())


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=False, exists=True))
@click.option("--to", "target", type=click.Choice(("keras", "keras2", "torch", "tf1", "onnx")), required=True,
              help="The framework whose words to write the layer in.")  # fmt: skip
@click.option(
    "--weights-out", type=click.Path(dir_okay=False), metavar="FILE",
    help="Also write the weights ready to load: torch a state_dict as .safetensors (load_state_dict), keras and "
    "keras2 the set_weights() arrays as .npz, onnx a model holding the node (.onnx), tf1 the variables by name "
    "as .npz.",
)  # fmt: skip
@_layer
@_inputs
@_random
@_model_seed
@_output
@_force
def convert(scenario: str, target: str, weights_out: str | None, layer: str | None, inputs_file: str | None,
            random_steps: int, seed: int, output: str | None, force: bool) -> None:  # fmt: skip
    """Write SCENARIO's layer in another framework's words, proved equal first.

    Transposes, gate orders, bias splits, forget_bias, GRU layouts, directions,
    layers and initial-state shapes are translated; then both scenarios are
    traced and every step's h and c of every layer and direction compared,
    and only an equal pair is written (the file's header gives the largest
    difference). What the target cannot express (Keras: peepholes, cell_clip,
    projection; torch: reset_after false, peepholes; ...) is refused, exit 2,
    naming every such option. SCENARIO may be a model file (--layer, --inputs).

    \b
    Examples:
      lstm-trace convert seed.yaml --to torch -o seed_torch.yaml
      lstm-trace convert model.pt --layer lstm --to onnx -o lstm.yaml --weights-out lstm.onnx
    """
    from .convert import NotEqual
    from .convert import convert as run_convert
    from .scenario_text import scenario_text

    _writable(output, force)
    tr = _load_and_trace(scenario, model=_model_options(scenario, layer, inputs_file, random_steps, seed))
    source = tr.scenario
    try:
        converted = run_convert(source, target)
        if weights_out is not None:
            from .models.weights_out import write_weights

            loading = write_weights(converted.data, target, Path(weights_out))
    except ScenarioError as exc:
        _fail(exc.format())
    except NotEqual as exc:  # a defect of ours: nothing is written
        _fail(f"the {target} scenario traces to other numbers than {scenario} ({exc}); nothing was written",
              ExitStatus.MISMATCH)  # fmt: skip
    header = [
        f"{source.framework} {source.layer} from {Path(scenario).name}, in {target}'s words.",
        f"Made by: lstm-trace convert {_quoted(sys.argv[2:])}",
        f"Proved equal before writing: every step's h and c of every layer and direction ({converted.compared} "
        f"values) agree within {source.dtype}'s tolerance; "
        + (
            f"the largest relative difference is {converted.difference:.2g}."
            if converted.difference
            else "they are equal bit for bit."
        ),
        *converted.notes,
    ]
    if weights_out is not None:
        header.append(f"Weights ready to load: {Path(weights_out).name} ({loading}).")
    _save(scenario_text(converted.data, header), output, f": run it with lstm-trace run {_quoted([output])}"
          if output else "")  # fmt: skip


@main.command()
@click.argument("scenario", type=click.Path(dir_okay=True, allow_dash=False))
@click.option(
    "--tolerance", type=click.FloatRange(min=0), metavar="REL",
    help="Relative tolerance: a value is equal when |ours − framework's| ≤ REL/10 + REL·|framework's|. "
    "Default: 1e-5 for float32, 1e-12 for float64.",
)  # fmt: skip
@click.option("--width", type=click.IntRange(40, 1000), help="Terminal width (default: the terminal's, or COLUMNS).")
@_max_memory
@_layer
@_inputs
@_random
@_model_seed
def verify(scenario: str, tolerance: float | None, width: int | None, max_memory: int | None, layer: str | None,
           inputs_file: str | None, random_steps: int, seed: int) -> None:  # fmt: skip
    """Run SCENARIO in its real framework and compare every output with the trace.

    The framework (torch, keras, tf_keras, TensorFlow's TF1 cells, onnxruntime)
    must be installed; it builds the layer from the scenario's own config,
    weights and inputs. Every output is compared, and each step's h and c where
    the framework exposes them (its cell stepped in a loop). Prints ✓ or ✗ per
    output with its largest difference, and at a ✗ the first different value.
    Exit 0 when all are equal within the tolerance, 1 when one differs, 2 when
    the framework is not installed (naming what to pip install), cannot run the
    scenario, or the scenario is wrong. SCENARIO may be a model file: one layer of
    it is run as `lstm-trace import` writes it (--layer, --inputs, --random, --seed).
    """
    from .verify import ReportView, VerifyError, verify_trace  # the framework itself is imported only in there

    tr = _load_and_trace(scenario, max_memory=max_memory,
                         model=_model_options(scenario, layer, inputs_file, random_steps, seed))  # fmt: skip
    try:
        report = verify_trace(tr, tolerance)
    except VerifyError as exc:
        _fail(str(exc))
    _console(width).print(ReportView(report))
    sys.exit(ExitStatus.OK if report.ok else ExitStatus.MISMATCH)


@main.command("new")
@click.option(
    "--framework",
    type=click.Choice(("keras", "keras2", "torch", "tf1", "onnx")),
    default="keras",
    show_default=True,
    help="Whose words the scenario is written in.",
)
@click.option(
    "--layer",
    metavar="NAME",
    help="The layer, in the framework's own name (case-insensitive): keras, "
    "keras2 LSTM, GRU, SimpleRNN; torch, onnx LSTM, GRU, RNN; tf1 BasicLSTMCell, LSTMCell, GRUCell, "
    "BasicRNNCell. Default: the first of these.",
)
@click.option("--units", type=click.IntRange(1, 64), default=2, show_default=True, help="Units (hidden size).")
@click.option("--features", type=click.IntRange(1, 64), default=2, show_default=True, help="Input features F.")
@click.option("--steps", type=click.IntRange(1, 100), default=3, show_default=True, help="Time steps T.")
@click.option("--batch", type=click.IntRange(1, 16), default=1, show_default=True, help="Batch rows B.")
@click.option(
    "--integers",
    is_flag=True,
    help="Integer weights and inputs and linear activations, so every number "
    "is an integer; where the gates are always σ (torch LSTM/GRU, tf1 LSTM/GRU cells) weights in tenths.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=1,
    show_default=True,
    help="The random seed: the same command writes the same file.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--force", is_flag=True, help="With -o: overwrite the file if it exists.")
def new(framework: str, layer: str | None, units: int, features: int, steps: int, batch: int, integers: bool,
        seed: int, output: str | None, force: bool) -> None:  # fmt: skip
    """Write a scenario with small random weights, in a framework's own words, to work by hand.

    The file starts with a comment saying what it is and the command that
    made it (seed included: run it again for the same file).

    \b
    Examples:
      lstm-trace new --integers > mine.yaml     # Keras LSTM(2), 2 features, 3 steps
      lstm-trace new --framework torch --layer GRU --units 3 --seed 7 -o gru.yaml
      lstm-trace new --framework tf1 --layer BasicRNNCell --integers -o rnn.yaml
    """
    from .newscenario import Request, layer_name, scenario_text

    _writable(output, force)
    try:
        name = layer_name(framework, layer)
    except ScenarioError as exc:
        _fail(exc.format())
    _save(scenario_text(Request(framework, name, units, features, steps, batch, integers, seed)), output)


def _writable(output: str | None, force: bool) -> None:
    """-o FILE may be written: it does not exist, or --force says to overwrite it (checked before any work)."""
    if force and output is None:
        _fail("--force only makes sense with -o FILE")
    try:
        exists = output is not None and Path(output).exists()
    except OSError as exc:  # a name too long for the file system, say
        _fail(f"-o: cannot write {output}: {exc.strerror or exc}")
    if exists and not force:
        _fail(f"-o: {output} exists; --force overwrites it")


def _quoted(args: list[str]) -> str:
    import shlex  # only the commands that write a scenario need it

    return " ".join(shlex.quote(a) for a in args)


def _save(text: str, output: str | None, then: str = "") -> None:
    """A scenario's text to -o FILE (saying so on stderr, with what to do next), or to standard output."""
    if output is None:
        _write([text], utf8=True)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"-o: cannot write {output}: {exc.strerror}")
    _say(f"wrote {output}{then}")


@main.command("import")
@click.argument("model", type=click.Path(dir_okay=False, exists=True))
@_layer
@click.option("--list", "listing", is_flag=True, help="List the file's recurrent layers (name, kind, weight shapes).")
@_inputs
@_random
@_model_seed
@_output
@_force
def import_(model: str, layer: str | None, listing: bool, inputs_file: str | None, random_steps: int, seed: int,
            output: str | None, force: bool) -> None:  # fmt: skip
    """Write a scenario for one recurrent layer of a saved MODEL, in its framework's own words.

    MODEL is a Keras 3 .keras, a Keras .h5 (Keras 3 or tf.keras: the file's
    keras_version decides keras or keras2), a torch state_dict (.pt, .pth),
    a .safetensors or an .onnx file. Nothing in the file is executed: Keras
    configs are read as JSON, a torch pickle that is more than a state_dict
    is refused. The scenario's header says where each weight came from and
    what was inferred. Needs: pip install 'lstm-trace[models]'.

    \b
    Examples:
      lstm-trace import model.keras --list
      lstm-trace import model.keras --layer lstm -o lstm.yaml && lstm-trace run lstm.yaml
      lstm-trace import model.pt --layer rnn --inputs x.npy -o rnn.yaml
    """
    from .models import read_model
    from .models.importing import import_layer

    _writable(output, force)
    try:
        if listing:
            found = read_model(model)
            head = printable(f"{found.path.name}: {found.format}", one_line=True)
            _write([f"{head}\n", found.listing() + "\n" if found.layers else ""])
            return
        command = "lstm-trace import " + _quoted(sys.argv[2:])
        imported = import_layer(model, layer, _model_inputs(inputs_file, random_steps, seed), command)
    except ScenarioError as exc:
        _fail(exc.format())
    _save(imported.text, output, f": run it with lstm-trace run {_quoted([output])}" if output else "")


if __name__ == "__main__":  # pragma: no cover
    main()
