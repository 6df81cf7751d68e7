// Structured logging: one record per decision or agent event, to the
// systemd journal, else syslog (facility authpriv), and optionally stderr.
#ifndef CERTGATE_CORE_LOG_H_
#define CERTGATE_CORE_LOG_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certgate::core {

// Priority uses syslog's numbering.
enum class Priority { kErr = 3, kWarning = 4, kNotice = 5, kInfo = 6, kDebug = 7 };

// LogRecord is one event: a one-line human message plus structured fields
// (journal names such as "CERTGATE_DECISION"; values are escaped on output).
struct LogRecord {
  Priority priority = Priority::kInfo;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;

  // Field returns the value of |name|, or an empty string.
  std::string Field(std::string_view name) const;
};

// LogSink receives records. Implementations never throw.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(const LogRecord& record) = 0;
};

// SystemLogSink writes to the journal when /run/systemd/journal/socket
// exists (sd_journal_send silently drops records otherwise), else to
// syslog with facility authpriv and |identifier| as the tag (one /dev/log
// connection per process, kept open). A journal send interrupted by a
// signal is made again; a record the journal refuses goes to syslog. With |also_stderr|
// every record is also written to stderr as "identifier: message", or, when
// |stderr_copy| is set, appended to it instead (the service sends a
// request's stderr back to its client).
class SystemLogSink : public LogSink {
 public:
  SystemLogSink(std::string identifier, bool also_stderr, std::string* stderr_copy = nullptr);
  ~SystemLogSink() override;
  void Write(const LogRecord& record) override;

 private:
  std::string identifier_;
  bool also_stderr_;
  std::string* stderr_copy_;
  const bool journal_;  // decided once: a failed send is not a missing journal
};

// CaptureLogSink keeps records in memory (tests).
class CaptureLogSink : public LogSink {
 public:
  void Write(const LogRecord& record) override { records.push_back(record); }
  std::vector<LogRecord> records;
};

// EscapeForLog returns |text| with bytes outside printable ASCII, and '\\',
// written as \xHH (\\ for backslash), so that certificate-controlled text
// cannot forge log lines or terminal escapes. Capped at 512 bytes of input
// ("..." appended when cut).
std::string EscapeForLog(std::string_view text);

// EscapeQuotesForLog is EscapeForLog that also writes '"' as \x22: for
// text a message shows between double quotes, and a field holding it.
std::string EscapeQuotesForLog(std::string_view text);

// QuoteForLog returns EscapeQuotesForLog(|text|) between double quotes
// ("" for empty text), so that certificate-controlled text in a message
// cannot be mistaken for two values or for the words around it.
std::string QuoteForLog(std::string_view text);

// EscapeControls is EscapeForLog for control characters only (bytes below
// 0x20 and 0x7f, as \xHH): UTF-8 text and backslashes are kept as they
// are, for messages that show a configured value as written.
std::string EscapeControls(std::string_view text);

// StderrIsJournal returns true if stderr is systemd's stream to the
// journal ($JOURNAL_STREAM holds its "device:inode"): a record written to
// the journal is then already there, and a copy on stderr would be a
// second one.
bool StderrIsJournal();

}  // namespace certgate::core

#endif  // CERTGATE_CORE_LOG_H_
