// principals-cmd: sshd's AuthorizedPrincipalsCommand. See principals-cmd(8).
#include "helper-main/helper_main.h"

int main(int argc, char** argv) {
  return certgate::HelperMain(certgate::core::HelperKind::kPrincipals, argc, argv);
}
