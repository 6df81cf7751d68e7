#include "core/log.h"

#include <errno.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

namespace certgate::core {
namespace {

constexpr size_t kMaxEscapedInput = 512;
// How often a journal send interrupted by a signal is tried again before
// the record goes to syslog instead.
constexpr int kMaxJournalRetries = 16;
constexpr const char kJournalSocket[] = "/run/systemd/journal/socket";

bool JournalAvailable() {
  struct stat st;
  return stat(kJournalSocket, &st) == 0 && S_ISSOCK(st.st_mode);
}

// WriteStderr writes |data| to fd 2, ignoring errors: stderr is best effort
// (it is /dev/null under sshd).
void WriteStderr(const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(STDERR_FILENO, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;  // a signal, not a broken stderr
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

// SyslogWrite sends one record through syslog(3) tagged |identifier|. The
// connection to /dev/log is opened once per process and kept (openlog with a
// new tag keeps an open connection), so a service worker logging request
// after request does not connect each time. openlog keeps the tag pointer:
// it lives in a static buffer, guarded with the write.
void SyslogWrite(const std::string& identifier, int priority, const std::string& message) {
  static std::mutex mu;
  static char tag[64];
  std::lock_guard<std::mutex> lock(mu);
  if (std::strncmp(tag, identifier.c_str(), sizeof tag - 1) != 0) {
    std::snprintf(tag, sizeof tag, "%s", identifier.c_str());
    openlog(tag, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
  }
  syslog(LOG_AUTHPRIV | priority, "%s", message.c_str());
}

}  // namespace

std::string LogRecord::Field(std::string_view name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return "";
}

namespace {

// Escaped says which bytes Escape writes as \xHH.
enum class Escaped { kNotPrintableAscii, kNotPrintableAsciiOrQuote, kControls };

// Escape is EscapeForLog (kNotPrintableAscii), with '"' written as \x22
// too (kNotPrintableAsciiOrQuote), or EscapeControls (kControls).
std::string Escape(std::string_view text, Escaped which) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool controls_only = which == Escaped::kControls;
  const bool quotes = which == Escaped::kNotPrintableAsciiOrQuote;
  std::string out;
  size_t n = text.size() < kMaxEscapedInput ? text.size() : kMaxEscapedInput;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\\' && !controls_only) {
      out.append("\\\\");
    } else if (c < 0x20 || c == 0x7f || (c > 0x7f && !controls_only) || (quotes && c == '"')) {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxEscapedInput) out.append("...");
  return out;
}

}  // namespace

std::string EscapeForLog(std::string_view text) { return Escape(text, Escaped::kNotPrintableAscii); }

std::string EscapeQuotesForLog(std::string_view text) { return Escape(text, Escaped::kNotPrintableAsciiOrQuote); }

std::string QuoteForLog(std::string_view text) { return "\"" + EscapeQuotesForLog(text) + "\""; }

std::string EscapeControls(std::string_view text) { return Escape(text, Escaped::kControls); }

SystemLogSink::SystemLogSink(std::string identifier, bool also_stderr, std::string* stderr_copy)
    : identifier_(std::move(identifier)),
      also_stderr_(also_stderr),
      stderr_copy_(stderr_copy),
      journal_(JournalAvailable()) {}

SystemLogSink::~SystemLogSink() = default;

void SystemLogSink::Write(const LogRecord& record) {
  const int priority = static_cast<int>(record.priority);
  if (journal_) {
    // Fields are passed as iovecs so that no value is ever a format string.
    std::vector<std::string> items;
    items.reserve(record.fields.size() + 3);
    items.push_back("MESSAGE=" + record.message);
    items.push_back("PRIORITY=" + std::to_string(priority));
    items.push_back("SYSLOG_IDENTIFIER=" + identifier_);
    items.push_back("SYSLOG_FACILITY=" + std::to_string(LOG_AUTHPRIV >> 3));
    for (const auto& [key, value] : record.fields) items.push_back(key + "=" + value);
    std::vector<struct iovec> iov(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      iov[i].iov_base = items[i].data();
      iov[i].iov_len = items[i].size();
    }
    // A signal (the service's SIGCHLD, while journald is slow to read) is
    // not a broken journal: send again. Any other failure sends this record
    // to syslog; the next one tries the journal again (journald restarts).
    int sent = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    for (int retries = 0; sent == -EINTR && retries < kMaxJournalRetries; ++retries) {
      sent = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    }
    if (sent < 0) SyslogWrite(identifier_, priority, record.message);
  } else {
    SyslogWrite(identifier_, priority, record.message);
  }
  if (!also_stderr_) return;
  std::string line = identifier_ + ": " + record.message + "\n";
  if (stderr_copy_ != nullptr) {
    stderr_copy_->append(line);
  } else {
    WriteStderr(line);
  }
}

bool StderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  const std::string_view text(stream);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long dev = 0, ino = 0;
  auto [dev_end, dev_ec] = std::from_chars(text.data(), text.data() + colon, dev);
  auto [ino_end, ino_ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), ino);
  if (dev_ec != std::errc() || dev_end != text.data() + colon || ino_ec != std::errc() ||
      ino_end != text.data() + text.size()) {
    return false;
  }
  struct stat st {};
  return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

}  // namespace certgate::core
