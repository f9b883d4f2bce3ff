"""The prefill of requests joining a serving run: their prompts through every layer, batched as an iteration-level
scheduler runs them (Orca, vLLM): one prefill step for all the requests joining at an iteration.

A prefill model preset (``gpt3-7b-prefill``) has two kinds of layers, told apart by their sizes:

- *token-batched* layers (QKV generation, projection, FFN: GEMMs at M = B x S) depend only on the number of prompt
  tokens, so they run once over all the joining prompts together (weights read once); evaluated through their plans
  at multiples of ``quantum`` tokens and interpolated (a GEMM streams its M rows: affine in between);
- *per-request* layers (attention over a prompt: B, M = P = S) run per prompt; evaluated at prompt lengths on the
  anchor grid of :func:`einsim.sim.request_costs.anchors_for` (multiples of the mappings' partition sizes) and
  interpolated, prompts rounded up to whole multiples.

The prefill runs on the units its mapping set binds (the NPU; PIM computes nothing here).
"""

from __future__ import annotations

import math

import numpy as np

from einsim.workloads import load_cascade
from einsim.workloads.models import Model

from .request_costs import anchors_for

__all__ = ["PrefillCost"]


class PrefillCost:
    """Seconds of a prefill step over some prompts on one system: ``seconds(prompts)``."""

    def __init__(self, model: Model, system):
        self.model, self.system = model, system
        one = model.instantiate(seq_len=2, B=1, TP=system.tp)
        other = model.instantiate(seq_len=1, B=2, TP=system.tp)
        self.per_request = {a.name for a, b in zip(one, other, strict=True) if dict(a.sizes) != dict(b.sizes)}
        parts = [v for x in one for v in system.mappings.for_cascade(x.cascade).partitions.values()]
        self.quantum = math.lcm(system.page, *parts)
        self._tokens: dict = {}
        self._request: dict = {}

    def _cycles(self, *, tokens: int, requests: int, names) -> float:
        total = 0.0
        for layer in self.model.instantiate(seq_len=tokens, B=requests, TP=self.system.tp):
            if layer.name in names:
                mapping = self.system.mappings.for_cascade(layer.cascade)
                costs = self.system.cache.costs(load_cascade(layer.cascade), self.system.arch, mapping,
                                                dict(layer.sizes), engine=self.system.engine)
                total += layer.count * sum(c.cycles for c in costs)
        return total

    def _batched(self, tokens: int) -> float:
        q = self.quantum
        lo, hi = max(q, tokens // q * q), max(q, -(-tokens // q) * q)
        names = {x.name for x in self.model.layers} - self.per_request
        for n in {lo, hi}:
            if n not in self._tokens:
                self._tokens[n] = self._cycles(tokens=n, requests=1, names=names)
        f = 0.0 if hi == lo else (tokens - lo) / (hi - lo)
        return self._tokens[lo] + f * (self._tokens[hi] - self._tokens[lo])

    def _each(self, prompts: np.ndarray) -> float:
        q = -(-prompts // self.quantum) * self.quantum
        anchors = anchors_for(int(q.max()), self.quantum)
        for x in anchors:
            if int(x) not in self._request:
                self._request[int(x)] = self._cycles(tokens=int(x), requests=1, names=self.per_request)
        xs = np.array(sorted(self._request))
        return float(np.interp(q, xs, [self._request[int(x)] for x in xs]).sum())

    def seconds(self, prompts) -> float:
        """One prefill step over ``prompts`` (tokens each), through every layer of the model (``layers x pp``)."""
        p = np.asarray(prompts, dtype=np.int64).reshape(-1)
        if not p.size:
            return 0.0
        if p.min() < 1:
            raise ValueError(f"prompts must have at least 1 token, not {int(p.min())}")
        s = self.system
        return (self._batched(int(p.sum())) + self._each(p)) * s.layers * s.pp / s.arch.clock_hz
