/* bench/nop.c: a program that does nothing, built twice by bench/run: fully
 * static (the floor of process start-up for a program we ship) and
 * dynamically linked, without --as-needed, to the libraries principals-cmd
 * links (libstdc++, libcrypto, libyaml, libsystemd): what loading them costs
 * before any of our code runs. */
int main(void) { return 0; }
