"""The dependency graph of a cascade's Einsums (networkx), with loop-carried edges marked."""

from __future__ import annotations

import networkx as nx

from .cascade import Cascade, is_carried

__all__ = ["dependency_graph"]


def dependency_graph(cascade: Cascade) -> nx.DiGraph:
    """A DiGraph over Einsum names: an edge producer -> consumer per tensor read.

    Edge attributes: ``tensor`` (the tensor read) and ``carried`` (True when the consumer reads the previous iterate
    of an iterated tensor, so the edge points back in time and is not an ordering constraint within an iterate).
    Node attributes: ``einsum`` (the Einsum).
    """
    g = nx.DiGraph(name=cascade.name)
    names = {e.name for e in cascade.einsums}
    for e in cascade.einsums:
        g.add_node(e.name, einsum=e)
    for e in cascade.einsums:
        for op in e.inputs:
            if op.tensor in names:
                g.add_edge(op.tensor, e.name, tensor=op.tensor,
                           carried=is_carried(op, cascade.iterated.get(op.tensor)))
    return g
