"""The command vocabulary of the DRAM/PIM model: command codes, PIM program entry kinds, trace columns.

Shared by the kernel, its plain-Python reference, the legality checker and the RTL bench (codes only: each of
them states the timing rules in its own code).

DRAM commands: ACT (open a row in a bank's normal row buffer), PRE (close it), RD / WR (one burst), REF (all-bank
refresh of a rank). PIM commands (NeuPIMs' set): G_ACT (open one row in the PIM row buffer of every bank of a bank
group), G_PRE (close the PIM row buffers of a bank group; NeuPIMs closes them bank by bank), COMP (every bank of
the channel multiplies one column of its open PIM row with the global buffer and accumulates), READRES (read every
bank's accumulator over the data bus and clear it), GWRITE (copy a bank's open normal row into the global buffer).
With one row buffer per bank the "PIM row buffer" is the normal one.

PIM program entries are raw commands (issued in order, each as soon as it is legal) or NeuPIMs' macros:
P_HEADER (opens a GEMV tile on a row: reserves it, checks the refresh deadline, announces its READRES count),
COMPS_READRES (n COMPs then one READRES on the tile's row, G_ACT / G_PRE first as needed) and GWRITE_ROW (a GWRITE
with the ACT / PRE it needs).
"""

from __future__ import annotations

__all__ = ["ACT", "PRE", "RD", "WR", "REF", "G_ACT", "G_PRE", "COMP", "READRES", "GWRITE", "N_COMMANDS",
           "COMMAND_NAMES", "P_HEADER", "COMPS_READRES", "GWRITE_ROW", "ENTRY_NAMES", "TRACE_COLUMNS",
           "command_code", "entry_code", "PIM_COMMANDS", "CHANNEL_WIDE"]

ACT, PRE, RD, WR, REF, G_ACT, G_PRE, COMP, READRES, GWRITE = range(10)
N_COMMANDS = 10
COMMAND_NAMES = ("ACT", "PRE", "RD", "WR", "REF", "G_ACT", "G_PRE", "COMP", "READRES", "GWRITE")
PIM_COMMANDS = (G_ACT, G_PRE, COMP, READRES, GWRITE)
#: commands that address every bank of the channel
CHANNEL_WIDE = (COMP, READRES)

# PIM program entry kinds beyond the raw commands (codes 0..9)
P_HEADER, COMPS_READRES, GWRITE_ROW = 10, 11, 12
ENTRY_NAMES = (*COMMAND_NAMES, "P_HEADER", "COMPS_READRES", "GWRITE_ROW")

#: columns of an issued-command trace (int64 arrays); -1 where a field does not apply (e.g. bank of a G_ACT)
TRACE_COLUMNS = ("cycle", "command", "channel", "rank", "bankgroup", "bank", "row", "column")


def command_code(name: str) -> int:
    """Command code of a name (``"RD"`` -> 2); ValueError listing the names otherwise."""
    try:
        return COMMAND_NAMES.index(name.upper())
    except ValueError:
        raise ValueError(f"command must be one of {', '.join(COMMAND_NAMES)}, not {name!r}") from None


def entry_code(name: str) -> int:
    """PIM program entry code of a name (a raw command or a macro)."""
    try:
        return ENTRY_NAMES.index(name.upper())
    except ValueError:
        raise ValueError(f"PIM entry must be one of {', '.join(ENTRY_NAMES)}, not {name!r}") from None
