"""The ``einsim`` command line. Each command group lives in its own ``cli_*`` module with a ``register`` function.

Exit status: 0 done; 1 bad input (a spec or command-line mistake, one ``file:line key: message`` line each);
2 a well-formed point that cannot run (infeasible); 70 an internal error (a bug: one line, the traceback only with
``--debug`` or ``EINSIM_DEBUG=1``); 130 interrupted (Ctrl-C); 141 the reader of the output went away (``| head``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

__all__ = ["main", "build_parser", "EXIT_BAD_INPUT", "EXIT_INFEASIBLE", "EXIT_INTERNAL"]

EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_PIPE = 1, 2, 70, 130, 141
REPORT_TO = "the einsim issue tracker (include the command line and einsim --debug's traceback)"

# Command groups, each a module exposing register(subparsers). Order is the order shown in --help.
_COMMAND_MODULES = (
    "einsim.analysis.cli_workload",
    "einsim.analysis.cli_evaluate",
    "einsim.analysis.cli_simulate",
    "einsim.analysis.cli_map",
    "einsim.analysis.cli_study",
    "einsim.analysis.cli_sweep",
    "einsim.analysis.cli_report",
    "einsim.analysis.cli_kernel",
    "einsim.analysis.cli_rtl",
    "einsim.analysis.cli_dram",
)


class _UsageError(Exception):
    """A command-line mistake found by argparse (unknown option, bad value): one line, exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="einsim",
        description="Simulate and explore deep-learning accelerators running cascades of Extended Einsums.",
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not built yet in this checkout
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    """Run one command; return its exit status (never raises, except SystemExit from --help/--version)."""
    debug = os.environ.get("EINSIM_DEBUG", "") not in ("", "0") or "--debug" in (sys.argv[1:] if argv is None
                                                                                 else argv)
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        return _run(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_PIPE
    except Exception as exc:  # a bug: one line, the traceback on request
        if debug:
            import traceback

            traceback.print_exc()
        where = _where(exc)
        print(f"internal error: {type(exc).__name__}: {str(exc)[:300]}{where}; please report it to {REPORT_TO}"
              + ("" if debug else "; rerun with --debug (or EINSIM_DEBUG=1) for the traceback"), file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(argv) -> int:
    from einsim.workloads.errors import SpecError

    argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--debug"]
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        code = args.func(args)
        sys.stdout.flush()
    except SpecError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return int(code or 0)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _where(exc: BaseException) -> str:
    """`` (at file.py:123 in fn)``: the innermost frame of the traceback, for the one-line report."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    code = tb.tb_frame.f_code
    return f" (at {os.path.basename(code.co_filename)}:{tb.tb_lineno} in {code.co_name})"


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that Python's exit flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
