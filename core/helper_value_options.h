// The helpers' options that take a value. Plain C++ with no includes: the
// static client (decide/client.cc) uses it as well as core/helper_args.cc.
#ifndef CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_
#define CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_

namespace certgate::core {

// kHelperValueOptions are the options of principals-cmd and keys-cmd that
// take a value, as "--name VALUE" or "--name=VALUE". Whatever reads their
// arguments before ParseHelperArgs (the client, LoginNameInArgs) skips the
// same words through this list; helper_args_test checks that
// ParseHelperArgs asks a value of each (but --socket, which the client
// takes out) and takes none with its other options.
inline constexpr const char* kHelperValueOptions[] = {"--policy", "--snapshot", "--timeout",
                                                      "--user",   "--at",       "--socket"};

}  // namespace certgate::core

#endif  // CERTGATE_CORE_HELPER_VALUE_OPTIONS_H_
