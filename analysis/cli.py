"""The ``einsim`` command line. Each command group lives in its own ``cli_*`` module with a ``register`` function."""

from __future__ import annotations

import argparse
import importlib
import sys

from einsim.workloads.errors import SpecError

__all__ = ["main"]

# Command groups, each a module exposing register(subparsers). Order is the order shown in --help.
_COMMAND_MODULES = (
    "einsim.analysis.cli_workload",
    "einsim.analysis.cli_evaluate",
    "einsim.analysis.cli_simulate",
    "einsim.analysis.cli_study",
    "einsim.analysis.cli_kernel",
    "einsim.analysis.cli_rtl",
    "einsim.analysis.cli_dram",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="einsim",
        description="Simulate and explore deep-learning accelerators running cascades of Extended Einsums.",
    )
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


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except SpecError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
