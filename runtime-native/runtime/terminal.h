/* Terminals: a pty pair opened in the container's own devpts, the master handed over the console
 * socket with SCM_RIGHTS (as runc does: the payload is the pty's name), the slave made the
 * process's controlling terminal and standard streams. Also the runtime-side pieces for a
 * foreground `run`/`exec -t` without a console socket: raw mode and copying. */
#ifndef TN_TERMINAL_H
#define TN_TERMINAL_H

#include <stdbool.h>
#include <termios.h>
#include "error.h"

int tn_unix_connect (const char *path, int *fd, struct tn_error **err);
int tn_pty_open (int *master, int *slave, char **name, struct tn_error **err);
int tn_pty_set_size (int fd, unsigned rows, unsigned cols);
/* setsid, TIOCSCTTY, and dup2 onto 0, 1 and 2. */
int tn_pty_make_controlling (int slave, struct tn_error **err);
int tn_send_fd (int sock, int fd, const char *name, struct tn_error **err);
int tn_recv_fd (int sock, int *fd, struct tn_error **err);

/* Puts `fd` (a tty) in raw mode, saving the old settings in *saved; returns false when fd is
 * not a tty. */
bool tn_tty_raw (int fd, struct termios *saved);
void tn_tty_restore (int fd, const struct termios *saved);
/* Copies the window size of `from` (a tty) to `to`. */
void tn_tty_copy_size (int from, int to);

#endif
