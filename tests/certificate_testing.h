// Certificate helpers shared by the certificate tests: a Certificate
// rendered the way `ssh-keygen -L` prints it, the real ssh-keygen's text for
// one file or for many certificates at once, and a field-by-field view of a
// certificate blob that tests can change and put back together.
#ifndef CERTGATE_TESTS_CERTIFICATE_TESTING_H_
#define CERTGATE_TESTS_CERTIFICATE_TESTING_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/certificate.h"
#include "tests/testing.h"

namespace certgate::testing {

using Bytes = std::vector<uint8_t>;

// kUnprintableTime stands in Describe's text for a validity time the C
// library cannot convert (beyond year 2^31), where ssh-keygen prints garbage.
inline constexpr std::string_view kUnprintableTime = "(unprintable time)";

// Describe renders |cert| as `ssh-keygen -L` prints it (TZ=UTC), without
// the first line (the file name). Unknown options are shown from their raw
// data in cert.blob, as ssh-keygen shows them.
std::string Describe(const core::Certificate& cert);

// KeygenDescribe returns `ssh-keygen -L -f PATH` without its first line; a
// non-zero exit fails the calling test.
std::string KeygenDescribe(const std::string& path);

// KeygenDescribeAll runs `ssh-keygen -L` over |lines| (each a
// `TYPE BASE64` certificate line) in as few processes as it can, files in
// |dir| named after |tag|. For each line it returns what ssh-keygen printed
// for it (as KeygenDescribe), or nullopt if ssh-keygen refused it: an
// "invalid key" or "not a certificate" line, or a fatal error while
// printing it (ssh-keygen then exits, and the lines after it are run again
// in a new process).
std::vector<std::optional<std::string>> KeygenDescribeAll(const TempDir& dir,
                                                          const std::string& tag,
                                                          const std::vector<std::string>& lines);

// OptionList is the name/data pairs of a critical-options or extensions
// section, in wire order.
using OptionList = std::vector<std::pair<std::string, Bytes>>;

// SplitOptions splits an option section; nullopt if it is not a sequence of
// (string, string) pairs.
std::optional<OptionList> SplitOptions(std::span<const uint8_t> section);
// JoinOptions packs |list| into a section.
Bytes JoinOptions(const OptionList& list);
// SplitStrings splits a section of packed strings (principals); nullopt if
// it is not one.
std::optional<std::vector<Bytes>> SplitStrings(std::span<const uint8_t> section);
// JoinStrings packs |items| as strings.
Bytes JoinStrings(const std::vector<Bytes>& items);
// StringBytes returns the bytes of |s|.
Bytes StringBytes(std::string_view s);
// WireString returns |bytes| as one SSH string (length prefix added).
Bytes WireString(std::span<const uint8_t> bytes);

// CertFields is a certificate blob cut into its fields (sshkey.c
// cert_parse order), without checking what they hold.
struct CertFields {
  std::string type_name;
  Bytes nonce;
  std::vector<Bytes> key;  // the certified key's fields after the nonce
  uint64_t serial = 0;
  uint32_t cert_type = 0;
  Bytes key_id;
  Bytes principals;  // section contents
  uint64_t valid_after = 0;
  uint64_t valid_before = 0;
  Bytes critical;    // section contents
  Bytes extensions;  // section contents
  Bytes reserved;
  Bytes signature_key;
  Bytes signature;
  Bytes trailing;  // bytes after the signature

  // Tbs returns the signed part: every byte before the signature field.
  Bytes Tbs() const;
  // Blob returns Tbs(), the signature as a string, then |trailing|.
  Bytes Blob() const;
};

// KeyFieldCount returns how many strings follow the nonce for the
// certificate name |type_name| (OpenSSH's types, DSA included), or 0.
size_t KeyFieldCount(std::string_view type_name);

// SplitCertificate cuts |blob| into fields; nullopt if the fields do not
// fit (an unknown type name, a string running past the end).
std::optional<CertFields> SplitCertificate(std::span<const uint8_t> blob);

// Hex returns |bytes| in lower-case hex, as ssh-keygen prints option data.
std::string Hex(std::span<const uint8_t> bytes);

}  // namespace certgate::testing

#endif  // CERTGATE_TESTS_CERTIFICATE_TESTING_H_
