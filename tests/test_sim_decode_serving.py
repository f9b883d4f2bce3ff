"""The serving loop: channel policies (round-robin against min-load bin packing, by hand), continuous batching's
bookkeeping (joins, leaves, one token per request per iteration, tokens counted, KV capacity), time to first token,
and the serving configurations' loader."""

import numpy as np
import pytest

from einsim.mappings.serving import load_serving, serving_from_text, serving_names
from einsim.sim.decode import DecodeSystem
from einsim.sim.group_costs import CostCache
from einsim.sim.serving import Requests, assign_channel, serve
from einsim.workloads.errors import SpecError


def test_round_robin_takes_the_next_channel_with_room():
    load, room = np.zeros(4), np.array([True, False, True, True])
    assert assign_channel("round_robin", load, room, 1) == (2, 3)
    assert assign_channel("round_robin", load, room, 3) == (3, 0)
    assert assign_channel("round_robin", load, np.zeros(4, bool), 0) == (-1, 0)


def test_min_load_takes_the_least_loaded_channel_with_room():
    load = np.array([5.0, 1.0, 1.0, 0.5])
    assert assign_channel("min_load", load, np.array([True, True, True, False]), 0) == (1, 0)
    with pytest.raises(ValueError, match="channel policy"):
        assign_channel("random", load, np.ones(4, bool), 0)


def test_bin_packing_beats_round_robin_on_a_tiny_batch():
    """Requests of work 10, 1, 1, 1 (in that order) over two channels: round-robin puts 10 + 1 on one channel,
    greedy min-load puts the 10 alone: the slowest channel carries 11 against 10."""
    work = [10.0, 1.0, 1.0, 1.0]
    for policy, slowest in (("round_robin", 11.0), ("min_load", 10.0)):
        load, ptr = np.zeros(2), 0
        for w in work:
            ch, ptr = assign_channel(policy, load, np.ones(2, bool), ptr)
            load[ch] += w
        assert load.max() == slowest, policy


@pytest.fixture(scope="module")
def system():
    return DecodeSystem.load("gpt3-7b-decode", "neupims", tp=4, cache=CostCache(),
                             prefill_model="gpt3-7b-prefill")


def test_continuous_batching_bookkeeping(system):
    """Three requests of 10-token prompts and 1, 3 and 5 output tokens, at most two in the batch: the first token
    comes from the prefill, so they decode 0, 2 and 4 times; request 0 leaves right after its prefill, so request 2
    joins at the next iteration, beside request 1's last step."""
    reqs = Requests(input_len=[10, 10, 10], output_len=[1, 3, 5])
    run = serve(system, reqs, max_batch=2, iterations=20, prefill=True)
    it = run.iterations
    assert [r["batch"] for r in it] == [1, 2, 1, 1, 1]
    assert [r["joined"] for r in it] == [2, 1, 0, 0, 0]
    assert [r["left"] for r in it] == [0, 1, 0, 0, 1]
    assert [r["mean_context"] for r in it] == [11, 11.5, 12, 13, 14]   # prompt + first token, then +1 a step
    assert run.decode_tokens == 0 + 2 + 4
    assert run.prefill_tokens == 3 and len(run.ttft_s) == 3
    assert run.ttft_s[0] == run.ttft_s[1] < run.ttft_s[2]          # requests 0 and 1 share one prefill step
    assert run.total_s == pytest.approx(sum(r["latency_s"] + r["prefill_s"] for r in it))
    assert run.tokens_per_s == pytest.approx(run.decode_tokens / sum(r["latency_s"] for r in it))


def test_steady_state_batch_stays_full_and_counts_tokens(system):
    rng = np.random.default_rng(3)
    ctx, left = rng.integers(20, 400, 64), rng.integers(1, 50, 64)
    pool = Requests(input_len=rng.integers(1, 100, 512), output_len=rng.integers(2, 100, 512))
    run = serve(system, pool, max_batch=64, iterations=12, initial=(ctx, left, None), time_every=4)
    assert all(r["batch"] == 64 for r in run.iterations)
    assert run.decode_tokens == 12 * 64
    lat = [r["latency_s"] for r in run.iterations]
    assert lat[0] == lat[3] and lat[4] != lat[3]                   # re-evaluated every 4 iterations


def test_kv_capacity_limits_the_batch(system):
    cap = system.kv_capacity_tokens()                              # per channel
    big = int(cap // 2) + 1                                        # two of these do not fit one channel
    ctx = np.full(40, big)
    run = serve(system, Requests(input_len=[1], output_len=[1]), max_batch=40, iterations=1,
                initial=(ctx, np.full(40, 5), None))
    assert run.iterations[0]["batch"] == system.channels           # one per channel, the rest left out


def test_serving_presets_and_errors():
    assert {"npu-only", "npu-pim-naive", "dual-rb", "bin-packing", "neupims"} <= set(serving_names())
    s = load_serving("neupims")
    assert s.sub_batches == (1, 2) and s.channel_policy == "min_load" and s.arch == "neupims"
    with pytest.raises(SpecError) as e:
        serving_from_text("name: x\narch: neupims\nmappings: neupims\nchannel_policy: random\nsub_batches: 0\n",
                          "bad.yaml")
    text = str(e.value)
    assert "bad.yaml:4 channel_policy: must be one of round_robin, min_load, not 'random'" in text
    assert "bad.yaml:5 sub_batches: must be a positive integer, not 0" in text
    with pytest.raises(SpecError, match="serving configuration must be a preset name"):
        load_serving("neupimz")


def test_requests_checks():
    with pytest.raises(ValueError, match="one entry per request"):
        Requests(input_len=[1, 2], output_len=[1])
    with pytest.raises(ValueError, match="non-decreasing"):
        Requests(input_len=[1, 2], output_len=[1, 1], arrival_s=[1.0, 0.5])


def test_prefill_runs_joining_prompts_as_one_step(system):
    """The GEMMs of a prefill step read the weights once for all its prompts, so two prompts together take less
    than two steps of one; a longer prompt takes longer."""
    one, two = system.prefill_s([80]), system.prefill_s([80, 80])
    assert one < two < 2 * one
    assert system.prefill_s([300]) > one > 0
    with pytest.raises(ValueError, match="at least 1 token"):
        system.prefill_s([0])


def test_reusing_the_iteration_latency_between_evaluations_is_accurate(system):
    """time_every = 8 (the study's) against evaluating every iteration: throughput within 1%."""
    rng = np.random.default_rng(4)
    ctx, left = rng.integers(20, 700, 128), rng.integers(1, 300, 128)
    pool = Requests(input_len=rng.integers(1, 200, 512), output_len=rng.integers(2, 400, 512))
    runs = [serve(system, pool, max_batch=128, iterations=24, initial=(ctx, left, None), time_every=k)
            for k in (1, 8)]
    assert runs[1].tokens_per_s == pytest.approx(runs[0].tokens_per_s, rel=0.01)


def test_pipeline_parallel_devices_each_run_their_share_of_the_layers():
    """GPT-3 30B at TP 4 x PP 2: a device runs 24 of the 48 layers; two batches are in flight, so the system emits
    a batch per device iteration while a request's token step takes two of them."""
    s = DecodeSystem.load("gpt3-30b-decode", "dual-rb", tp=4, pp=2)
    assert s.layers == 24
    rng = np.random.default_rng(5)
    ctx, left = rng.integers(20, 300, 64), np.full(64, 10)
    run = serve(s, Requests(input_len=[5], output_len=[5]), max_batch=64, iterations=3, initial=(ctx, left, None))
    r = run.iterations[0]
    assert r["latency_s"] == pytest.approx(2 * r["cycles"] / s.arch.clock_hz)
    assert run.decode_tokens == 3 * 64 * 2
    one = serve(s, Requests(input_len=[5], output_len=[5]), max_batch=64, iterations=1, initial=(ctx, left, None))
    assert one.tokens_per_s == pytest.approx(64 * s.arch.clock_hz / r["cycles"])
