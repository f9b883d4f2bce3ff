// mac_pe: signed DATA_W x DATA_W -> ACC_W multiply-accumulate processing element (int8 x int8 -> int32 by default).
//
// One register, updated on the rising edge:
//   en & clr : acc <= a * b          (start a new accumulation with this product)
//   en & !clr: acc <= acc + a * b
//   !en & clr: acc <= 0
//   otherwise: acc holds
// Timing: the product of the operands presented in cycle t is in acc from cycle t + 1 (one-cycle latency).
// The accumulator wraps modulo 2**ACC_W (two's complement), like the register-level model in sim/kernels/mac_pe.py.
module mac_pe #(
    parameter DATA_W = 8,
    parameter ACC_W  = 32
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     en,
    input  wire                     clr,
    input  wire signed [DATA_W-1:0] a,
    input  wire signed [DATA_W-1:0] b,
    output reg  signed [ACC_W-1:0]  acc
);
    wire signed [2*DATA_W-1:0] prod = a * b;
    wire signed [ACC_W-1:0]    base = clr ? {ACC_W{1'b0}} : acc;

    always @(posedge clk) begin
        if (rst)
            acc <= {ACC_W{1'b0}};
        else if (en)
            acc <= base + prod;
        else if (clr)
            acc <= {ACC_W{1'b0}};
    end
endmodule
