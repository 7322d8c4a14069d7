/*
 * cmd_lolwut: LOLWUT [VERSION v] [args...] — computer art and the version,
 * with Redis 7.0.15's argument handling and reply shape; the drawings are
 * Lightning's own generators.
 *
 * Dispatch (Redis's rule on the string "<v>.0.0"): v 5 (and "4.9") draws a
 * grid of squares growing more disordered row by row, after Georg Nees's
 * "Schotter" (1968), in braille dots, arguments [columns] [squares-per-row]
 * [squares-per-col] (defaults 66 8 12, clamped to 1..1000, 1..200,
 * 1..200); v 6 (and "5.9") draws a night skyline in four grey levels of
 * ANSI background colour, arguments [columns] [rows] (defaults 80 20,
 * clamped to 1..1000); anything else (no VERSION, 7, 59, -1 ...) answers
 * only the version line. Replies are verbatim text ending with Redis's
 * caption and "Redis ver. <version>" line.
 *
 * Bounds: the braille canvas is capped at LOLWUT_MAX_PIXELS (the square
 * side shrinks to fit), the skyline at 1000x1000 cells by the clamps.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/random.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "server/cmd/args.h"
#include "server/cmd/commands.h"
#include "server/net/reply.h"
#include "server/server.h"

#define LOLWUT_MAX_PIXELS (4u << 20)

static double rand_unit(void) { return (double)(lt_random_u64() >> 11) / 9007199254740992.0; }

/* ---- Version 5: squares in braille ------------------------------------------ */

typedef struct canvas {
    int w, h;
    unsigned char *px;
} canvas;

static void canvas_set(canvas *cv, int x, int y) {
    if (x >= 0 && y >= 0 && x < cv->w && y < cv->h) cv->px[(size_t)y * (size_t)cv->w + (size_t)x] = 1;
}

/* Bresenham from (x0,y0) to (x1,y1). */
static void canvas_line(canvas *cv, int x0, int y0, int x1, int y1) {
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        canvas_set(cv, x0, y0);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

/* A square of side `side` centred on (cx,cy), turned by `angle`. */
static void canvas_square(canvas *cv, double cx, double cy, double side, double angle) {
    double h = side / 2, ca = cos(angle), sa = sin(angle);
    static const double corner[4][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}};
    int px[4], py[4];
    for (int i = 0; i < 4; i++) {
        double x = corner[i][0] * h, y = corner[i][1] * h;
        px[i] = (int)lround(cx + x * ca - y * sa);
        py[i] = (int)lround(cy + x * sa + y * ca);
    }
    for (int i = 0; i < 4; i++) canvas_line(cv, px[i], py[i], px[(i + 1) % 4], py[(i + 1) % 4]);
}

/* Two columns by four rows of pixels per braille character. */
static void canvas_render_braille(const canvas *cv, lt_strbuf *out) {
    static const unsigned char bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
    for (int y = 0; y < cv->h; y += 4) {
        for (int x = 0; x < cv->w; x += 2) {
            unsigned dots = 0;
            for (int dy = 0; dy < 4; dy++)
                for (int dx = 0; dx < 2; dx++)
                    if (y + dy < cv->h && x + dx < cv->w &&
                        cv->px[(size_t)(y + dy) * (size_t)cv->w + (size_t)(x + dx)])
                        dots |= bit[dy][dx];
            unsigned cp = 0x2800 + dots; /* U+2800..U+28FF, three UTF-8 bytes */
            char u[3] = {(char)(0xE0 | (cp >> 12)), (char)(0x80 | ((cp >> 6) & 0x3F)),
                         (char)(0x80 | (cp & 0x3F))};
            lt_strbuf_append(out, u, 3);
        }
        lt_strbuf_append(out, "\n", 1);
    }
}

static void lolwut5(client *c, int argc, const resp_arg *argv) {
    long long cols = 66, per_row = 8, per_col = 12;
    if (argc > 0 && arg_ll_or_reply(c, &argv[0], &cols, NULL) < 0) return;
    if (argc > 1 && arg_ll_or_reply(c, &argv[1], &per_row, NULL) < 0) return;
    if (argc > 2 && arg_ll_or_reply(c, &argv[2], &per_col, NULL) < 0) return;
    if (cols < 1) cols = 1;
    if (cols > 1000) cols = 1000;
    if (per_row < 1) per_row = 1;
    if (per_row > 200) per_row = 200;
    if (per_col < 1) per_col = 1;
    if (per_col > 200) per_col = 200;
    int pad = 2, gap = 1, width = (int)cols * 2;
    int side = (width - 2 * pad - gap * ((int)per_row - 1)) / (int)per_row;
    if (side < 1) side = 1;
    /* Keep the canvas bounded: a tall grid of big squares shrinks. */
    while (side > 1 && (size_t)width * (size_t)(2 * pad + per_col * (side + gap)) > LOLWUT_MAX_PIXELS)
        side--;
    int height = 2 * pad + (int)per_col * (side + gap);
    if ((size_t)width * (size_t)height > LOLWUT_MAX_PIXELS) height = (int)(LOLWUT_MAX_PIXELS / (size_t)width);
    canvas cv = {.w = width, .h = height, .px = lt_xcalloc((size_t)width * (size_t)height, 1)};
    for (int r = 0; r < per_col; r++) {
        /* Order on top, disorder at the bottom: rotation and displacement
         * grow with the row. */
        double disorder = per_col > 1 ? (double)r / (double)(per_col - 1) : 0;
        for (int k = 0; k < per_row; k++) {
            double cx = pad + k * (side + gap) + side / 2.0;
            double cy = pad + r * (side + gap) + side / 2.0;
            double angle = (rand_unit() * 2 - 1) * disorder * M_PI / 4;
            cx += (rand_unit() * 2 - 1) * disorder * side / 3.0;
            cy += (rand_unit() * 2 - 1) * disorder * side / 3.0;
            canvas_square(&cv, cx, cy, side, angle);
        }
    }
    lt_strbuf out = {0};
    canvas_render_braille(&cv, &out);
    free(cv.px);
    lt_strbuf_appends(&out, "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ");
    lt_strbuf_appends(&out, REDIS_VERSION);
    lt_strbuf_appends(&out, "\n");
    addReplyVerbatim(c, out.p, out.len, "txt");
    free(out.p);
}

/* ---- Version 6: a skyline in grey blocks ------------------------------------- */

enum { SKY_BLACK, SKY_GREY, SKY_LIGHT, SKY_WHITE };

static void lolwut6(client *c, int argc, const resp_arg *argv) {
    long long cols = 80, rows = 20;
    if (argc > 0 && arg_ll_or_reply(c, &argv[0], &cols, NULL) < 0) return;
    if (argc > 1 && arg_ll_or_reply(c, &argv[1], &rows, NULL) < 0) return;
    if (cols < 1) cols = 1;
    if (cols > 1000) cols = 1000;
    if (rows < 1) rows = 1;
    if (rows > 1000) rows = 1000;
    int w = (int)cols, h = (int)rows;
    unsigned char *cell = lt_xcalloc((size_t)w * (size_t)h, 1);
    /* Sky: black with a few stars, a white moon in the upper third. */
    for (int i = 0; i < w * h / 40; i++)
        cell[lt_random_below((uint64_t)w * (uint64_t)h)] = SKY_LIGHT;
    int mx = (int)lt_random_below((uint64_t)w), my = h > 3 ? (int)lt_random_below((uint64_t)(h / 3)) : 0;
    for (int y = my - 1; y <= my + 1; y++)
        for (int x = mx - 2; x <= mx + 2; x++)
            if (y >= 0 && y < h && x >= 0 && x < w && abs(x - mx) + 2 * abs(y - my) <= 3)
                cell[(size_t)y * (size_t)w + (size_t)x] = SKY_WHITE;
    /* Buildings left to right: grey walls, lit (light) and bright
     * (white) windows on alternate rows and columns. */
    for (int x = 0; x < w;) {
        int bw = 3 + (int)lt_random_below(6), top = h / 3 + (int)lt_random_below((uint64_t)(h - h / 3 + 1));
        if (bw > w - x) bw = w - x;
        for (int y = top; y < h; y++)
            for (int i = 0; i < bw; i++) {
                unsigned char v = SKY_GREY;
                if (i > 0 && i < bw - 1 && (y - top) % 2 == 1 && i % 2 == 1) {
                    uint64_t r = lt_random_below(10);
                    v = r < 3 ? SKY_LIGHT : r < 4 ? SKY_WHITE : SKY_BLACK;
                }
                cell[(size_t)y * (size_t)w + (size_t)(x + i)] = v;
            }
        x += bw + (int)lt_random_below(2);
    }
    static const char *const color[] = {"\033[0;30;40m \033[0m", "\033[0;90;100m \033[0m",
                                        "\033[0;37;47m \033[0m", "\033[0;97;107m \033[0m"};
    lt_strbuf out = {0};
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) lt_strbuf_appends(&out, color[cell[(size_t)y * (size_t)w + (size_t)x]]);
        if (y != h - 1) lt_strbuf_append(&out, "\n", 1);
    }
    free(cell);
    lt_strbuf_appends(&out, "\nDedicated to the 8 bit game developers of past and present.\n"
                            "Original 8 bit image from Plaguemon by hikikomori. Redis ver. ");
    lt_strbuf_appends(&out, REDIS_VERSION);
    lt_strbuf_appends(&out, "\n");
    addReplyVerbatim(c, out.p, out.len, "txt");
    free(out.p);
}

/* ---- LOLWUT ------------------------------------------------------------------ */

static void lolwutCommand(client *c) {
    const char *v = REDIS_VERSION;
    char verstr[64];
    int first = 1;
    if (c->argc >= 3 && arg_is(&c->argv[1], "version")) {
        long long ver;
        if (arg_ll_or_reply(c, &c->argv[2], &ver, NULL) < 0) return;
        /* Redis prints the version as an unsigned int: -1 is 4294967295. */
        snprintf(verstr, sizeof(verstr), "%u.0.0", (unsigned)ver);
        v = verstr;
        first = 3;
    }
    int argc = c->argc - first;
    const resp_arg *argv = &c->argv[first];
    if ((v[0] == '5' && v[1] == '.' && v[2] != '9') || (v[0] == '4' && v[1] == '.' && v[2] == '9')) {
        lolwut5(c, argc, argv);
    } else if ((v[0] == '6' && v[1] == '.' && v[2] != '9') ||
               (v[0] == '5' && v[1] == '.' && v[2] == '9')) {
        lolwut6(c, argc, argv);
    } else {
        static const char line[] = "Redis ver. " REDIS_VERSION "\n";
        addReplyVerbatim(c, line, sizeof(line) - 1, "txt");
    }
}

command lolwut_commands[] = {
    {.name = "lolwut", .proc = lolwutCommand, .arity = -1, .flags = CMD_READONLY | CMD_FAST,
     .acl = ACL_READ | ACL_FAST, .group = "server", .since = "5.0.0",
     .summary = "Displays computer art and the Redis version."},
    {0},
};
