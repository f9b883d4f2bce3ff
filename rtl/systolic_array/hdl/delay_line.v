// delay_line: N registers in a row (N = 0: a wire). q shows d of N cycles ago; reset clears every stage.
module delay_line #(
    parameter W = 1,
    parameter N = 0
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
    generate
        if (N == 0) begin : none
            assign q = d;
        end else if (N == 1) begin : one
            reg [W-1:0] r;
            always @(posedge clk)
                if (rst) r <= {W{1'b0}};
                else     r <= d;
            assign q = r;
        end else begin : many
            reg [W*N-1:0] r;
            always @(posedge clk)
                if (rst) r <= {(W*N){1'b0}};
                else     r <= {r[W*(N-1)-1:0], d};
            assign q = r[W*N-1 -: W];
        end
    endgenerate
endmodule
