// The StrictModes rule for what cafetch reads trust from and writes trust
// to: a file another user could write would let that user choose the CA
// sshd trusts (a key added to the state file stays trusted as "retired");
// and sshd's own checks of the principals command cafetch writes.
#ifndef CERTGATE_CAFETCH_TRUSTED_PATHS_H_
#define CERTGATE_CAFETCH_TRUSTED_PATHS_H_

#include "cafetch/config.h"
#include "core/result.h"
#include "core/safe_directory.h"

namespace certgate::cafetch {

// CheckTrustedPaths applies |rule| (core::OpenSafeDirectory: every
// directory from / down root-owned, not writable by group or others, no
// symbolic link; but for the key file, which sshd reads unchecked, a
// root-owned sticky directory such as /tmp accepted above the last one,
// core::DirectoryRule::sticky_above) to the directory of each of these, or
// to its nearest existing ancestor when cafetch would create it:
//   state_dir (its state file, lock and reload mark), trusted_user_ca_keys,
//   a local issuer file (type file, or a file:/// or absolute url),
//   a local bundle_signature.url, issuer.tls.ca_file, issuer.token_file;
// and the owner and mode rule (core::OwnerAndModeProblem) to each of those
// files that exists (the state file, the key file sshd reads, the local
// issuer and signature files, the TLS CA file). Fails with
// kUnsafePermissions naming the config key, the path and what to do; kIo
// when a directory cannot be opened.
core::Status CheckTrustedPaths(const Config& config, const core::DirectoryRule& rule);

// CheckPrincipalsCommand checks what sshd checks before it runs the
// AuthorizedPrincipalsCommand cafetch would write, so that cafetch never
// installs one sshd would refuse at every certificate login: |program| a
// regular file, executable, owned by root and not writable by group or
// others, in directories that pass |rule| (sshd: root-owned from /); and
// |user| a user the system knows. Fails with kBadFormat (missing program or
// user) or kUnsafePermissions, naming what is wrong and both remedies.
core::Status CheckPrincipalsCommand(const std::string& program, const std::string& user,
                                    const core::DirectoryRule& rule);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_TRUSTED_PATHS_H_
