/* bench/driver.c: spawns commands many times, interleaved, and records the
 * wall time, exit status, peak RSS and CPU time of every run.
 *
 * Usage: driver --cmds FILE --out RAW.csv [--rounds N] [--warmup W]
 *               [--max-seconds S] [--as USER] [--seed S] [--check]
 *
 * FILE has one command per line: LABEL<TAB>WEIGHT<TAB>ARG0<TAB>ARG1...
 * (ARG0 an absolute path). Every round runs each command WEIGHT times, in
 * an order shuffled afresh for the round, so slow drift of the machine (other
 * users of the CPU, frequency changes) falls on every command alike.
 *
 * Variants: one argument of a command (not ARG0) may be @lines:PATH. PATH
 * (read before --as takes effect) holds one value a line; every run of the
 * command, warm-up and --check runs included, takes the next line in its
 * place, and no line is used twice. When the lines run out the command is
 * left out of the rest of the run (said on stderr). This is how a command
 * gets an argument it was never given before on each run (bench/run's cold
 * certificates); the caller gives each invocation lines of its own.
 *
 * One run is what sshd does with a helper (misc.c subprocess): start it with
 * stdin /dev/null, stdout a pipe that is read to EOF, stderr /dev/null, cwd /,
 * environment PATH USER LOGNAME HOME only, then reap it. The time measured
 * is CLOCK_MONOTONIC from just before posix_spawn() to just after wait4()
 * returns; peak RSS (ru_maxrss, KiB) and CPU time come from wait4()'s rusage
 * of that child alone.
 *
 * --as USER drops to USER (setgroups/setgid/setuid, like sshd's
 * Authorized*CommandUser) after opening the files and before any run.
 * --check runs every command once and prints its exit status and output
 * (for the caller to verify that the decision is the expected one).
 * --max-seconds stops after the round during which S seconds have passed
 * (the rounds done are what the CSV holds).
 *
 * RAW.csv: label,round,wall_ns,exit,maxrss_kib,user_us,sys_us,out_bytes
 * (exit is the status, or 128+signal).
 *
 * Plain C, no timing thresholds: it measures, the caller reports. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 64
#define MAX_ARGS 32
#define VARIANTS_PREFIX "@lines:"

struct cmd {
  char *label;
  int weight;
  char *argv[MAX_ARGS + 1];
  int var_at;        /* index in argv of the @lines: argument, or -1 */
  char **lines;      /* its values, each used once */
  size_t nlines, next;
  long ran_out;      /* the round in which the lines ran out, or -1 */
};

static struct cmd cmds[MAX_CMDS];
static int ncmds;
static char *child_env[5];

static void die(const char *what) {
  fprintf(stderr, "driver: %s: %s\n", what, strerror(errno));
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) { /* xorshift64 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* read_lines loads the values of an @lines:PATH argument for |c|. */
static void read_lines(struct cmd *c, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die(path);
  size_t cap = 0;
  char *line = NULL;
  size_t len = 0;
  ssize_t n;
  while ((n = getline(&line, &len, f)) > 0) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (n == 0) continue;
    if (c->nlines == cap) {
      cap = cap ? 2 * cap : 256;
      c->lines = realloc(c->lines, cap * sizeof *c->lines);
      if (!c->lines) die("realloc");
    }
    c->lines[c->nlines++] = strdup(line);
  }
  free(line);
  fclose(f);
  if (c->nlines == 0) {
    fprintf(stderr, "driver: %s: no lines in %s\n", c->label, path);
    exit(2);
  }
}

/* take_variant puts the next unused line of |c| in its argv; returns 0 when
 * none is left (and for a command without variants, 1). */
static int take_variant(struct cmd *c) {
  if (c->var_at < 0) return 1;
  if (c->next == c->nlines) return 0;
  c->argv[c->var_at] = c->lines[c->next++];
  return 1;
}

static void read_cmds(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die(path);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, f)) > 0) {
    if (line[n - 1] == '\n') line[n - 1] = '\0';
    if (line[0] == '\0' || line[0] == '#') continue;
    if (ncmds == MAX_CMDS) {
      fprintf(stderr, "driver: too many commands\n");
      exit(2);
    }
    struct cmd *c = &cmds[ncmds++];
    c->var_at = -1;
    c->ran_out = -1;
    char *save = NULL;
    char *dup = strdup(line);
    c->label = strtok_r(dup, "\t", &save);
    char *w = strtok_r(NULL, "\t", &save);
    c->weight = w ? atoi(w) : 0;
    int argc = 0;
    char *a;
    while ((a = strtok_r(NULL, "\t", &save)) != NULL) {
      if (argc == MAX_ARGS) {
        fprintf(stderr, "driver: too many arguments for %s\n", c->label);
        exit(2);
      }
      c->argv[argc++] = a;
    }
    c->argv[argc] = NULL;
    if (!c->label || c->weight < 1 || argc == 0 || c->argv[0][0] != '/') {
      fprintf(stderr, "driver: bad command line: %s\n", line);
      exit(2);
    }
    for (int i = 1; i < argc; i++) {
      if (strncmp(c->argv[i], VARIANTS_PREFIX, strlen(VARIANTS_PREFIX)) != 0) continue;
      if (c->var_at >= 0) {
        fprintf(stderr, "driver: more than one %s argument for %s\n", VARIANTS_PREFIX, c->label);
        exit(2);
      }
      c->var_at = i;
      read_lines(c, c->argv[i] + strlen(VARIANTS_PREFIX));
    }
  }
  free(line);
  fclose(f);
}

static void set_env(const char *user, const char *home) {
  static char buf[4][512];
  snprintf(buf[0], sizeof buf[0], "PATH=/usr/bin:/bin:/usr/sbin:/sbin");
  snprintf(buf[1], sizeof buf[1], "USER=%s", user);
  snprintf(buf[2], sizeof buf[2], "LOGNAME=%s", user);
  snprintf(buf[3], sizeof buf[3], "HOME=%s", home);
  for (int i = 0; i < 4; i++) child_env[i] = buf[i];
  child_env[4] = NULL;
}

struct sample {
  uint64_t wall_ns;
  int exit;
  long maxrss_kib;
  long user_us, sys_us;
  size_t out_bytes;
};

/* run_once spawns |c| and reaps it; |out| (may be NULL) gets stdout. */
static struct sample run_once(const struct cmd *c, int devnull, char *out, size_t out_cap) {
  struct sample s;
  memset(&s, 0, sizeof s);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) die("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, devnull, 0);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_adddup2(&fa, devnull, 2);
  pid_t pid;
  uint64_t t0 = now_ns();
  int rc = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, child_env);
  close(p[1]);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    errno = rc;
    die(c->argv[0]);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out && s.out_bytes + (size_t)n < out_cap) memcpy(out + s.out_bytes, buf, (size_t)n);
    s.out_bytes += (size_t)n;
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) die("wait4");
  }
  s.wall_ns = now_ns() - t0;
  close(p[0]);
  if (out) out[s.out_bytes < out_cap ? s.out_bytes : out_cap - 1] = '\0';
  s.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  s.maxrss_kib = ru.ru_maxrss;
  s.user_us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
  s.sys_us = ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
  return s;
}

int main(int argc, char **argv) {
  const char *cmds_path = NULL, *out_path = NULL, *as_user = NULL;
  long rounds = 20, warmup = 2;
  double max_seconds = 0;
  int check = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--check")) { check = 1; continue; }
    if (!v) { fprintf(stderr, "driver: %s needs a value\n", a); return 2; }
    if (!strcmp(a, "--cmds")) cmds_path = v;
    else if (!strcmp(a, "--out")) out_path = v;
    else if (!strcmp(a, "--rounds")) rounds = atol(v);
    else if (!strcmp(a, "--warmup")) warmup = atol(v);
    else if (!strcmp(a, "--max-seconds")) max_seconds = atof(v);
    else if (!strcmp(a, "--as")) as_user = v;
    else if (!strcmp(a, "--seed")) rng_state = strtoull(v, NULL, 10) | 1;
    else { fprintf(stderr, "driver: unknown option %s\n", a); return 2; }
    i++;
  }
  if (!cmds_path || (!out_path && !check)) {
    fprintf(stderr, "usage: driver --cmds FILE --out RAW.csv [--rounds N] [--warmup W] "
                    "[--max-seconds S] [--as USER] [--seed S] [--check]\n");
    return 2;
  }
  read_cmds(cmds_path);
  FILE *out = NULL;
  if (!check) {
    out = fopen(out_path, "w");
    if (!out) die(out_path);
    fprintf(out, "label,round,wall_ns,exit,maxrss_kib,user_us,sys_us,out_bytes\n");
  }
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) die("/dev/null");

  if (as_user) {
    struct passwd *pw = getpwnam(as_user);
    if (!pw) { fprintf(stderr, "driver: no user %s\n", as_user); return 2; }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
      die("dropping privileges");
    set_env(pw->pw_name, pw->pw_dir);
  } else {
    struct passwd *pw = getpwuid(getuid());
    set_env(pw ? pw->pw_name : "root", pw ? pw->pw_dir : "/");
  }
  if (chdir("/") != 0) die("chdir /");

  if (check) {
    static char buf[65536];
    for (int i = 0; i < ncmds; i++) {
      take_variant(&cmds[i]); /* never fails: a lines file is never empty */
      struct sample s = run_once(&cmds[i], devnull, buf, sizeof buf);
      printf("== %s exit=%d bytes=%zu\n%s", cmds[i].label, s.exit, s.out_bytes, buf);
      if (s.out_bytes && buf[strlen(buf) - 1] != '\n') printf("\n");
    }
    return 0;
  }

  /* The schedule of one round: each command index WEIGHT times. */
  int sched[MAX_CMDS * 64];
  int nsched = 0;
  for (int i = 0; i < ncmds; i++)
    for (int k = 0; k < cmds[i].weight && nsched < (int)(sizeof sched / sizeof sched[0]); k++)
      sched[nsched++] = i;

  uint64_t start = now_ns();
  long r;
  for (r = 0; r < warmup + rounds; r++) {
    for (int i = nsched - 1; i > 0; i--) {
      int j = (int)(rng() % (uint64_t)(i + 1));
      int t = sched[i]; sched[i] = sched[j]; sched[j] = t;
    }
    for (int k = 0; k < nsched; k++) {
      struct cmd *c = &cmds[sched[k]];
      if (!take_variant(c)) {
        if (c->ran_out < 0) c->ran_out = r;
        continue;
      }
      struct sample s = run_once(c, devnull, NULL, 0);
      if (r < warmup) continue;
      fprintf(out, "%s,%ld,%llu,%d,%ld,%ld,%ld,%zu\n", c->label, r - warmup,
              (unsigned long long)s.wall_ns, s.exit, s.maxrss_kib, s.user_us, s.sys_us,
              s.out_bytes);
    }
    if (max_seconds > 0 && r >= warmup &&
        (double)(now_ns() - start) / 1e9 >= max_seconds) {
      r++;
      break;
    }
  }
  if (fclose(out) != 0) die(out_path);
  for (int i = 0; i < ncmds; i++) {
    if (cmds[i].ran_out >= 0)
      fprintf(stderr, "driver: %s: its %zu variants ran out in round %ld (of %ld, warm-up "
                      "included); left out after that\n",
              cmds[i].label, cmds[i].nlines, cmds[i].ran_out + 1, r);
  }
  fprintf(stderr, "driver: %ld rounds (after %ld warm-up) in %.1f s\n",
          r - warmup < 0 ? 0 : r - warmup, warmup, (double)(now_ns() - start) / 1e9);
  return 0;
}
