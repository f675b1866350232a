/* A container's changes from its overlay upper directory and the image's layers below it, as
 * Docker's overlay driver computes them (`docker diff`), and the mount points the runtime made
 * for Docker's "init layer" (/proc, /sys, /dev, /etc/hosts …: empty placeholders in the upper
 * directory) that Docker keeps out of both the diff and a commit. */
#ifndef TN_ARCHIVE_CHANGES_H
#define TN_ARCHIVE_CHANGES_H

#include <stdio.h>
#include "error.h"

struct layers {
  int upper;          /* O_PATH descriptor of the upper directory */
  int *lowers;        /* topmost first */
  int nlowers;
};

/* The upper directory's paths ("/etc/hosts", "/etc") that only hold init-layer placeholders:
 * a NULL-terminated list; `init` lists the init layer's paths as "PATH:dir" or "PATH:file". */
int init_placeholders (const struct layers *l, char **init, int ninit, char ***out, struct tn_error **err);
/* Writes Docker's changes JSON ([{"Path":…,"Kind":0|1|2}…], or null) to out. */
int write_changes (const struct layers *l, char **elided, FILE *out, struct tn_error **err);

#endif
