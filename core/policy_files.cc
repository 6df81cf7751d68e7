// Reading policy files from disk: sshd's StrictModes rule on every file and
// directory, no symlinks followed, fragments in byte order of file name.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/policy_loader.h"
#include "core/read_file.h"
#include "core/safe_directory.h"
#include "core/unique_fd.h"

namespace certgate::core {
namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

void FileIssue(LoadResult* result, const std::string& path, std::string message) {
  result->issues.push_back(Issue{SourceLocation{path, 1, 1}, std::move(message)});
}

// CheckOwnerAndMode applies sshd's StrictModes rule to one file or
// directory: owned by root (or |options.owner_uid|), no group/other write.
bool CheckOwnerAndMode(const struct stat& st, const std::string& path, const LoadOptions& options,
                       LoadResult* result) {
  if (!options.check_permissions) return true;
  std::string problem = OwnerAndModeProblem(st, path, options.owner_uid, false);
  if (problem.empty()) return true;
  FileIssue(result, path, std::move(problem));
  return false;
}

// TooLargeMessage says why |path| cannot be read within the policy's byte
// budget: the file itself is too large, or the files read before it used
// the rest.
std::string TooLargeMessage(const LoadResult& result) {
  const std::string limit = std::to_string(kMaxPolicyFileSize) + " bytes (64 MiB)";
  if (result.bytes == 0) return "file is larger than " + limit + ", more than any policy may hold: shrink it";
  return "the policy files together are larger than " + limit +
         "; this file goes over it: merge or shrink the files";
}

// ReadAccessAdvice is what to do when the command user cannot open a
// policy file or directory: sshd runs the helpers as that user.
// |chmod_args| fixes it ("644 FILE").
std::string ReadAccessAdvice(const std::string& chmod_args) {
  return "; the AuthorizedPrincipalsCommandUser and AuthorizedKeysCommandUser must be able to read it, e.g. run chmod " +
         chmod_args;
}

// MissingPolicyAdvice is what to do when the main file, or the directory
// that should hold it, does not exist.
std::string MissingPolicyAdvice(const std::string& main_path) {
  return "; write the policy to " + main_path + " (certgate-policy(5)) or name it with --policy";
}

// FileKind names what a non-regular file is.
std::string FileKind(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "a device";
  return "not a regular file";
}

// NotRegularMessage says that |path| (seen as |st|) is not a regular file,
// and what to do: name the file instead (the main file), or clear it out
// of the fragment directory.
std::string NotRegularMessage(const struct stat& st, const std::string& path, bool main) {
  const std::string kind = FileKind(st);
  const std::string is = kind.starts_with("not ") ? kind : "is " + kind + ", not a regular file";
  if (main && S_ISDIR(st.st_mode)) {
    return "is a directory, not the policy file; name the file, e.g. --policy " + path + "/policy.yaml";
  }
  if (main) return is + "; write the policy to a regular file and name that";
  return is + "; the fragment directory may hold only regular *.yaml files: rename or remove it";
}

// ReadPolicyFile opens |name| (relative to |dir_fd| if >= 0) without
// following a symlink, checks it and returns its text, or nullopt after
// adding an issue. A FIFO is opened non-blocking so it cannot hang us. The
// file may use what the files read before left of kMaxPolicyFileSize. A
// missing main file (|main|) gets advice.
std::optional<std::string> ReadPolicyFile(int dir_fd, const std::string& name, const std::string& path,
                                          const LoadOptions& options, LoadResult* result, bool main = false) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  UniqueFd fd(dir_fd >= 0 ? openat(dir_fd, name.c_str(), flags) : open(path.c_str(), flags));
  if (fd.get() < 0) {
    int error = errno;
    if (error == ELOOP) {
      FileIssue(result, path, LinkMessage(path, "file"));
    } else if (error == ENOENT && main) {
      FileIssue(result, path, "cannot open: " + ErrnoText(error) + MissingPolicyAdvice(path));
    } else if (error == EACCES) {
      FileIssue(result, path, "cannot open: " + ErrnoText(error) + ReadAccessAdvice("644 " + path));
    } else {
      FileIssue(result, path, "cannot open: " + ErrnoText(error));
    }
    return std::nullopt;
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) {
    FileIssue(result, path, "cannot stat: " + ErrnoText(errno));
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    FileIssue(result, path, NotRegularMessage(st, path, main));
    return std::nullopt;
  }
  if (!CheckOwnerAndMode(st, path, options, result)) return std::nullopt;
  const size_t budget = kMaxPolicyFileSize - std::min(result->bytes, kMaxPolicyFileSize);
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > budget) {
    FileIssue(result, path, TooLargeMessage(*result));
    return std::nullopt;
  }
  std::string text;
  Status read = ReadBounded(fd.get(), budget, static_cast<size_t>(st.st_size), &text);
  if (!read) {
    FileIssue(result, path, read.error().code == Errc::kTooLarge ? TooLargeMessage(*result) : read.error().detail);
    return std::nullopt;
  }
  result->bytes += text.size();
  return text;
}

// CheckDirectory checks |fd|, already open on the directory |path|.
bool CheckDirectory(int fd, const std::string& path, const LoadOptions& options, LoadResult* result) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    FileIssue(result, path, "cannot stat: " + ErrnoText(errno));
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    FileIssue(result, path, "not a directory");
    return false;
  }
  return CheckOwnerAndMode(st, path, options, result);
}

}  // namespace

std::string FragmentDirectory(const std::string& main_path, const std::string& default_path) {
  const std::string default_dir = ParentDirectory(default_path);
  if (main_path == default_path) return default_dir + "/policy.d";
  // The default spelled another way means what no --policy means too.
  struct stat given {};
  struct stat wanted {};
  if (BaseName(main_path) == BaseName(default_path) && stat(ParentDirectory(main_path).c_str(), &given) == 0 &&
      stat(default_dir.c_str(), &wanted) == 0 && given.st_dev == wanted.st_dev && given.st_ino == wanted.st_ino) {
    return default_dir + "/policy.d";
  }
  return main_path + ".d";
}

bool IsFragmentName(std::string_view name) {
  return name.size() > 5 && name.front() != '.' && name.substr(name.size() - 5) == ".yaml";
}

LoadResult LoadPolicy(const std::string& main_path, const LoadOptions& options) {
  LoadResult result;
  result.policy.emplace();
  if (main_path.ends_with('/')) {
    // Opening "" in the directory would say "No such file or directory".
    FileIssue(&result, main_path,
              "names a directory, not the policy file; name the file, e.g. --policy " + main_path + "policy.yaml");
    FinishPolicy(&result);
    return result;
  }
  // Every directory from / to the main file's is checked, and the files
  // are opened relative to it: none of them can be swapped meanwhile.
  UnsafeDirectory unsafe;
  const UniqueFd parent(OpenSafeDirectory(ParentDirectory(main_path), DirectoryRuleFor(options), &unsafe));
  if (!parent.valid()) {
    if (unsafe.error == ENOENT) unsafe.message += MissingPolicyAdvice(main_path);
    // A directory cannot be opened when the one above it may not be searched.
    if (unsafe.error == EACCES) unsafe.message += ReadAccessAdvice("755 " + ParentDirectory(unsafe.path));
    FileIssue(&result, unsafe.path, unsafe.message);
    FinishPolicy(&result);
    return result;
  }
  std::optional<std::string> text =
      ReadPolicyFile(parent.get(), BaseName(main_path), main_path, options, &result, /*main=*/true);
  if (text) ParsePolicyText(*text, main_path, &result);

  const std::string fragments = FragmentDirectory(main_path);
  UniqueFd dir(openat(parent.get(), BaseName(fragments).c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (dir.get() < 0) {
    const int error = errno;
    struct stat st {};
    if (error != ENOENT) {
      const bool link = fstatat(parent.get(), BaseName(fragments).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISLNK(st.st_mode);
      FileIssue(&result, fragments,
                link                ? LinkMessage(fragments, "directory")
                : error == ENOTDIR ? "is not a directory; fragments go in a directory of *.yaml files: move it away"
                : error == EACCES  ? "cannot open directory: " + ErrnoText(error) + ReadAccessAdvice("755 " + fragments)
                                   : "cannot open directory: " + ErrnoText(error));
    }
  } else if (CheckDirectory(dir.get(), fragments, options, &result)) {
    std::vector<std::string> names;
    int list_fd = dup(dir.get());
    DIR* listing = list_fd >= 0 ? fdopendir(list_fd) : nullptr;
    if (listing == nullptr) {
      if (list_fd >= 0) close(list_fd);
      FileIssue(&result, fragments, "cannot list directory: " + ErrnoText(errno));
    } else {
      errno = 0;
      while (struct dirent* entry = readdir(listing)) {
        std::string_view name(entry->d_name);
        if (IsFragmentName(name)) names.emplace_back(name);
      }
      closedir(listing);
    }
    std::sort(names.begin(), names.end());  // byte order: std::string compares as unsigned char
    if (names.size() > kMaxPolicyFragments) {
      // Not one is read: a partial policy could grant what a later file
      // revokes (and the whole directory could not be loaded in time).
      FileIssue(&result, fragments,
                "holds " + std::to_string(names.size()) + " *.yaml files, more than " +
                    std::to_string(kMaxPolicyFragments) + "; merge them into fewer files");
      names.clear();
    }
    for (const std::string& name : names) {
      const std::string path = fragments + "/" + name;
      std::optional<std::string> fragment = ReadPolicyFile(dir.get(), name, path, options, &result);
      if (fragment) ParsePolicyText(*fragment, path, &result, PolicyFileRole::kFragment);
    }
  }
  FinishPolicy(&result);
  return result;
}

LoadedPolicy LoadCompiledPolicy(const std::string& main_path, const LoadOptions& options) {
  LoadedPolicy out;
  LoadResult loaded = LoadPolicy(main_path, options);
  out.issues = std::move(loaded.issues);
  if (!loaded.policy) return out;
  Result<std::shared_ptr<const CompiledPolicy>> compiled = CompilePolicy(*loaded.policy);
  if (!compiled) {
    out.issues.push_back(Issue{SourceLocation{main_path, 1, 1}, compiled.error().detail});
    return out;
  }
  out.policy = std::move(*compiled);
  return out;
}

}  // namespace certgate::core
