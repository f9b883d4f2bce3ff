// ws_pe: one weight-stationary PE of rtl/systolic_array (also IS: the operands' roles are swapped by the driver).
//
// The stream operand (with flags {last, first, valid}) passes to the right one cycle later. Its product with the active
// weight reaches the adder MAC_LAT - 1 cycles later, meets the partial sum from the row above there, and the sum
// leaves downward ACC_LAT cycles after the add (the array skews row ROW's stream by ROW * ACC_LAT cycles).
// Weight loading (WPATH): 0 chain: wl shifts from the row above when the column shifts (ld_shift); 1 pipeline: the
// load path passes through WLOAD registers in this PE and wl captures the word tagged with this row.
// DOUBLE_BUF: wl is a shadow register; the fold's first operand copies it into the active weight wa (and uses it).
module ws_pe #(
    parameter DATA_W     = 8,
    parameter ACC_W      = 32,
    parameter MAC_LAT    = 1,
    parameter ACC_LAT    = 1,
    parameter DOUBLE_BUF = 0,
    parameter WPATH      = 0,
    parameter WLOAD      = 1,
    parameter ROW        = 0,
    parameter TAG_W      = 16
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [DATA_W-1:0] a_in,
    input  wire [2:0]        f_in,        // {last (unused), first, valid}
    output reg  [DATA_W-1:0] a_out,
    output reg  [2:0]        f_out,
    input  wire [ACC_W-1:0]  ps_in,       // partial sum from the row above (0 above row 0)
    output wire [ACC_W-1:0]  ps_out,
    output wire              ps_valid,
    input  wire              ld_shift,    // chain: the column's weight registers shift this cycle
    input  wire              ld_v_in,     // pipeline: a weight word arrives from above ...
    input  wire [TAG_W-1:0]  ld_tag_in,   // ... for this row
    input  wire [DATA_W-1:0] ld_in,       // chain: the weight register above; pipeline: the word from above
    output wire              ld_v_out,
    output wire [TAG_W-1:0]  ld_tag_out,
    output wire [DATA_W-1:0] ld_out
);
    wire valid = f_in[0];
    wire first = f_in[1];
    always @(posedge clk) begin
        if (rst) f_out <= 3'b000;
        else     f_out <= f_in;
        a_out <= a_in;
    end

    reg  [DATA_W-1:0] wl;
    wire              capture = (WPATH == 1) ? (ld_v_in && ld_tag_in == ROW) : ld_shift;
    always @(posedge clk)
        if (rst)          wl <= {DATA_W{1'b0}};
        else if (capture) wl <= ld_in;

    wire [DATA_W-1:0] w_eff;
    generate
        if (DOUBLE_BUF) begin : dbuf
            reg [DATA_W-1:0] wa;
            always @(posedge clk)
                if (rst)                 wa <= {DATA_W{1'b0}};
                else if (valid && first) wa <= wl;
            assign w_eff = first ? wl : wa;
        end else begin : sbuf
            assign w_eff = wl;
        end
        if (WPATH == 1) begin : pipe
            delay_line #(.W(1 + TAG_W + DATA_W), .N(WLOAD)) seg (
                .clk(clk), .rst(rst), .d({ld_v_in, ld_tag_in, ld_in}), .q({ld_v_out, ld_tag_out, ld_out}));
        end else begin : chain
            assign ld_v_out = 1'b0;
            assign ld_tag_out = {TAG_W{1'b0}};
            assign ld_out = wl;
        end
    endgenerate

    wire signed [ACC_W-1:0] prod = $signed(a_in) * $signed(w_eff);
    wire                    p_valid;
    wire        [ACC_W-1:0] p;
    delay_line #(.W(1 + ACC_W), .N(MAC_LAT - 1)) mul (
        .clk(clk), .rst(rst), .d({valid, prod}), .q({p_valid, p}));
    wire [ACC_W-1:0] sum = ps_in + p;
    delay_line #(.W(1 + ACC_W), .N(ACC_LAT)) add (
        .clk(clk), .rst(rst), .d({p_valid, sum}), .q({ps_valid, ps_out}));
endmodule
