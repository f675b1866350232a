/* The subcommands, one thin file each (cmd_*.c), dispatched from the table in main.c. Each parses
 * its own options, calls the lifecycle operation and returns the process's exit status. */
#ifndef TN_COMMANDS_H
#define TN_COMMANDS_H

#include "container.h"
#include "error.h"

struct tn_command
{
  const char *name;
  const char *usage;
  int (*run) (struct tn_global *g, int argc, char **argv);
};

int tn_cmd_create (struct tn_global *g, int argc, char **argv);
int tn_cmd_run (struct tn_global *g, int argc, char **argv);
int tn_cmd_start (struct tn_global *g, int argc, char **argv);
int tn_cmd_state (struct tn_global *g, int argc, char **argv);
int tn_cmd_kill (struct tn_global *g, int argc, char **argv);
int tn_cmd_delete (struct tn_global *g, int argc, char **argv);
int tn_cmd_exec (struct tn_global *g, int argc, char **argv);
int tn_cmd_pause (struct tn_global *g, int argc, char **argv);
int tn_cmd_resume (struct tn_global *g, int argc, char **argv);
int tn_cmd_ps (struct tn_global *g, int argc, char **argv);
int tn_cmd_list (struct tn_global *g, int argc, char **argv);
int tn_cmd_spec (struct tn_global *g, int argc, char **argv);
int tn_cmd_features (struct tn_global *g, int argc, char **argv);

/* Prints the error (one line, and to the log) and returns exit status 1. */
int tn_cmd_fail (struct tn_error *e);
/* Prints "<cmd>: <message>" as a usage error and returns 1. */
int tn_cmd_usage (const char *cmd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Exactly `n` positional arguments after options, else a usage error. */
int tn_cmd_want_args (const char *cmd, int argc, char **argv, int first, int n, const char *what);
/* A command that takes nothing but an id (no options): *id, or prints the usage error and
 * returns 1. */
int tn_cmd_only_id (const char *cmd, int argc, char **argv, const char **id);
/* Parses a non-negative integer option value. */
int tn_cmd_parse_count (const char *cmd, const char *opt, const char *value, int *out);

#endif
