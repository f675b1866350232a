/* Signals by name ("KILL", "SIGKILL", "RTMIN+3") or number, as `kill` takes them. */
#ifndef TN_SIGNALS_H
#define TN_SIGNALS_H

/* The signal number, or -1 when `s` names none. */
int tn_signal_parse (const char *s);

#endif
