#include "decide/policy_cache.h"

#include <dirent.h>
#include <malloc.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace certgate::decide {
namespace {

FileStamp Stamp(const std::string& path, bool follow) {
  FileStamp s;
  s.path = path;
  struct stat st {};
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) {
    s.error = errno;
    return s;
  }
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  return s;
}

std::string ParentDirectory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int64_t RealtimeSeconds() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec);
}

}  // namespace

std::vector<FileStamp> TakeStamps(const std::string& main_path) {
  std::vector<FileStamp> stamps;
  stamps.push_back(Stamp(main_path, false));
  stamps.push_back(Stamp(ParentDirectory(main_path), true));
  const std::string fragments = core::FragmentDirectory(main_path);
  stamps.push_back(Stamp(fragments, false));
  if (stamps.back().error == 0 && S_ISDIR(stamps.back().mode)) {
    std::vector<std::string> names;
    if (DIR* dir = opendir(fragments.c_str())) {
      while (struct dirent* entry = readdir(dir)) {
        std::string name = entry->d_name;
        if (name != "." && name != "..") names.push_back(std::move(name));
      }
      closedir(dir);
    } else {
      FileStamp unreadable;
      unreadable.path = fragments + "/";
      unreadable.error = errno;
      stamps.push_back(unreadable);
    }
    std::sort(names.begin(), names.end());
    // Over the loader's cap of fragments no file is read (the load fails):
    // the directory's own stamp, which moves with every entry added or
    // removed, is then all that matters, and a huge directory costs one
    // readdir per check instead of a stat per entry.
    const size_t fragments_read = static_cast<size_t>(
        std::count_if(names.begin(), names.end(), [](const std::string& n) { return core::IsFragmentName(n); }));
    if (fragments_read > core::kMaxPolicyFragments) {
      FileStamp over;
      over.path = fragments + "/";
      over.size = static_cast<off_t>(fragments_read);
      stamps.push_back(over);
      return stamps;
    }
    for (const std::string& name : names) stamps.push_back(Stamp(fragments + "/" + name, false));
  }
  return stamps;
}

PolicyCache::PolicyCache(std::string path, core::LoadOptions options, int64_t racy_seconds)
    : path_(std::move(path)), options_(options), racy_seconds_(racy_seconds) {}

void PolicyCache::Load() {
  const int64_t start = RealtimeSeconds();
  std::vector<FileStamp> before = TakeStamps(path_);
  result_ = core::LoadedPolicy{};  // free the old policy before building the new one
  result_ = core::LoadCompiledPolicy(path_, options_);
  std::vector<FileStamp> after = TakeStamps(path_);
  // A change while we read (before != after), or a timestamp so recent that
  // a later change could leave it equal, makes this load good for the
  // current request only.
  racy_ = before != after;
  for (const FileStamp& s : after) {
    if (s.error != 0) continue;
    if (s.mtime_ns / 1000000000 >= start - racy_seconds_ || s.ctime_ns / 1000000000 >= start - racy_seconds_) {
      racy_ = true;
    }
  }
  stamps_ = std::move(after);
  loaded_ = true;
  ++loads_;
  // The YAML parse leaves freed heap behind; give it back to the system so
  // the resident service (and each forked request) stays small.
  malloc_trim(0);
}

PolicyCache::RefreshResult PolicyCache::Refresh() {
  const bool same = loaded_ && TakeStamps(path_) == stamps_;
  if (same && !racy_) return RefreshResult::kCurrent;
  Load();
  return same ? RefreshResult::kRacyReload : RefreshResult::kReloaded;
}

const core::LoadedPolicy& PolicyCache::Get(const std::string& path, const core::LoadOptions& options) {
  if (refresh_at_get_ && path == path_) {
    refresh_at_get_ = false;
    (void)Refresh();
  }
  if (loaded_ && path == path_ && options.check_permissions == options_.check_permissions &&
      options.owner_uid == options_.owner_uid) {
    return result_;
  }
  return other_.Get(path, options);
}

}  // namespace certgate::decide
