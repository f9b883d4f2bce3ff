`timescale 1ns / 1ps
// One lane of the 1D vector PE array: register file, fixed-point datapath (max, add/sub, mul/MAC,
// exp as 6 MAC steps + 1 scaling step, restoring divider). Control comes from vector_pe_array.
// Fixed point: signed DATA_BITS, FRAC_BITS fraction bits. Mirrors sim/kernels/vector.py exactly.
module vector_pe #(
    parameter integer N_REGS    = 8,
    parameter integer DATA_BITS = 32,
    parameter integer FRAC_BITS = 16,
    parameter integer DIV_CYCLES = 1,
    parameter integer LOG2E  = 94548,
    parameter integer EXP_C0 = 65536,
    parameter integer EXP_C1 = 45426,
    parameter integer EXP_C2 = 15739,
    parameter integer EXP_C3 = 3657,
    parameter integer EXP_C4 = 592,
    parameter integer EXP_C5 = 122
) (
    input  wire                        clk,
    input  wire                        rst,
    input  wire                        active,     // an instruction occupies this cycle
    input  wire                        issue,      // it was accepted at the end of this cycle (operands from RF)
    input  wire [3:0]                  op,
    input  wire [3:0]                  step,
    input  wire                        step_end,   // the current step's last cycle
    input  wire                        last_step,
    input  wire [3:0]                  rd,
    input  wire [3:0]                  ra,
    input  wire [3:0]                  rb,
    input  wire signed [DATA_BITS-1:0] in_val,     // LD data of this lane
    input  wire signed [DATA_BITS-1:0] red_val,    // cross-lane reduction result (broadcast)
    output wire signed [DATA_BITS-1:0] ra_val,     // RF[ra], feeds the reduction tree at issue
    output reg  signed [DATA_BITS-1:0] out_q       // ST data of this lane
);
    localparam integer W = DATA_BITS;
    localparam integer F = FRAC_BITS;
    localparam integer NUMB = W + F;                                  // numerator bits of a divide
    localparam integer BPC = (NUMB + DIV_CYCLES - 1) / DIV_CYCLES;    // quotient bits per cycle
    localparam integer NB = BPC * DIV_CYCLES;
    localparam signed [W-1:0] MAXPOS = {1'b0, {(W-1){1'b1}}};

    localparam [3:0] OP_LD = 4'd0, OP_ST = 4'd1, OP_MAX = 4'd2, OP_ADD = 4'd3, OP_SUB = 4'd4, OP_MUL = 4'd5,
                     OP_MAC = 4'd6, OP_EXP = 4'd7, OP_DIV = 4'd8, OP_RMAX = 4'd9, OP_RSUM = 4'd10;

    reg signed [W-1:0] rf [0:N_REGS-1];
    reg signed [W-1:0] a_q, b_q, d_q;
    // exp state: k = floor(t), f = frac(t), Horner accumulator
    reg signed [2*W-1:0] k_q;
    reg        [F-1:0]   f_q;
    reg signed [W-1:0]   acc_q;
    // divider state
    reg [NB-1:0] nq_q;
    reg [W-1:0]  rem_q, den_q;
    reg          neg_q;

    assign ra_val = rf[ra];
    wire signed [W-1:0] a = issue ? rf[ra] : a_q;
    wire signed [W-1:0] b = issue ? rf[rb] : b_q;
    wire signed [W-1:0] d = issue ? rf[rd] : d_q;

    // multiply / MAC: floor((a*b) / 2**F), wrapped to W bits
    wire signed [2*W-1:0] prod = a * b;
    wire signed [2*W-1:0] prod_s = prod >>> F;
    wire signed [W-1:0] mul_res = prod_s[W-1:0];

    // exp step 0: t = floor(a * LOG2E / 2**F); k = floor(t / 2**F); f = t mod 2**F
    wire signed [2*W-1:0] tprod = a * LOG2E;
    wire signed [2*W-1:0] t_val = tprod >>> F;
    // Horner step s (1..5): acc = C[5-s] + floor(acc * f / 2**F)
    reg signed [W-1:0] coef;
    always @* begin
        case (step)
            4'd1: coef = EXP_C4;
            4'd2: coef = EXP_C3;
            4'd3: coef = EXP_C2;
            4'd4: coef = EXP_C1;
            default: coef = EXP_C0;
        endcase
    end
    wire signed [2*W-1:0] hprod = acc_q * $signed({1'b0, f_q});
    wire signed [2*W-1:0] hprod_s = hprod >>> F;
    wire signed [W-1:0] acc_next = coef + hprod_s[W-1:0];
    // exp step 6: scale by 2**k (shift), saturating upwards
    reg signed [W-1:0] exp_res;
    reg [2*W-1:0] shl;
    reg signed [2*W-1:0] sh;
    always @* begin
        shl = 0;
        sh = 0;
        if (k_q >= 0) begin
            if (k_q >= W) exp_res = MAXPOS;
            else begin
                shl = {{W{1'b0}}, acc_q} << k_q[7:0];
                exp_res = (shl > {{W{1'b0}}, MAXPOS}) ? MAXPOS : shl[W-1:0];
            end
        end else begin
            sh = -k_q;
            if (sh >= W + 2) exp_res = 0;
            else exp_res = acc_q >>> sh[7:0];
        end
    end

    // restoring divider, BPC quotient bits per cycle on magnitudes: q = floor(|a| * 2**F / |b|)
    wire [W-1:0] abs_a = a[W-1] ? -a : a;
    wire [W-1:0] abs_b = b[W-1] ? -b : b;
    wire [NB-1:0] nq_init = {{(NB - NUMB){1'b0}}, abs_a, {F{1'b0}}};
    wire [W-1:0] den = issue ? abs_b : den_q;
    wire neg = issue ? (a[W-1] ^ b[W-1]) : neg_q;
    reg [NB-1:0] nq;
    reg [W:0] rem2;
    reg [W-1:0] rem;
    integer j;
    always @* begin
        nq = issue ? nq_init : nq_q;
        rem = issue ? {W{1'b0}} : rem_q;
        rem2 = 0;
        for (j = 0; j < BPC; j = j + 1) begin
            rem2 = {rem, nq[NB-1]};
            nq = nq << 1;
            if (rem2 >= {1'b0, den}) begin
                rem2 = rem2 - {1'b0, den};
                nq[0] = 1'b1;
            end
            rem = rem2[W-1:0];
        end
    end
    wire sat = (den == 0) || (nq > {{(NB - W){1'b0}}, MAXPOS});
    wire [W-1:0] qmag = sat ? MAXPOS : nq[W-1:0];
    wire signed [W-1:0] div_res = neg ? -qmag : qmag;

    reg signed [W-1:0] result;
    always @* begin
        case (op)
            OP_LD:   result = in_val;
            OP_MAX:  result = (a > b) ? a : b;
            OP_ADD:  result = a + b;
            OP_SUB:  result = a - b;
            OP_MUL:  result = mul_res;
            OP_MAC:  result = d + mul_res;
            OP_EXP:  result = exp_res;
            OP_DIV:  result = div_res;
            default: result = red_val;   // RMAX, RSUM
        endcase
    end

    integer i;
    always @(posedge clk) begin
        if (rst) begin
            for (i = 0; i < N_REGS; i = i + 1) rf[i] <= 0;
            a_q <= 0; b_q <= 0; d_q <= 0; out_q <= 0;
            k_q <= 0; f_q <= 0; acc_q <= 0;
            nq_q <= 0; rem_q <= 0; den_q <= 0; neg_q <= 1'b0;
        end else if (active) begin
            if (issue) begin
                a_q <= rf[ra];
                b_q <= rf[rb];
                d_q <= rf[rd];
            end
            if (op == OP_DIV) begin
                nq_q <= nq;
                rem_q <= rem;
                den_q <= den;
                neg_q <= neg;
            end
            if (step_end && op == OP_EXP) begin
                if (step == 0) begin
                    k_q <= t_val >>> F;
                    f_q <= t_val[F-1:0];
                    acc_q <= EXP_C5;
                end else if (step < 6) begin
                    acc_q <= acc_next;
                end
            end
            if (step_end && last_step) begin
                if (op == OP_ST) out_q <= a;
                else if (op <= OP_RSUM) rf[rd] <= result;
            end
        end
    end
endmodule
