// Where cafetch checks a candidate sshd configuration before installing
// it: state_dir/candidates (root, 0700) holds one private directory per
// check, named cafetch-candidate-XXXXXX (mkdtemp), with the candidate
// sshd_config and, for the drop-in layout, sshd_config.d/*.conf. A check
// removes its directory when it ends; a round killed during the check
// (SIGKILL, OOM, power loss) leaves it behind, and the next round removes
// it under the state_dir lock (RemoveStaleCandidates). Nothing of this is
// in /tmp.
#ifndef CERTGATE_CAFETCH_CANDIDATES_H_
#define CERTGATE_CAFETCH_CANDIDATES_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {

// kCandidatesDirName is the directory in state_dir that holds the
// candidate directories; kCandidatePrefix starts each one's name, which
// mkdtemp ends with six letters or digits.
inline constexpr char kCandidatesDirName[] = "candidates";
inline constexpr char kCandidatePrefix[] = "cafetch-candidate-";
// kCandidateDropInDir is the one subdirectory a candidate directory has.
inline constexpr char kCandidateDropInDir[] = "sshd_config.d";

// IsCandidateName returns whether |name| is kCandidatePrefix and six
// characters of [A-Za-z0-9], the names CandidateDir::Create makes.
bool IsCandidateName(std::string_view name);

// CandidateDir is one private directory for a candidate sshd
// configuration; it and everything written into it are removed when it
// goes.
class CandidateDir {
 public:
  // Create makes |state_dir| (0755) and state_dir/candidates (0700) if
  // needed, refuses a candidates directory that is a symlink, not a
  // directory, not owned by the effective user or writable by group or
  // others, and makes a fresh directory in it (mkdtemp, 0700). The
  // directory is flock()ed as long as the object lives, so that
  // RemoveStaleCandidates in a concurrent round leaves it alone (a
  // --dry-run checks a candidate without the state_dir lock). Errors: kIo.
  static core::Result<std::unique_ptr<CandidateDir>> Create(const std::string& state_dir);
  // CreateTemporary makes a fresh private directory (mkdtemp, 0700) named
  // kCandidatePrefix + six characters in |tmp_dir| (absolute; "/tmp" by
  // default), for a --dry-run, which must create nothing in state_dir.
  // Errors: kIo.
  static core::Result<std::unique_ptr<CandidateDir>> CreateTemporary(
      const std::string& tmp_dir = "/tmp");
  ~CandidateDir();
  CandidateDir(const CandidateDir&) = delete;
  CandidateDir& operator=(const CandidateDir&) = delete;

  // path returns the directory's absolute path (as sshd -f is given it).
  const std::string& path() const { return path_; }

  // Write writes |text| to |name| (relative to path(); at most one
  // subdirectory deep) atomically, owned by the effective user, 0600.
  core::Status Write(const std::string& name, std::string_view text);
  // MakeSubdirectory makes |name| (0700) in the directory.
  core::Status MakeSubdirectory(const std::string& name);

 private:
  CandidateDir(std::string path, core::UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

  std::string path_;
  core::UniqueFd fd_;                 // holds the flock
  std::vector<std::string> created_;  // files and subdirectories, in creation order
};

// StaleCandidates is what RemoveStaleCandidates did.
struct StaleCandidates {
  // removed: the names (in state_dir/candidates) removed, sorted.
  std::vector<std::string> removed;
  // problems: one phrase per entry that could not be removed, and why.
  std::vector<std::string> problems;
};

// RemoveStaleCandidates removes from state_dir/candidates the candidate
// directories that killed rounds left; call it only while holding the
// state_dir lock (a round holding it has no candidate directory yet). A
// missing candidates directory is nothing to do. Only entries named as
// IsCandidateName says are touched, and nothing is followed: directories
// are opened relative to their parent with O_NOFOLLOW | O_DIRECTORY and
// must be owned by the effective user (a candidates directory that is not
// its own, or is writable by group or others, is left alone and reported);
// inside a candidate directory only entries owned by the effective user
// are removed, with unlinkat (a symlink is removed itself, never
// followed), and only the sshd_config.d subdirectory is entered, one
// level deep, as cafetch creates it. An entry named like a candidate that
// is not a directory (a symlink) is removed itself. A candidate directory
// another process holds the flock of (a --dry-run checking right now) is
// left alone without a word.
StaleCandidates RemoveStaleCandidates(const std::string& state_dir);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_CANDIDATES_H_
