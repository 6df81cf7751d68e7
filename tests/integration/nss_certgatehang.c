/* libnss_certgatehang.so.2: a glibc NSS module for certgate's tests. Group
 * lookups of a group or a user whose name starts with "cghang" never return,
 * like an LDAP or SSSD backend that stopped answering; every other name is
 * "not found" at once, so that sshd (nobody's groups) and the other users of
 * a test keep working. test_stress.py compiles it with cc and makes only the
 * processes of a private mount namespace see it (nsswitch.conf with
 * "group: files certgatehang"). */
#include <grp.h>
#include <nss.h>
#include <stddef.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define HANG_PREFIX "cghang"

static int Hangs(const char *name) {
  return name != NULL && strncmp(name, HANG_PREFIX, sizeof HANG_PREFIX - 1) == 0;
}

static void HangForever(void) {
  for (;;) pause();
}

enum nss_status _nss_certgatehang_getgrnam_r(const char *name, struct group *result, char *buffer,
                                             size_t buflen, int *errnop) {
  (void)result;
  (void)buffer;
  (void)buflen;
  (void)errnop;
  if (Hangs(name)) HangForever();
  return NSS_STATUS_NOTFOUND;
}

enum nss_status _nss_certgatehang_getgrgid_r(gid_t gid, struct group *result, char *buffer,
                                             size_t buflen, int *errnop) {
  (void)gid;
  (void)result;
  (void)buffer;
  (void)buflen;
  (void)errnop;
  return NSS_STATUS_NOTFOUND;
}

/* getgrouplist() and initgroups() of a user. */
enum nss_status _nss_certgatehang_initgroups_dyn(const char *user, gid_t group, long int *start,
                                                 long int *size, gid_t **groupsp, long int limit,
                                                 int *errnop) {
  (void)group;
  (void)start;
  (void)size;
  (void)groupsp;
  (void)limit;
  (void)errnop;
  if (Hangs(user)) HangForever();
  return NSS_STATUS_NOTFOUND;
}
