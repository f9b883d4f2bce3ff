// os_pe: one output-stationary PE of rtl/systolic_array.
//
// A (with flags {last, first, valid}) passes right and B passes down one cycle later. Their product reaches the
// adder MAC_LAT - 1 cycles later; the add (the first step's adds to 0, the others to acc) lands in acc ACC_LAT - 1
// cycles after it is issued (the array issues a step every ACC_LAT cycles, so each add sees the previous result).
// Drains (DRAIN): 0 in place: acc is read, ov pulses when the fold's result is visible; 1 shift: acc is also the
// column's shift chain (a landing add wins over a shift); 2 shadow shift: the last add also writes dr, the column's
// shift chain (the write wins over a shift); 3 parallel: the last add also writes dr, read with the whole array.
module os_pe #(
    parameter DATA_W  = 8,
    parameter ACC_W   = 32,
    parameter MAC_LAT = 1,
    parameter ACC_LAT = 1,
    parameter DRAIN   = 0
) (
    input  wire              clk,
    input  wire              rst,
    input  wire [DATA_W-1:0] a_in,
    input  wire [2:0]        f_in,        // {last, first, valid}
    output reg  [DATA_W-1:0] a_out,
    output reg  [2:0]        f_out,
    input  wire [DATA_W-1:0] b_in,
    output reg  [DATA_W-1:0] b_out,
    input  wire              sh_en,       // the column shifts its drain chain this cycle
    input  wire [ACC_W-1:0]  dr_in,       // the drain register above (0 above row 0)
    output wire [ACC_W-1:0]  dr_out,      // this PE's drain register (acc for DRAIN 0 and 1)
    output wire              land_last,   // the fold's last add lands this cycle
    output reg               ov           // DRAIN 0: dr_out is this fold's result
);
    always @(posedge clk) begin
        if (rst) f_out <= 3'b000;
        else     f_out <= f_in;
        a_out <= a_in;
        b_out <= b_in;
    end

    wire signed [ACC_W-1:0] prod = $signed(a_in) * $signed(b_in);
    wire        [2:0]       pf;
    wire        [ACC_W-1:0] p;
    delay_line #(.W(3 + ACC_W), .N(MAC_LAT - 1)) mul (.clk(clk), .rst(rst), .d({f_in, prod}), .q({pf, p}));

    reg  [ACC_W-1:0] acc;
    wire [ACC_W-1:0] sum = (pf[1] ? {ACC_W{1'b0}} : acc) + p;
    wire             l_valid, l_last;
    wire [ACC_W-1:0] l_value;
    generate
        if (ACC_LAT == 1) begin : add1
            assign l_valid = pf[0];
            assign l_last  = pf[2];
            assign l_value = sum;
        end else begin : addn
            wire [1:0] lf;
            delay_line #(.W(2 + ACC_W), .N(ACC_LAT - 1)) add (
                .clk(clk), .rst(rst), .d({pf[2] & pf[0], pf[0], sum}), .q({lf, l_value}));
            assign l_valid = lf[0];
            assign l_last  = lf[1];
        end
    endgenerate
    assign land_last = l_valid && l_last;

    always @(posedge clk)
        if (rst)                       acc <= {ACC_W{1'b0}};
        else if (l_valid)              acc <= l_value;
        else if (DRAIN == 1 && sh_en)  acc <= dr_in;
    always @(posedge clk)
        if (rst) ov <= 1'b0;
        else     ov <= land_last;

    generate
        if (DRAIN == 2 || DRAIN == 3) begin : bank2
            reg [ACC_W-1:0] dr;
            always @(posedge clk)
                if (rst)                      dr <= {ACC_W{1'b0}};
                else if (land_last)           dr <= l_value;
                else if (DRAIN == 2 && sh_en) dr <= dr_in;
            assign dr_out = dr;
        end else begin : bank1
            assign dr_out = acc;
        end
    endgenerate
endmodule
