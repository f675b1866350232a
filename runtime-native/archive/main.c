/* tersane-archive: the file operations on a container's filesystem that Docker's archive, export,
 * diff and commit endpoints need, done in C so that no path — a `..`, an absolute name, a symlink
 * in the container, or one swapped in while the copy runs — reaches outside the container's root.
 *
 *   tersane-archive stat   ROOT… PATH   → {"name","size","mode","mtime_sec","mtime_nsec","link_target"} (PATH's last
 *                                          element not followed, as Docker's HEAD …/archive)
 *   tersane-archive read   ROOT… PATH   → that line, then the tar of PATH (Docker's GET …/archive)
 *   tersane-archive write  ROOT… [--no-overwrite-dir-non-dir] [--chown UID:GID] PATH  < tar
 *                                        (Docker's PUT …/archive: PATH must be a directory)
 *   tersane-archive export ROOT…        → the whole root as a tar
 *   tersane-archive changes --upper DIR [--lower DIR]… [--init PATH:dir|file]…  → Docker's changes JSON
 *   tersane-archive layer   --upper DIR [--lower DIR]… [--init PATH:dir|file]…  → the layer tar
 *                                        (overlay whiteouts in OCI form), for `docker commit`
 *
 * ROOT… is --root DIR [--expect-root DIR] or --overlay OPTS --mountpoint DIR [--bind SRC:DST[:ro]]…
 * (root.h). Exit status: 0 ok, 1 failure, 2 usage, 3 no such path, 4 not a directory (write),
 * 5 read-only file system, 6 the running container went away; one line on stderr on failure. */
#include "cleanup.h"
#include "error.h"
#include "changes.h"
#include "paths.h"
#include "root.h"
#include "tarw.h"
#include "walk.h"
#include "../unpack/extract.h"
#include "../unpack/input.h"
#include "../unpack/tar.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "openat2.h"

enum {
  EXIT_FAIL = 1,
  EXIT_USAGE = 2,
  EXIT_NOT_FOUND = 3,
  EXIT_NOT_DIR = 4,
  EXIT_READ_ONLY = 5,
};

#define MAX_LOWERS 128
#define MAX_INIT 32

struct args {
  const char *cmd;
  struct root_opts root;
  const char *upper;
  const char *lowers[MAX_LOWERS];
  int nlowers;
  char *init[MAX_INIT + 1];
  int ninit;
  bool no_overwrite;
  bool chown;
  uid_t uid;
  gid_t gid;
  const char *path;
};

static int exit_code = EXIT_FAIL;

static void
usage (FILE *f)
{
  fprintf (f, "usage: tersane-archive stat|read|write|export (--root DIR [--expect-root DIR] | --overlay OPTS --mountpoint DIR\n"
              "                              [--bind SRC:DST[:ro]]...) [--no-overwrite-dir-non-dir] [--chown UID:GID] [PATH]\n"
              "       tersane-archive changes|layer --upper DIR [--lower DIR]... [--init PATH:dir|file]...\n");
}

/* Go's filepath.Base: trailing slashes dropped, "/" for the root. */
static char *
go_base (const char *abs)
{
  size_t len = strlen (abs);
  while (len > 1 && abs[len - 1] == '/')
    len--;
  if (len == 1 && abs[0] == '/')
    return strdup ("/");
  const char *start = abs + len;
  while (start > abs && start[-1] != '/')
    start--;
  return strndup (start, (size_t) (abs + len - start));
}

static void
json_string (FILE *f, const char *s)
{
  fputc ('"', f);
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        fprintf (f, "\\%c", *p);
      else if (*p < 0x20)
        fprintf (f, "\\u%04x", *p);
      else
        fputc (*p, f);
    }
  fputc ('"', f);
}

struct target {
  int dirfd;          /* the resolved parent (or the directory itself when `self`) */
  char *base;         /* the name in dirfd; "." when self */
  struct stat st;
  char *name;         /* Docker's name for it: the base of the user's path */
  char *link_target;  /* for a symlink: where it leads, resolved inside the root */
};

static void
target_free (struct target *t)
{
  if (t->dirfd >= 0)
    close (t->dirfd);
  free (t->base);
  free (t->name);
  free (t->link_target);
}

/* Docker's ResolvePath + StatPath: the directory part resolved in the root, the last element not
 * followed (unless the path ends in "/" or "/."). */
static int
find (int rootfd, const char *path, struct target *t, struct tn_error **err)
{
  memset (t, 0, sizeof *t);
  t->dirfd = -1;
  cleanup_free char *abs = docker_abs_path (path);
  if (abs == NULL)
    return tn_error_sys (err, ENOMEM, "path");
  char *slash = strrchr (abs, '/');
  cleanup_free char *dir = strndup (abs, slash == abs ? 1 : (size_t) (slash - abs));
  const char *base = slash + 1;
  cleanup_free char *resolved = NULL;
  if (dir == NULL || resolve_in_scope (rootfd, dir, &resolved, err) < 0)
    return -1;
  t->name = go_base (abs);
  bool self = base[0] == '\0' || strcmp (base, ".") == 0;
  t->dirfd = tn_open_beneath_root (rootfd, resolved, O_RDONLY | O_DIRECTORY);
  if (t->dirfd < 0 && errno == EACCES)
    t->dirfd = tn_open_beneath_root (rootfd, resolved, O_PATH | O_DIRECTORY);
  if (t->dirfd < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        exit_code = EXIT_NOT_FOUND;
      return tn_error_sys (err, errno, "lstat %s", abs);
    }
  t->base = strdup (self ? "." : base);
  if (t->base == NULL || t->name == NULL)
    return tn_error_sys (err, ENOMEM, "path");
  if (fstatat (t->dirfd, t->base, &t->st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        exit_code = EXIT_NOT_FOUND;
      return tn_error_sys (err, errno, "lstat %s", abs);
    }
  if (S_ISLNK (t->st.st_mode) && resolve_in_scope (rootfd, abs, &t->link_target, err) < 0)
    return -1;
  return 0;
}

static void
print_stat (const struct target *t)
{
  printf ("{\"name\":");
  json_string (stdout, t->name);
  printf (",\"size\":%lld,\"mode\":%u,\"mtime_sec\":%lld,\"mtime_nsec\":%ld,\"link_target\":",
          (long long) t->st.st_size, (unsigned) t->st.st_mode, (long long) t->st.st_mtim.tv_sec, (long) t->st.st_mtim.tv_nsec);
  json_string (stdout, t->link_target ? t->link_target : "");
  printf ("}\n");
}

static int
cmd_stat_read (int rootfd, const struct args *a, bool with_tar, struct tn_error **err)
{
  struct target t;
  int rc = find (rootfd, a->path, &t, err);
  if (rc == 0)
    {
      print_stat (&t);
      if (fflush (stdout) != 0)
        rc = tn_error_sys (err, errno, "write");
    }
  if (rc == 0 && with_tar)
    {
      static struct tarw w;
      tarw_init (&w, STDOUT_FILENO);
      struct walk_opts wo = { .skip_pseudo = true };
      struct walk k;
      walk_init (&k, &w, &wo);
      rc = walk_entry (&k, t.dirfd, t.base, t.name, "", err);
      if (rc == 0)
        rc = tarw_finish (&w, err);
      walk_free (&k);
    }
  target_free (&t);
  return rc;
}

static int
cmd_write (int rootfd, const struct args *a, struct tn_error **err)
{
  cleanup_free char *abs = docker_abs_path (a->path);
  cleanup_free char *resolved = NULL;
  if (abs == NULL)
    return tn_error_sys (err, ENOMEM, "path");
  if (resolve_in_scope (rootfd, abs, &resolved, err) < 0)
    return -1;
  cleanup_close int dest = tn_open_beneath_root (rootfd, resolved, O_PATH);
  struct stat st;
  if (dest < 0 || fstat (dest, &st) < 0)
    {
      if (errno == ENOENT || errno == ENOTDIR)
        exit_code = EXIT_NOT_FOUND;
      return tn_error_sys (err, errno, "lstat %s", abs);
    }
  if (!S_ISDIR (st.st_mode))
    {
      exit_code = EXIT_NOT_DIR;
      return tn_error_new (err, "extraction point is not a directory");
    }
  struct tn_extract_opts opts = {
    .prefix = resolved + 1,
    .in_root = 1,
    .no_overwrite_dir_nondir = a->no_overwrite,
    .chown = a->chown,
    .uid = a->uid,
    .gid = a->gid,
  };
  struct tn_input *in = NULL;
  struct tn_extract *x = NULL;
  int rc = -1;
  if (tn_input_open (&in, STDIN_FILENO, TN_COMP_AUTO, err) < 0)
    return -1;
  if (tn_extract_open_root (&x, rootfd, &opts, err) < 0)
    goto out;
  if (tn_extract_stream (x, in, err) < 0)
    goto out;
  rc = 0;
out:
  if (rc < 0 && err && *err && (*err)->status == EROFS)
    exit_code = EXIT_READ_ONLY;
  tn_extract_free (x);
  tn_input_free (in);
  return rc;
}

static int
cmd_export (int rootfd, struct tn_error **err)
{
  cleanup_close int dir = openat (rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return tn_error_sys (err, errno, "open the root");
  static struct tarw w;
  tarw_init (&w, STDOUT_FILENO);
  struct walk_opts wo = { .skip_pseudo = true };
  struct walk k;
  walk_init (&k, &w, &wo);
  int rc = walk_children (&k, dir, "", "", err);
  if (rc == 0)
    rc = tarw_finish (&w, err);
  walk_free (&k);
  return rc;
}

static int
cmd_layers (const struct args *a, bool tar, struct tn_error **err)
{
  if (a->upper == NULL)
    {
      exit_code = EXIT_USAGE;
      return tn_error_new (err, "--upper is required");
    }
  int lowers[MAX_LOWERS];
  struct layers l = { .upper = -1, .lowers = lowers, .nlowers = 0 };
  int rc = -1;
  char **elided = NULL;
  l.upper = open (a->upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (l.upper < 0)
    {
      tn_error_sys (err, errno, "open `%s`", a->upper);
      goto out;
    }
  for (int i = 0; i < a->nlowers; i++)
    {
      lowers[i] = open (a->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (lowers[i] < 0)
        {
          tn_error_sys (err, errno, "open `%s`", a->lowers[i]);
          goto out;
        }
      l.nlowers++;
    }
  if (init_placeholders (&l, (char **) a->init, a->ninit, &elided, err) < 0)
    goto out;
  if (!tar)
    rc = write_changes (&l, elided, stdout, err);
  else
    {
      static struct tarw w;
      tarw_init (&w, STDOUT_FILENO);
      struct walk_opts wo = { .overlay_whiteouts = true, .elided = elided };
      struct walk k;
      walk_init (&k, &w, &wo);
      rc = walk_children (&k, l.upper, "", "", err);
      if (rc == 0)
        rc = tarw_finish (&w, err);
      walk_free (&k);
    }
out:
  for (char **p = elided; p && *p; p++)
    free (*p);
  free (elided);
  if (l.upper >= 0)
    close (l.upper);
  for (int i = 0; i < l.nlowers; i++)
    close (lowers[i]);
  return rc;
}

static int
parse_args (int argc, char **argv, struct args *a)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'r' },
    { "expect-root", required_argument, NULL, 'e' },
    { "overlay", required_argument, NULL, 'o' },
    { "mountpoint", required_argument, NULL, 'm' },
    { "bind", required_argument, NULL, 'b' },
    { "upper", required_argument, NULL, 'u' },
    { "lower", required_argument, NULL, 'l' },
    { "init", required_argument, NULL, 'i' },
    { "no-overwrite-dir-non-dir", no_argument, NULL, 'n' },
    { "chown", required_argument, NULL, 'c' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  if (argc < 2)
    return -1;
  a->cmd = argv[1];
  optind = 2;
  int c;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 'r': a->root.root = optarg; break;
      case 'e': a->root.expect_root = optarg; break;
      case 'o': a->root.overlay = optarg; break;
      case 'm': a->root.mountpoint = optarg; break;
      case 'b':
        if (a->root.nbinds == ROOT_MAX_BINDS)
          return -1;
        a->root.binds[a->root.nbinds++] = optarg;
        break;
      case 'u': a->upper = optarg; break;
      case 'l':
        if (a->nlowers == MAX_LOWERS)
          return -1;
        a->lowers[a->nlowers++] = optarg;
        break;
      case 'i':
        if (a->ninit == MAX_INIT)
          return -1;
        a->init[a->ninit++] = optarg;
        break;
      case 'n': a->no_overwrite = true; break;
      case 'c':
        {
          unsigned long u, g;
          char extra;
          if (sscanf (optarg, "%lu:%lu%c", &u, &g, &extra) != 2)
            return -1;
          a->chown = true;
          a->uid = (uid_t) u;
          a->gid = (gid_t) g;
          break;
        }
      case 'h': usage (stdout); exit (0);
      default: return -1;
      }
  bool wants_path = strcmp (a->cmd, "stat") == 0 || strcmp (a->cmd, "read") == 0 || strcmp (a->cmd, "write") == 0;
  if (wants_path)
    {
      if (optind != argc - 1)
        return -1;
      a->path = argv[optind];
    }
  else if (optind != argc)
    return -1;
  return 0;
}

int
main (int argc, char **argv)
{
  /* Dies with its caller: a containerd killed mid-copy leaves no copy running on its own. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  signal (SIGPIPE, SIG_IGN);
  struct args a;
  memset (&a, 0, sizeof a);
  if (parse_args (argc, argv, &a) < 0)
    {
      usage (stderr);
      return EXIT_USAGE;
    }
  struct tn_error *err = NULL;
  int rc;
  if (strcmp (a.cmd, "changes") == 0 || strcmp (a.cmd, "layer") == 0)
    rc = cmd_layers (&a, strcmp (a.cmd, "layer") == 0, &err);
  else if (strcmp (a.cmd, "stat") == 0 || strcmp (a.cmd, "read") == 0 || strcmp (a.cmd, "write") == 0
           || strcmp (a.cmd, "export") == 0)
    {
      int rootfd = -1, gone = 0;
      rc = root_open (&a.root, &rootfd, &gone, &err);
      if (rc < 0 && gone)
        exit_code = EXIT_ROOT_GONE;
      if (rc == 0)
        {
          if (strcmp (a.cmd, "write") == 0)
            rc = cmd_write (rootfd, &a, &err);
          else if (strcmp (a.cmd, "export") == 0)
            rc = cmd_export (rootfd, &err);
          else
            rc = cmd_stat_read (rootfd, &a, strcmp (a.cmd, "read") == 0, &err);
          close (rootfd);
        }
    }
  else
    {
      usage (stderr);
      return EXIT_USAGE;
    }
  if (rc < 0)
    {
      fprintf (stderr, "tersane-archive: %s\n", tn_error_text (err));
      tn_error_free (&err);
      return exit_code;
    }
  return 0;
}
