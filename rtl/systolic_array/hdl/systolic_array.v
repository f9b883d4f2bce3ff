// systolic_array: ROWS x COLS signed MAC array with operand buffers, skew delay lines and a fold controller.
//
// Parameters (ROWS, COLS, DATAFLOW, DOUBLE_BUF, DRAIN, DATA_W, ACC_W) come from arch.systolic.SystolicArraySpec
// .verilog_parameters(); LDEPTH / TDEPTH size the two operand buffers for a test.
//   DATAFLOW 1 = weight stationary (also input stationary, with the operands' roles swapped by the driver):
//     top buffer word f*ROWS + r  = row r of fold f's stationary block (COLS lanes)
//     left buffer word f*T + m    = stream step m of fold f (ROWS lanes); outputs leave the bottom of each column
//   DATAFLOW 0 = output stationary:
//     left word f*T + k = A[fold rows, k] (ROWS lanes), top word f*T + k = B[k, fold cols] (COLS lanes);
//     DRAIN 0 (in place): every PE is an output port (read out in place, one-cycle valid pulse);
//     DRAIN 1 (shift): one port per column at the bottom edge. When row ROWS-1 of column j does its fold's last
//     MAC (cycle L), the column's drain registers shift down one row per cycle in cycles L+1 .. L+ROWS-1, so the
//     port shows row ROWS-1 in cycle L+1, ..., row 0 in cycle L+ROWS. Without DOUBLE_BUF the drain registers are
//     the accumulators (one bank); with it, the last MAC also writes a second (drain) bank, so the next fold
//     computes while the previous one shifts out.
// Usage: fill the buffers through ld_*, then pulse start with cfg_folds (F) and cfg_t (T, stream steps per fold).
//
// Cycle convention (shared with sim/kernels/systolic.py): cycle 0 is the first cycle after start is sampled.
// Row i sees the left word read in cycle t - i, column j the top word read in cycle t - j. A PE computes in the
// cycle its operands arrive; the result is visible (out_valid) from the next cycle. done is high in the cycle the
// last output is visible, which is the cycle count reported.
// Fold schedule: WS folds stream from s_f = ROWS + f*P, their weights are shifted in during [s_f - ROWS, s_f);
// P = 2R + C + T - 2 (no double buffer) or max(T, 2R - 1) (double buffer). OS folds stream from s_f = f*P with
// P = R + C + T - 2 or T (DRAIN 0), 2R + C + T - 3 or max(T, 2R - 2) (DRAIN 1: the next fold's row 0 may
// capture in the cycle of the column's last shift, never before).
module systolic_array #(
    parameter ROWS       = 4,
    parameter COLS       = 4,
    parameter DATAFLOW   = 1,
    parameter DOUBLE_BUF = 0,
    parameter DRAIN      = 0,                                       // OS: 0 in place, 1 shift out at the bottom
    parameter DATA_W     = 8,
    parameter ACC_W      = 32,
    parameter LDEPTH     = 64,
    parameter TDEPTH     = 64,
    parameter CW         = 16,
    parameter LANES      = (ROWS > COLS) ? ROWS : COLS,             // ld_data lanes (derived)
    parameter NOUT       = (DATAFLOW == 1 || DRAIN == 1) ? COLS : ROWS * COLS  // output ports (derived)
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
    localparam FW    = 3;  // flags travelling with the left operand: {last, first, valid}

    // ---------------------------------------------------------------- operand buffers
    reg [ROWS*DATA_W-1:0] lmem [0:LDEPTH-1];
    reg [COLS*DATA_W-1:0] tmem [0:TDEPTH-1];
    always @(posedge clk) begin
        if (ld_en && !ld_sel) lmem[ld_addr] <= ld_data[ROWS*DATA_W-1:0];
        if (ld_en &&  ld_sel) tmem[ld_addr] <= ld_data[COLS*DATA_W-1:0];
    end

    // ---------------------------------------------------------------- controller
    reg [CW-1:0] n_folds, t_len, period;
    reg          st_run, pl_run, fin;
    reg [CW-1:0] st_pos, st_fold, st_base;
    reg [CW-1:0] pl_pos, pl_fold, pl_base;
    reg [CW-1:0] cyc, tail;  // tail: cycles from the last stream step to the last output

    wire [CW-1:0] s0 = (DATAFLOW == 1) ? ROWS : 0;
    wire [CW-1:0] p_ws = DOUBLE_BUF ? ((cfg_t > 2 * ROWS - 1) ? cfg_t : 2 * ROWS - 1) : 2 * ROWS + COLS + cfg_t - 2;
    wire [CW-1:0] p_os = (DRAIN == 0) ? (DOUBLE_BUF ? cfg_t : ROWS + COLS + cfg_t - 2)
                       : (DOUBLE_BUF ? ((cfg_t > 2 * ROWS - 2) ? cfg_t : 2 * ROWS - 2) : 2 * ROWS + COLS + cfg_t - 3);
    wire [CW-1:0] tail0 = (DATAFLOW == 0 && DRAIN == 1) ? 2 * ROWS + COLS - 3 : ROWS + COLS - 2;

    assign done = busy && fin && (tail == 0);

    always @(posedge clk) begin
        if (rst) begin
            busy <= 1'b0; st_run <= 1'b0; pl_run <= 1'b0; fin <= 1'b0;
        end else if (!busy) begin
            if (start) begin
                busy <= 1'b1; fin <= 1'b0; cyc <= 0; tail <= 0;
                n_folds <= cfg_folds; t_len <= cfg_t; period <= (DATAFLOW == 1) ? p_ws : p_os;
                st_run <= (DATAFLOW == 0); st_pos <= 0; st_fold <= 0; st_base <= 0;
                pl_run <= (DATAFLOW == 1); pl_pos <= 0; pl_fold <= 0; pl_base <= 0;
            end
        end else begin
            cyc <= cyc + 1;
            if (done) busy <= 1'b0;
            if (fin && tail != 0) tail <= tail - 1;
            // stream process: T steps per fold, one fold every `period` cycles
            if (!st_run && !fin && cyc + 1 == s0) st_run <= 1'b1;
            if (st_run) begin
                if (st_fold == n_folds - 1 && st_pos == t_len - 1) begin
                    st_run <= 1'b0; fin <= 1'b1; tail <= tail0;
                end else if (st_pos == period - 1) begin
                    st_pos <= 0; st_fold <= st_fold + 1; st_base <= st_base + t_len;
                end else
                    st_pos <= st_pos + 1;
            end
            // preload process (WS): ROWS weight rows per fold, one fold every `period` cycles, from cycle 0
            if (pl_run) begin
                if (pl_fold == n_folds - 1 && pl_pos == ROWS - 1)
                    pl_run <= 1'b0;
                else if (pl_pos == period - 1) begin
                    pl_pos <= 0; pl_fold <= pl_fold + 1; pl_base <= pl_base + ROWS;
                end else
                    pl_pos <= pl_pos + 1;
            end
        end
    end

    wire                   l_valid = st_run && (st_pos < t_len);
    wire [ROWS*DATA_W-1:0] l_word  = l_valid ? lmem[st_base + st_pos] : {ROWS*DATA_W{1'b0}};
    wire [FW-1:0]          l_flags = {l_valid && (st_pos == t_len - 1), l_valid && (st_pos == 0), l_valid};
    wire                   w_load  = pl_run && (pl_pos < ROWS);
    wire [CW-1:0]          t_addr  = (DATAFLOW == 1) ? pl_base + (ROWS - 1 - pl_pos) : st_base + st_pos;
    wire                   t_valid = (DATAFLOW == 1) ? w_load : l_valid;
    wire [COLS*DATA_W-1:0] t_word  = t_valid ? tmem[t_addr] : {COLS*DATA_W{1'b0}};

    // ---------------------------------------------------------------- skew delay lines
    // row i: i registers; column j: j registers
    wire [DATA_W-1:0] a_edge [0:ROWS-1];
    wire [FW-1:0]     f_edge [0:ROWS-1];
    wire [DATA_W-1:0] t_edge [0:COLS-1];
    wire              v_edge [0:COLS-1];

    genvar i, j;
    generate
        for (i = 0; i < ROWS; i = i + 1) begin : lskew
            if (i == 0) begin : direct
                assign a_edge[0] = l_word[DATA_W-1:0];
                assign f_edge[0] = l_flags;
            end else begin : delay
                reg [DATA_W+FW-1:0] line [0:i-1];
                integer k;
                always @(posedge clk) begin
                    if (rst) begin
                        for (k = 0; k < i; k = k + 1) line[k] <= {(DATA_W+FW){1'b0}};
                    end else begin
                        line[0] <= {l_flags, l_word[i*DATA_W +: DATA_W]};
                        for (k = 1; k < i; k = k + 1) line[k] <= line[k-1];
                    end
                end
                assign a_edge[i] = line[i-1][DATA_W-1:0];
                assign f_edge[i] = line[i-1][DATA_W+FW-1:DATA_W];
            end
        end
        for (j = 0; j < COLS; j = j + 1) begin : tskew
            if (j == 0) begin : direct
                assign t_edge[0] = t_word[DATA_W-1:0];
                assign v_edge[0] = t_valid;
            end else begin : delay
                reg [DATA_W:0] line [0:j-1];
                integer k;
                always @(posedge clk) begin
                    if (rst) begin
                        for (k = 0; k < j; k = k + 1) line[k] <= {(DATA_W+1){1'b0}};
                    end else begin
                        line[0] <= {t_valid, t_word[j*DATA_W +: DATA_W]};
                        for (k = 1; k < j; k = k + 1) line[k] <= line[k-1];
                    end
                end
                assign t_edge[j] = line[j-1][DATA_W-1:0];
                assign v_edge[j] = line[j-1][DATA_W];
            end
        end
    endgenerate

    // ---------------------------------------------------------------- PE grid
    // a_h[i][j]: left operand entering PE(i,j); f_h: its flags. Index COLS is the (unused) right edge.
    wire [DATA_W-1:0] a_h [0:ROWS-1][0:COLS];
    wire [FW-1:0]     f_h [0:ROWS-1][0:COLS];
    // WS: partial sums (ps_v[i][j] enters PE(i,j) from above) and the weight shift chain
    wire [ACC_W-1:0]  ps_v [0:ROWS][0:COLS-1];
    wire [DATA_W-1:0] w_v  [0:ROWS][0:COLS-1];
    // OS: top operand entering PE(i,j)
    wire [DATA_W-1:0] b_v  [0:ROWS][0:COLS-1];
    // OS shift drain: dr_v[i][j] is the drain register above PE(i,j) (0 above row 0); sh_en[j] shifts column j
    wire [ACC_W-1:0]  dr_v [0:ROWS][0:COLS-1];
    wire [COLS-1:0]   sh_en;

    generate
        for (i = 0; i < ROWS; i = i + 1) begin : edge_l
            assign a_h[i][0] = a_edge[i];
            assign f_h[i][0] = f_edge[i];
        end
        for (j = 0; j < COLS; j = j + 1) begin : edge_t
            assign ps_v[0][j] = {ACC_W{1'b0}};
            assign w_v[0][j]  = t_edge[j];
            assign b_v[0][j]  = t_edge[j];
            assign dr_v[0][j] = {ACC_W{1'b0}};
        end
        for (i = 0; i < ROWS; i = i + 1) begin : row
            for (j = 0; j < COLS; j = j + 1) begin : col
                reg [DATA_W-1:0] a_q;
                reg [FW-1:0]     f_q;
                always @(posedge clk) begin
                    if (rst) f_q <= {FW{1'b0}};
                    else     f_q <= f_h[i][j];
                    a_q <= a_h[i][j];
                end
                assign a_h[i][j+1] = a_q;
                assign f_h[i][j+1] = f_q;

                if (DATAFLOW == 1) begin : ws
                    reg [ACC_W-1:0]  ps_q;
                    reg [DATA_W-1:0] wl;   // weight shift chain (the active weight without double buffering)
                    wire [DATA_W-1:0] w_eff;
                    if (DOUBLE_BUF) begin : dbuf
                        reg [DATA_W-1:0] wa;  // active weight; copied from wl by the fold's first operand
                        always @(posedge clk)
                            if (rst) wa <= {DATA_W{1'b0}};
                            else if (f_h[i][j][0] && f_h[i][j][1]) wa <= wl;
                        assign w_eff = f_h[i][j][1] ? wl : wa;
                    end else begin : sbuf
                        assign w_eff = wl;
                    end
                    always @(posedge clk) begin
                        if (rst) begin
                            wl <= {DATA_W{1'b0}};
                        end else begin
                            if (f_h[i][j][0])
                                ps_q <= $signed(ps_v[i][j]) + $signed(a_h[i][j]) * $signed(w_eff);
                            if (v_edge[j])  // column-broadcast shift enable
                                wl <= w_v[i][j];
                        end
                    end
                    assign ps_v[i+1][j] = ps_q;
                    assign w_v[i+1][j]  = wl;
                    if (i == ROWS - 1) begin : port
                        assign out_valid[j] = f_q[0];
                        assign out_data[j*ACC_W +: ACC_W] = ps_q;
                    end
                end else if (DRAIN == 0) begin : os
                    reg [DATA_W-1:0] b_q;
                    reg              ov;
                    wire [ACC_W-1:0] acc;
                    mac_pe #(.DATA_W(DATA_W), .ACC_W(ACC_W)) mac (
                        .clk(clk), .rst(rst), .en(f_h[i][j][0]), .clr(f_h[i][j][0] && f_h[i][j][1]),
                        .a(a_h[i][j]), .b(b_v[i][j]), .acc(acc));
                    always @(posedge clk) begin
                        b_q <= b_v[i][j];
                        if (rst) ov <= 1'b0;
                        else     ov <= f_h[i][j][0] && f_h[i][j][2];
                    end
                    assign b_v[i+1][j] = b_q;
                    assign out_valid[i*COLS + j] = ov;
                    assign out_data[(i*COLS + j)*ACC_W +: ACC_W] = acc;
                end else begin : os_shift
                    reg [DATA_W-1:0]        b_q;
                    reg signed [ACC_W-1:0]  acc;
                    wire                    mac  = f_h[i][j][0];
                    wire                    last = f_h[i][j][0] && f_h[i][j][2];
                    wire signed [2*DATA_W-1:0] prod = $signed(a_h[i][j]) * $signed(b_v[i][j]);
                    wire signed [ACC_W-1:0] base = f_h[i][j][1] ? {ACC_W{1'b0}} : acc;
                    wire signed [ACC_W-1:0] acc_next = base + prod;
                    always @(posedge clk) begin
                        b_q <= b_v[i][j];
                        if (rst)
                            acc <= {ACC_W{1'b0}};
                        else if (mac)                         // a MAC takes the accumulator before a shift
                            acc <= acc_next;
                        else if (!DOUBLE_BUF && sh_en[j])     // one bank: the accumulators are the drain chain
                            acc <= dr_v[i][j];
                    end
                    assign b_v[i+1][j] = b_q;
                    if (DOUBLE_BUF) begin : bank2
                        reg [ACC_W-1:0] dr;                   // second bank: written by the last MAC, then shifted
                        always @(posedge clk)
                            if (rst)              dr <= {ACC_W{1'b0}};
                            else if (last)        dr <= acc_next;
                            else if (sh_en[j])    dr <= dr_v[i][j];
                        assign dr_v[i+1][j] = dr;
                    end else begin : bank1
                        assign dr_v[i+1][j] = acc;
                    end
                end
            end
        end
        if (DATAFLOW == 0 && DRAIN == 1) begin : shift_ctl
            for (j = 0; j < COLS; j = j + 1) begin : col
                // row ROWS-1's last MAC starts ROWS-1 shifts of the column; the port is valid after it and each shift
                wire         cap = f_h[ROWS-1][j][0] && f_h[ROWS-1][j][2];
                reg [CW-1:0] shifts;
                reg          pv;
                always @(posedge clk) begin
                    if (rst) begin
                        shifts <= 0; pv <= 1'b0;
                    end else begin
                        if (cap)               shifts <= ROWS - 1;
                        else if (shifts != 0)  shifts <= shifts - 1;
                        pv <= cap || (shifts != 0);
                    end
                end
                assign sh_en[j] = (shifts != 0);
                assign out_valid[j] = pv;
                assign out_data[j*ACC_W +: ACC_W] = dr_v[ROWS][j];
            end
        end else begin : no_shift
            assign sh_en = {COLS{1'b0}};
        end
    endgenerate
endmodule
