/*
 * metrics: Prometheus text exposition (format 0.0.4) of the server's
 * figures, served over HTTP/1.x at /metrics — on the main port (an HTTP
 * request line is recognised before RESP parsing) and on metrics-port when
 * set.
 *
 * Owns: the HTTP request-line recognition and the one response per
 * connection (Connection: close), and the mapping from INFO fields to
 * metric names. The figures are INFO's (info_render): the same numbers as
 * `INFO everything`, named after redis_exporter's metrics where the
 * quantity is the same (redis_up, redis_commands_total{cmd=...},
 * redis_memory_used_bytes, redis_db_keys{db=...}, ...), so its Grafana
 * dashboards work; Lightning's own figures are lightning_*.
 *
 * HTTP rules: a complete line "GET /metrics[?query] HTTP/1.<d>" is
 * answered with the exposition and the connection closed after it. Such a
 * line can never be a valid Redis command (GET takes one argument), so RESP
 * clients are unaffected. Any other HTTP request on the main port goes on
 * to the RESP path exactly as in Redis (GET / HTTP/1.1 gets an arity error,
 * then its Host: line closes the connection; POST closes at once). On
 * metrics-port another path gets 404 and anything but a request line
 * closes the connection.
 * Bound: the request line is at most METRICS_MAX_LINE bytes; the response
 * is built once per request.
 */
#ifndef LIGHTNING_METRICS_H
#define LIGHTNING_METRICS_H

#include <stddef.h>

#include "server/net/client.h"

#define METRICS_MAX_LINE 8192

/* Looks at buf[0..len) of a client's input. Returns 0 when it is not an
 * HTTP request line (process it as RESP), -1 when more bytes are needed
 * to decide, or 1 when it answered (and the client is closing). */
int metrics_http_input(client *c, const char *buf, size_t len);

/* The exposition text (malloc'd, *len bytes; caller frees). */
char *metrics_render(size_t *len);

/* INFO's text for the named sections as INFO args (cmd_server.c): no
 * names = default; malloc'd, caller frees. */
char *info_render(const resp_arg *args, int nargs, size_t *len);
/* Records used_memory_startup (before data is loaded). */
void info_init(void);

#endif
