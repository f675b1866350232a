#include "spec.h"
#include "caps.h"
#include "cleanup.h"
#include "fsutil.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <seccomp.h>

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC
#define SECCOMP_FILTER_FLAG_TSYNC (1UL << 0)
#endif
#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

/* ---- field access with errors naming the field ---- */

/* Set while a spec is parsed for a state file: linux.seccomp is parsed later, by whoever needs the
 * filter (exec), not by start, kill, delete … (tn_spec_parse_deferred). */
static bool defer_seccomp;

static int
bad (struct tn_error **err, const char *path, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static int
bad (struct tn_error **err, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  tn_error_new (err, "%s: %s", path, msg ? msg : "invalid value");
  free (msg);
  return -1;
}

/* "parent.key" (or "key" at the top) into a caller buffer. */
static const char *
sub (char *buf, size_t size, const char *parent, const char *key)
{
  if (parent == NULL || parent[0] == '\0')
    snprintf (buf, size, "%s", key);
  else
    snprintf (buf, size, "%s.%s", parent, key);
  return buf;
}

static const char *
idx (char *buf, size_t size, const char *parent, size_t i)
{
  snprintf (buf, size, "%s[%zu]", parent, i);
  return buf;
}

#define PATHBUF 512

static int
wrong_type (struct tn_error **err, const char *path, const char *want, const struct tn_json *v)
{
  return bad (err, path, "expected %s, got %s", want, tn_json_type_name (v->type));
}

/* Member `key` of `obj` when present and not null. */
static const struct tn_json *
member (const struct tn_json *obj, const char *key)
{
  const struct tn_json *v = tn_json_get (obj, key);
  if (v == NULL || v->type == TN_JSON_NULL)
    return NULL;
  return v;
}

static int
opt_object (const struct tn_json *obj, const char *key, const char *parent, const struct tn_json **out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (v->type != TN_JSON_OBJECT)
    return wrong_type (err, sub (p, sizeof p, parent, key), "an object", v);
  *out = v;
  return 0;
}

static int
opt_array (const struct tn_json *obj, const char *key, const char *parent, const struct tn_json **out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (v->type != TN_JSON_ARRAY)
    return wrong_type (err, sub (p, sizeof p, parent, key), "an array", v);
  *out = v;
  return 0;
}

static int
opt_string (const struct tn_json *obj, const char *key, const char *parent, char **out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  if (v == NULL)
    return 0;
  if (v->type != TN_JSON_STRING)
    return wrong_type (err, sub (p, sizeof p, parent, key), "a string", v);
  free (*out);
  *out = strdup (v->text);
  if (*out == NULL)
    return tn_error_sys (err, ENOMEM, "%s", sub (p, sizeof p, parent, key));
  return 0;
}

static int
req_string (const struct tn_json *obj, const char *key, const char *parent, char **out, struct tn_error **err)
{
  char p[PATHBUF];
  if (member (obj, key) == NULL)
    return bad (err, sub (p, sizeof p, parent, key), "is required");
  return opt_string (obj, key, parent, out, err);
}

static int
opt_bool (const struct tn_json *obj, const char *key, const char *parent, bool *has, bool *out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  if (v == NULL)
    return 0;
  if (v->type != TN_JSON_BOOL)
    return wrong_type (err, sub (p, sizeof p, parent, key), "a boolean", v);
  *out = v->boolean;
  if (has)
    *has = true;
  return 0;
}

static int
num_i64 (const struct tn_json *v, const char *path, int64_t min, int64_t max, int64_t *out, struct tn_error **err)
{
  if (v->type != TN_JSON_NUMBER)
    return wrong_type (err, path, "an integer", v);
  int64_t x;
  if (tn_json_to_int64 (v, &x) < 0)
    return bad (err, path, errno == ERANGE ? "%s is out of range" : "%s is not an integer", v->text);
  if (x < min || x > max)
    return bad (err, path, "%s is out of range [%" PRId64 ", %" PRId64 "]", v->text, min, max);
  *out = x;
  return 0;
}

static int
num_u64 (const struct tn_json *v, const char *path, uint64_t max, uint64_t *out, struct tn_error **err)
{
  if (v->type != TN_JSON_NUMBER)
    return wrong_type (err, path, "an integer", v);
  uint64_t x;
  if (tn_json_to_uint64 (v, &x) < 0)
    return bad (err, path, errno == ERANGE ? "%s is out of range" : "%s is not an integer", v->text);
  if (x > max)
    return bad (err, path, "%s is out of range [0, %" PRIu64 "]", v->text, max);
  *out = x;
  return 0;
}

static int
opt_i64 (const struct tn_json *obj, const char *key, const char *parent, int64_t min, int64_t max, bool *has, int64_t *out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  if (v == NULL)
    return 0;
  if (num_i64 (v, sub (p, sizeof p, parent, key), min, max, out, err) < 0)
    return -1;
  if (has)
    *has = true;
  return 0;
}

static int
opt_u64 (const struct tn_json *obj, const char *key, const char *parent, uint64_t max, bool *has, uint64_t *out, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *v = member (obj, key);
  if (v == NULL)
    return 0;
  if (num_u64 (v, sub (p, sizeof p, parent, key), max, out, err) < 0)
    return -1;
  if (has)
    *has = true;
  return 0;
}

static int
req_u64 (const struct tn_json *obj, const char *key, const char *parent, uint64_t max, uint64_t *out, struct tn_error **err)
{
  char p[PATHBUF];
  if (member (obj, key) == NULL)
    return bad (err, sub (p, sizeof p, parent, key), "is required");
  return opt_u64 (obj, key, parent, max, NULL, out, err);
}

/* A NULL-terminated copy of an array of strings. */
static int
string_array (const struct tn_json *arr, const char *path, char ***out, size_t *n, struct tn_error **err)
{
  char p[PATHBUF];
  char **list = calloc (arr->n + 1, sizeof *list);
  if (list == NULL)
    return tn_error_sys (err, ENOMEM, "%s", path);
  for (size_t i = 0; i < arr->n; i++)
    {
      const struct tn_json *it = arr->items[i];
      if (it->type != TN_JSON_STRING)
        {
          for (size_t j = 0; j < i; j++)
            free (list[j]);
          free (list);
          return wrong_type (err, idx (p, sizeof p, path, i), "a string", it);
        }
      list[i] = strdup (it->text);
      if (list[i] == NULL)
        {
          for (size_t j = 0; j < i; j++)
            free (list[j]);
          free (list);
          return tn_error_sys (err, ENOMEM, "%s", path);
        }
    }
  *out = list;
  if (n)
    *n = arr->n;
  return 0;
}

static int
opt_string_array (const struct tn_json *obj, const char *key, const char *parent, char ***out, size_t *n, struct tn_error **err)
{
  char p[PATHBUF];
  const struct tn_json *arr;
  if (opt_array (obj, key, parent, &arr, err) < 0)
    return -1;
  if (arr == NULL)
    return 0;
  return string_array (arr, sub (p, sizeof p, parent, key), out, n, err);
}

static void
free_strv (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

/* A string → string map (annotations, sysctl, unified). */
static int
string_map (const struct tn_json *obj, const char *path, struct tn_kv **out, size_t *n, struct tn_error **err)
{
  char p[PATHBUF];
  if (obj->type != TN_JSON_OBJECT)
    return wrong_type (err, path, "an object", obj);
  struct tn_kv *kv = calloc (obj->n + 1, sizeof *kv);
  if (kv == NULL)
    return tn_error_sys (err, ENOMEM, "%s", path);
  size_t k = 0;
  for (size_t i = 0; i < obj->n; i++)
    {
      const struct tn_json *v = obj->items[i];
      if (v->type != TN_JSON_STRING)
        {
          for (size_t j = 0; j < k; j++)
            {
              free (kv[j].key);
              free (kv[j].value);
            }
          free (kv);
          return wrong_type (err, sub (p, sizeof p, path, obj->keys[i]), "a string", v);
        }
      /* a repeated key: the last one wins, as on lookup */
      size_t slot = k;
      for (size_t j = 0; j < k; j++)
        if (strcmp (kv[j].key, obj->keys[i]) == 0)
          slot = j;
      if (slot == k)
        {
          kv[k].key = strdup (obj->keys[i]);
          k++;
        }
      free (kv[slot].value);
      kv[slot].value = strdup (v->text);
      if (kv[slot].key == NULL || kv[slot].value == NULL)
        return tn_error_sys (err, ENOMEM, "%s", path);
    }
  *out = kv;
  *n = k;
  return 0;
}

static void
free_kv (struct tn_kv *kv, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

const char *
tn_env_get (char **env, const char *name)
{
  size_t n = strlen (name);
  if (env == NULL)
    return NULL;
  for (char **e = env; *e; e++)
    if (strncmp (*e, name, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

/* ---- process ---- */

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_STACK", RLIMIT_STACK }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_NOFILE", RLIMIT_NOFILE }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
  { "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
  { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
  { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

static int
parse_caps (const struct tn_json *obj, const char *path, struct tn_process *pr, struct tn_error **err)
{
  static const char *const set_names[TN_CAP_NSETS] = { "effective", "bounding", "inheritable", "permitted", "ambient" };
  char p[PATHBUF], q[PATHBUF];
  int last_kernel = tn_cap_last_kernel ();
  uint64_t held = tn_cap_self_permitted ();
  pr->has_caps = true;
  for (int s = 0; s < TN_CAP_NSETS; s++)
    {
      const struct tn_json *arr;
      if (opt_array (obj, set_names[s], path, &arr, err) < 0)
        return -1;
      if (arr == NULL)
        continue;
      sub (p, sizeof p, path, set_names[s]);
      for (size_t i = 0; i < arr->n; i++)
        {
          const struct tn_json *it = arr->items[i];
          idx (q, sizeof q, p, i);
          if (it->type != TN_JSON_STRING)
            return wrong_type (err, q, "a string", it);
          int c = tn_cap_from_name (it->text);
          if (c < 0)
            return bad (err, q, "unknown capability \"%s\"", it->text);
          /* runtime-spec: a capability that cannot be mapped to the kernel, or cannot be
           * granted, is a warning and is left out, not an error */
          if (c > last_kernel)
            {
              tn_log_warn ("%s: capability %s is not supported by this kernel; skipped", q, it->text);
              continue;
            }
          if (!(held & (1ULL << c)))
            {
              tn_log_warn ("%s: capability %s is not held by the runtime; skipped", q, it->text);
              continue;
            }
          pr->caps[s] |= 1ULL << c;
        }
    }
  return 0;
}

static const struct
{
  const char *name;
  int value;
} ioprio_classes[] = { { "IOPRIO_CLASS_RT", 1 }, { "IOPRIO_CLASS_BE", 2 }, { "IOPRIO_CLASS_IDLE", 3 } };

static const struct
{
  const char *name;
  uint32_t value;
} sched_policies[] = {
  { "SCHED_OTHER", 0 }, { "SCHED_FIFO", 1 }, { "SCHED_RR", 2 }, { "SCHED_BATCH", 3 },
  { "SCHED_ISO", 4 }, { "SCHED_IDLE", 5 }, { "SCHED_DEADLINE", 6 },
};

static const struct
{
  const char *name;
  uint32_t value;
} sched_flag_names[] = {
  { "SCHED_FLAG_RESET_ON_FORK", 0x01 }, { "SCHED_FLAG_RECLAIM", 0x02 }, { "SCHED_FLAG_DL_OVERRUN", 0x04 },
  { "SCHED_FLAG_KEEP_POLICY", 0x08 }, { "SCHED_FLAG_KEEP_PARAMS", 0x10 }, { "SCHED_FLAG_UTIL_CLAMP_MIN", 0x20 },
  { "SCHED_FLAG_UTIL_CLAMP_MAX", 0x40 },
};

void
tn_process_free (struct tn_process *p)
{
  if (p == NULL)
    return;
  free (p->additional_gids);
  free_strv (p->args);
  free_strv (p->env);
  free (p->cwd);
  free (p->rlimits);
  free (p);
}

int
tn_process_parse (const struct tn_json *v, const char *path, struct tn_process **out, struct tn_error **err)
{
  char p[PATHBUF], q[PATHBUF];
  if (v->type != TN_JSON_OBJECT)
    return wrong_type (err, path, "an object", v);
  struct tn_process *pr = calloc (1, sizeof *pr);
  if (pr == NULL)
    return tn_error_sys (err, ENOMEM, "%s", path);
#define FAIL() do { tn_process_free (pr); return -1; } while (0)

  if (opt_bool (v, "terminal", path, NULL, &pr->terminal, err) < 0)
    FAIL ();
  const struct tn_json *cs;
  if (opt_object (v, "consoleSize", path, &cs, err) < 0)
    FAIL ();
  if (cs)
    {
      uint64_t h, w;
      sub (p, sizeof p, path, "consoleSize");
      if (req_u64 (cs, "height", p, UINT16_MAX, &h, err) < 0 || req_u64 (cs, "width", p, UINT16_MAX, &w, err) < 0)
        FAIL ();
      pr->has_console_size = true;
      pr->console_height = (unsigned) h;
      pr->console_width = (unsigned) w;
    }

  const struct tn_json *user;
  if (opt_object (v, "user", path, &user, err) < 0)
    FAIL ();
  if (user)
    {
      uint64_t x;
      sub (p, sizeof p, path, "user");
      bool has = false;
      if (opt_u64 (user, "uid", p, UINT32_MAX - 1, &has, &x, err) < 0)
        FAIL ();
      if (has)
        pr->uid = (uid_t) x;
      has = false;
      if (opt_u64 (user, "gid", p, UINT32_MAX - 1, &has, &x, err) < 0)
        FAIL ();
      if (has)
        pr->gid = (gid_t) x;
      if (opt_u64 (user, "umask", p, 0777, &pr->has_umask, &x, err) < 0)
        FAIL ();
      pr->umask = (mode_t) x;
      const struct tn_json *gids;
      if (opt_array (user, "additionalGids", p, &gids, err) < 0)
        FAIL ();
      if (gids && gids->n)
        {
          sub (q, sizeof q, p, "additionalGids");
          pr->additional_gids = calloc (gids->n, sizeof (gid_t));
          if (pr->additional_gids == NULL)
            FAIL ();
          for (size_t i = 0; i < gids->n; i++)
            {
              char r[PATHBUF];
              if (num_u64 (gids->items[i], idx (r, sizeof r, q, i), UINT32_MAX - 1, &x, err) < 0)
                FAIL ();
              pr->additional_gids[i] = (gid_t) x;
            }
          pr->n_additional_gids = gids->n;
        }
    }

  if (opt_string_array (v, "args", path, &pr->args, &pr->n_args, err) < 0)
    FAIL ();
  if (pr->args == NULL || pr->n_args == 0)
    {
      bad (err, sub (p, sizeof p, path, "args"), "at least one argument is required");
      FAIL ();
    }
  if (pr->args[0][0] == '\0')
    {
      bad (err, sub (p, sizeof p, path, "args[0]"), "is empty");
      FAIL ();
    }
  if (opt_string_array (v, "env", path, &pr->env, &pr->n_env, err) < 0)
    FAIL ();
  if (pr->env == NULL && (pr->env = calloc (1, sizeof (char *))) == NULL)
    FAIL ();
  for (size_t i = 0; i < pr->n_env; i++)
    {
      const char *eq = strchr (pr->env[i], '=');
      if (eq == NULL || eq == pr->env[i])
        {
          bad (err, idx (q, sizeof q, sub (p, sizeof p, path, "env"), i), "\"%s\" is not of the form KEY=value", pr->env[i]);
          FAIL ();
        }
    }
  /* a variable given twice: the first position, the last value (what setenv in order gives) */
  for (size_t i = 0; i < pr->n_env; i++)
    {
      size_t klen = (size_t) (strchr (pr->env[i], '=') - pr->env[i]);
      for (size_t j = i + 1; j < pr->n_env;)
        {
          if (strncmp (pr->env[j], pr->env[i], klen + 1) == 0)
            {
              free (pr->env[i]);
              pr->env[i] = pr->env[j];
              memmove (&pr->env[j], &pr->env[j + 1], (pr->n_env - j) * sizeof (char *));
              pr->n_env--;
            }
          else
            j++;
        }
    }
  if (req_string (v, "cwd", path, &pr->cwd, err) < 0)
    FAIL ();
  if (pr->cwd[0] != '/')
    {
      bad (err, sub (p, sizeof p, path, "cwd"), "\"%s\" is not an absolute path", pr->cwd);
      FAIL ();
    }

  const struct tn_json *caps;
  if (opt_object (v, "capabilities", path, &caps, err) < 0)
    FAIL ();
  if (caps && parse_caps (caps, sub (p, sizeof p, path, "capabilities"), pr, err) < 0)
    FAIL ();

  const struct tn_json *rl;
  if (opt_array (v, "rlimits", path, &rl, err) < 0)
    FAIL ();
  if (rl && rl->n)
    {
      sub (p, sizeof p, path, "rlimits");
      pr->rlimits = calloc (rl->n, sizeof *pr->rlimits);
      if (pr->rlimits == NULL)
        FAIL ();
      for (size_t i = 0; i < rl->n; i++)
        {
          const struct tn_json *it = rl->items[i];
          idx (q, sizeof q, p, i);
          if (it->type != TN_JSON_OBJECT)
            {
              wrong_type (err, q, "an object", it);
              FAIL ();
            }
          cleanup_free char *type = NULL;
          if (req_string (it, "type", q, &type, err) < 0)
            FAIL ();
          int res = -1;
          for (size_t k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
            if (strcmp (rlimit_names[k].name, type) == 0)
              res = rlimit_names[k].resource;
          if (res < 0)
            {
              char r[PATHBUF];
              bad (err, sub (r, sizeof r, q, "type"), "unknown rlimit \"%s\"", type);
              FAIL ();
            }
          for (size_t k = 0; k < i; k++)
            if (pr->rlimits[k].resource == res)
              {
                char r[PATHBUF];
                bad (err, sub (r, sizeof r, q, "type"), "duplicate rlimit \"%s\"", type);
                FAIL ();
              }
          struct tn_rlimit *r = &pr->rlimits[i];
          r->resource = res;
          if (req_u64 (it, "soft", q, UINT64_MAX, &r->soft, err) < 0 || req_u64 (it, "hard", q, UINT64_MAX, &r->hard, err) < 0)
            FAIL ();
          if (r->soft > r->hard)
            {
              bad (err, q, "soft limit %" PRIu64 " is greater than hard limit %" PRIu64, r->soft, r->hard);
              FAIL ();
            }
        }
      pr->n_rlimits = rl->n;
    }

  if (opt_bool (v, "noNewPrivileges", path, NULL, &pr->no_new_privileges, err) < 0)
    FAIL ();
  int64_t oom;
  if (opt_i64 (v, "oomScoreAdj", path, -1000, 1000, &pr->has_oom_score_adj, &oom, err) < 0)
    FAIL ();
  pr->oom_score_adj = (int) oom;

  const struct tn_json *io;
  if (opt_object (v, "ioPriority", path, &io, err) < 0)
    FAIL ();
  if (io)
    {
      cleanup_free char *cls = NULL;
      sub (p, sizeof p, path, "ioPriority");
      if (req_string (io, "class", p, &cls, err) < 0)
        FAIL ();
      pr->io_priority_class = -1;
      for (size_t k = 0; k < sizeof ioprio_classes / sizeof ioprio_classes[0]; k++)
        if (strcmp (cls, ioprio_classes[k].name) == 0)
          pr->io_priority_class = ioprio_classes[k].value;
      if (pr->io_priority_class < 0)
        {
          bad (err, sub (q, sizeof q, p, "class"), "unknown I/O priority class \"%s\"", cls);
          FAIL ();
        }
      int64_t prio = 0;
      if (opt_i64 (io, "priority", p, 0, 7, NULL, &prio, err) < 0)
        FAIL ();
      pr->io_priority = (int) prio;
      pr->has_io_priority = true;
    }

  const struct tn_json *sch;
  if (opt_object (v, "scheduler", path, &sch, err) < 0)
    FAIL ();
  if (sch)
    {
      cleanup_free char *pol = NULL;
      sub (p, sizeof p, path, "scheduler");
      if (req_string (sch, "policy", p, &pol, err) < 0)
        FAIL ();
      bool found = false;
      for (size_t k = 0; k < sizeof sched_policies / sizeof sched_policies[0]; k++)
        if (strcmp (pol, sched_policies[k].name) == 0)
          {
            pr->sched_policy = sched_policies[k].value;
            found = true;
          }
      if (!found)
        {
          bad (err, sub (q, sizeof q, p, "policy"), "unknown scheduler policy \"%s\"", pol);
          FAIL ();
        }
      int64_t x = 0;
      if (opt_i64 (sch, "nice", p, -20, 19, NULL, &x, err) < 0)
        FAIL ();
      pr->sched_nice = (int32_t) x;
      x = 0;
      if (opt_i64 (sch, "priority", p, 0, 99, NULL, &x, err) < 0)
        FAIL ();
      pr->sched_priority = (uint32_t) x;
      if (opt_u64 (sch, "runtime", p, UINT64_MAX, NULL, &pr->sched_runtime, err) < 0
          || opt_u64 (sch, "deadline", p, UINT64_MAX, NULL, &pr->sched_deadline, err) < 0
          || opt_u64 (sch, "period", p, UINT64_MAX, NULL, &pr->sched_period, err) < 0)
        FAIL ();
      const struct tn_json *fl;
      if (opt_array (sch, "flags", p, &fl, err) < 0)
        FAIL ();
      for (size_t i = 0; fl && i < fl->n; i++)
        {
          char r[PATHBUF];
          idx (r, sizeof r, sub (q, sizeof q, p, "flags"), i);
          if (fl->items[i]->type != TN_JSON_STRING)
            {
              wrong_type (err, r, "a string", fl->items[i]);
              FAIL ();
            }
          bool ok = false;
          for (size_t k = 0; k < sizeof sched_flag_names / sizeof sched_flag_names[0]; k++)
            if (strcmp (fl->items[i]->text, sched_flag_names[k].name) == 0)
              {
                pr->sched_flags |= sched_flag_names[k].value;
                ok = true;
              }
          if (!ok)
            {
              bad (err, r, "unknown scheduler flag \"%s\"", fl->items[i]->text);
              FAIL ();
            }
        }
      pr->has_scheduler = true;
    }
#undef FAIL
  *out = pr;
  return 0;
}

/* ---- mounts ---- */

enum opt_kind { OPT_SET, OPT_CLEAR, OPT_PROPAGATION, OPT_BIND, OPT_RBIND, OPT_ATTR_SET, OPT_ATTR_CLR, OPT_ATIME_ATTR, OPT_TMPCOPYUP, OPT_NOOP, OPT_UNSUPPORTED };

static const struct
{
  const char *name;
  enum opt_kind kind;
  unsigned long value;
} mount_opts[] = {
  { "defaults", OPT_NOOP, 0 },
  { "ro", OPT_SET, MS_RDONLY }, { "rw", OPT_CLEAR, MS_RDONLY },
  { "nosuid", OPT_SET, MS_NOSUID }, { "suid", OPT_CLEAR, MS_NOSUID },
  { "nodev", OPT_SET, MS_NODEV }, { "dev", OPT_CLEAR, MS_NODEV },
  { "noexec", OPT_SET, MS_NOEXEC }, { "exec", OPT_CLEAR, MS_NOEXEC },
  { "sync", OPT_SET, MS_SYNCHRONOUS }, { "async", OPT_CLEAR, MS_SYNCHRONOUS },
  { "dirsync", OPT_SET, MS_DIRSYNC },
  { "remount", OPT_SET, MS_REMOUNT },
  { "mand", OPT_SET, MS_MANDLOCK }, { "nomand", OPT_CLEAR, MS_MANDLOCK },
  { "noatime", OPT_SET, MS_NOATIME }, { "atime", OPT_CLEAR, MS_NOATIME },
  { "nodiratime", OPT_SET, MS_NODIRATIME }, { "diratime", OPT_CLEAR, MS_NODIRATIME },
  { "relatime", OPT_SET, MS_RELATIME }, { "norelatime", OPT_CLEAR, MS_RELATIME },
  { "strictatime", OPT_SET, MS_STRICTATIME }, { "nostrictatime", OPT_CLEAR, MS_STRICTATIME },
  { "lazytime", OPT_SET, MS_LAZYTIME }, { "nolazytime", OPT_CLEAR, MS_LAZYTIME },
  { "silent", OPT_SET, MS_SILENT }, { "loud", OPT_CLEAR, MS_SILENT },
  { "iversion", OPT_SET, MS_I_VERSION }, { "noiversion", OPT_CLEAR, MS_I_VERSION },
  { "nosymfollow", OPT_SET, MS_NOSYMFOLLOW }, { "symfollow", OPT_CLEAR, MS_NOSYMFOLLOW },
  { "acl", OPT_SET, MS_POSIXACL }, { "noacl", OPT_CLEAR, MS_POSIXACL },
  { "bind", OPT_BIND, 0 }, { "rbind", OPT_RBIND, 0 },
  { "private", OPT_PROPAGATION, MS_PRIVATE }, { "rprivate", OPT_PROPAGATION, MS_PRIVATE | MS_REC },
  { "shared", OPT_PROPAGATION, MS_SHARED }, { "rshared", OPT_PROPAGATION, MS_SHARED | MS_REC },
  { "slave", OPT_PROPAGATION, MS_SLAVE }, { "rslave", OPT_PROPAGATION, MS_SLAVE | MS_REC },
  { "unbindable", OPT_PROPAGATION, MS_UNBINDABLE }, { "runbindable", OPT_PROPAGATION, MS_UNBINDABLE | MS_REC },
  { "rro", OPT_ATTR_SET, MOUNT_ATTR_RDONLY }, { "rrw", OPT_ATTR_CLR, MOUNT_ATTR_RDONLY },
  { "rnosuid", OPT_ATTR_SET, MOUNT_ATTR_NOSUID }, { "rsuid", OPT_ATTR_CLR, MOUNT_ATTR_NOSUID },
  { "rnodev", OPT_ATTR_SET, MOUNT_ATTR_NODEV }, { "rdev", OPT_ATTR_CLR, MOUNT_ATTR_NODEV },
  { "rnoexec", OPT_ATTR_SET, MOUNT_ATTR_NOEXEC }, { "rexec", OPT_ATTR_CLR, MOUNT_ATTR_NOEXEC },
  { "rnodiratime", OPT_ATTR_SET, MOUNT_ATTR_NODIRATIME }, { "rdiratime", OPT_ATTR_CLR, MOUNT_ATTR_NODIRATIME },
  { "rnosymfollow", OPT_ATTR_SET, MOUNT_ATTR_NOSYMFOLLOW }, { "rsymfollow", OPT_ATTR_CLR, MOUNT_ATTR_NOSYMFOLLOW },
  { "rrelatime", OPT_ATIME_ATTR, MOUNT_ATTR_RELATIME }, { "rnorelatime", OPT_ATIME_ATTR, MOUNT_ATTR_STRICTATIME },
  { "rnoatime", OPT_ATIME_ATTR, MOUNT_ATTR_NOATIME }, { "ratime", OPT_ATIME_ATTR, MOUNT_ATTR_RELATIME },
  { "rstrictatime", OPT_ATIME_ATTR, MOUNT_ATTR_STRICTATIME }, { "rnostrictatime", OPT_ATIME_ATTR, MOUNT_ATTR_RELATIME },
  { "tmpcopyup", OPT_TMPCOPYUP, 0 },
  { "idmap", OPT_UNSUPPORTED, 0 }, { "ridmap", OPT_UNSUPPORTED, 0 },
};

/* Filesystem-specific options (the data argument of mount(2)) known per type; a type not listed
 * here passes its options through to the kernel unchecked. */
static const char *const tmpfs_keys[] = { "size", "nr_blocks", "nr_inodes", "mode", "uid", "gid", "huge", "mpol", "inode32", "inode64", "noswap", "quota", "usrquota", "grpquota", "usrquota_block_hardlimit", "usrquota_inode_hardlimit", "grpquota_block_hardlimit", "grpquota_inode_hardlimit", "casefold", "strict_encoding", NULL };
static const char *const proc_keys[] = { "hidepid", "gid", "subset", NULL };
static const char *const devpts_keys[] = { "uid", "gid", "mode", "ptmxmode", "newinstance", "max", NULL };
static const char *const none_keys[] = { NULL };
static const char *const cgroup_keys[] = { "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "net_cls", "net_prio", "blkio", "perf_event", "hugetlb", "pids", "rdma", "misc", "name", "none", "all", "noprefix", "release_agent", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", NULL };
static const char *const cgroup2_keys[] = { "nsdelegate", "memory_recursiveprot", "memory_localevents", "favordynmods", "memory_hugetlb_accounting", "pids_localevents", NULL };

static const char *const *
fs_keys (const struct tn_mount *m)
{
  if (m->bind)
    return none_keys;
  if (m->type == NULL)
    return NULL;
  if (strcmp (m->type, "tmpfs") == 0)
    return tmpfs_keys;
  if (strcmp (m->type, "proc") == 0)
    return proc_keys;
  if (strcmp (m->type, "devpts") == 0)
    return devpts_keys;
  if (strcmp (m->type, "mqueue") == 0 || strcmp (m->type, "sysfs") == 0)
    return none_keys;
  if (strcmp (m->type, "cgroup") == 0)
    return cgroup_keys;
  if (strcmp (m->type, "cgroup2") == 0)
    return cgroup2_keys;
  return NULL;
}

int
tn_mount_parse_options (struct tn_mount *m, const struct tn_json *options, const char *path, struct tn_error **err)
{
  char p[PATHBUF];
  struct tn_buf data = { 0 };
  /* first pass: is it a bind mount (it changes which data options are valid)? */
  if (options)
    for (size_t i = 0; i < options->n; i++)
      {
        const struct tn_json *o = options->items[i];
        if (o->type != TN_JSON_STRING)
          return wrong_type (err, idx (p, sizeof p, path, i), "a string", o);
        if (strcmp (o->text, "bind") == 0 || strcmp (o->text, "rbind") == 0)
          m->bind = true;
      }
  if (m->type && strcmp (m->type, "bind") == 0)
    m->bind = true;
  for (size_t i = 0; options && i < options->n; i++)
    {
      const char *o = options->items[i]->text;
      bool known = false;
      for (size_t k = 0; k < sizeof mount_opts / sizeof mount_opts[0]; k++)
        {
          if (strcmp (mount_opts[k].name, o) != 0)
            continue;
          known = true;
          unsigned long v = mount_opts[k].value;
          switch (mount_opts[k].kind)
            {
            case OPT_SET: m->flags |= v; m->clear_flags &= ~v; break;
            case OPT_CLEAR: m->flags &= ~v; m->clear_flags |= v; break;
            case OPT_PROPAGATION: m->propagation = v; break;
            case OPT_BIND: m->flags |= MS_BIND; break;
            case OPT_RBIND: m->flags |= MS_BIND | MS_REC; break;
            case OPT_ATTR_SET: m->attr_set |= v; m->attr_clr &= ~(uint64_t) v; break;
            case OPT_ATTR_CLR: m->attr_clr |= v; m->attr_set &= ~(uint64_t) v; break;
            case OPT_ATIME_ATTR:
              m->attr_clr |= MOUNT_ATTR__ATIME;
              m->attr_set = (m->attr_set & ~(uint64_t) MOUNT_ATTR__ATIME) | v;
              break;
            case OPT_TMPCOPYUP: m->tmpcopyup = true; break;
            case OPT_NOOP: break;
            case OPT_UNSUPPORTED:
              tn_buf_free (&data);
              return bad (err, idx (p, sizeof p, path, i), "mount option \"%s\" is not supported", o);
            }
          break;
        }
      if (known)
        continue;
      const char *const *keys = fs_keys (m);
      if (keys)
        {
          size_t klen = strcspn (o, "=");
          bool ok = false;
          for (const char *const *k = keys; *k; k++)
            if (strlen (*k) == klen && strncmp (*k, o, klen) == 0)
              ok = true;
          if (!ok)
            {
              tn_buf_free (&data);
              return bad (err, idx (p, sizeof p, path, i), "unknown mount option \"%s\" for a%s %s mount", o,
                          m->bind ? "" : (m->type && strchr ("aeiou", m->type[0]) ? "n" : ""), m->bind ? "bind" : m->type);
            }
        }
      if (o[0] == '\0' || strchr (o, ','))
        {
          tn_buf_free (&data);
          return bad (err, idx (p, sizeof p, path, i), "invalid mount option \"%s\"", o);
        }
      if (data.len)
        tn_buf_add (&data, ",", 1);
      tn_buf_puts (&data, o);
    }
  if (data.len)
    {
      m->data = tn_buf_steal (&data);
      if (m->data == NULL)
        return tn_error_sys (err, ENOMEM, "%s", path);
    }
  if (m->tmpcopyup && (m->type == NULL || strcmp (m->type, "tmpfs") != 0))
    return bad (err, path, "tmpcopyup is only valid for tmpfs mounts");
  return 0;
}

static int
parse_mounts (struct tn_spec *s, const struct tn_json *arr, struct tn_error **err)
{
  char p[PATHBUF], q[PATHBUF];
  s->mounts = calloc (arr->n + 1, sizeof *s->mounts);
  if (s->mounts == NULL)
    return tn_error_sys (err, ENOMEM, "mounts");
  for (size_t i = 0; i < arr->n; i++)
    {
      const struct tn_json *it = arr->items[i];
      struct tn_mount *m = &s->mounts[i];
      s->n_mounts = i + 1;
      idx (p, sizeof p, "mounts", i);
      if (it->type != TN_JSON_OBJECT)
        return wrong_type (err, p, "an object", it);
      if (req_string (it, "destination", p, &m->destination, err) < 0)
        return -1;
      if (m->destination[0] != '/')
        return bad (err, sub (q, sizeof q, p, "destination"), "\"%s\" is not an absolute path", m->destination);
      if (opt_string (it, "type", p, &m->type, err) < 0 || opt_string (it, "source", p, &m->source, err) < 0)
        return -1;
      const struct tn_json *opts;
      if (opt_array (it, "options", p, &opts, err) < 0)
        return -1;
      if (tn_mount_parse_options (m, opts, sub (q, sizeof q, p, "options"), err) < 0)
        return -1;
      if (m->type == NULL && !m->bind)
        return bad (err, sub (q, sizeof q, p, "type"), "is required for a mount that is not a bind mount");
      if (m->bind && (m->source == NULL || m->source[0] == '\0'))
        return bad (err, sub (q, sizeof q, p, "source"), "is required for a bind mount");
      if (!m->bind && m->type && strcmp (m->type, "cgroup") != 0 && strcmp (m->type, "cgroup2") != 0
          && m->source == NULL)
        {
          /* the source of a virtual filesystem is a dummy: default to the type */
          m->source = strdup (m->type);
        }
    }
  return 0;
}

/* ---- linux ---- */

static const char *const ns_names[TN_NS_COUNT] = { "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time" };
static const int ns_flags[TN_NS_COUNT] = { CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWUSER, CLONE_NEWCGROUP, 0x00000080 /* CLONE_NEWTIME */ };

const char *
tn_ns_name (enum tn_ns_type t)
{
  return t < TN_NS_COUNT ? ns_names[t] : "?";
}

int
tn_ns_flag (enum tn_ns_type t)
{
  return t < TN_NS_COUNT ? ns_flags[t] : 0;
}

static int
parse_idmaps (const struct tn_json *arr, const char *path, struct tn_idmap **out, size_t *n, struct tn_error **err)
{
  char p[PATHBUF];
  if (arr->n == 0)
    return 0;
  if (arr->n > 340)
    return bad (err, path, "too many mappings (the kernel allows 340)");
  *out = calloc (arr->n, sizeof **out);
  if (*out == NULL)
    return tn_error_sys (err, ENOMEM, "%s", path);
  for (size_t i = 0; i < arr->n; i++)
    {
      const struct tn_json *it = arr->items[i];
      idx (p, sizeof p, path, i);
      if (it->type != TN_JSON_OBJECT)
        return wrong_type (err, p, "an object", it);
      uint64_t c, h, sz;
      if (req_u64 (it, "containerID", p, UINT32_MAX, &c, err) < 0 || req_u64 (it, "hostID", p, UINT32_MAX, &h, err) < 0
          || req_u64 (it, "size", p, UINT32_MAX, &sz, err) < 0)
        return -1;
      if (sz == 0)
        return bad (err, p, "size must be greater than zero");
      (*out)[i] = (struct tn_idmap) { (uint32_t) c, (uint32_t) h, (uint32_t) sz };
    }
  *n = arr->n;
  return 0;
}

static int
parse_dev_rule (const struct tn_json *it, const char *p, struct tn_dev_rule *r, struct tn_error **err)
{
  char q[PATHBUF];
  if (it->type != TN_JSON_OBJECT)
    return wrong_type (err, p, "an object", it);
  const struct tn_json *allow = member (it, "allow");
  if (allow == NULL)
    return bad (err, sub (q, sizeof q, p, "allow"), "is required");
  if (opt_bool (it, "allow", p, NULL, &r->allow, err) < 0)
    return -1;
  cleanup_free char *type = NULL, *access = NULL;
  if (opt_string (it, "type", p, &type, err) < 0 || opt_string (it, "access", p, &access, err) < 0)
    return -1;
  r->type = 'a';
  if (type)
    {
      if (strcmp (type, "a") != 0 && strcmp (type, "c") != 0 && strcmp (type, "b") != 0)
        return bad (err, sub (q, sizeof q, p, "type"), "unknown device type \"%s\" (a, b or c)", type);
      r->type = type[0];
    }
  r->major = r->minor = -1;
  if (opt_i64 (it, "major", p, -1, INT32_MAX, NULL, &r->major, err) < 0
      || opt_i64 (it, "minor", p, -1, INT32_MAX, NULL, &r->minor, err) < 0)
    return -1;
  bool rd = false, wr = false, mk = false;
  const char *a = access ? access : "rwm";
  if (*a == '\0')
    a = "rwm";
  for (const char *c = a; *c; c++)
    {
      if (*c == 'r')
        rd = true;
      else if (*c == 'w')
        wr = true;
      else if (*c == 'm')
        mk = true;
      else
        return bad (err, sub (q, sizeof q, p, "access"), "invalid access \"%s\" (a combination of r, w and m)", a);
    }
  char *o = r->access;
  if (rd)
    *o++ = 'r';
  if (wr)
    *o++ = 'w';
  if (mk)
    *o++ = 'm';
  *o = '\0';
  return 0;
}

static int
parse_resources (struct tn_resources *r, const struct tn_json *res, struct tn_error **err)
{
  const char *P = "linux.resources";
  char p[PATHBUF], q[PATHBUF];
  const struct tn_json *o;

  if (opt_object (res, "memory", P, &o, err) < 0)
    return -1;
  if (o)
    {
      sub (p, sizeof p, P, "memory");
      if (opt_i64 (o, "limit", p, -1, INT64_MAX, &r->has_mem_limit, &r->mem_limit, err) < 0
          || opt_i64 (o, "reservation", p, -1, INT64_MAX, &r->has_mem_reservation, &r->mem_reservation, err) < 0
          || opt_i64 (o, "swap", p, -1, INT64_MAX, &r->has_mem_swap, &r->mem_swap, err) < 0
          || opt_i64 (o, "kernel", p, -1, INT64_MAX, &r->has_mem_kernel, &r->mem_kernel, err) < 0
          || opt_i64 (o, "kernelTCP", p, -1, INT64_MAX, &r->has_mem_kernel_tcp, &r->mem_kernel_tcp, err) < 0
          || opt_u64 (o, "swappiness", p, UINT64_MAX, &r->has_swappiness, &r->swappiness, err) < 0
          || opt_bool (o, "disableOOMKiller", p, &r->has_disable_oom_killer, &r->disable_oom_killer, err) < 0
          || opt_bool (o, "useHierarchy", p, &r->has_use_hierarchy, &r->use_hierarchy, err) < 0)
        return -1;
      /* Docker sends -1 (as uint64) to mean "unset" */
      if (r->has_swappiness && r->swappiness == UINT64_MAX)
        r->has_swappiness = false;
      if (r->has_swappiness && r->swappiness > 100)
        return bad (err, sub (q, sizeof q, p, "swappiness"), "%" PRIu64 " is out of range [0, 100]", r->swappiness);
      if (r->has_mem_limit && r->has_mem_swap && r->mem_limit > 0 && r->mem_swap > 0 && r->mem_swap < r->mem_limit)
        return bad (err, sub (q, sizeof q, p, "swap"), "memory+swap limit %" PRId64 " is smaller than the memory limit %" PRId64, r->mem_swap, r->mem_limit);
    }

  if (opt_object (res, "cpu", P, &o, err) < 0)
    return -1;
  if (o)
    {
      sub (p, sizeof p, P, "cpu");
      if (opt_u64 (o, "shares", p, UINT64_MAX, &r->has_cpu_shares, &r->cpu_shares, err) < 0
          || opt_i64 (o, "quota", p, -1, INT64_MAX, &r->has_cpu_quota, &r->cpu_quota, err) < 0
          || opt_u64 (o, "burst", p, UINT64_MAX, &r->has_cpu_burst, &r->cpu_burst, err) < 0
          || opt_u64 (o, "period", p, UINT64_MAX, &r->has_cpu_period, &r->cpu_period, err) < 0
          || opt_i64 (o, "realtimeRuntime", p, -1, INT64_MAX, &r->has_rt_runtime, &r->rt_runtime, err) < 0
          || opt_u64 (o, "realtimePeriod", p, UINT64_MAX, &r->has_rt_period, &r->rt_period, err) < 0
          || opt_string (o, "cpus", p, &r->cpus, err) < 0 || opt_string (o, "mems", p, &r->mems, err) < 0
          || opt_i64 (o, "idle", p, 0, 1, &r->has_cpu_idle, &r->cpu_idle, err) < 0)
        return -1;
      if (r->cpus && r->cpus[0] == '\0')
        {
          free (r->cpus);
          r->cpus = NULL;
        }
      if (r->mems && r->mems[0] == '\0')
        {
          free (r->mems);
          r->mems = NULL;
        }
    }

  if (opt_object (res, "pids", P, &o, err) < 0)
    return -1;
  if (o)
    {
      sub (p, sizeof p, P, "pids");
      if (opt_i64 (o, "limit", p, INT64_MIN, INT64_MAX, &r->has_pids_limit, &r->pids_limit, err) < 0)
        return -1;
    }

  if (opt_object (res, "blockIO", P, &o, err) < 0)
    return -1;
  if (o)
    {
      uint64_t x;
      sub (p, sizeof p, P, "blockIO");
      if (opt_u64 (o, "weight", p, 1000, &r->has_blkio_weight, &x, err) < 0)
        return -1;
      r->blkio_weight = (uint16_t) x;
      if (opt_u64 (o, "leafWeight", p, 1000, &r->has_blkio_leaf_weight, &x, err) < 0)
        return -1;
      r->blkio_leaf_weight = (uint16_t) x;
      if (r->has_blkio_weight && r->blkio_weight != 0 && r->blkio_weight < 10)
        return bad (err, sub (q, sizeof q, p, "weight"), "%u is out of range [10, 1000]", r->blkio_weight);
      const struct tn_json *wd;
      if (opt_array (o, "weightDevice", p, &wd, err) < 0)
        return -1;
      if (wd && wd->n)
        {
          sub (q, sizeof q, p, "weightDevice");
          r->weight_devices = calloc (wd->n, sizeof *r->weight_devices);
          if (r->weight_devices == NULL)
            return tn_error_sys (err, ENOMEM, "%s", q);
          for (size_t i = 0; i < wd->n; i++)
            {
              char e[PATHBUF];
              struct tn_weight_device *d = &r->weight_devices[i];
              idx (e, sizeof e, q, i);
              if (wd->items[i]->type != TN_JSON_OBJECT)
                return wrong_type (err, e, "an object", wd->items[i]);
              uint64_t maj, min;
              if (req_u64 (wd->items[i], "major", e, INT32_MAX, &maj, err) < 0 || req_u64 (wd->items[i], "minor", e, INT32_MAX, &min, err) < 0)
                return -1;
              d->major = (int64_t) maj;
              d->minor = (int64_t) min;
              if (opt_u64 (wd->items[i], "weight", e, 1000, &d->has_weight, &x, err) < 0)
                return -1;
              d->weight = (uint16_t) x;
              if (opt_u64 (wd->items[i], "leafWeight", e, 1000, &d->has_leaf_weight, &x, err) < 0)
                return -1;
              d->leaf_weight = (uint16_t) x;
            }
          r->n_weight_devices = wd->n;
        }
      static const char *const thr[4] = { "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice" };
      for (int t = 0; t < 4; t++)
        {
          const struct tn_json *td;
          if (opt_array (o, thr[t], p, &td, err) < 0)
            return -1;
          if (td == NULL || td->n == 0)
            continue;
          sub (q, sizeof q, p, thr[t]);
          r->throttle[t] = calloc (td->n, sizeof *r->throttle[t]);
          if (r->throttle[t] == NULL)
            return tn_error_sys (err, ENOMEM, "%s", q);
          for (size_t i = 0; i < td->n; i++)
            {
              char e[PATHBUF];
              idx (e, sizeof e, q, i);
              if (td->items[i]->type != TN_JSON_OBJECT)
                return wrong_type (err, e, "an object", td->items[i]);
              uint64_t maj, min;
              if (req_u64 (td->items[i], "major", e, INT32_MAX, &maj, err) < 0 || req_u64 (td->items[i], "minor", e, INT32_MAX, &min, err) < 0
                  || req_u64 (td->items[i], "rate", e, UINT64_MAX, &r->throttle[t][i].rate, err) < 0)
                return -1;
              r->throttle[t][i].major = (int64_t) maj;
              r->throttle[t][i].minor = (int64_t) min;
            }
          r->n_throttle[t] = td->n;
        }
    }

  const struct tn_json *arr;
  if (opt_array (res, "hugepageLimits", P, &arr, err) < 0)
    return -1;
  if (arr && arr->n)
    {
      sub (p, sizeof p, P, "hugepageLimits");
      r->hugepages = calloc (arr->n, sizeof *r->hugepages);
      if (r->hugepages == NULL)
        return tn_error_sys (err, ENOMEM, "%s", p);
      for (size_t i = 0; i < arr->n; i++)
        {
          idx (q, sizeof q, p, i);
          if (arr->items[i]->type != TN_JSON_OBJECT)
            return wrong_type (err, q, "an object", arr->items[i]);
          r->n_hugepages = i + 1;
          if (req_string (arr->items[i], "pageSize", q, &r->hugepages[i].page_size, err) < 0
              || req_u64 (arr->items[i], "limit", q, UINT64_MAX, &r->hugepages[i].limit, err) < 0)
            return -1;
          if (strchr (r->hugepages[i].page_size, '/') || strchr (r->hugepages[i].page_size, '.'))
            return bad (err, q, "invalid pageSize \"%s\"", r->hugepages[i].page_size);
        }
    }

  if (opt_object (res, "network", P, &o, err) < 0)
    return -1;
  if (o)
    {
      uint64_t x;
      sub (p, sizeof p, P, "network");
      if (opt_u64 (o, "classID", p, UINT32_MAX, &r->has_net_class_id, &x, err) < 0)
        return -1;
      r->net_class_id = (uint32_t) x;
      const struct tn_json *pr;
      if (opt_array (o, "priorities", p, &pr, err) < 0)
        return -1;
      if (pr && pr->n)
        {
          sub (q, sizeof q, p, "priorities");
          r->net_priorities = calloc (pr->n, sizeof *r->net_priorities);
          if (r->net_priorities == NULL)
            return tn_error_sys (err, ENOMEM, "%s", q);
          for (size_t i = 0; i < pr->n; i++)
            {
              char e[PATHBUF];
              idx (e, sizeof e, q, i);
              if (pr->items[i]->type != TN_JSON_OBJECT)
                return wrong_type (err, e, "an object", pr->items[i]);
              r->n_net_priorities = i + 1;
              if (req_string (pr->items[i], "name", e, &r->net_priorities[i].key, err) < 0 || req_u64 (pr->items[i], "priority", e, UINT32_MAX, &x, err) < 0)
                return -1;
              if (asprintf (&r->net_priorities[i].value, "%" PRIu64, x) < 0)
                return tn_error_sys (err, ENOMEM, "%s", e);
            }
        }
    }

  if (opt_array (res, "devices", P, &arr, err) < 0)
    return -1;
  if (arr && arr->n)
    {
      sub (p, sizeof p, P, "devices");
      r->devices = calloc (arr->n, sizeof *r->devices);
      if (r->devices == NULL)
        return tn_error_sys (err, ENOMEM, "%s", p);
      for (size_t i = 0; i < arr->n; i++)
        if (parse_dev_rule (arr->items[i], idx (q, sizeof q, p, i), &r->devices[i], err) < 0)
          return -1;
      r->n_devices = arr->n;
    }

  if (opt_object (res, "unified", P, &o, err) < 0)
    return -1;
  if (o && string_map (o, sub (p, sizeof p, P, "unified"), &r->unified, &r->n_unified, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_unified; i++)
    if (strchr (r->unified[i].key, '/') || r->unified[i].key[0] == '.' || strchr (r->unified[i].key, '.') == NULL)
      return bad (err, sub (q, sizeof q, p, r->unified[i].key), "invalid cgroup file name");

  if (opt_object (res, "rdma", P, &o, err) < 0)
    return -1;
  if (o && o->n)
    {
      sub (p, sizeof p, P, "rdma");
      r->rdma = calloc (o->n, sizeof *r->rdma);
      if (r->rdma == NULL)
        return tn_error_sys (err, ENOMEM, "%s", p);
      for (size_t i = 0; i < o->n; i++)
        {
          sub (q, sizeof q, p, o->keys[i]);
          if (o->items[i]->type != TN_JSON_OBJECT)
            return wrong_type (err, q, "an object", o->items[i]);
          uint64_t h = 0, ob = 0;
          bool hh = false, ho = false;
          if (opt_u64 (o->items[i], "hcaHandles", q, UINT32_MAX, &hh, &h, err) < 0 || opt_u64 (o->items[i], "hcaObjects", q, UINT32_MAX, &ho, &ob, err) < 0)
            return -1;
          struct tn_buf b = { 0 };
          if (hh)
            tn_buf_printf (&b, "hca_handle=%" PRIu64, h);
          if (ho)
            tn_buf_printf (&b, "%shca_object=%" PRIu64, hh ? " " : "", ob);
          r->rdma[i].key = strdup (o->keys[i]);
          r->rdma[i].value = tn_buf_steal (&b);
          r->n_rdma = i + 1;
          if (r->rdma[i].key == NULL || r->rdma[i].value == NULL)
            return tn_error_sys (err, ENOMEM, "%s", q);
        }
    }
  return 0;
}

static const struct
{
  const char *name;
  int action;
} seccomp_actions[] = {
  { "SCMP_ACT_KILL", TN_SCMP_KILL }, { "SCMP_ACT_KILL_PROCESS", TN_SCMP_KILL_PROCESS },
  { "SCMP_ACT_KILL_THREAD", TN_SCMP_KILL_THREAD }, { "SCMP_ACT_TRAP", TN_SCMP_TRAP },
  { "SCMP_ACT_ERRNO", TN_SCMP_ERRNO }, { "SCMP_ACT_TRACE", TN_SCMP_TRACE },
  { "SCMP_ACT_ALLOW", TN_SCMP_ALLOW }, { "SCMP_ACT_LOG", TN_SCMP_LOG }, { "SCMP_ACT_NOTIFY", TN_SCMP_NOTIFY },
};

static const struct
{
  const char *name;
  int op;
} seccomp_ops[] = {
  { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
  { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
  { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

static const struct
{
  const char *name;
  unsigned flag;
} seccomp_flag_names[] = {
  { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
  { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
  { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
  { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
};

static int
seccomp_action (const struct tn_json *obj, const char *key, const char *parent, int *out, struct tn_error **err)
{
  char p[PATHBUF];
  cleanup_free char *a = NULL;
  if (req_string (obj, key, parent, &a, err) < 0)
    return -1;
  for (size_t k = 0; k < sizeof seccomp_actions / sizeof seccomp_actions[0]; k++)
    if (strcmp (seccomp_actions[k].name, a) == 0)
      {
        *out = seccomp_actions[k].action;
        if (*out == TN_SCMP_NOTIFY)
          return bad (err, sub (p, sizeof p, parent, key), "SCMP_ACT_NOTIFY is not supported");
        return 0;
      }
  return bad (err, sub (p, sizeof p, parent, key), "unknown seccomp action \"%s\"", a);
}

void
tn_seccomp_free (struct tn_seccomp *sc)
{
  if (sc == NULL)
    return;
  free_strv (sc->archs);
  for (size_t i = 0; i < sc->n_rules; i++)
    {
      free_strv (sc->rules[i].names);
      free (sc->rules[i].args);
    }
  free (sc->rules);
  free (sc->listener_path);
  free (sc);
}

int
tn_seccomp_parse (const struct tn_json *o, struct tn_seccomp **out, struct tn_error **err)
{
  const char *P = "linux.seccomp";
  char p[PATHBUF], q[PATHBUF];
  struct tn_seccomp *sc = calloc (1, sizeof *sc);
  if (sc == NULL)
    return tn_error_sys (err, ENOMEM, "%s", P);
  *out = sc;
  if (seccomp_action (o, "defaultAction", P, &sc->default_action, err) < 0)
    return -1;
  uint64_t x;
  if (opt_u64 (o, "defaultErrnoRet", P, 4095, &sc->has_default_errno, &x, err) < 0)
    return -1;
  sc->default_errno = (uint32_t) x;
  if (opt_string (o, "listenerPath", P, &sc->listener_path, err) < 0)
    return -1;
  const struct tn_json *arr;
  if (opt_array (o, "architectures", P, &arr, err) < 0)
    return -1;
  if (arr && arr->n)
    {
      sub (p, sizeof p, P, "architectures");
      sc->archs = calloc (arr->n + 1, sizeof (char *));
      if (sc->archs == NULL)
        return tn_error_sys (err, ENOMEM, "%s", p);
      for (size_t i = 0; i < arr->n; i++)
        {
          idx (q, sizeof q, p, i);
          if (arr->items[i]->type != TN_JSON_STRING)
            return wrong_type (err, q, "a string", arr->items[i]);
          const char *name = arr->items[i]->text;
          if (strncmp (name, "SCMP_ARCH_", 10) != 0)
            return bad (err, q, "unknown architecture \"%s\"", name);
          char lower[64];
          size_t k = 0;
          for (const char *c = name + 10; *c && k + 1 < sizeof lower; c++)
            lower[k++] = (char) (*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
          lower[k] = '\0';
          /* the spec's names that differ from libseccomp's */
          const char *lib = lower;
          if (strcmp (lower, "mipsel64") == 0)
            lib = "mipsel64";
          if (seccomp_arch_resolve_name (lib) == 0)
            return bad (err, q, "unknown architecture \"%s\"", name);
          sc->archs[sc->n_archs++] = strdup (lib);
        }
    }
  if (opt_array (o, "flags", P, &arr, err) < 0)
    return -1;
  for (size_t i = 0; arr && i < arr->n; i++)
    {
      idx (q, sizeof q, sub (p, sizeof p, P, "flags"), i);
      if (arr->items[i]->type != TN_JSON_STRING)
        return wrong_type (err, q, "a string", arr->items[i]);
      bool ok = false;
      for (size_t k = 0; k < sizeof seccomp_flag_names / sizeof seccomp_flag_names[0]; k++)
        if (strcmp (seccomp_flag_names[k].name, arr->items[i]->text) == 0)
          {
            sc->flags |= seccomp_flag_names[k].flag;
            ok = true;
          }
      if (!ok)
        return bad (err, q, "unknown seccomp flag \"%s\"", arr->items[i]->text);
    }
  if (opt_array (o, "syscalls", P, &arr, err) < 0)
    return -1;
  if (arr && arr->n)
    {
      sub (p, sizeof p, P, "syscalls");
      sc->rules = calloc (arr->n, sizeof *sc->rules);
      if (sc->rules == NULL)
        return tn_error_sys (err, ENOMEM, "%s", p);
      for (size_t i = 0; i < arr->n; i++)
        {
          const struct tn_json *it = arr->items[i];
          struct tn_seccomp_rule *r = &sc->rules[i];
          sc->n_rules = i + 1;
          idx (q, sizeof q, p, i);
          if (it->type != TN_JSON_OBJECT)
            return wrong_type (err, q, "an object", it);
          if (opt_string_array (it, "names", q, &r->names, &r->n_names, err) < 0)
            return -1;
          if (r->n_names == 0)
            {
              char e[PATHBUF];
              return bad (err, sub (e, sizeof e, q, "names"), "at least one syscall name is required");
            }
          if (seccomp_action (it, "action", q, &r->action, err) < 0)
            return -1;
          if (opt_u64 (it, "errnoRet", q, 4095, &r->has_errno, &x, err) < 0)
            return -1;
          r->errno_ret = (uint32_t) x;
          const struct tn_json *args;
          if (opt_array (it, "args", q, &args, err) < 0)
            return -1;
          if (args && args->n)
            {
              char e[PATHBUF];
              sub (e, sizeof e, q, "args");
              if (args->n > 6 * 4)
                return bad (err, e, "too many argument conditions");
              r->args = calloc (args->n, sizeof *r->args);
              if (r->args == NULL)
                return tn_error_sys (err, ENOMEM, "%s", e);
              for (size_t j = 0; j < args->n; j++)
                {
                  char f[PATHBUF];
                  const struct tn_json *a = args->items[j];
                  idx (f, sizeof f, e, j);
                  if (a->type != TN_JSON_OBJECT)
                    return wrong_type (err, f, "an object", a);
                  uint64_t index;
                  if (req_u64 (a, "index", f, 5, &index, err) < 0)
                    return -1;
                  r->args[j].index = (unsigned) index;
                  if (req_u64 (a, "value", f, UINT64_MAX, &r->args[j].value, err) < 0
                      || opt_u64 (a, "valueTwo", f, UINT64_MAX, NULL, &r->args[j].value_two, err) < 0)
                    return -1;
                  cleanup_free char *op = NULL;
                  if (req_string (a, "op", f, &op, err) < 0)
                    return -1;
                  r->args[j].op = -1;
                  for (size_t k = 0; k < sizeof seccomp_ops / sizeof seccomp_ops[0]; k++)
                    if (strcmp (seccomp_ops[k].name, op) == 0)
                      r->args[j].op = seccomp_ops[k].op;
                  if (r->args[j].op < 0)
                    {
                      char g[PATHBUF];
                      return bad (err, sub (g, sizeof g, f, "op"), "unknown seccomp operator \"%s\"", op);
                    }
                }
              r->n_args = args->n;
            }
        }
    }
  return 0;
}

/* sysctls that are namespaced, and the namespace each needs (as runc validates them). */
static int
check_sysctl (struct tn_spec *s, const char *key, const char *path, struct tn_error **err)
{
  static const char *const ipc_keys[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced", NULL };
  char norm[256];
  size_t k = 0;
  for (const char *c = key; *c && k + 1 < sizeof norm; c++)
    norm[k++] = *c == '/' ? '.' : *c;
  norm[k] = '\0';
  if (strstr (key, "..") || key[0] == '.' || key[0] == '/' || key[0] == '\0')
    return bad (err, path, "invalid sysctl name");
  for (const char *const *p = ipc_keys; *p; p++)
    if (strcmp (norm, *p) == 0)
      {
        if (!s->lx.ns[TN_NS_IPC].present)
          return bad (err, path, "sysctl \"%s\" requires an ipc namespace", key);
        return 0;
      }
  if (strncmp (norm, "fs.mqueue.", 10) == 0)
    {
      if (!s->lx.ns[TN_NS_IPC].present)
        return bad (err, path, "sysctl \"%s\" requires an ipc namespace", key);
      return 0;
    }
  if (strncmp (norm, "net.", 4) == 0)
    {
      if (!s->lx.ns[TN_NS_NET].present)
        return bad (err, path, "sysctl \"%s\" requires a network namespace", key);
      return 0;
    }
  if (strcmp (norm, "kernel.hostname") == 0 || strcmp (norm, "kernel.domainname") == 0)
    {
      if (!s->lx.ns[TN_NS_UTS].present)
        return bad (err, path, "sysctl \"%s\" requires a uts namespace", key);
      return 0;
    }
  return bad (err, path, "sysctl \"%s\" is not in a separate kernel namespace", key);
}

static int
parse_linux (struct tn_spec *s, const struct tn_json *lx, struct tn_error **err)
{
  const char *P = "linux";
  char p[PATHBUF], q[PATHBUF];
  struct tn_linux *L = &s->lx;
  const struct tn_json *arr, *o;

  if (opt_array (lx, "namespaces", P, &arr, err) < 0)
    return -1;
  for (size_t i = 0; arr && i < arr->n; i++)
    {
      const struct tn_json *it = arr->items[i];
      idx (p, sizeof p, "linux.namespaces", i);
      if (it->type != TN_JSON_OBJECT)
        return wrong_type (err, p, "an object", it);
      cleanup_free char *type = NULL;
      if (req_string (it, "type", p, &type, err) < 0)
        return -1;
      int t = -1;
      for (int k = 0; k < TN_NS_COUNT; k++)
        if (strcmp (ns_names[k], type) == 0)
          t = k;
      if (t < 0)
        return bad (err, sub (q, sizeof q, p, "type"), "unknown namespace type \"%s\"", type);
      if (L->ns[t].present)
        return bad (err, sub (q, sizeof q, p, "type"), "duplicate namespace type \"%s\"", type);
      L->ns[t].present = true;
      if (opt_string (it, "path", p, &L->ns[t].path, err) < 0)
        return -1;
      if (L->ns[t].path && L->ns[t].path[0] == '\0')
        {
          free (L->ns[t].path);
          L->ns[t].path = NULL;
        }
      if (L->ns[t].path && L->ns[t].path[0] != '/')
        return bad (err, sub (q, sizeof q, p, "path"), "\"%s\" is not an absolute path", L->ns[t].path);
    }

  if (opt_array (lx, "uidMappings", P, &arr, err) < 0)
    return -1;
  if (arr && parse_idmaps (arr, "linux.uidMappings", &L->uid_mappings, &L->n_uid_mappings, err) < 0)
    return -1;
  if (opt_array (lx, "gidMappings", P, &arr, err) < 0)
    return -1;
  if (arr && parse_idmaps (arr, "linux.gidMappings", &L->gid_mappings, &L->n_gid_mappings, err) < 0)
    return -1;
  if ((L->n_uid_mappings || L->n_gid_mappings) && !L->ns[TN_NS_USER].present)
    return bad (err, L->n_uid_mappings ? "linux.uidMappings" : "linux.gidMappings", "mappings need a user namespace in linux.namespaces");
  if (L->ns[TN_NS_USER].present && L->ns[TN_NS_USER].path == NULL && (L->n_uid_mappings == 0 || L->n_gid_mappings == 0))
    return bad (err, L->n_uid_mappings == 0 ? "linux.uidMappings" : "linux.gidMappings", "a new user namespace needs uid and gid mappings");
  if (L->ns[TN_NS_USER].path && (L->n_uid_mappings || L->n_gid_mappings))
    return bad (err, "linux.uidMappings", "mappings cannot be given when joining an existing user namespace");

  if (opt_array (lx, "devices", P, &arr, err) < 0)
    return -1;
  if (arr && arr->n)
    {
      L->devices = calloc (arr->n, sizeof *L->devices);
      if (L->devices == NULL)
        return tn_error_sys (err, ENOMEM, "linux.devices");
      for (size_t i = 0; i < arr->n; i++)
        {
          const struct tn_json *it = arr->items[i];
          struct tn_device *d = &L->devices[i];
          L->n_devices = i + 1;
          idx (p, sizeof p, "linux.devices", i);
          if (it->type != TN_JSON_OBJECT)
            return wrong_type (err, p, "an object", it);
          cleanup_free char *type = NULL;
          if (req_string (it, "path", p, &d->path, err) < 0 || req_string (it, "type", p, &type, err) < 0)
            return -1;
          if (d->path[0] != '/')
            return bad (err, sub (q, sizeof q, p, "path"), "\"%s\" is not an absolute path", d->path);
          if (strlen (type) != 1 || strchr ("cbup", type[0]) == NULL)
            return bad (err, sub (q, sizeof q, p, "type"), "unknown device type \"%s\" (c, b, u or p)", type);
          d->type = type[0];
          if (d->type != 'p')
            {
              uint64_t maj, min;
              if (req_u64 (it, "major", p, 0xfff, &maj, err) < 0 || req_u64 (it, "minor", p, 0xfffff, &min, err) < 0)
                return -1;
              d->major = (int64_t) maj;
              d->minor = (int64_t) min;
            }
          uint64_t x;
          if (opt_u64 (it, "fileMode", p, 07777, &d->has_mode, &x, err) < 0)
            return -1;
          d->mode = (mode_t) x;
          if (opt_u64 (it, "uid", p, UINT32_MAX - 1, &d->has_uid, &x, err) < 0)
            return -1;
          d->uid = (uid_t) x;
          if (opt_u64 (it, "gid", p, UINT32_MAX - 1, &d->has_gid, &x, err) < 0)
            return -1;
          d->gid = (gid_t) x;
        }
    }

  if (opt_string (lx, "cgroupsPath", P, &L->cgroups_path, err) < 0)
    return -1;

  if (opt_object (lx, "resources", P, &o, err) < 0)
    return -1;
  if (o)
    {
      L->has_resources = true;
      if (parse_resources (&L->resources, o, err) < 0)
        return -1;
    }

  cleanup_free char *prop = NULL;
  if (opt_string (lx, "rootfsPropagation", P, &prop, err) < 0)
    return -1;
  if (prop && prop[0])
    {
      static const struct
      {
        const char *name;
        unsigned long flags;
      } props[] = {
        { "shared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE | MS_REC }, { "private", MS_PRIVATE | MS_REC },
        { "unbindable", MS_UNBINDABLE | MS_REC }, { "rshared", MS_SHARED | MS_REC }, { "rslave", MS_SLAVE | MS_REC },
        { "rprivate", MS_PRIVATE | MS_REC }, { "runbindable", MS_UNBINDABLE | MS_REC },
      };
      for (size_t k = 0; k < sizeof props / sizeof props[0]; k++)
        if (strcmp (props[k].name, prop) == 0)
          L->rootfs_propagation = props[k].flags;
      if (L->rootfs_propagation == 0)
        return bad (err, "linux.rootfsPropagation", "unknown propagation \"%s\" (shared, slave, private or unbindable)", prop);
    }

  if (opt_string_array (lx, "maskedPaths", P, &L->masked_paths, &L->n_masked_paths, err) < 0
      || opt_string_array (lx, "readonlyPaths", P, &L->readonly_paths, &L->n_readonly_paths, err) < 0)
    return -1;
  for (size_t i = 0; i < L->n_masked_paths; i++)
    if (L->masked_paths[i][0] != '/')
      return bad (err, idx (p, sizeof p, "linux.maskedPaths", i), "\"%s\" is not an absolute path", L->masked_paths[i]);
  for (size_t i = 0; i < L->n_readonly_paths; i++)
    if (L->readonly_paths[i][0] != '/')
      return bad (err, idx (p, sizeof p, "linux.readonlyPaths", i), "\"%s\" is not an absolute path", L->readonly_paths[i]);

  if (opt_object (lx, "sysctl", P, &o, err) < 0)
    return -1;
  if (o && string_map (o, "linux.sysctl", &L->sysctl, &L->n_sysctl, err) < 0)
    return -1;
  for (size_t i = 0; i < L->n_sysctl; i++)
    if (check_sysctl (s, L->sysctl[i].key, sub (p, sizeof p, "linux.sysctl", L->sysctl[i].key), err) < 0)
      return -1;

  if (opt_object (lx, "seccomp", P, &o, err) < 0)
    return -1;
  L->seccomp_deferred = o && defer_seccomp;
  if (o && !defer_seccomp && tn_seccomp_parse (o, &L->seccomp, err) < 0)
    return -1;

  if (opt_object (lx, "personality", P, &o, err) < 0)
    return -1;
  if (o)
    {
      cleanup_free char *domain = NULL;
      if (req_string (o, "domain", "linux.personality", &domain, err) < 0)
        return -1;
      if (strcmp (domain, "LINUX") == 0)
        L->personality = PER_LINUX;
      else if (strcmp (domain, "LINUX32") == 0)
        L->personality = PER_LINUX32;
      else
        return bad (err, "linux.personality.domain", "unknown personality domain \"%s\" (LINUX or LINUX32)", domain);
      const struct tn_json *fl;
      if (opt_array (o, "flags", "linux.personality", &fl, err) < 0)
        return -1;
      if (fl && fl->n)
        return bad (err, "linux.personality.flags", "personality flags are not supported");
      L->has_personality = true;
    }

  if (opt_object (lx, "timeOffsets", P, &o, err) < 0)
    return -1;
  if (o && o->n)
    {
      if (!L->ns[TN_NS_TIME].present || L->ns[TN_NS_TIME].path)
        return bad (err, "linux.timeOffsets", "needs a new time namespace in linux.namespaces");
      L->time_offsets = calloc (o->n, sizeof *L->time_offsets);
      if (L->time_offsets == NULL)
        return tn_error_sys (err, ENOMEM, "linux.timeOffsets");
      for (size_t i = 0; i < o->n; i++)
        {
          sub (p, sizeof p, "linux.timeOffsets", o->keys[i]);
          if (strcmp (o->keys[i], "monotonic") != 0 && strcmp (o->keys[i], "boottime") != 0)
            return bad (err, p, "unknown clock (monotonic or boottime)");
          if (o->items[i]->type != TN_JSON_OBJECT)
            return wrong_type (err, p, "an object", o->items[i]);
          int64_t secs = 0;
          uint64_t ns = 0;
          if (opt_i64 (o->items[i], "secs", p, INT64_MIN, INT64_MAX, NULL, &secs, err) < 0
              || opt_u64 (o->items[i], "nanosecs", p, 999999999, NULL, &ns, err) < 0)
            return -1;
          L->time_offsets[i].key = strdup (o->keys[i]);
          if (asprintf (&L->time_offsets[i].value, "%" PRId64 " %" PRIu64, secs, ns) < 0)
            L->time_offsets[i].value = NULL;
          L->n_time_offsets = i + 1;
        }
    }

  if (opt_object (lx, "intelRdt", P, &o, err) < 0)
    return -1;
  if (o && o->n)
    return bad (err, "linux.intelRdt", "Intel RDT is not supported");

  if (member (lx, "memoryPolicy"))
    return bad (err, "linux.memoryPolicy", "is not supported");
  return 0;
}

/* ---- hooks ---- */

static const char *const hook_names[TN_HOOK_NKINDS] = { "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop" };

const char *
tn_hook_name (enum tn_hook_kind k)
{
  return k < TN_HOOK_NKINDS ? hook_names[k] : "?";
}

static int
parse_hooks (struct tn_spec *s, const struct tn_json *h, struct tn_error **err)
{
  char p[PATHBUF], q[PATHBUF];
  for (int k = 0; k < TN_HOOK_NKINDS; k++)
    {
      const struct tn_json *arr;
      if (opt_array (h, hook_names[k], "hooks", &arr, err) < 0)
        return -1;
      if (arr == NULL || arr->n == 0)
        continue;
      s->hooks[k] = calloc (arr->n, sizeof *s->hooks[k]);
      if (s->hooks[k] == NULL)
        return tn_error_sys (err, ENOMEM, "hooks");
      for (size_t i = 0; i < arr->n; i++)
        {
          struct tn_hook *hk = &s->hooks[k][i];
          s->n_hooks[k] = i + 1;
          idx (p, sizeof p, sub (q, sizeof q, "hooks", hook_names[k]), i);
          const struct tn_json *it = arr->items[i];
          if (it->type != TN_JSON_OBJECT)
            return wrong_type (err, p, "an object", it);
          if (req_string (it, "path", p, &hk->path, err) < 0)
            return -1;
          if (hk->path[0] != '/')
            return bad (err, sub (q, sizeof q, p, "path"), "\"%s\" is not an absolute path", hk->path);
          if (opt_string_array (it, "args", p, &hk->args, NULL, err) < 0 || opt_string_array (it, "env", p, &hk->env, NULL, err) < 0)
            return -1;
          if (hk->args == NULL || hk->args[0] == NULL)
            {
              free (hk->args);
              hk->args = calloc (2, sizeof (char *));
              if (hk->args == NULL || (hk->args[0] = strdup (hk->path)) == NULL)
                return tn_error_sys (err, ENOMEM, "%s", p);
            }
          if (hk->env == NULL && (hk->env = calloc (1, sizeof (char *))) == NULL)
            return tn_error_sys (err, ENOMEM, "%s", p);
          int64_t t = 0;
          bool has = false;
          if (opt_i64 (it, "timeout", p, INT32_MIN, INT32_MAX, &has, &t, err) < 0)
            return -1;
          if (has && t <= 0)
            return bad (err, sub (q, sizeof q, p, "timeout"), "must be greater than zero");
          hk->timeout = (int) t;
        }
    }
  return 0;
}

/* ---- the document ---- */

void
tn_spec_free (struct tn_spec *s)
{
  if (s == NULL)
    return;
  tn_json_free (s->json);
  free (s->oci_version);
  free (s->root_path);
  free (s->hostname);
  free (s->domainname);
  tn_process_free (s->process);
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      free (s->mounts[i].destination);
      free (s->mounts[i].type);
      free (s->mounts[i].source);
      free (s->mounts[i].data);
    }
  free (s->mounts);
  for (int k = 0; k < TN_HOOK_NKINDS; k++)
    {
      for (size_t i = 0; i < s->n_hooks[k]; i++)
        {
          free (s->hooks[k][i].path);
          free_strv (s->hooks[k][i].args);
          free_strv (s->hooks[k][i].env);
        }
      free (s->hooks[k]);
    }
  free_kv (s->annotations, s->n_annotations);
  struct tn_linux *L = &s->lx;
  for (int t = 0; t < TN_NS_COUNT; t++)
    free (L->ns[t].path);
  free (L->uid_mappings);
  free (L->gid_mappings);
  for (size_t i = 0; i < L->n_devices; i++)
    free (L->devices[i].path);
  free (L->devices);
  free (L->cgroups_path);
  struct tn_resources *r = &L->resources;
  free (r->cpus);
  free (r->mems);
  free (r->weight_devices);
  for (int t = 0; t < 4; t++)
    free (r->throttle[t]);
  for (size_t i = 0; i < r->n_hugepages; i++)
    free (r->hugepages[i].page_size);
  free (r->hugepages);
  free_kv (r->net_priorities, r->n_net_priorities);
  free (r->devices);
  free_kv (r->unified, r->n_unified);
  free_kv (r->rdma, r->n_rdma);
  free_strv (L->masked_paths);
  free_strv (L->readonly_paths);
  free_kv (L->sysctl, L->n_sysctl);
  tn_seccomp_free (L->seccomp);
  free_kv (L->time_offsets, L->n_time_offsets);
  free (s);
}

static int
parse_document (struct tn_spec *s, const struct tn_json *doc, struct tn_error **err)
{
  const struct tn_json *o;
  if (doc->type != TN_JSON_OBJECT)
    return wrong_type (err, "(document)", "an object", doc);
  if (req_string (doc, "ociVersion", "", &s->oci_version, err) < 0)
    return -1;
  if (strncmp (s->oci_version, "1.", 2) != 0)
    return bad (err, "ociVersion", "unsupported version \"%s\" (this runtime implements 1.x)", s->oci_version);

  if (opt_object (doc, "root", "", &o, err) < 0)
    return -1;
  if (o == NULL)
    return bad (err, "root", "is required");
  if (req_string (o, "path", "root", &s->root_path, err) < 0)
    return -1;
  if (s->root_path[0] == '\0')
    return bad (err, "root.path", "is empty");
  if (opt_bool (o, "readonly", "root", NULL, &s->root_readonly, err) < 0)
    return -1;

  if (opt_string (doc, "hostname", "", &s->hostname, err) < 0 || opt_string (doc, "domainname", "", &s->domainname, err) < 0)
    return -1;

  const struct tn_json *proc = member (doc, "process");
  if (proc && tn_process_parse (proc, "process", &s->process, err) < 0)
    return -1;

  const struct tn_json *arr;
  if (opt_array (doc, "mounts", "", &arr, err) < 0)
    return -1;
  if (arr && parse_mounts (s, arr, err) < 0)
    return -1;

  if (opt_object (doc, "hooks", "", &o, err) < 0)
    return -1;
  if (o && parse_hooks (s, o, err) < 0)
    return -1;

  if (opt_object (doc, "annotations", "", &o, err) < 0)
    return -1;
  if (o && string_map (o, "annotations", &s->annotations, &s->n_annotations, err) < 0)
    return -1;
  for (size_t i = 0; i < s->n_annotations; i++)
    if (s->annotations[i].key[0] == '\0')
      return bad (err, "annotations", "keys must not be empty");

  if (opt_object (doc, "linux", "", &o, err) < 0)
    return -1;
  if (o && parse_linux (s, o, err) < 0)
    return -1;

  /* cross-field checks */
  struct tn_linux *L = &s->lx;
  if (s->hostname && s->hostname[0] && !L->ns[TN_NS_UTS].present)
    return bad (err, "hostname", "cannot be set without a uts namespace");
  if (s->domainname && s->domainname[0] && !L->ns[TN_NS_UTS].present)
    return bad (err, "domainname", "cannot be set without a uts namespace");
  if (!L->ns[TN_NS_MNT].present)
    return bad (err, "linux.namespaces", "a mount namespace is required");
  return 0;
}

int
tn_spec_parse_deferred (const char *data, size_t len, const char *label, struct tn_spec **out, struct tn_error **err)
{
  defer_seccomp = true;
  int r = tn_spec_parse (data, len, label, out, err);
  defer_seccomp = false;
  return r;
}

const struct tn_json *
tn_spec_seccomp_section (const struct tn_spec *s)
{
  const struct tn_json *lx = tn_json_get (s->json, "linux");
  return lx ? tn_json_get (lx, "seccomp") : NULL;
}

int
tn_spec_parse (const char *data, size_t len, const char *label, struct tn_spec **out, struct tn_error **err)
{
  struct tn_spec *s = calloc (1, sizeof *s);
  if (s == NULL)
    return tn_error_sys (err, ENOMEM, "%s", label);
  if (tn_json_parse (data, len, &s->json, err) < 0)
    {
      tn_spec_free (s);
      return tn_error_wrap (err, "%s: invalid JSON", label);
    }
  if (parse_document (s, s->json, err) < 0)
    {
      tn_spec_free (s);
      return tn_error_wrap (err, "%s", label);
    }
  *out = s;
  return 0;
}

int
tn_spec_load_deferred (const char *path, const char *label, struct tn_spec **out, struct tn_error **err)
{
  cleanup_free char *data = NULL;
  size_t len;
  if (tn_read_file (path, &data, &len, err) < 0)
    return -1;
  return tn_spec_parse_deferred (data, len, label, out, err);
}

const char *
tn_spec_build_tag (void)
{
  /* this file turns a profile into what is compiled: rebuilt, it may turn it differently */
  return __DATE__ " " __TIME__;
}
