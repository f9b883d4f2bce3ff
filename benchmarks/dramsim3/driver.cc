// einsim's driver for DRAMsim3 (umd-memsys/DRAMsim3): simulates a file of read addresses and prints one line,
//   RESULT cycles=<DRAM cycles> commands=<issued commands> cpu_s=<CPU seconds of the simulation loop>
// so that benchmarks/bench_dram.py can time DRAMsim3 on the very trace einsim simulates.
// Usage: einsim_driver <config.ini> <addresses: raw little-endian uint64> <output dir>
// Each channel takes its own requests in trace order (a full channel queue does not hold back the other channels,
// as in einsim, whose channels have their own controllers); every request is offered from cycle 0.
#include <time.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "configuration.h"
#include "json.hpp"
#include "memory_system.h"

static double cpu_seconds() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s <config.ini> <addresses.u64> <output dir>\n", argv[0]);
        return 2;
    }
    std::string ini = argv[1], outdir = argv[3];
    mkdir(outdir.c_str(), 0755);
    std::ifstream in(argv[2], std::ios::binary);
    std::vector<uint64_t> addrs;
    for (uint64_t a; in.read(reinterpret_cast<char *>(&a), sizeof a);) addrs.push_back(a);
    if (addrs.empty()) {
        fprintf(stderr, "%s: no addresses\n", argv[2]);
        return 2;
    }
    dramsim3::Config cfg(ini, outdir);
    std::vector<std::vector<uint64_t>> per_channel(cfg.channels);
    for (uint64_t a : addrs) per_channel[cfg.AddressMapping(a).channel].push_back(a);
    std::vector<size_t> head(cfg.channels, 0);

    uint64_t done = 0, offered = 0, cycles = 0, n = addrs.size();
    auto on_read = [&](uint64_t) { done++; };
    auto on_write = [&](uint64_t) {};
    dramsim3::MemorySystem *ms = dramsim3::GetMemorySystem(ini, outdir, on_read, on_write);
    double t0 = cpu_seconds();
    while (done < n) {
        for (int c = 0; offered < n && c < cfg.channels; c++) {
            std::vector<uint64_t> &q = per_channel[c];
            while (head[c] < q.size() && ms->WillAcceptTransaction(q[head[c]], false)) {
                ms->AddTransaction(q[head[c]++], false);
                offered++;
            }
        }
        ms->ClockTick();
        cycles++;
    }
    double seconds = cpu_seconds() - t0;
    ms->PrintStats();
    delete ms;

    std::ifstream stats(cfg.json_stats_name);
    nlohmann::json j;
    stats >> j;
    const char *keys[] = {"num_act_cmds", "num_pre_cmds", "num_read_cmds", "num_write_cmds", "num_ref_cmds",
                          "num_refb_cmds"};
    uint64_t commands = 0;
    for (auto ch = j.begin(); ch != j.end(); ++ch)
        for (const char *k : keys) commands += ch.value()[k].get<uint64_t>();
    printf("RESULT cycles=%llu commands=%llu cpu_s=%.6f\n", (unsigned long long)cycles,
           (unsigned long long)commands, seconds);
    return 0;
}
