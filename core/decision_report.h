// Turning a Decision into words: the one log record per decision, and the
// rule-by-rule explanation of --explain.
#ifndef CERTGATE_CORE_DECISION_REPORT_H_
#define CERTGATE_CORE_DECISION_REPORT_H_

#include <cstdint>
#include <string>

#include "core/certificate.h"
#include "core/log.h"
#include "core/policy_eval.h"

namespace certgate::core {

// DecisionRecord returns the log record of |decision| for |user| with the
// CERTGATE_* journal fields of product.md. |cert| may be null when the
// certificate could not be decoded (then |decision.reason| says why).
// |program| is "principals-cmd" or "keys-cmd".
LogRecord DecisionRecord(const char* program, const std::string& user, const Certificate* cert,
                         const Decision& decision);

// ExplainDecision returns the human explanation printed by --explain, of
// a decision at |now|: the current time, or one given with --at
// (|at_given|, so that a certificate valid then is not said "valid now").
std::string ExplainDecision(const std::string& user, const Certificate& cert,
                            const Decision& decision, uint64_t now, bool at_given);

// DescribeCertificate returns the certificate's fields, one per line,
// indented by two spaces (used by --explain).
std::string DescribeCertificate(const Certificate& cert);

// FormatTime renders |t| seconds since the epoch as "2026-11-22T10:00:00Z";
// UINT64_MAX as "forever".
std::string FormatTime(uint64_t t);

}  // namespace certgate::core

#endif  // CERTGATE_CORE_DECISION_REPORT_H_
