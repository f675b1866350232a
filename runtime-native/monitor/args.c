/* The command line (PROTOCOL.md, "Starting a monitor"). Paths are made absolute here, because the
 * monitor leaves the caller's working directory. */
#include "monitor.h"
#include "cleanup.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
absolute (const char *path)
{
  if (path[0] == '/')
    return strdup (path);
  char cwd[PATH_MAX];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return NULL;
  char *out = NULL;
  if (asprintf (&out, "%s/%s", cwd, path) < 0)
    return NULL;
  return out;
}

static int
parse_number (const char *opt, const char *s, long long min, long long *out, struct tn_error **err)
{
  char *end = NULL;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min)
    return tn_error_new (err, "%s: invalid number `%s`", opt, s);
  *out = v;
  return 0;
}

int
args_parse (int argc, char **argv, struct mon_opts *o, struct tn_error **err)
{
  memset (o, 0, sizeof *o);
  o->log_max_files = 1;
  char *bundle = NULL, *state = NULL, *log = NULL;
  bool max_files_set = false;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      const char *val = NULL;
      /* Accept both `--opt value` and `--opt=value`. */
      char name[64];
      const char *eq = strchr (a, '=');
      if (strncmp (a, "--", 2) == 0 && eq != NULL && (size_t) (eq - a) < sizeof name)
        {
          memcpy (name, a, (size_t) (eq - a));
          name[eq - a] = '\0';
          val = eq + 1;
          a = name;
        }
      bool flag = strcmp (a, "--terminal") == 0 || strcmp (a, "--stdin") == 0;
      if (flag)
        {
          if (val != NULL)
            return tn_error_new (err, "%s takes no value", a);
          if (strcmp (a, "--terminal") == 0)
            o->terminal = true;
          else
            o->stdin_open = true;
          continue;
        }
      if (strncmp (a, "--", 2) != 0)
        return tn_error_new (err, "unexpected argument `%s`", a);
      if (val == NULL)
        {
          if (i + 1 >= argc)
            return tn_error_new (err, "%s needs a value", a);
          val = argv[++i];
        }
      if (strcmp (a, "--id") == 0)
        o->id = (char *) val;
      else if (strcmp (a, "--bundle") == 0)
        bundle = (char *) val;
      else if (strcmp (a, "--state-dir") == 0)
        state = (char *) val;
      else if (strcmp (a, "--runtime") == 0)
        o->runtime = (char *) val;
      else if (strcmp (a, "--runtime-root") == 0)
        o->runtime_root = (char *) val;
      else if (strcmp (a, "--runtime-arg") == 0)
        {
          char **more = realloc (o->runtime_args, (o->n_runtime_args + 1) * sizeof *more);
          if (more == NULL)
            return tn_error_sys (err, ENOMEM, "arguments");
          o->runtime_args = more;
          o->runtime_args[o->n_runtime_args++] = (char *) val;
        }
      else if (strcmp (a, "--rootfs-type") == 0)
        o->rootfs_type = (char *) val;
      else if (strcmp (a, "--rootfs-source") == 0)
        o->rootfs_source = (char *) val;
      else if (strcmp (a, "--rootfs-options") == 0)
        o->rootfs_options = (char *) val;
      else if (strcmp (a, "--log-path") == 0)
        log = (char *) val;
      else if (strcmp (a, "--log-max-size") == 0)
        {
          if (parse_number (a, val, 0, &o->log_max_size, err) < 0)
            return -1;
        }
      else if (strcmp (a, "--log-max-files") == 0)
        {
          long long n;
          if (parse_number (a, val, 1, &n, err) < 0)
            return -1;
          if (n > 1000)
            return tn_error_new (err, "%s: at most 1000", a);
          o->log_max_files = (int) n;
          max_files_set = true;
        }
      else
        return tn_error_new (err, "unknown option `%s`", a);
    }

  if (o->id == NULL || o->id[0] == '\0')
    return tn_error_new (err, "--id is required");
  if (strchr (o->id, '/') != NULL || o->id[0] == '-')
    return tn_error_new (err, "--id `%s`: not a valid container id", o->id);
  if (bundle == NULL)
    return tn_error_new (err, "--bundle is required");
  if (state == NULL)
    return tn_error_new (err, "--state-dir is required");
  if (o->runtime == NULL)
    return tn_error_new (err, "--runtime is required");
  if ((o->rootfs_type != NULL) != (o->rootfs_source != NULL))
    return tn_error_new (err, "--rootfs-type and --rootfs-source go together");
  if (o->rootfs_options != NULL && o->rootfs_type == NULL)
    return tn_error_new (err, "--rootfs-options needs --rootfs-type");
  if (max_files_set && o->log_max_size == 0)
    return tn_error_new (err, "--log-max-files needs --log-max-size");
  if ((o->log_max_size > 0) && log == NULL)
    return tn_error_new (err, "--log-max-size needs --log-path");

  o->bundle = absolute (bundle);
  o->state_dir = absolute (state);
  o->log_path = log ? absolute (log) : NULL;
  if (o->bundle == NULL || o->state_dir == NULL || (log && o->log_path == NULL))
    return tn_error_sys (err, errno ? errno : ENOMEM, "resolving paths");
  if (strchr (o->runtime, '/') != NULL && o->runtime[0] != '/')
    o->runtime = absolute (o->runtime);
  if (o->runtime_root && o->runtime_root[0] != '/')
    o->runtime_root = absolute (o->runtime_root);

  struct stat st;
  cleanup_free char *config = NULL;
  if (asprintf (&config, "%s/config.json", o->bundle) < 0)
    return tn_error_sys (err, ENOMEM, "bundle");
  if (stat (config, &st) < 0)
    return tn_error_sys (err, errno, "bundle `%s`", config);
  if (strchr (o->runtime, '/') == NULL)
    return tn_error_new (err, "--runtime `%s`: give a path to the runtime binary", o->runtime);
  if (access (o->runtime, X_OK) < 0)
    return tn_error_sys (err, errno, "runtime `%s`", o->runtime);
  /* The socket path must fit sockaddr_un.sun_path (108 bytes with the NUL). */
  if (strlen (o->state_dir) + sizeof "/console.sock" > 108)
    return tn_error_new (err, "--state-dir `%s`: too long for a unix socket path", o->state_dir);
  return 0;
}
