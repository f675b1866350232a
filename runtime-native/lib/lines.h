/* Line protocols of the long-lived helpers (tersane-net serve, tersane-spawner): requests are
 * lines of tab-separated fields on stdin. */
#ifndef TN_LINES_H
#define TN_LINES_H

/* Calls `fn` with each non-empty line of stdin (newline removed) until end of input. */
void tn_each_line (void (*fn) (char *line, void *arg), void *arg);

/* Splits `line` in place at its tabs into at most `max` fields; returns how many. A line with
 * more fields leaves the rest in the last one, so `max` fields mean "too many" to a caller that
 * needs fewer. */
int tn_split_tabs (char *line, char **field, int max);

#endif
