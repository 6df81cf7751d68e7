/* bench/static_cat.c: a static program that copies one file to stdout. As
 * sshd's AuthorizedPrincipalsCommand (a file naming the principal) or
 * AuthorizedKeysCommand (a file with the cert-authority line) it is the floor
 * of any helper: what sshd pays to run a command at all, with no policy. */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 1;
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (write(1, buf, (size_t)n) != n) return 1;
  }
  return n == 0 ? 0 : 1;
}
