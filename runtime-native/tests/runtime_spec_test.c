/* spec.c: what config.json may say, and the one-line errors naming the field when it may not. */
#include "runtime_test.h"
#include "spec.h"
#include "fsutil.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/resource.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif

static const char *base_fmt =
  "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
  "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"A=1\",\"B=2\",\"A=3\"]%s},"
  "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"uts\"}]%s}%s}";

static struct tn_spec *
parse (const char *process_extra, const char *linux_extra, const char *top_extra, char **error)
{
  char doc[8192];
  snprintf (doc, sizeof doc, base_fmt, process_extra, linux_extra, top_extra);
  struct tn_spec *s = NULL;
  struct tn_error *e = NULL;
  *error = NULL;
  if (tn_spec_parse (doc, strlen (doc), "config.json", &s, &e) < 0)
    {
      *error = strdup (tn_error_text (e));
      tn_error_free (&e);
      return NULL;
    }
  return s;
}

/* The configuration must be refused with an error containing `want`. */
static void
refused (const char *p, const char *l, const char *t, const char *want)
{
  char *err;
  struct tn_spec *s = parse (p, l, t, &err);
  CHECK (s == NULL);
  CHECK_HAS (err, want);
  if (err && strchr (err, '\n'))
    CHECK (!"an error of more than one line");
  free (err);
  tn_spec_free (s);
}

static void
test_errors (void)
{
  /* a repeated key: the last one counts, so these replace the base document's fields */
  refused ("", ",\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"pid\"},{\"type\":\"foo\"}]", "", "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"");
  refused ("", ",\"namespaces\":[{\"type\":\"mount\"},{\"type\":\"mount\"}]", "", "linux.namespaces[1].type: duplicate namespace type \"mount\"");
  refused ("", ",\"namespaces\":[{\"type\":\"uts\"}]", "", "linux.namespaces: a mount namespace is required");
  refused ("", "", ",\"root\":null", "config.json: root: is required");
  refused ("", "", ",\"root\":{\"readonly\":true}", "config.json: root.path: is required");
  refused ("", "", ",\"ociVersion\":\"2.0.0\"", "ociVersion: unsupported version");
  refused (",\"args\":[]", "", "", "process.args: at least one argument is required");
  refused (",\"cwd\":\"relative\"", "", "", "process.cwd: \"relative\" is not an absolute path");
  refused (",\"env\":[\"NOEQUALS\"]", "", "", "process.env[0]: \"NOEQUALS\" is not of the form KEY=value");

  refused ("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"bogus\"]}]", "mounts[0].options[0]: unknown mount option \"bogus\" for a tmpfs mount");
  refused ("", "", ",\"mounts\":[{\"destination\":\"x\",\"type\":\"tmpfs\"}]", "mounts[0].destination: \"x\" is not an absolute path");
  refused ("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"none\",\"source\":\"/s\",\"options\":[\"rbind\",\"mode=755\"]}]", "for a bind mount");
  refused ("", "", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"tmpfs\",\"options\":[\"ro\",5]}]", "mounts[0].options[1]: expected a string, got number");
  refused (",\"capabilities\":{\"bounding\":[\"CAP_CHOWN\",\"CAP_FOO\"]}", "", "", "process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"");
  refused (",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2},{\"type\":\"RLIMIT_NOFILE\",\"soft\":1,\"hard\":2}]", "", "", "process.rlimits[1].type: duplicate rlimit");
  refused (",\"rlimits\":[{\"type\":\"RLIMIT_NOPE\",\"soft\":1,\"hard\":2}]", "", "", "process.rlimits[0].type: unknown rlimit \"RLIMIT_NOPE\"");
  refused (",\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":3,\"hard\":2}]", "", "", "soft limit 3 is greater than hard limit 2");
  refused (",\"user\":{\"uid\":\"0\"}", "", "", "process.user.uid: expected an integer, got string");
  refused (",\"oomScoreAdj\":1001", "", "", "process.oomScoreAdj: 1001 is out of range");
  refused ("", ",\"resources\":{\"memory\":{\"limit\":\"x\"}}", "", "linux.resources.memory.limit: expected an integer, got string");
  refused ("", ",\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}", "", "linux.resources.devices[0].access: invalid access");
  refused ("", ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":1}]", "", "linux.uidMappings: mappings need a user namespace");
  refused ("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}", "", "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_NOPE\"");
  refused ("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}", "", "linux.seccomp.architectures[0]: unknown architecture");
  refused ("", ",\"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}", "", "linux.seccomp.syscalls[0].args[0].index: 6 is out of range");
  refused ("", ",\"sysctl\":{\"kernel.panic\":\"1\"}", "", "linux.sysctl.kernel.panic: sysctl \"kernel.panic\" is not in a separate kernel namespace");
  refused ("", ",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}", "", "requires a network namespace");
  refused ("", ",\"rootfsPropagation\":\"sideways\"", "", "linux.rootfsPropagation: unknown propagation");
  refused ("", "", ",\"hooks\":{\"prestart\":[{\"path\":\"relative\"}]}", "hooks.prestart[0].path: \"relative\" is not an absolute path");
  refused ("", "", ",\"hooks\":{\"poststop\":[{\"path\":\"/bin/true\",\"timeout\":0}]}", "hooks.poststop[0].timeout: must be greater than zero");
  refused ("", "", ",\"hostname\":5", "hostname: expected a string, got number");
  refused ("", "", ",\"annotations\":{\"a\":1}", "annotations.a: expected a string, got number");
}

static void
test_accepted (void)
{
  char *err = NULL;
  /* unknown fields are ignored, as the spec requires */
  struct tn_spec *s = parse (",\"user\":{\"uid\":1000,\"gid\":100,\"additionalGids\":[5,6],\"umask\":18},\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":18446744073709551615}],\"noNewPrivileges\":true,\"newThing\":{\"x\":[1]}",
                             ",\"rootfsPropagation\":\"rshared\",\"maskedPaths\":[\"/proc/kcore\"],\"futureField\":true",
                             ",\"hostname\":\"h\",\"mounts\":[{\"destination\":\"/data\",\"type\":\"none\",\"source\":\"/srv\",\"options\":[\"rbind\",\"ro\",\"nosuid\",\"rprivate\",\"rro\"]},{\"destination\":\"/t\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"mode=1777\",\"size=10m\",\"rw\",\"strictatime\"]}]",
                             &err);
  if (s == NULL)
    fprintf (stderr, "refused: %s\n", err);
  CHECK (s != NULL);
  free (err);
  if (s == NULL)
    return;
  CHECK (s->process->uid == 1000 && s->process->gid == 100);
  CHECK (s->process->n_additional_gids == 2 && s->process->additional_gids[1] == 6);
  CHECK (s->process->has_umask && s->process->umask == 022);
  CHECK (s->process->n_rlimits == 1 && s->process->rlimits[0].resource == RLIMIT_NOFILE && s->process->rlimits[0].hard == UINT64_MAX);
  CHECK (s->process->no_new_privileges);
  /* a repeated variable keeps its first place and takes its last value */
  CHECK (s->process->n_env == 2);
  CHECK_STR (s->process->env[0], "A=3");
  CHECK_STR (s->process->env[1], "B=2");
  CHECK (s->process->env[2] == NULL);
  CHECK (s->lx.rootfs_propagation == (MS_SHARED | MS_REC));
  CHECK (s->n_mounts == 2);
  const struct tn_mount *m = &s->mounts[0];
  CHECK (m->bind && (m->flags & MS_BIND) && (m->flags & MS_REC) && (m->flags & MS_RDONLY) && (m->flags & MS_NOSUID));
  CHECK (m->propagation == (MS_PRIVATE | MS_REC));
  CHECK (m->attr_set & MOUNT_ATTR_RDONLY);
  CHECK (m->data == NULL);
  m = &s->mounts[1];
  CHECK (!m->bind && (m->flags & MS_NOSUID) && (m->flags & MS_STRICTATIME) && !(m->flags & MS_RDONLY) && (m->clear_flags & MS_RDONLY));
  CHECK_STR (m->data, "mode=1777,size=10m");
  CHECK (s->lx.ns[TN_NS_MNT].present && s->lx.ns[TN_NS_UTS].present && !s->lx.ns[TN_NS_PID].present);
  tn_spec_free (s);

  /* a config without a process can still be created */
  const char *noproc = "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";
  struct tn_error *e = NULL;
  CHECK (tn_spec_parse (noproc, strlen (noproc), "config.json", &s, &e) == 0);
  CHECK (s && s->process == NULL);
  tn_spec_free (s);

  /* the default config of `spec` (both variants) is valid */
  for (int rootless = 0; rootless < 2; rootless++)
    {
      char *def = tn_spec_default (rootless);
      s = NULL;
      int r = tn_spec_parse (def, strlen (def), "config.json", &s, &e);
      if (r < 0)
        fprintf (stderr, "default spec refused: %s\n", tn_error_text (e));
      CHECK (r == 0);
      CHECK (s && s->process && s->process->terminal && s->n_mounts == 7);
      tn_error_free (&e);
      tn_spec_free (s);
      free (def);
    }
}

int
main (void)
{
  test_errors ();
  test_accepted ();
  return tn_test_done ();
}
