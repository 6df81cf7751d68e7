#include "core/policy_stamps.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/atomic_file.h"
#include "core/policy_loader.h"

namespace certgate::core {
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

}  // namespace

std::vector<FileStamp> TakeStamps(const std::string& main_path) {
  std::vector<FileStamp> stamps;
  stamps.push_back(Stamp(main_path, false));
  stamps.push_back(Stamp(ParentDirectory(main_path), true));
  const std::string fragments = FragmentDirectory(main_path);
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
        std::count_if(names.begin(), names.end(), [](const std::string& n) { return IsFragmentName(n); }));
    if (fragments_read > kMaxPolicyFragments) {
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

int64_t RacyWindowNs(const std::vector<FileStamp>& stamps, int64_t coarse_seconds) {
  bool fine = true;
  for (const FileStamp& s : stamps) {
    if (s.error == 0 && s.ctime_ns % 1000000000 == 0) fine = false;
  }
  return fine ? kFineRacyNs : coarse_seconds * 1000000000;
}

int64_t NewestChangeNs(const std::vector<FileStamp>& stamps) {
  int64_t newest = 0;
  for (const FileStamp& s : stamps) {
    if (s.error == 0) newest = std::max({newest, s.mtime_ns, s.ctime_ns});
  }
  return newest;
}

int64_t RealtimeNs() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Raciness CheckRaciness(const std::vector<FileStamp>& stamps, int64_t taken_ns, int64_t racy_seconds) {
  Raciness r;
  if (racy_seconds < 0) return r;
  const int64_t window = RacyWindowNs(stamps, racy_seconds);
  for (const FileStamp& s : stamps) {
    if (s.error != 0) continue;
    for (const int64_t t : {s.mtime_ns, s.ctime_ns}) {
      if (t < taken_ns - window) continue;  // older than any change to come
      if (t <= taken_ns + window) {
        r.racy = true;
        continue;
      }
      // Ahead of the clock: no change before the clock nears t gets it.
      if (t - window < r.racy_from_ns) r.racy_from_ns = t - window;
      if (t - taken_ns > r.ahead_ns) {
        r.ahead_ns = t - taken_ns;
        r.ahead_path = s.path;
      }
    }
  }
  return r;
}

}  // namespace certgate::core
