// keys-cmd: sshd's AuthorizedKeysCommand. See keys-cmd(8).
#include "helper-main/helper_main.h"

int main(int argc, char** argv) {
  return certgate::HelperMain(certgate::core::HelperKind::kKeys, argc, argv);
}
