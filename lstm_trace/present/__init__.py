"""`lstm-trace present`: the trace full screen, one step at a time, for a projector or a terminal.

Importing this package imports Textual; the command line imports it only for `present`.
"""

from .app import PresentApp

__all__ = ["PresentApp"]
