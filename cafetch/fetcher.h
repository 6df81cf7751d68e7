// Fetching issuer answers: HTTPS with libcurl (TLS always verified, TLS 1.2
// or later, optional SPKI pin, https only, no redirects, bounded size and
// time, conditional requests) and bounded reads of local files.
#ifndef CERTGATE_CAFETCH_FETCHER_H_
#define CERTGATE_CAFETCH_FETCHER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cafetch/config.h"
#include "core/result.h"

namespace certgate::cafetch {

// kMaxAnswerBytes caps one answer body (issuer answer or signature).
inline constexpr size_t kMaxAnswerBytes = 1024 * 1024;
// kMaxTokenBytes caps a token file.
inline constexpr size_t kMaxTokenBytes = 16 * 1024;

// Secret holds a credential and wipes it with OPENSSL_cleanse when
// destroyed. Never log value().
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  ~Secret();
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept;
  Secret& operator=(Secret&& other) noexcept;
  const std::string& value() const { return value_; }
  // mutable_value lets a reader fill the buffer in place.
  std::string& mutable_value() { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// ReadToken reads |path|: opened with O_NOFOLLOW, a regular file owned by
// root or by the effective uid, with no permission bits for group or others
// (chmod 0600/0400), at most kMaxTokenBytes. Trailing blanks and newlines
// are dropped; the rest must be non-empty printable ASCII without spaces
// (so it cannot inject a header). Errors: kIo, kUnsafePermissions,
// kTooLarge, kBadFormat; the detail never holds the token.
core::Result<Secret> ReadToken(const std::string& path);

// ReadLocalFile returns the bytes of the local file |path| (opened with
// O_NOFOLLOW|O_NONBLOCK, regular file, at most |max_bytes|), or kIo /
// kTooLarge.
core::Result<std::string> ReadLocalFile(const std::string& path,
                                        size_t max_bytes = kMaxAnswerBytes);

// Validators are what the last successful answer carried, sent back as
// If-None-Match / If-Modified-Since. Empty fields are not sent.
struct Validators {
  std::string etag;
  std::string last_modified;
};

// HttpRequest is one HTTPS request.
struct HttpRequest {
  std::string url;  // must start with "https://"
  // post_body: if set, the request is a POST of this JSON body
  // (Content-Type: application/json); not owned, wiped by its owner.
  const Secret* post_body = nullptr;
  // secret_headers: extra whole "Name: value" header lines (token headers);
  // libcurl's copies are wiped after the request.
  std::vector<const Secret*> secret_headers;
  Validators validators;
  TlsConfig tls;
  uint64_t timeout_ms = 10000;
  size_t max_bytes = kMaxAnswerBytes;
  // What an HTTP error status tells the admin to check, naming the
  // settings this request came from: |url_setting| holds |url| (404),
  // |access_advice| is said on 401/403 (empty: nothing), and
  // |client_error_advice| on every 4xx (empty: nothing).
  std::string url_setting = "issuer.url";
  std::string access_advice;
  std::string client_error_advice;
};

// FetchStatus tells a fresh answer from "same as last time".
enum class FetchStatus { kOk, kNotModified };

// FetchResponse is a successful answer.
struct FetchResponse {
  FetchStatus status = FetchStatus::kOk;
  std::string body;        // empty for kNotModified
  Validators validators;   // ETag / Last-Modified of this answer
};

// HttpsFetch performs |request|. Success is HTTP 200 (kOk) or, when
// validators were sent, 304 (kNotModified). Every other outcome is an error
// and nothing else: kUsage (URL not https), kIo (DNS, connect, TLS
// verification or pin failure, HTTP status other than 200/304 including
// every redirect, which is never followed, and a 304 when no validators
// were sent), kTimeout (issuer.timeout, or
// slower than 1 byte/s for the low-speed window), kTooLarge (body over
// |max_bytes|), kInternal (libcurl setup). The detail names the URL and the
// reason, never a token; an HTTP error status ends with the request's
// advice for it ("URL: HTTP 404; check the path in issuer.url").
core::Result<FetchResponse> HttpsFetch(const HttpRequest& request);

// FetchIssuerAnswer fetches the issuer's raw answer as |issuer.type| needs:
// vault GET with X-Vault-Token (if a token_file is set); step GET
// (Authorization: Bearer if a token is set); akeyless POST
// {"name":NAME,"token":TOKEN}; cyberark GET with Authorization: Bearer;
// teleport GET (bearer if a token is set); url GET (bearer if a token is
// set) or a local file; file a local file. Local files always give kOk with
// empty validators. |previous| may be empty.
core::Result<FetchResponse> FetchIssuerAnswer(const IssuerConfig& issuer,
                                              const Validators& previous);

// FetchSignature fetches |url| (https or local, as bundle_signature.url)
// unconditionally with |issuer|'s TLS settings and timeout; no token is sent.
core::Result<std::string> FetchSignature(const IssuerConfig& issuer, const std::string& url);

// Redact returns |url| without userinfo ("user:password@"), query or
// fragment: the form that may be shown in messages and files.
std::string Redact(std::string_view url);

// IsLocalUrl returns true for "file:///..." and absolute paths; LocalPath
// returns the path part.
bool IsLocalUrl(std::string_view url);
std::string LocalPath(std::string_view url);

}  // namespace certgate::cafetch

#endif  // CERTGATE_CAFETCH_FETCHER_H_
