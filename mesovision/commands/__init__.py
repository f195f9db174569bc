"""One module per ``mesovision`` sub-command.

Each module defines ``add_parser(sub)``, which adds its sub-parser and sets ``run`` (a function of
the parsed arguments returning the exit code) with ``set_defaults``. Modules import nothing heavy at
module level: ``mesovision --version`` and ``--help`` must answer without loading MediaPipe or
OpenCV. A new command is a new module listed here. Helpers shared by the commands are in
:mod:`mesovision.commands.common`.
"""

__all__ = ["COMMAND_MODULES"]

COMMAND_MODULES = (
    "align",
    "compare",
    "metrics",
    "demo",
    "report",
    "patient",
    "session",
    "progress",
    "export",
    "check",
    "batch",
    "stats",
    "share",
    "store",
    "serve",
)
