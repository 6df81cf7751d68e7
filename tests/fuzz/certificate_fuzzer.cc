// Fuzzes the certificate and public-key parsers with raw blobs. A blob that
// parses as a certificate is then decided against a policy that trusts its
// CA and grants every principal, and what sshd would read is checked: only
// principals IsPrintablePrincipal takes, in well-formed UTF-8 with no
// control character but the line ends.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/certificate.h"
#include "core/compiled_policy.h"
#include "core/groups.h"
#include "core/policy.h"
#include "core/policy_eval.h"
#include "core/sshd_output.h"
#include "core/ssh_key.h"
#include "core/utf8.h"

namespace {

namespace core = certgate::core;

// CheckShownSafely traps unless |text| is well-formed UTF-8 whose only
// characters IsShownSafely refuses are '\n'.
void CheckShownSafely(std::string_view text) {
  while (!text.empty()) {
    uint32_t cp = 0;
    const size_t len = core::DecodeUtf8(text, &cp);
    if (len == 0 || (cp != '\n' && !core::IsShownSafely(cp))) __builtin_trap();
    text.remove_prefix(len);
  }
}

// Decide grants |cert| every principal it holds, from a policy whose one
// authority is its CA, and checks both helpers' answers.
void Decide(const core::Certificate& cert) {
  core::Policy policy;
  core::Authority ca;
  ca.name = "ca";
  ca.keys.push_back(cert.signature_key);
  ca.allow_sha1 = true;
  policy.authorities.push_back(std::move(ca));
  core::Rule rule;
  rule.name = "all";
  rule.number = 1;
  rule.users = {"*"};
  rule.authorities = {0};
  rule.principals = {"*"};
  rule.where.file = std::make_shared<const std::string>("fuzz.yaml");
  policy.rules.push_back(std::move(rule));
  core::Result<std::shared_ptr<const core::CompiledPolicy>> compiled = core::CompilePolicy(policy);
  if (!compiled) __builtin_trap();

  core::StaticGroupResolver groups;
  core::Request request;
  request.user = "alice";
  request.cert = &cert;
  request.now = cert.valid_after;
  const core::Decision d = core::Evaluate(**compiled, request, nullptr, groups);
  for (const core::Grant& grant : d.grants) {
    if (!core::IsPrintablePrincipal(grant.principal)) __builtin_trap();
  }
  const std::string principals = core::FormatPrincipalsOutput(d.grants);
  CheckShownSafely(principals);
  CheckShownSafely(core::FormatCertAuthorityLines(d.grants, cert.signature_key));
  // Each granted principal is one line of principals-cmd's answer.
  size_t lines = 0;
  for (char c : principals) lines += c == '\n' ? 1 : 0;
  if (lines != d.grants.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> blob(data, size);
  core::Result<core::Certificate> cert = core::ParseCertificate(blob);
  if (cert) {
    // A certificate that parsed must be self-consistent.
    if (cert->principals.size() > core::kMaxPrincipals) __builtin_trap();
    if (cert->blob.size() != size) __builtin_trap();
    Decide(*cert);
  }
  (void)core::ParsePublicKeyBlob(blob);
  return 0;
}
