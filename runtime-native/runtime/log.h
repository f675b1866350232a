/* The runtime's own messages: errors go to stderr as one line and, with --log, to the log file
 * (runc's shape: `{"level":"error","msg":"…","time":"…"}` with --log-format json, or
 * `time="…" level=error msg="…"` as text). Warnings and debug lines go to the log file, or to
 * stderr when there is none. */
#ifndef TN_LOG_H
#define TN_LOG_H

#include <stdbool.h>

int tn_log_init (const char *path, bool json, bool debug);
bool tn_log_debug_enabled (void);
void tn_log_error (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void tn_log_warn (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
void tn_log_debug (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* Silences stderr output (the container's child side must never write there). */
void tn_log_child_mode (void);
/* Suppresses warnings (while re-reading a configuration already warned about at create). */
void tn_log_quiet_warnings (bool quiet);

/* Phase timing for performance work: with TERSANE_RUNTIME_TIMING=1 in the environment, each
 * tn_log_phase prints the microseconds since the runtime started to stderr. */
void tn_log_phase_init (void);
void tn_log_phase (const char *what);

#endif
