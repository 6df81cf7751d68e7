// principals-cmd: sshd's AuthorizedPrincipalsCommand. See principals-cmd(8).
// The decision is made by certgate-decide (the service, or in-process when
// the service is not there): see decide/client.h.
#include "decide/client.h"

int main(int argc, char** argv, char** envp) {
  return certgate::decide::ClientMain(certgate::decide::kKindPrincipals, argc, argv, envp);
}
