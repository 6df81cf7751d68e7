// libcurl transfers with every safety setting in one place (HttpsFetch), and
// bounded local reads for tokens and local issuers.
#include "cafetch/fetcher.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

#include "core/read_file.h"
#include "core/unique_fd.h"

namespace certgate::cafetch {
namespace {

using core::Errc;
using core::Fail;
using core::Result;
using core::Unexpected;

// kLowSpeedSeconds: a transfer slower than 1 byte/s for this long (or for
// the whole timeout, if shorter) is abandoned.
constexpr long kLowSpeedSeconds = 10;
// kMaxHeaderValue bounds a stored ETag / Last-Modified.
constexpr size_t kMaxHeaderValue = 1024;

std::string ErrnoText(int error) { return std::strerror(error); }

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

// HeaderList owns a curl_slist and wipes every entry before freeing it,
// since token headers are among them.
class HeaderList {
 public:
  HeaderList() = default;
  ~HeaderList() {
    for (curl_slist* p = list_; p != nullptr; p = p->next) {
      if (p->data != nullptr) OPENSSL_cleanse(p->data, std::strlen(p->data));
    }
    curl_slist_free_all(list_);
  }
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;
  bool Append(const std::string& line) {
    curl_slist* next = curl_slist_append(list_, line.c_str());
    if (next == nullptr) return false;
    list_ = next;
    return true;
  }
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// Transfer is what the callbacks fill in.
struct Transfer {
  std::string body;
  size_t max_bytes = kMaxAnswerBytes;
  bool too_large = false;
  Validators validators;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (n > t->max_bytes - t->body.size()) {
    t->too_large = true;
    return 0;  // makes libcurl abort with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool HeaderNameIs(std::string_view name, std::string_view want) {
  if (name.size() != want.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want[i]) return false;
  }
  return true;
}

// PrintableValue keeps a header value only if it is short printable ASCII,
// so that what we store in state_dir and send back is harmless.
std::string PrintableValue(std::string_view v) {
  if (v.size() > kMaxHeaderValue) return "";
  for (char c : v) {
    if (c < 0x20 || c > 0x7e) return "";
  }
  return std::string(v);
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    t->validators = Validators{};  // a new response (e.g. after 100 Continue)
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (HeaderNameIs(name, "etag")) t->validators.etag = PrintableValue(value);
  if (HeaderNameIs(name, "last-modified")) t->validators.last_modified = PrintableValue(value);
  return n;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

Result<std::string> PinList(const std::vector<std::string>& pins) {
  std::string out;
  for (const std::string& pin : pins) {
    for (char c : pin) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                      c == '/' || c == '=';
      if (!ok) return Fail(Errc::kUsage, "tls.pin_sha256 holds a character outside base64");
    }
    if (!out.empty()) out += ';';
    out += "sha256//" + pin;
  }
  return out;
}

// ReadSettingFile reads the local file that the cafetch.yaml setting |key|
// names (|url|, a path or file:///path); an error names the setting and,
// where the reason alone does not say it, what to do.
Result<std::string> ReadSettingFile(const std::string& key, const std::string& url, size_t max_bytes) {
  Result<std::string> body = ReadLocalFile(LocalPath(url), max_bytes);
  if (body) return body;
  std::string detail = key + " " + body.error().detail;
  if (detail.find("; ") == std::string::npos) {
    detail += "; create or fix that file, or correct " + key + " in cafetch.yaml";
  }
  return Fail(body.error().code, detail);
}

Result<FetchResponse> FetchLocal(const std::string& key, const std::string& url) {
  Result<std::string> body = ReadSettingFile(key, url, kMaxAnswerBytes);
  if (!body) return Unexpected{body.error()};
  FetchResponse response;
  response.body = std::move(*body);
  return response;
}

}  // namespace

std::string Redact(std::string_view url) {
  size_t cut = url.find_first_of("?#");
  std::string_view base = url.substr(0, cut);
  size_t scheme = base.find("://");
  if (scheme == std::string_view::npos) return std::string(base);
  size_t host_end = base.find('/', scheme + 3);
  if (host_end == std::string_view::npos) host_end = base.size();
  // The last '@' of the authority ends the userinfo (a password may hold
  // an unencoded '@').
  std::string_view authority = base.substr(scheme + 3, host_end - scheme - 3);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(base);
  return std::string(base.substr(0, scheme + 3)) + std::string(base.substr(scheme + 3 + at + 1));
}

Secret::~Secret() {
  if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
}

Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) {
  if (!other.value_.empty()) OPENSSL_cleanse(other.value_.data(), other.value_.size());
  other.value_.clear();
}

Secret& Secret::operator=(Secret&& other) noexcept {
  if (this != &other) {
    if (!value_.empty()) OPENSSL_cleanse(value_.data(), value_.size());
    value_ = std::move(other.value_);
    if (!other.value_.empty()) OPENSSL_cleanse(other.value_.data(), other.value_.size());
    other.value_.clear();
  }
  return *this;
}

bool IsLocalUrl(std::string_view url) { return StartsWith(url, "file:///") || StartsWith(url, "/"); }

std::string LocalPath(std::string_view url) {
  if (StartsWith(url, "file://")) url.remove_prefix(7);
  return std::string(url);
}

Result<std::string> ReadLocalFile(const std::string& path, size_t max_bytes) {
  core::UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ELOOP) return Fail(Errc::kIo, path + ": is a symbolic link; name the real file");
    return Fail(Errc::kIo, path + ": cannot open: " + ErrnoText(error));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, path + ": cannot stat: " + ErrnoText(errno));
  if (!S_ISREG(st.st_mode)) return Fail(Errc::kIo, path + ": not a regular file");
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > max_bytes) {
    return Fail(Errc::kTooLarge, path + ": larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string text;
  core::Status read = core::ReadBounded(fd.get(), max_bytes, static_cast<size_t>(st.st_size), &text);
  if (!read) {
    if (read.error().code == Errc::kTooLarge) {
      return Fail(Errc::kTooLarge, path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
    return Fail(Errc::kIo, path + ": " + read.error().detail);
  }
  return text;
}

Result<Secret> ReadToken(const std::string& path) {
  core::UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ELOOP) return Fail(Errc::kIo, "token_file " + path + ": is a symbolic link");
    return Fail(Errc::kIo, "token_file " + path + ": cannot open: " + ErrnoText(error));
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Fail(Errc::kIo, "token_file " + path + ": cannot stat: " + ErrnoText(errno));
  if (!S_ISREG(st.st_mode)) return Fail(Errc::kIo, "token_file " + path + ": not a regular file");
  if (st.st_uid != 0 && st.st_uid != geteuid()) {
    return Fail(Errc::kUnsafePermissions, "token_file " + path + ": owned by uid " + std::to_string(st.st_uid) +
                                              ", not root or this user; run chown root " + path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Fail(Errc::kUnsafePermissions, "token_file " + path + ": readable or writable by group or others; run chmod 0600 " + path);
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > kMaxTokenBytes) {
    return Fail(Errc::kTooLarge, "token_file " + path + ": larger than " + std::to_string(kMaxTokenBytes) + " bytes");
  }
  Secret buffer(std::string(kMaxTokenBytes + 1, '\0'));
  std::string& text = buffer.mutable_value();
  size_t used = 0;
  for (;;) {
    if (used == text.size()) break;
    ssize_t n = read(fd.get(), text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Errc::kIo, "token_file " + path + ": cannot read: " + ErrnoText(errno));
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > kMaxTokenBytes) return Fail(Errc::kTooLarge, "token_file " + path + ": too large");
  while (used > 0 && (text[used - 1] == '\n' || text[used - 1] == '\r' || text[used - 1] == ' ' || text[used - 1] == '\t')) {
    --used;
  }
  if (used == 0) return Fail(Errc::kBadFormat, "token_file " + path + ": empty");
  for (size_t i = 0; i < used; ++i) {
    if (text[i] <= 0x20 || text[i] > 0x7e) {
      return Fail(Errc::kBadFormat, "token_file " + path + ": the token must be one word of printable ASCII");
    }
  }
  return Secret(std::string(text.data(), used));
}

namespace {

// TransferFailureAdvice says what to check after |result| failed a
// transfer on |c|: for a certificate that did not verify, which of its
// checks failed (OpenSSL's verify result; a chain that verified failed
// libcurl's own host name check). Empty when there is nothing to add.
std::string TransferFailureAdvice(CURL* c, CURLcode result, const HttpRequest& request) {
  switch (result) {
    case CURLE_PEER_FAILED_VERIFICATION: {
      // libcurl records OpenSSL's result only when the handshake's own
      // chain check failed; otherwise it keeps its "not verified" mark,
      // 1 (!X509_V_OK), and the failure was its host name check.
      constexpr long kNotRecorded = 1;
      long verify = X509_V_OK;
      if (curl_easy_getinfo(c, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK) verify = -1;
      switch (verify) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
          return "the issuer's TLS certificate has expired: renew it (or, if it has not, set this host's clock)";
        case X509_V_ERR_CERT_NOT_YET_VALID:
          return "the issuer's TLS certificate is not valid yet: check this host's clock";
        case X509_V_OK:
        case kNotRecorded:
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
          return "the issuer's TLS certificate is not for the host named in " + request.url_setting +
                 ": use a name it was issued for";
        default:
          return "name the CA of the issuer's certificate in issuer.tls.ca_file";
      }
    }
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return "the issuer's key is none of issuer.tls.pin_sha256: if the issuer changed its key, pin the new one "
             "(cafetch.yaml(5) shows how to compute it)";
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return "check the host and port in " + request.url_setting + " and that the issuer is up";
    case CURLE_OPERATION_TIMEDOUT:
      return "check that the issuer is up, or raise issuer.timeout";
    default:
      return "";
  }
}

}  // namespace

Result<FetchResponse> HttpsFetch(const HttpRequest& request) {
  const std::string shown = Redact(request.url);
  if (!StartsWith(request.url, "https://")) return Fail(Errc::kUsage, shown + ": only https:// URLs are fetched");
  GlobalInit();
  CurlPtr curl(curl_easy_init());
  if (!curl) return Fail(Errc::kInternal, "curl_easy_init failed");
  CURL* c = curl.get();

  Result<std::string> pins = PinList(request.tls.pin_sha256);
  if (!pins) return Unexpected{pins.error()};

  Transfer transfer;
  transfer.max_bytes = request.max_bytes;
  HeaderList headers;
  bool ok = headers.Append("Accept: application/json, text/plain, */*");
  if (!request.validators.etag.empty()) ok = ok && headers.Append("If-None-Match: " + request.validators.etag);
  if (!request.validators.last_modified.empty()) {
    ok = ok && headers.Append("If-Modified-Since: " + request.validators.last_modified);
  }
  if (request.post_body != nullptr) ok = ok && headers.Append("Content-Type: application/json");
  for (const Secret* line : request.secret_headers) ok = ok && headers.Append(line->value());
  if (!ok) return Fail(Errc::kInternal, "curl_slist_append failed");

  const long timeout_ms = static_cast<long>(std::min<uint64_t>(request.timeout_ms, 3600000));
  const long low_speed = std::max<long>(1, std::min<long>(kLowSpeedSeconds, timeout_ms / 1000));
  char error_buffer[CURL_ERROR_SIZE] = {};
  CURLcode set = CURLE_OK;
  auto opt = [&](CURLcode r) {
    if (set == CURLE_OK) set = r;
  };
  opt(curl_easy_setopt(c, CURLOPT_URL, request.url.c_str()));
  opt(curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https"));
  opt(curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https"));
  opt(curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L));
  opt(curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L));
  opt(curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L));
  opt(curl_easy_setopt(c, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2)));
  if (!request.tls.ca_file.empty()) opt(curl_easy_setopt(c, CURLOPT_CAINFO, request.tls.ca_file.c_str()));
  if (!pins->empty()) opt(curl_easy_setopt(c, CURLOPT_PINNEDPUBLICKEY, pins->c_str()));
  opt(curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L));
  opt(curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms));
  opt(curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms));
  opt(curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L));
  opt(curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed));
  opt(curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(request.max_bytes)));
  opt(curl_easy_setopt(c, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_IGNORED)));
  opt(curl_easy_setopt(c, CURLOPT_USERAGENT, "certgate-cafetch/" CERTGATE_VERSION));
  opt(curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get()));
  opt(curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody));
  opt(curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer));
  opt(curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader));
  opt(curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer));
  opt(curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer));
  if (request.post_body != nullptr) {
    opt(curl_easy_setopt(c, CURLOPT_POST, 1L));
    opt(curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.post_body->value().c_str()));
    opt(curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.post_body->value().size())));
  }
  if (set != CURLE_OK) return Fail(Errc::kInternal, std::string("libcurl setup: ") + curl_easy_strerror(set));

  const CURLcode result = curl_easy_perform(c);
  if (transfer.too_large || result == CURLE_FILESIZE_EXCEEDED) {
    return Fail(Errc::kTooLarge, shown + ": answer larger than " + std::to_string(request.max_bytes) + " bytes");
  }
  if (result != CURLE_OK) {
    std::string why = error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(result));
    const std::string advice = TransferFailureAdvice(c, result, request);
    if (!advice.empty()) why += "; " + advice;
    if (result == CURLE_OPERATION_TIMEDOUT) return Fail(Errc::kTimeout, shown + ": timed out: " + why);
    return Fail(Errc::kIo, shown + ": " + why);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  FetchResponse response;
  response.validators = transfer.validators;
  const bool conditional = !request.validators.etag.empty() || !request.validators.last_modified.empty();
  if (status == 304 && conditional) {
    response.status = FetchStatus::kNotModified;
    return response;
  }
  if (status == 304) {
    // Not a redirect: nothing to configure, the issuer answered a question
    // that was not asked, and that says nothing about which keys hold.
    return Fail(Errc::kIo, shown + ": HTTP 304 Not Modified to a request without validators");
  }
  if (status >= 300 && status < 400) {
    return Fail(Errc::kIo, shown + ": HTTP " + std::to_string(status) + " redirect; redirects are not followed, "
                               "configure the final https:// URL in " + request.url_setting);
  }
  if (status != 200) {
    std::string why = shown + ": HTTP " + std::to_string(status);
    auto advise = [&why](const std::string& advice) {
      if (!advice.empty()) why += "; " + advice;
    };
    if (status == 401 || status == 403) advise(request.access_advice);
    if (status == 404) advise("check the path in " + request.url_setting);
    if (status >= 400 && status < 500) advise(request.client_error_advice);
    if (status >= 500 && status < 600) advise("the issuer failed to answer: see its own logs");
    return Fail(Errc::kIo, std::move(why));
  }
  response.body = std::move(transfer.body);
  return response;
}

Result<FetchResponse> FetchIssuerAnswer(const IssuerConfig& issuer, const Validators& previous) {
  if (issuer.type == IssuerType::kFile || (issuer.type == IssuerType::kUrl && IsLocalUrl(issuer.url))) {
    return FetchLocal(issuer.url_key, issuer.url);
  }
  Secret token;
  if (!issuer.token_file.empty()) {
    Result<Secret> read = ReadToken(issuer.token_file);
    if (!read) return Unexpected{read.error()};
    token = std::move(*read);
  }
  HttpRequest request;
  request.url = issuer.url;
  request.validators = previous;
  request.tls = issuer.tls;
  request.timeout_ms = issuer.timeout_seconds * 1000;
  request.access_advice = issuer.token_file.empty() ? "no token was sent: set issuer.token_file"
                                                    : "check the token in issuer.token_file and what it may read";

  Secret header;
  Secret body;
  switch (issuer.type) {
    case IssuerType::kVault:
      if (!token.empty()) header = Secret("X-Vault-Token: " + token.value());
      break;
    case IssuerType::kAkeyless: {
      if (token.empty()) return Fail(Errc::kUsage, "akeyless needs issuer.token_file");
      // Both values are checked printable ASCII; only '"' and '\\' need escaping.
      std::string json = "{";
      auto member = [&json](const char* name, std::string_view value) {
        json += std::string("\"") + name + "\":\"";
        for (char ch : value) {
          if (ch == '"' || ch == '\\') json += '\\';
          json += ch;
        }
        json += '"';
      };
      // Without issuer.name (not in every config) only the token is sent,
      // and a refusal says to set it.
      if (!issuer.name.empty()) {
        member("name", issuer.name);
        json += ',';
      } else {
        request.client_error_advice = "Akeyless's get-rsa-public needs the key's name: set issuer.name";
      }
      member("token", token.value());
      json += '}';
      body = Secret(std::move(json));
      request.post_body = &body;
      break;
    }
    case IssuerType::kCyberark:
      if (token.empty()) return Fail(Errc::kUsage, "cyberark needs issuer.token_file");
      header = Secret("Authorization: Bearer " + token.value());
      break;
    case IssuerType::kStep:
    case IssuerType::kTeleport:
    case IssuerType::kUrl:
    case IssuerType::kFile:
      if (!token.empty()) header = Secret("Authorization: Bearer " + token.value());
      break;
  }
  if (!header.empty()) request.secret_headers.push_back(&header);
  return HttpsFetch(request);
}

Result<std::string> FetchSignature(const IssuerConfig& issuer, const std::string& url) {
  if (IsLocalUrl(url)) return ReadSettingFile("bundle_signature.url", url, kMaxAnswerBytes);
  HttpRequest request;
  request.url = url;
  request.tls = issuer.tls;
  request.timeout_ms = issuer.timeout_seconds * 1000;
  request.url_setting = "bundle_signature.url";
  request.access_advice = "no token is sent for bundle_signature.url: serve the signature without one";
  Result<FetchResponse> response = HttpsFetch(request);
  if (!response) return Unexpected{response.error()};
  return std::move(response->body);
}

}  // namespace certgate::cafetch
