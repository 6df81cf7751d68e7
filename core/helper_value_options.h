// The helpers' options, and where sshd's tokens begin. Plain C++ on C
// strings: the static client (decide/client.cc) uses it as well as
// core/helper_args.cc.
#ifndef CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_
#define CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_

#include <cstddef>
#include <cstring>

namespace certgate::core {

// kHelperValueOptions are the options of principals-cmd and keys-cmd that
// take a value, as "--name VALUE" or "--name=VALUE". Whatever reads their
// arguments before ParseHelperArgs (the client, LoginNameInArgs) skips the
// same words through this list; helper_args_test checks that
// ParseHelperArgs asks a value of each (but --socket, which the client
// takes out) and takes none with its other options.
inline constexpr const char* kHelperValueOptions[] = {"--policy", "--snapshot", "--timeout",
                                                      "--user",   "--at",       "--socket"};

// kHelperFlags are their options that take no value.
inline constexpr const char* kHelperFlags[] = {"--verbose", "--explain", "--check",
                                               "--compile", "--help",    "--version"};

// StartsWith: |s| begins with |prefix|.
inline bool StartsWith(const char* s, const char* prefix) {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// IsHelperOptionWord: |word|, up to any '=', is one of those options.
inline bool IsHelperOptionWord(const char* word) {
  auto names = [word](const char* option) {
    const size_t n = std::strlen(option);
    return StartsWith(word, option) && (word[n] == '\0' || word[n] == '=');
  };
  for (const char* option : kHelperValueOptions) {
    if (names(option)) return true;
  }
  for (const char* option : kHelperFlags) {
    if (names(option)) return true;
  }
  return false;
}

// IsLoginNameLikeAnOption: |name| and |type|, the third and second
// arguments from the end, are sshd's %u and %t although %u starts with
// "--": sshd takes any login name NSS gives. |name| is "--" and more but
// none of the helpers' options, and |type| starts as a key algorithm does
// (ssh-ed25519, rsa-sha2-512-cert-v01@openssh.com, ...). Everything before
// them may be options; nothing from them on is. A login name that is an
// option's name (--verbose) stays that option, and that run, with two
// positional arguments, is a usage error: denied.
inline bool IsLoginNameLikeAnOption(const char* name, const char* type) {
  if (!StartsWith(name, "--") || name[2] == '\0' || IsHelperOptionWord(name)) return false;
  static constexpr const char* kAlgorithmStarts[] = {"ssh-", "ecdsa-sha2-", "sk-", "rsa-sha2-"};
  for (const char* prefix : kAlgorithmStarts) {
    if (StartsWith(type, prefix)) return true;
  }
  return false;
}

}  // namespace certgate::core

#endif  // CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_
