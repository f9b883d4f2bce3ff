`timescale 1ns / 1ps
// One PIM-enabled DRAM bank (NeuPIMs-like): row buffer (open-row register over the cell array), global-buffer
// vector, LANES-wide MAC with an adder tree into one accumulator, HBM2 activate/precharge timing.
// Commands (cmd): 0 GWRITE(col, data), 1 ACT(row), 2 COMP(col), 3 READRES, 4 PRE. A command is issued at the end
// of a cycle where cmd_valid && cmd_ready. Timing violations stall (cmd_ready low until legal); protocol errors
// (ACT to an open bank, COMP/PRE to a closed one, address out of range, unknown command) are consumed at once
// with cmd_error high and do nothing. Timing rules and latencies are those of sim/kernels/pim_bank.py:
//   GWRITE  since(bus) >= T_BUS                              ACT  since(pre) >= T_RP
//   COMP    since(act) >= T_RCD, since(comp) >= T_CCD, since(gwrite) >= CWL; partial sum in the accumulator
//           CL + MAC_LAT cycles after the COMP
//   READRES since(comp) >= CL + MAC_LAT, since(bus) >= T_BUS; result on res_data CL cycles later; clears acc
//   PRE     since(act) >= T_RAS, since(comp) >= T_RTP
// init_* is an untimed back door that fills the cell array (the bank's contents before the run).
module pim_bank #(
    parameter integer N_ROWS    = 8,
    parameter integer N_COLS    = 32,
    parameter integer LANES     = 16,
    parameter integer DATA_BITS = 16,
    parameter integer ACC_BITS  = 48,
    parameter integer T_RCD     = 14,
    parameter integer T_RP      = 14,
    parameter integer T_RAS     = 34,
    parameter integer T_RTP     = 6,
    parameter integer T_CCD     = 2,
    parameter integer T_BUS     = 2,
    parameter integer CL        = 14,
    parameter integer CWL       = 4,
    parameter integer MAC_LAT   = 2
) (
    input  wire                         clk,
    input  wire                         rst,
    input  wire                         cmd_valid,
    output wire                         cmd_ready,
    output wire                         cmd_error,
    input  wire [2:0]                   cmd,
    input  wire [19:0]                  cmd_row,
    input  wire [15:0]                  cmd_col,
    input  wire [LANES*DATA_BITS-1:0]   cmd_data,
    input  wire                         init_we,
    input  wire [31:0]                  init_addr,
    input  wire [LANES*DATA_BITS-1:0]   init_data,
    output wire                         res_valid,
    output wire [ACC_BITS-1:0]          res_data,
    output wire                         busy_o
);
    localparam integer DW = DATA_BITS;
    localparam integer D = CL + MAC_LAT;          // COMP to accumulator
    localparam integer CW = 11;                   // width of the since-counters
    localparam [CW-1:0] SAT = {CW{1'b1}};
    localparam [2:0] C_GWRITE = 3'd0, C_ACT = 3'd1, C_COMP = 3'd2, C_READRES = 3'd3, C_PRE = 3'd4;

    reg [LANES*DW-1:0] cells [0:N_ROWS*N_COLS-1];
    reg [LANES*DW-1:0] gbuf [0:N_COLS-1];
    reg                is_open;
    reg [19:0]         open_row;
    reg [CW-1:0]       since_act, since_pre, since_comp, since_gw, since_bus;
    reg signed [ACC_BITS-1:0] acc;

    // protocol errors and timing legality of the presented command
    reg err, legal;
    always @* begin
        err = 1'b0;
        legal = 1'b0;
        case (cmd)
            C_GWRITE: begin
                err = cmd_col >= N_COLS;
                legal = since_bus >= T_BUS;
            end
            C_ACT: begin
                err = is_open || cmd_row >= N_ROWS;
                legal = since_pre >= T_RP;
            end
            C_COMP: begin
                err = !is_open || cmd_col >= N_COLS;
                legal = since_act >= T_RCD && since_comp >= T_CCD && since_gw >= CWL;
            end
            C_READRES: legal = since_comp >= D && since_bus >= T_BUS;
            C_PRE: begin
                err = !is_open;
                legal = since_act >= T_RAS && since_comp >= T_RTP;
            end
            default: err = 1'b1;
        endcase
    end
    assign cmd_ready = err || legal;
    assign cmd_error = err;
    wire fire = cmd_valid && cmd_ready && !err;
    wire fire_comp = fire && cmd == C_COMP;
    wire fire_rr = fire && cmd == C_READRES;

    // COMP: one column of the open row times the matching global-buffer slice, summed over the lanes
    wire [LANES*DW-1:0] col_data = cells[open_row * N_COLS + cmd_col];
    wire [LANES*DW-1:0] vec_data = gbuf[cmd_col];
    reg signed [ACC_BITS-1:0] partial;
    integer l;
    always @* begin
        partial = 0;
        for (l = 0; l < LANES; l = l + 1)
            partial = partial + $signed(col_data[l*DW +: DW]) * $signed(vec_data[l*DW +: DW]);
    end

    // pipelines: partial sums (D - 1 stages, then the accumulator), results (CL stages, the last drives res_*)
    reg [D-2:0]              cp_v;
    reg [ACC_BITS-1:0]       cp_s [0:D-2];
    reg [CL-1:0]             rp_v;
    reg [ACC_BITS-1:0]       rp_d [0:CL-1];
    assign res_valid = rp_v[CL-1];
    assign res_data = rp_d[CL-1];
    assign busy_o = (|cp_v) || (|rp_v);

    function [CW-1:0] tick;
        input [CW-1:0] v;
        begin
            tick = (v == SAT) ? SAT : v + 1'b1;
        end
    endfunction

    always @(posedge clk) begin
        if (init_we) cells[init_addr] <= init_data;
    end

    integer j;
    always @(posedge clk) begin
        if (rst) begin
            is_open <= 1'b0;
            open_row <= 0;
            since_act <= SAT; since_pre <= SAT; since_comp <= SAT; since_gw <= SAT; since_bus <= SAT;
            acc <= 0;
            cp_v <= 0;
            rp_v <= 0;
            for (j = 0; j < D - 1; j = j + 1) cp_s[j] <= 0;
            for (j = 0; j < CL; j = j + 1) rp_d[j] <= 0;
            for (j = 0; j < N_COLS; j = j + 1) gbuf[j] <= 0;
        end else begin
            since_act <= (fire && cmd == C_ACT) ? 1 : tick(since_act);
            since_pre <= (fire && cmd == C_PRE) ? 1 : tick(since_pre);
            since_comp <= fire_comp ? 1 : tick(since_comp);
            since_gw <= (fire && cmd == C_GWRITE) ? 1 : tick(since_gw);
            since_bus <= (fire && (cmd == C_GWRITE || cmd == C_READRES)) ? 1 : tick(since_bus);
            if (fire && cmd == C_GWRITE) gbuf[cmd_col] <= cmd_data;
            if (fire && cmd == C_ACT) begin
                is_open <= 1'b1;
                open_row <= cmd_row;
            end
            if (fire && cmd == C_PRE) is_open <= 1'b0;
            // partial-sum pipeline into the accumulator
            for (j = D - 2; j > 0; j = j - 1) begin
                cp_v[j] <= cp_v[j-1];
                cp_s[j] <= cp_s[j-1];
            end
            cp_v[0] <= fire_comp;
            cp_s[0] <= partial;
            if (fire_rr) acc <= 0;
            else if (cp_v[D-2]) acc <= acc + $signed(cp_s[D-2]);
            // result pipeline
            for (j = CL - 1; j > 0; j = j - 1) begin
                rp_v[j] <= rp_v[j-1];
                rp_d[j] <= rp_d[j-1];
            end
            rp_v[0] <= fire_rr;
            rp_d[0] <= acc;
        end
    end
endmodule
