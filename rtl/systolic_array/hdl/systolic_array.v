// systolic_array: ROWS x COLS signed MAC array with operand buffers, skew lines, a fold controller and its drains.
//
// Parameters come from arch.systolic.SystolicArraySpec.verilog_parameters() (docs/systolic.md); LDEPTH / TDEPTH size
// the two operand buffers for a test.
//   DATAFLOW 1 = weight stationary (also input stationary, with the operands' roles swapped by the driver):
//     top buffer word f*ROWS + r = row r of fold f's stationary block (COLS lanes)
//     left buffer word f*T + m   = stream step m of fold f (ROWS lanes); partial sums leave the bottom of each column
//   DATAFLOW 0 = output stationary: left word f*T + k = A[fold rows, k] (ROWS lanes), top word f*T + k =
//     B[k, fold cols] (COLS lanes). DRAIN 0 in place (every PE a port), 1 shift and 2 shadow shift (one port per
//     column at the bottom; row ROWS-1's last add starts ROWS-1 shifts of the column), 3 parallel (every PE a
//     port, all valid in the cycle after PE (ROWS-1, COLS-1)'s last add).
//   MAC_LAT, ACC_LAT: multiplier and adder pipeline stages (os_pe.v, ws_pe.v). SKEW 1 (edge): de-skew registers
//   after column j's bottom port (COLS-1-j), so one stream step's results leave together. WLOAD, WPATH: weight
//   loading (ws_pe.v): 0 chain, one row every WLOAD cycles; 1 pipeline, one row per cycle, WLOAD registers per row.
//   MIN_INT: a fold streams at least MIN_INT steps (zeros past cfg_t).
// Usage: fill the buffers through ld_*, then pulse start with cfg_folds (F) and cfg_t (T, stream steps per fold).
//
// Cycle convention (shared with sim/kernels/systolic.py): cycle 0 is the first cycle after start is sampled. A port
// word leaving the controller in cycle t enters row i in t + i * (WS: ACC_LAT, OS: 1) and column j in t + j; a
// register written in cycle t shows its value from t + 1, when an output is valid. done is high in the cycle the
// last output is valid, which is the cycle count reported.
// Fold schedule (sim/systolic_timing.py): stream of fold f from s_f = LEAD + f * P (one step per cycle, OS one per
// ACC_LAT cycles), WS weights from s_f - LEAD, LEAD = (ROWS - 1) * WLOAD + 1; P = LEAD + latency without
// DOUBLE_BUF, else the tightest hazard-free period of the micro-architecture.
module systolic_array #(
    parameter ROWS       = 4,
    parameter COLS       = 4,
    parameter DATAFLOW   = 1,
    parameter DOUBLE_BUF = 0,
    parameter DRAIN      = 0,
    parameter MAC_LAT    = 1,
    parameter ACC_LAT    = 1,
    parameter SKEW       = 0,
    parameter WLOAD      = 1,
    parameter WPATH      = 0,
    parameter MIN_INT    = 1,
    parameter DATA_W     = 8,
    parameter ACC_W      = 32,
    parameter LDEPTH     = 64,
    parameter TDEPTH     = 64,
    parameter CW         = 16,
    parameter LANES      = (ROWS > COLS) ? ROWS : COLS,                            // ld_data lanes (derived)
    parameter NOUT       = (DATAFLOW == 1 || DRAIN == 1 || DRAIN == 2) ? COLS : ROWS * COLS  // output ports
) (
    input  wire                          clk,
    input  wire                          rst,
    // buffer fill port
    input  wire                          ld_en,
    input  wire                          ld_sel,      // 0: left buffer, 1: top buffer
    input  wire [CW-1:0]                 ld_addr,
    input  wire [LANES*DATA_W-1:0]       ld_data,
    // command
    input  wire                          start,
    input  wire [CW-1:0]                 cfg_folds,
    input  wire [CW-1:0]                 cfg_t,
    output reg                           busy,
    output wire                          done,
    // results
    output wire [NOUT-1:0]               out_valid,
    output wire [NOUT*ACC_W-1:0]         out_data
);
    localparam FW       = 3;   // flags travelling with the left operand: {last, first, valid}
    localparam TAG_W    = 16;  // weight words carry the row they belong to (pipeline load path)
    localparam STEP     = (DATAFLOW == 1) ? 1 : ACC_LAT;        // cycles between stream steps
    localparam LSTEP    = (WPATH == 1) ? 1 : WLOAD;             // cycles between weight rows at the load port
    localparam LEAD     = (DATAFLOW == 1) ? (ROWS - 1) * WLOAD + 1 : 0;
    localparam ROW_SKEW = (DATAFLOW == 1) ? ACC_LAT : 1;        // skew registers per row
    localparam SHIFTING = (DATAFLOW == 0) && (DRAIN == 1 || DRAIN == 2);

    // ---------------------------------------------------------------- operand buffers
    reg [ROWS*DATA_W-1:0] lmem [0:LDEPTH-1];
    reg [COLS*DATA_W-1:0] tmem [0:TDEPTH-1];
    always @(posedge clk) begin
        if (ld_en && !ld_sel) lmem[ld_addr] <= ld_data[ROWS*DATA_W-1:0];
        if (ld_en &&  ld_sel) tmem[ld_addr] <= ld_data[COLS*DATA_W-1:0];
    end

    // ---------------------------------------------------------------- schedule (sim/systolic_timing.py)
    function [31:0] max2(input [31:0] x, input [31:0] y);
        max2 = (x > y) ? x : y;
    endfunction
    wire [31:0] te    = (cfg_t > MIN_INT) ? cfg_t : MIN_INT;
    wire [31:0] x_os  = te * ACC_LAT + MAC_LAT - 1;
    wire [31:0] lat   = (DATAFLOW == 1) ? te + ROWS * ACC_LAT + MAC_LAT - 1 + COLS - 2
                      : x_os + (SHIFTING ? 2 * ROWS + COLS - 3 : ROWS + COLS - 2);
    wire [31:0] issue = (te - 1) * ACC_LAT + 1;
    wire [31:0] p_ws  = (WPATH == 1) ? max2(max2(te, ROWS), 1 + (ROWS - 1) * max2(WLOAD - 1, ACC_LAT))
                      : max2(max2(te, ROWS * WLOAD), (ROWS - 1) * (WLOAD + ACC_LAT) + 1);
    wire [31:0] p_os  = (DRAIN == 0) ? issue
                      : (DRAIN == 3) ? max2(issue, ROWS + COLS - 1)
                      : (DRAIN == 1) ? max2((te - 1) * ACC_LAT + ROWS, 2 * ROWS - 2)
                      : max2(issue, 2 * ROWS - 2);
    wire [31:0] p_all = DOUBLE_BUF ? ((DATAFLOW == 1) ? p_ws : p_os) : LEAD + lat;
    wire [31:0] tail_all = lat - (te - 1) * STEP - 1;  // cycles from the cycle after the last step to the last output

    // ---------------------------------------------------------------- controller
    reg [CW-1:0] n_folds, t_len, t_eff, period, tail0, cyc, tail;
    reg          st_run, pl_run, fin;
    reg [CW-1:0] st_pos, st_fold, st_base, st_k, st_sub;
    reg [CW-1:0] pl_pos, pl_fold, pl_base, pl_r, pl_sub;

    assign done = busy && fin && (tail == 0);
    wire st_emit = st_run && st_sub == 0 && st_k < t_eff;
    wire w_load  = pl_run && pl_sub == 0 && pl_r < ROWS;

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; st_run <= 1'b0; pl_run <= 1'b0; fin <= 1'b0;
        end else if (!busy) begin
            if (start) begin
                busy <= 1'b1; fin <= 1'b0; cyc <= 0; tail <= 0;
                n_folds <= cfg_folds; t_len <= cfg_t; t_eff <= te; period <= p_all; tail0 <= tail_all;
                st_run <= (LEAD == 0); st_pos <= 0; st_fold <= 0; st_base <= 0; st_k <= 0; st_sub <= 0;
                pl_run <= (DATAFLOW == 1); pl_pos <= 0; pl_fold <= 0; pl_base <= 0; pl_r <= 0; pl_sub <= 0;
            end
        end else begin
            cyc <= cyc + 1;
            if (done) busy <= 1'b0;
            if (fin && tail != 0) tail <= tail - 1;
            // stream process: t_eff steps per fold, one every STEP cycles; one fold every `period` cycles
            if (!st_run && !fin && cyc + 1 == LEAD) st_run <= 1'b1;
            if (st_run) begin
                if (st_emit && st_fold == n_folds - 1 && st_k == t_eff - 1) begin
                    st_run <= 1'b0; fin <= 1'b1; tail <= tail0;
                end else if (st_pos == period - 1) begin
                    st_pos <= 0; st_fold <= st_fold + 1; st_base <= st_base + t_len; st_k <= 0; st_sub <= 0;
                end else begin
                    st_pos <= st_pos + 1;
                    if (st_sub == STEP - 1) begin
                        st_sub <= 0;
                        if (st_k != t_eff) st_k <= st_k + 1;
                    end else
                        st_sub <= st_sub + 1;
                end
            end
            // load process (WS): ROWS weight rows per fold, deepest first, one every LSTEP cycles, from cycle 0
            if (pl_run) begin
                if (w_load && pl_fold == n_folds - 1 && pl_r == ROWS - 1)
                    pl_run <= 1'b0;
                else if (pl_pos == period - 1) begin
                    pl_pos <= 0; pl_fold <= pl_fold + 1; pl_base <= pl_base + ROWS; pl_r <= 0; pl_sub <= 0;
                end else begin
                    pl_pos <= pl_pos + 1;
                    if (pl_sub == LSTEP - 1) begin
                        pl_sub <= 0;
                        if (pl_r != ROWS) pl_r <= pl_r + 1;
                    end else
                        pl_sub <= pl_sub + 1;
                end
            end
        end
    end

    wire                   l_data  = st_emit && st_k < t_len;  // padded steps past cfg_t stream zeros
    wire [ROWS*DATA_W-1:0] l_word  = l_data ? lmem[st_base + st_k] : {ROWS*DATA_W{1'b0}};
    wire [FW-1:0]          l_flags = {st_emit && st_k == t_eff - 1, st_emit && st_k == 0, st_emit};
    wire [CW-1:0]          t_addr  = (DATAFLOW == 1) ? pl_base + (ROWS - 1 - pl_r) : st_base + st_k;
    wire                   t_valid = (DATAFLOW == 1) ? w_load : l_data;
    wire [COLS*DATA_W-1:0] t_word  = t_valid ? tmem[t_addr] : {COLS*DATA_W{1'b0}};
    wire [TAG_W-1:0]       t_tag   = ROWS - 1 - pl_r;

    // ---------------------------------------------------------------- skew lines
    wire [DATA_W-1:0] a_edge [0:ROWS-1];
    wire [FW-1:0]     f_edge [0:ROWS-1];
    wire [DATA_W-1:0] t_edge [0:COLS-1];
    wire              v_edge [0:COLS-1];
    wire [TAG_W-1:0]  g_edge [0:COLS-1];

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : lskew
            delay_line #(.W(FW + DATA_W), .N(i * ROW_SKEW)) line (
                .clk(clk), .rst(rst), .d({l_flags, l_word[i*DATA_W +: DATA_W]}), .q({f_edge[i], a_edge[i]}));
        end
        for (j = 0; j < COLS; j = j + 1) begin : tskew
            delay_line #(.W(1 + TAG_W + DATA_W), .N(j)) line (
                .clk(clk), .rst(rst), .d({t_valid && w_load, t_tag, t_word[j*DATA_W +: DATA_W]}),
                .q({v_edge[j], g_edge[j], t_edge[j]}));
        end
    endgenerate

    // ---------------------------------------------------------------- PE grid
    // a_h[i][j]: left operand entering PE(i,j), f_h its flags (index COLS: the unused right edge)
    wire [DATA_W-1:0] a_h  [0:ROWS-1][0:COLS];
    wire [FW-1:0]     f_h  [0:ROWS-1][0:COLS];
    // WS: partial sums entering PE(i,j) from above and the weight load path
    wire [ACC_W-1:0]  ps_v [0:ROWS][0:COLS-1];
    wire              psv  [0:ROWS][0:COLS-1];
    wire [DATA_W-1:0] w_v  [0:ROWS][0:COLS-1];
    wire              wv_v [0:ROWS][0:COLS-1];
    wire [TAG_W-1:0]  wt_v [0:ROWS][0:COLS-1];
    // OS: top operand entering PE(i,j), the drain register above PE(i,j), per-PE results
    wire [DATA_W-1:0] b_v  [0:ROWS][0:COLS-1];
    wire [ACC_W-1:0]  dr_v [0:ROWS][0:COLS-1];
    wire              lastv[0:ROWS-1][0:COLS-1];
    wire              ovv  [0:ROWS-1][0:COLS-1];
    wire [COLS-1:0]   sh_en;
    // bottom ports before the de-skew registers (WS and the shifting OS drains)
    wire [COLS-1:0]   port_v;
    wire [ACC_W-1:0]  port_d [0:COLS-1];

    generate
        for (i = 0; i < ROWS; i = i + 1) begin : edge_l
            assign a_h[i][0] = a_edge[i];
            assign f_h[i][0] = f_edge[i];
        end
        for (j = 0; j < COLS; j = j + 1) begin : edge_t
            assign ps_v[0][j] = {ACC_W{1'b0}};
            assign w_v[0][j]  = t_edge[j];
            assign wv_v[0][j] = v_edge[j];
            assign wt_v[0][j] = g_edge[j];
            assign b_v[0][j]  = t_edge[j];
            assign dr_v[0][j] = {ACC_W{1'b0}};
        end
        for (i = 0; i < ROWS; i = i + 1) begin : row
            for (j = 0; j < COLS; j = j + 1) begin : col
                if (DATAFLOW == 1) begin : ws
                    ws_pe #(.DATA_W(DATA_W), .ACC_W(ACC_W), .MAC_LAT(MAC_LAT), .ACC_LAT(ACC_LAT),
                            .DOUBLE_BUF(DOUBLE_BUF), .WPATH(WPATH), .WLOAD(WLOAD), .ROW(i), .TAG_W(TAG_W)) pe (
                        .clk(clk), .rst(rst), .a_in(a_h[i][j]), .f_in(f_h[i][j]), .a_out(a_h[i][j+1]),
                        .f_out(f_h[i][j+1]), .ps_in(ps_v[i][j]), .ps_out(ps_v[i+1][j]),
                        .ps_valid(psv[i+1][j]), .ld_shift(v_edge[j]), .ld_v_in(wv_v[i][j]),
                        .ld_tag_in(wt_v[i][j]), .ld_in(w_v[i][j]), .ld_v_out(wv_v[i+1][j]),
                        .ld_tag_out(wt_v[i+1][j]), .ld_out(w_v[i+1][j]));
                end else begin : os
                    os_pe #(.DATA_W(DATA_W), .ACC_W(ACC_W), .MAC_LAT(MAC_LAT), .ACC_LAT(ACC_LAT),
                            .DRAIN(DRAIN)) pe (
                        .clk(clk), .rst(rst), .a_in(a_h[i][j]), .f_in(f_h[i][j]), .a_out(a_h[i][j+1]),
                        .f_out(f_h[i][j+1]), .b_in(b_v[i][j]), .b_out(b_v[i+1][j]), .sh_en(sh_en[j]),
                        .dr_in(dr_v[i][j]), .dr_out(dr_v[i+1][j]), .land_last(lastv[i][j]), .ov(ovv[i][j]));
                end
            end
        end
        if (DATAFLOW == 1) begin : ws_ports
            for (j = 0; j < COLS; j = j + 1) begin : col
                assign port_v[j] = psv[ROWS][j];
                assign port_d[j] = ps_v[ROWS][j];
            end
            assign sh_en = {COLS{1'b0}};
        end else if (SHIFTING) begin : shift_ctl
            for (j = 0; j < COLS; j = j + 1) begin : col
                // row ROWS-1's last add starts ROWS-1 shifts of the column; the port is valid after it and each shift
                reg [CW-1:0] shifts;
                reg          pv;
                always @(posedge clk) begin
                    if (rst) begin
                        shifts <= 0; pv <= 1'b0;
                    end else begin
                        if (lastv[ROWS-1][j])  shifts <= ROWS - 1;
                        else if (shifts != 0)  shifts <= shifts - 1;
                        pv <= lastv[ROWS-1][j] || (shifts != 0);
                    end
                end
                assign sh_en[j]  = (shifts != 0);
                assign port_v[j] = pv;
                assign port_d[j] = dr_v[ROWS][j];
            end
        end else begin : in_array  // in place / parallel: every PE is a port
            reg par_v;  // parallel: PE (ROWS-1, COLS-1)'s last add landed in the previous cycle
            always @(posedge clk)
                if (rst) par_v <= 1'b0;
                else     par_v <= lastv[ROWS-1][COLS-1];
            for (i = 0; i < ROWS; i = i + 1) begin : prow
                for (j = 0; j < COLS; j = j + 1) begin : pcol
                    assign out_valid[i*COLS + j] = (DRAIN == 3) ? par_v : ovv[i][j];
                    assign out_data[(i*COLS + j)*ACC_W +: ACC_W] = dr_v[i+1][j];
                end
            end
            assign sh_en = {COLS{1'b0}};
        end
        if (DATAFLOW == 1 || SHIFTING) begin : bottom_ports
            for (j = 0; j < COLS; j = j + 1) begin : col
                delay_line #(.W(1 + ACC_W), .N(SKEW ? COLS - 1 - j : 0)) deskew (
                    .clk(clk), .rst(rst), .d({port_v[j], port_d[j]}),
                    .q({out_valid[j], out_data[j*ACC_W +: ACC_W]}));
            end
        end
    endgenerate
endmodule
