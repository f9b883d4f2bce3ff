`timescale 1ns / 1ps
// Two PIM-enabled DRAM banks (NeuPIMs-like) sharing one command bus and one data bus: one rank, N_BG bank groups
// of 2 / N_BG banks, each bank with one or two row buffers (ROW_BUFFERS; with two, DRAM reads/writes use buffer 0
// and PIM commands buffer 1), a global buffer of one row of LANES-wide words, a LANES-wide MAC per bank.
//
// Commands (cmd): 0 ACT, 1 PRE, 2 RD, 3 WR, 5 G_ACT (PIM row in every bank of bank group cmd_bg), 6 G_PRE,
// 7 COMP (every bank: accumulate column cmd_col of its PIM row times the global buffer's word cmd_col),
// 8 READRES (both accumulators on the result port CL cycles later, then cleared), 9 GWRITE (copy the bank's open
// row into the global buffer). A command is issued at the end of a cycle where cmd_valid && cmd_ready. Timing
// violations stall (cmd_ready low until legal); protocol errors (a closed or wrong row, an open buffer, an address
// out of range, an unknown command) are consumed at once with cmd_error high and change nothing.
//
// Timing: each bank keeps, per command kind, the first cycle that kind is legal there; an issued command raises
// them by gap(issued, kind, same bank, same bank group), the minimum gaps of sim/dram_check.py (DRAMsim3 and
// NeuPIMs rules). COMP / READRES / G_ACT / G_PRE are legal when every bank they address allows them. Also: four
// activations per T_FAW window (a G_ACT activates its bank group's banks), READRES no earlier than FILL after the
// first COMP since the previous READRES. init_* is an untimed back door that fills the cell array.
module pim_channel #(
    parameter integer MAX_ROWS    = 16,                    // cell array rows per bank (N_ROWS <= MAX_ROWS)
    parameter integer N_COLS      = 8,
    parameter integer LANES       = 4,
    parameter integer DATA_BITS   = 16,
    parameter integer ACC_BITS    = 48,
    parameter integer MAX_CL      = 32                     // data pipeline depth (CL <= MAX_CL)
) (
    input  wire                         clk,
    input  wire                         rst,
    // run-time configuration, 16 bits per field in the bench's CFG_FIELDS order (N_BG in the lowest bits), held
    // stable while rst is low: one build serves every geometry and timing, one simulator run several configurations
    input  wire [23*16-1:0]             cfg,
    input  wire                         cmd_valid,
    output wire                         cmd_ready,
    output wire                         cmd_error,
    input  wire [3:0]                   cmd,
    input  wire [1:0]                   cmd_bg,
    input  wire [1:0]                   cmd_bank,
    input  wire [15:0]                  cmd_row,
    input  wire [15:0]                  cmd_col,
    input  wire [LANES*DATA_BITS-1:0]   cmd_wdata,
    input  wire                         init_we,
    input  wire [31:0]                  init_addr,
    input  wire [LANES*DATA_BITS-1:0]   init_data,
    output wire                         rd_valid,
    output wire [LANES*DATA_BITS-1:0]   rd_data,
    output wire                         res_valid,
    output wire [2*ACC_BITS-1:0]        res_data,
    output wire                         busy_o
);
    // N_BG bank groups of 2 / N_BG banks, ROW_BUFFERS per bank, N_ROWS rows; minimum gaps in cycles
    wire [15:0] N_BG = cfg[0*16 +: 16], ROW_BUFFERS = cfg[1*16 +: 16], N_ROWS = cfg[2*16 +: 16];
    wire [15:0] T_RCD = cfg[3*16 +: 16], T_RP = cfg[4*16 +: 16], T_RAS = cfg[5*16 +: 16];
    wire [15:0] T_RRD_S = cfg[6*16 +: 16], T_RRD_L = cfg[7*16 +: 16], T_FAW = cfg[8*16 +: 16];
    wire [15:0] T_RTP = cfg[9*16 +: 16], T_WTP = cfg[10*16 +: 16], RR_S = cfg[11*16 +: 16], RR_L = cfg[12*16 +: 16];
    wire [15:0] RTW = cfg[13*16 +: 16], WTR_S = cfg[14*16 +: 16], WTR_L = cfg[15*16 +: 16], T_RR = cfg[16*16 +: 16];
    wire [15:0] RTP_RP = cfg[17*16 +: 16], GW = cfg[18*16 +: 16], FILL = cfg[19*16 +: 16];
    wire [15:0] CL = cfg[20*16 +: 16], CWL = cfg[21*16 +: 16], BURST = cfg[22*16 +: 16];
    localparam integer W = LANES * DATA_BITS;
    wire [1:0] BPG = (N_BG == 2) ? 2'd1 : 2'd2;
    wire PB = (ROW_BUFFERS == 2);                           // row buffer of the PIM commands
    localparam [3:0] ACT = 0, PRE = 1, RD = 2, WR = 3, G_ACT = 5, G_PRE = 6, COMP = 7, READRES = 8, GWRITE = 9;

    reg [W-1:0] cells [0:2*MAX_ROWS*N_COLS-1];
    reg [W-1:0] gbuf [0:N_COLS-1];
    reg         open_v [0:1][0:1];                          // [bank][buffer]
    reg [15:0]  open_r [0:1][0:1];
    integer     rdy [0:1][0:9];                              // first legal cycle of each command kind per bank
    integer     faw [0:3];                                   // the last four activation cycles, newest first
    integer     now, end_cycle, first_comp;
    reg         comp_seen;
    reg signed [ACC_BITS-1:0] acc [0:1];

    function integer bufof(input [3:0] k);
        bufof = (k == G_ACT || k == G_PRE || k == COMP || k == READRES) ? PB : 0;
    endfunction
    function is_act(input [3:0] k); is_act = (k == ACT || k == G_ACT); endfunction
    function is_pre(input [3:0] k); is_pre = (k == PRE || k == G_PRE); endfunction
    function integer mx(input integer a, input integer b); mx = (a > b) ? a : b; endfunction

    // the largest minimum gap from an issued command p to a later command n whose footprints share a bank (sb)
    // and / or a bank group (bg); there is a single rank
    function integer gap(input [3:0] p, input [3:0] n, input sb, input bg);
        integer g;
        begin
            g = 0;
            if (sb && bufof(p) == bufof(n)) begin
                if (is_act(p) && is_pre(n)) g = mx(g, T_RAS);
                if (is_pre(p) && is_act(n)) g = mx(g, T_RP);
                if (is_act(p) && (n == RD || n == WR || n == GWRITE || n == COMP || n == READRES)) g = mx(g, T_RCD);
                if (is_pre(n) && (p == RD || p == COMP || p == READRES)) g = mx(g, T_RTP);
                if (is_pre(n) && p == WR) g = mx(g, T_WTP);
                if (is_pre(n) && p == GWRITE) g = mx(g, GW);
            end
            if (sb && p == GWRITE && (n == RD || n == WR)) g = mx(g, GW);
            if (p == GWRITE && (n == COMP || n == READRES || n == GWRITE)) g = mx(g, GW);
            if (is_act(p) && is_act(n)) g = mx(g, bg ? T_RRD_L : T_RRD_S);
            if ((p == RD && (n == RD || n == GWRITE)) || (p == GWRITE && n == RD)) g = mx(g, bg ? RR_L : RR_S);
            if ((p == RD || p == GWRITE || p == COMP || p == READRES) && n == WR) g = mx(g, RTW);
            if (p == WR && (n == RD || n == GWRITE)) g = mx(g, bg ? WTR_L : WTR_S);
            if (p == WR && n == WR) g = mx(g, bg ? RR_L : RR_S);
            if (p == RD && (n == COMP || n == READRES)) g = mx(g, (bg && PB == 0) ? RR_L : RR_S);
            if (p == WR && (n == COMP || n == READRES)) g = mx(g, (bg && PB == 0) ? WTR_L : WTR_S);
            if (p == COMP && (n == RD || n == GWRITE || n == COMP || n == READRES)) g = mx(g, RR_S);
            if (p == READRES && (n == RD || n == GWRITE)) g = mx(g, RR_S);
            if (p == READRES && (n == COMP || n == READRES)) g = mx(g, T_RR);
            if (p == READRES && n == G_ACT) g = mx(g, RTP_RP);
            gap = g;
        end
    endfunction

    // the presented command: its banks, protocol errors and timing legality
    wire [1:0] bi = cmd_bg * BPG + cmd_bank;                 // flat bank of a bank command
    wire bank_cmd = (cmd == ACT || cmd == PRE || cmd == RD || cmd == WR || cmd == GWRITE);
    wire bg_cmd = (cmd == G_ACT || cmd == G_PRE);
    reg in_bank [0:1];                                        // banks the command addresses
    reg err;
    integer need, k, j, acts;
    always @* begin
        for (k = 0; k < 2; k = k + 1)
            in_bank[k] = (cmd == COMP || cmd == READRES) || (bg_cmd && k / BPG == cmd_bg) || (bank_cmd && k == bi);
        err = 1'b0;
        if (bank_cmd && (cmd_bg >= N_BG || cmd_bank >= BPG)) err = 1'b1;
        else if (bg_cmd && cmd_bg >= N_BG) err = 1'b1;
        else case (cmd)
            ACT: err = open_v[bi][0] || cmd_row >= N_ROWS || (PB == 1 && open_v[bi][1] && open_r[bi][1] == cmd_row);
            PRE: err = !open_v[bi][0];
            RD, WR: err = !open_v[bi][0] || open_r[bi][0] != cmd_row || cmd_col >= N_COLS;
            GWRITE: err = !open_v[bi][0] || open_r[bi][0] != cmd_row;
            G_ACT: begin
                err = cmd_row >= N_ROWS;
                for (k = 0; k < 2; k = k + 1)
                    if (in_bank[k] && (open_v[k][PB] || (PB == 1 && open_v[k][0] && open_r[k][0] == cmd_row)))
                        err = 1'b1;
            end
            G_PRE: for (k = 0; k < 2; k = k + 1) if (in_bank[k] && !open_v[k][PB]) err = 1'b1;
            COMP, READRES: err = !open_v[0][PB] || !open_v[1][PB] || open_r[0][PB] != open_r[1][PB]
                                 || (cmd == COMP && cmd_col >= N_COLS);
            default: err = 1'b1;
        endcase
        need = 0;
        for (k = 0; k < 2; k = k + 1) if (in_bank[k]) need = mx(need, rdy[k][cmd]);
        acts = (cmd == G_ACT) ? ((BPG < 4) ? BPG : 4) : 1;
        if (is_act(cmd)) need = mx(need, faw[4 - acts] + T_FAW);
        if (cmd == READRES && comp_seen) need = mx(need, first_comp + FILL);
    end
    assign cmd_ready = err || now >= need;
    assign cmd_error = err;
    wire fire = cmd_valid && cmd_ready && !err;

    // COMP: every bank's partial sum of its PIM row's column cmd_col times the global buffer
    reg signed [ACC_BITS-1:0] part [0:1];
    reg [W-1:0] word;
    integer l;
    always @* begin
        for (k = 0; k < 2; k = k + 1) begin
            word = cells[(k * N_ROWS + open_r[k][PB]) * N_COLS + cmd_col];
            part[k] = 0;
            for (l = 0; l < LANES; l = l + 1)
                part[k] = part[k] + $signed(word[l*DATA_BITS +: DATA_BITS])
                                    * $signed(gbuf[cmd_col][l*DATA_BITS +: DATA_BITS]);
        end
    end

    // data pipelines: RD data and READRES results appear CL cycles after the command
    reg [MAX_CL-1:0] rd_v, rs_v;
    reg [W-1:0] rd_p [0:MAX_CL-1];
    reg [2*ACC_BITS-1:0] rs_p [0:MAX_CL-1];
    assign rd_valid = rd_v[CL-1];
    assign rd_data = rd_p[CL-1];
    assign res_valid = rs_v[CL-1];
    assign res_data = rs_p[CL-1];
    assign busy_o = now < end_cycle;

    always @(posedge clk) begin
        if (init_we) cells[init_addr] <= init_data;
    end

    always @(posedge clk) begin
        if (rst) begin
            now <= 0;
            end_cycle <= 0;
            comp_seen <= 1'b0;
            first_comp <= 0;
            for (k = 0; k < 2; k = k + 1) begin
                acc[k] <= 0;
                for (j = 0; j < 2; j = j + 1) begin
                    open_v[k][j] <= 1'b0;
                    open_r[k][j] <= 0;
                end
                for (j = 0; j < 10; j = j + 1) rdy[k][j] <= 0;
            end
            for (k = 0; k < 4; k = k + 1) faw[k] <= -(1 << 20);
            for (k = 0; k < N_COLS; k = k + 1) gbuf[k] <= 0;
            rd_v <= 0;
            rs_v <= 0;
        end else begin
            now <= now + 1;
            if (cmd_valid && err) end_cycle <= mx(end_cycle, now + 1);
            if (fire) begin
                for (k = 0; k < 2; k = k + 1)
                    for (j = 0; j < 10; j = j + 1)
                        rdy[k][j] <= mx(rdy[k][j], now + gap(cmd, j[3:0], in_bank[k],
                                                            (cmd == COMP || cmd == READRES) || k / BPG == cmd_bg));
                case (cmd)
                    RD, READRES: end_cycle <= mx(end_cycle, now + CL + BURST);
                    WR: end_cycle <= mx(end_cycle, now + CWL + BURST);
                    GWRITE: end_cycle <= mx(end_cycle, now + GW);
                    default: end_cycle <= mx(end_cycle, now + 1);
                endcase
                if (is_act(cmd)) begin
                    for (k = 0; k < 4; k = k + 1)
                        faw[k] <= (k < acts) ? now : faw[k - acts];
                    for (k = 0; k < 2; k = k + 1)
                        if (in_bank[k]) begin
                            open_v[k][bufof(cmd)] <= 1'b1;
                            open_r[k][bufof(cmd)] <= cmd_row;
                        end
                end
                if (is_pre(cmd))
                    for (k = 0; k < 2; k = k + 1) if (in_bank[k]) open_v[k][bufof(cmd)] <= 1'b0;
                if (cmd == WR) cells[(bi * N_ROWS + open_r[bi][0]) * N_COLS + cmd_col] <= cmd_wdata;
                if (cmd == GWRITE)
                    for (k = 0; k < N_COLS; k = k + 1) gbuf[k] <= cells[(bi * N_ROWS + open_r[bi][0]) * N_COLS + k];
                if (cmd == COMP) begin
                    for (k = 0; k < 2; k = k + 1) acc[k] <= acc[k] + part[k];
                    if (!comp_seen) begin
                        comp_seen <= 1'b1;
                        first_comp <= now;
                    end
                end
                if (cmd == READRES) begin
                    acc[0] <= 0;
                    acc[1] <= 0;
                    comp_seen <= 1'b0;
                end
            end
            for (k = MAX_CL - 1; k > 0; k = k - 1) begin
                rd_v[k] <= rd_v[k-1];
                rd_p[k] <= rd_p[k-1];
                rs_v[k] <= rs_v[k-1];
                rs_p[k] <= rs_p[k-1];
            end
            rd_v[0] <= fire && cmd == RD;
            rd_p[0] <= cells[(bi * N_ROWS + open_r[bi][0]) * N_COLS + cmd_col];
            rs_v[0] <= fire && cmd == READRES;
            rs_p[0] <= {acc[1], acc[0]};
        end
    end
endmodule
