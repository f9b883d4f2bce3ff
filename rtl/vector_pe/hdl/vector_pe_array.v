`timescale 1ns / 1ps
// 1D vector PE array (FuseMax's 1D array): LANES lanes of vector_pe in lockstep, one instruction at a time.
// Instruction word: op[15:12] rd[11:8] ra[7:4] rb[3:0]; accepted when instr_valid && instr_ready at a clock edge.
// An instruction of total cost c accepted at the end of cycle t writes its result at the end of cycle t + c - 1;
// instr_ready (= !busy) lets the next one issue in cycle t + c. A store drives out_valid / out_data in cycle t + c.
// Costs: LD/ST 1, MAX MAX_CYCLES, ADD/SUB ADD_CYCLES, MUL/MAC MAC_CYCLES, EXP 6*MAC_CYCLES + ADD_CYCLES,
// DIV DIV_CYCLES, RMAX/RSUM LEVELS*MAX_CYCLES / LEVELS*ADD_CYCLES (pairwise tree over lanes, LEVELS >= 1).
module vector_pe_array #(
    parameter integer LANES      = 4,
    parameter integer N_REGS     = 8,
    parameter integer DATA_BITS  = 32,
    parameter integer FRAC_BITS  = 16,
    parameter integer MAX_CYCLES = 1,
    parameter integer ADD_CYCLES = 1,
    parameter integer MAC_CYCLES = 1,
    parameter integer DIV_CYCLES = 1,
    parameter integer LOG2E  = 94548,
    parameter integer EXP_C0 = 65536,
    parameter integer EXP_C1 = 45426,
    parameter integer EXP_C2 = 15739,
    parameter integer EXP_C3 = 3657,
    parameter integer EXP_C4 = 592,
    parameter integer EXP_C5 = 122
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire                       instr_valid,
    output wire                       instr_ready,
    input  wire [15:0]                instr,
    input  wire [LANES*DATA_BITS-1:0] in_data,
    output reg                        out_valid,
    output wire [LANES*DATA_BITS-1:0] out_data,
    output wire                       busy_o
);
    localparam integer W = DATA_BITS;
    localparam integer LEVELS = (LANES > 1) ? $clog2(LANES) : 1;
    localparam [3:0] OP_ST = 4'd1, OP_MAX = 4'd2, OP_ADD = 4'd3, OP_SUB = 4'd4, OP_MUL = 4'd5, OP_MAC = 4'd6,
                     OP_EXP = 4'd7, OP_DIV = 4'd8, OP_RMAX = 4'd9, OP_RSUM = 4'd10;

    function [7:0] step_cost;
        input [3:0] op;
        input [3:0] step;
        begin
            case (op)
                OP_MAX, OP_RMAX:         step_cost = MAX_CYCLES;
                OP_ADD, OP_SUB, OP_RSUM: step_cost = ADD_CYCLES;
                OP_MUL, OP_MAC:          step_cost = MAC_CYCLES;
                OP_EXP:                  step_cost = (step < 6) ? MAC_CYCLES : ADD_CYCLES;
                OP_DIV:                  step_cost = DIV_CYCLES;
                default:                 step_cost = 1;
            endcase
        end
    endfunction

    function [3:0] n_steps;
        input [3:0] op;
        begin
            case (op)
                OP_EXP:          n_steps = 7;
                OP_RMAX, OP_RSUM: n_steps = LEVELS;
                default:         n_steps = 1;
            endcase
        end
    endfunction

    reg       busy;
    reg [3:0] op_q, rd_q, step_q;
    reg [7:0] cnt_q;   // cycles left in the current step, this one included

    assign instr_ready = !busy;
    assign busy_o = busy;
    wire issue = instr_valid && !busy;
    wire active = busy || instr_valid;
    wire [3:0] cur_op = busy ? op_q : instr[15:12];
    wire [3:0] cur_rd = busy ? rd_q : instr[11:8];
    wire [3:0] cur_step = busy ? step_q : 4'd0;
    wire [7:0] cur_cnt = busy ? cnt_q : step_cost(instr[15:12], 4'd0);
    wire step_end = active && (cur_cnt == 8'd1);
    wire last_step = (cur_step == n_steps(cur_op) - 4'd1);

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0;
            op_q <= 0; rd_q <= 0; step_q <= 0; cnt_q <= 0;
            out_valid <= 1'b0;
        end else begin
            out_valid <= 1'b0;
            if (active) begin
                op_q <= cur_op;
                rd_q <= cur_rd;
                if (step_end) begin
                    if (last_step) begin
                        busy <= 1'b0;
                        if (cur_op == OP_ST) out_valid <= 1'b1;
                    end else begin
                        busy <= 1'b1;
                        step_q <= cur_step + 4'd1;
                        cnt_q <= step_cost(cur_op, cur_step + 4'd1);
                    end
                end else begin
                    busy <= 1'b1;
                    step_q <= cur_step;
                    cnt_q <= cur_cnt - 8'd1;
                end
            end
        end
    end

    // cross-lane reduction tree: level s combines lane l with lane l + 2**s for l a multiple of 2**(s+1)
    wire [LANES*W-1:0] ra_vals;
    reg  [LANES*W-1:0] red_q;
    wire [LANES*W-1:0] red_cur = busy ? red_q : ra_vals;
    wire [LANES*W-1:0] red_next;
    wire is_red = (cur_op == OP_RMAX) || (cur_op == OP_RSUM);
    wire [31:0] stride = 32'd1 << cur_step;

    genvar l;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : lane
            wire has_partner = ((l % (2 * stride)) == 0) && (l + stride < LANES);
            wire [31:0] pidx = has_partner ? (l + stride) : l;
            wire signed [W-1:0] mine = red_cur[l*W +: W];
            wire signed [W-1:0] other = red_cur[pidx*W +: W];
            wire signed [W-1:0] comb = (cur_op == OP_RMAX) ? ((mine > other) ? mine : other) : (mine + other);
            assign red_next[l*W +: W] = has_partner ? comb : mine;

            always @(posedge clk) begin
                if (rst) red_q[l*W +: W] <= 0;
                else if (active && is_red) red_q[l*W +: W] <= step_end ? red_next[l*W +: W] : mine;
            end

            vector_pe #(
                .N_REGS(N_REGS), .DATA_BITS(DATA_BITS), .FRAC_BITS(FRAC_BITS), .DIV_CYCLES(DIV_CYCLES),
                .LOG2E(LOG2E), .EXP_C0(EXP_C0), .EXP_C1(EXP_C1), .EXP_C2(EXP_C2), .EXP_C3(EXP_C3),
                .EXP_C4(EXP_C4), .EXP_C5(EXP_C5)
            ) pe (
                .clk(clk), .rst(rst), .active(active), .issue(issue), .op(cur_op), .step(cur_step),
                .step_end(step_end), .last_step(last_step), .rd(cur_rd), .ra(instr[7:4]), .rb(instr[3:0]),
                .in_val(in_data[l*W +: W]), .red_val(red_next[W-1:0]), .ra_val(ra_vals[l*W +: W]),
                .out_q(out_data[l*W +: W])
            );
        end
    endgenerate
endmodule
