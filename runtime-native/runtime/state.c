#include "state.h"
#include "cleanup.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *
tn_state_dir_path (const struct tn_global *g, const char *id)
{
  char *p = NULL;
  if (asprintf (&p, "%s/%s", g->root, id) < 0)
    return NULL;
  return p;
}

void
tn_now_rfc3339 (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  size_t n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

int
tn_proc_stat (pid_t pid, unsigned long long *start_time, char *state)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* the command name is in parentheses and may hold anything: fields start after the last ')' */
  char *p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return -1;
  p += 2;
  if (state)
    *state = *p;
  /* p is field 3 (state); start time is field 22 */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return -1;
      p++;
    }
  if (start_time)
    *start_time = strtoull (p, NULL, 10);
  return 0;
}

bool
tn_process_alive (pid_t pid, unsigned long long start_time)
{
  unsigned long long st;
  char state;
  if (pid <= 0 || tn_proc_stat (pid, &st, &state) < 0)
    return false;
  if (st != start_time)
    return false;
  return state != 'Z' && state != 'X' && state != 'x';
}

enum tn_status
tn_state_status (const struct tn_state *st)
{
  if (!tn_process_alive (st->pid, st->start_time))
    return TN_STATUS_STOPPED;
  if (tn_cgroup_is_frozen (&st->cgroup) == 1)
    return TN_STATUS_PAUSED;
  char path[4096];
  snprintf (path, sizeof path, "%s/" TN_EXEC_FIFO, st->dir);
  if (access (path, F_OK) == 0)
    return TN_STATUS_CREATED;
  return TN_STATUS_RUNNING;
}

const char *
tn_status_name (enum tn_status s)
{
  switch (s)
    {
    case TN_STATUS_CREATING: return "creating";
    case TN_STATUS_CREATED: return "created";
    case TN_STATUS_RUNNING: return "running";
    case TN_STATUS_PAUSED: return "paused";
    case TN_STATUS_STOPPED: return "stopped";
    }
  return "unknown";
}

char *
tn_state_json (const struct tn_state *st, enum tn_status status, bool full, int indent)
{
  struct tn_jw w;
  tn_jw_init (&w, indent);
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "ociVersion", TN_OCI_VERSION);
  tn_jw_kv_string (&w, "id", st->id);
  tn_jw_kv_int (&w, "pid", status == TN_STATUS_STOPPED && full ? 0 : st->pid);
  tn_jw_kv_string (&w, "status", tn_status_name (status));
  tn_jw_kv_string (&w, "bundle", st->bundle);
  if (full)
    {
      tn_jw_kv_string (&w, "rootfs", st->rootfs);
      tn_jw_kv_string (&w, "created", st->created);
      tn_jw_kv_string (&w, "owner", "");
    }
  if (st->spec && st->spec->n_annotations)
    {
      tn_jw_key (&w, "annotations");
      tn_jw_begin_object (&w);
      for (size_t i = 0; i < st->spec->n_annotations; i++)
        tn_jw_kv_string (&w, st->spec->annotations[i].key, st->spec->annotations[i].value);
      tn_jw_end_object (&w);
    }
  tn_jw_end_object (&w);
  return tn_jw_finish (&w);
}

/* Only an exec needs the seccomp filter, and its profile is half of a default spec: state.json
 * leaves linux.seccomp out, and the compiled program is kept in SECCOMP_PROG_FILE, so that neither
 * create nor exec serialises or parses the profile again, and start, kill, delete and state never
 * see it. Containers made by an earlier build keep the profile itself in SECCOMP_FILE. */
#define SECCOMP_PROG_FILE "seccomp.bpf"
#define SECCOMP_FILE "seccomp.json"

/* The configuration as state.json holds it: without linux.seccomp. */
static void
write_config (struct tn_jw *w, const struct tn_json *config)
{
  const struct tn_json *lx = tn_json_get (config, "linux");
  if (lx == NULL || lx->type != TN_JSON_OBJECT || tn_json_get (lx, "seccomp") == NULL)
    {
      tn_jw_value (w, config);
      return;
    }
  tn_jw_begin_object (w);
  for (size_t i = 0; i < config->n; i++)
    {
      tn_jw_key (w, config->keys[i]);
      if (config->items[i] != lx)
        {
          tn_jw_value (w, config->items[i]);
          continue;
        }
      tn_jw_begin_object (w);
      for (size_t j = 0; j < lx->n; j++)
        if (strcmp (lx->keys[j], "seccomp") != 0)
          {
            tn_jw_key (w, lx->keys[j]);
            tn_jw_value (w, lx->items[j]);
          }
      tn_jw_end_object (w);
    }
  tn_jw_end_object (w);
}

static char *
state_document (const struct tn_state *st)
{
  struct tn_jw w;
  tn_jw_init (&w, 0);
  tn_jw_begin_object (&w);
  tn_jw_kv_string (&w, "id", st->id);
  tn_jw_kv_int (&w, "pid", st->pid);
  tn_jw_key (&w, "start_time");
  tn_jw_uint (&w, st->start_time);
  tn_jw_kv_string (&w, "bundle", st->bundle);
  tn_jw_kv_string (&w, "rootfs", st->rootfs);
  tn_jw_kv_string (&w, "created", st->created);
  tn_jw_kv_int (&w, "owner", st->owner);
  tn_jw_key (&w, "cgroup");
  tn_cgroup_to_json (&st->cgroup, &w);
  tn_jw_key (&w, "config");
  write_config (&w, st->spec->json);
  tn_jw_end_object (&w);
  return tn_jw_finish (&w);
}

/* Keeps the filter beside the state (before the state that leaves the profile out is written). */
static int
save_seccomp (const struct tn_state *st, struct tn_error **err)
{
  return st->seccomp ? tn_seccomp_prog_save (st->dir, SECCOMP_PROG_FILE, st->seccomp, err) : 0;
}

int
tn_state_seccomp (const struct tn_global *g, const struct tn_state *st, struct tn_seccomp_prog *out, bool *has, struct tn_error **err)
{
  *has = false;
  /* an exec must never go unfiltered for want of its filter: anything but "absent" is an error */
  int r = tn_seccomp_prog_load (st->dir, SECCOMP_PROG_FILE, out, err);
  if (r != 0)
    {
      *has = r > 0;
      return r < 0 ? -1 : 0;
    }
  /* a container made by an earlier build: the profile in its state, or beside it */
  const struct tn_json *section = tn_spec_seccomp_section (st->spec);
  if (section)
    r = tn_seccomp_compile_json (g->root, section, "state.json config", out, err);
  else
    {
      char path[4096];
      snprintf (path, sizeof path, "%s/" SECCOMP_FILE, st->dir);
      cleanup_free char *data = NULL;
      size_t len;
      struct tn_json *doc = NULL;
      if (access (path, F_OK) < 0)
        return errno == ENOENT ? 0 : tn_error_sys (err, errno, "`%s`", path);
      if (tn_read_file (path, &data, &len, err) < 0 || tn_json_parse (data, len, &doc, err) < 0)
        return tn_error_wrap (err, "%s", path);
      r = tn_seccomp_compile_json (g->root, doc, path, out, err);
      tn_json_free (doc);
    }
  *has = r == 0;
  return r;
}

int
tn_state_write_tmp (const struct tn_state *st, struct tn_error **err)
{
  if (save_seccomp (st, err) < 0)
    return -1;
  cleanup_free char *data = state_document (st);
  if (data == NULL)
    return tn_error_sys (err, ENOMEM, "state.json");
  char path[4096];
  snprintf (path, sizeof path, "%s/" TN_STATE_FILE ".tmp", st->dir);
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return tn_error_sys (err, errno, "open `%s`", path);
  if (tn_write_all (fd, data, strlen (data)) < 0)
    return tn_error_sys (err, errno, "write `%s`", path);
  return 0;
}

int
tn_state_commit (const struct tn_state *st, struct tn_error **err)
{
  char from[4096], to[4096];
  snprintf (from, sizeof from, "%s/" TN_STATE_FILE ".tmp", st->dir);
  snprintf (to, sizeof to, "%s/" TN_STATE_FILE, st->dir);
  if (rename (from, to) < 0)
    return tn_error_sys (err, errno, "rename `%s`", from);
  return 0;
}

void
tn_state_free (struct tn_state *st)
{
  if (st == NULL)
    return;
  free (st->id);
  free (st->dir);
  free (st->bundle);
  free (st->rootfs);
  free (st->created);
  tn_cgroup_free (&st->cgroup);
  if (st->own_spec)
    tn_spec_free (st->spec);
  free (st);
}

static int
get_str (const struct tn_json *doc, const char *key, char **out, struct tn_error **err)
{
  const struct tn_json *v = tn_json_get (doc, key);
  if (v == NULL || v->type != TN_JSON_STRING)
    return tn_error_new (err, "state.json: \"%s\" is missing", key);
  *out = strdup (v->text);
  return *out ? 0 : tn_error_sys (err, ENOMEM, "state.json");
}

int
tn_state_load (const struct tn_global *g, const char *id, struct tn_state **out, struct tn_error **err)
{
  return tn_state_load_file (g, id, TN_STATE_FILE, out, err);
}

int
tn_state_load_file (const struct tn_global *g, const char *id, const char *file, struct tn_state **out, struct tn_error **err)
{
  if (tn_container_validate_id (id, err) < 0)
    return -1;
  cleanup_free char *dir = tn_state_dir_path (g, id);
  if (dir == NULL)
    return tn_error_sys (err, ENOMEM, "state");
  char path[4096];
  snprintf (path, sizeof path, "%s/%s", dir, file);
  cleanup_free char *data = NULL;
  size_t len;
  struct tn_error *e = NULL;
  if (tn_read_file (path, &data, &len, &e) < 0)
    {
      bool missing = e->status == ENOENT;
      tn_error_free (&e);
      if (missing)
        return tn_error_new (err, "container \"%s\" does not exist", id);
      return tn_error_sys (err, errno, "read `%s`", path);
    }
  struct tn_json *doc = NULL;
  if (tn_json_parse (data, len, &doc, err) < 0)
    return tn_error_wrap (err, "%s", path);
  struct tn_state *st = calloc (1, sizeof *st);
  if (st == NULL)
    {
      tn_json_free (doc);
      return tn_error_sys (err, ENOMEM, "state");
    }
  st->dir = TN_STEAL (dir);
  int64_t pid = 0, owner = 0;
  uint64_t start = 0;
  const struct tn_json *config = tn_json_get (doc, "config");
  if (get_str (doc, "id", &st->id, err) < 0 || get_str (doc, "bundle", &st->bundle, err) < 0
      || get_str (doc, "rootfs", &st->rootfs, err) < 0 || get_str (doc, "created", &st->created, err) < 0
      || tn_json_to_int64 (tn_json_get (doc, "pid"), &pid) < 0 || tn_json_to_uint64 (tn_json_get (doc, "start_time"), &start) < 0
      || tn_json_to_int64 (tn_json_get (doc, "owner"), &owner) < 0
      || tn_cgroup_from_json (&st->cgroup, tn_json_get (doc, "cgroup"), err) < 0 || config == NULL)
    {
      if (err && *err == NULL)
        tn_error_new (err, "%s: invalid state", path);
      tn_json_free (doc);
      tn_state_free (st);
      return -1;
    }
  st->pid = (pid_t) pid;
  st->start_time = start;
  st->owner = (uid_t) owner;
  /* re-serialise the embedded configuration and parse it as a spec (it was valid at create) */
  struct tn_jw w;
  tn_jw_init (&w, 0);
  tn_jw_value (&w, config);
  cleanup_free char *cfg = tn_jw_finish (&w);
  tn_json_free (doc);
  tn_log_quiet_warnings (true);
  int parsed = cfg ? tn_spec_parse_deferred (cfg, strlen (cfg), "state.json config", &st->spec, err) : -1;
  tn_log_quiet_warnings (false);
  if (parsed < 0)
    {
      tn_state_free (st);
      return -1;
    }
  st->own_spec = true;
  *out = st;
  return 0;
}
