/* The container's rootfs, when the monitor is asked to mount it (--rootfs-type/-source/-options,
 * e.g. an overlay of image layers): mounted on the bundle's root.path before `create`, unmounted
 * once the runtime deleted the container (or when create failed). */
#include "monitor.h"
#include "cleanup.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static char *target;
static bool mounted;

/* BUNDLE/<root.path of config.json>, "rootfs" when config.json does not say. */
static int
rootfs_path (const struct mon_opts *o, char **out, struct tn_error **err)
{
  cleanup_free char *config_path = NULL;
  cleanup_free char *config = NULL;
  size_t len = 0;
  if (asprintf (&config_path, "%s/config.json", o->bundle) < 0)
    return tn_error_sys (err, ENOMEM, "config.json");
  if (tn_read_file (config_path, &config, &len, err) < 0)
    return -1;
  const char *end = config + len;
  const char *root = json_get (config, end, "root");
  const char *path = root ? json_get (root, end, "path") : NULL;
  cleanup_free char *rel = path ? json_string (path, end) : NULL;
  const char *p = rel && *rel ? rel : "rootfs";
  int r = p[0] == '/' ? asprintf (out, "%s", p) : asprintf (out, "%s/%s", o->bundle, p);
  if (r < 0)
    return tn_error_sys (err, ENOMEM, "rootfs path");
  return 0;
}

int
rootfs_mount (const struct mon_opts *o, struct tn_error **err)
{
  if (o->rootfs_type == NULL)
    return 0;
  if (rootfs_path (o, &target, err) < 0)
    return tn_error_wrap (err, "rootfs");
  if (strcmp (o->rootfs_type, "overlay") == 0 && idmap_requested (o->rootfs_options))
    {
      /* a container in a user namespace of its own: its layers idmapped (idmap.c) */
      if (idmap_overlay_mount (o->rootfs_options, target, err) < 0)
        return -1;
    }
  else if (mount (o->rootfs_source, target, o->rootfs_type, 0, o->rootfs_options) < 0)
    return tn_error_sys (err, errno, "mount rootfs `%s` (type %s) on `%s`", o->rootfs_source, o->rootfs_type, target);
  mounted = true;
  return 0;
}

void
rootfs_unmount (void)
{
  if (!mounted)
    return;
  /* A process of the container's that outlived it may still hold it: detach then. */
  if (umount2 (target, 0) < 0 && errno != EINVAL)
    umount2 (target, MNT_DETACH);
  mounted = false;
}
