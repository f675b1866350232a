#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void
tn_each_line (void (*fn) (char *line, void *arg), void *arg)
{
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline (&line, &cap, stdin)) >= 0)
    {
      if (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
      if (len > 0)
        fn (line, arg);
    }
  free (line);
}

int
tn_split_tabs (char *line, char **field, int max)
{
  int n = 0;
  for (char *p = line, *tab; n < max; p = tab + 1)
    {
      field[n++] = p;
      if ((tab = strchr (p, '\t')) == NULL)
        break;
      *tab = '\0';
    }
  return n;
}
