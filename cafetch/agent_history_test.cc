// Tests of the key history through RunOnce (agent.cc): when a key the
// issuer stopped listing is retired and dropped, keys adopted from
// cafetch's own key file when the state is lost, when key events are
// logged, and the state file's size limit. The fixture is agent_testing.h's.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cafetch/agent.h"
#include "cafetch/agent_testing.h"
#include "cafetch/state.h"
#include "core/ssh_key.h"
#include "tests/testing.h"

namespace certgate::cafetch {
namespace {

using ::certgate::testing::LargeRsaKeyLine;
using ::certgate::testing::ReadFile;
using ::certgate::testing::WriteFile;

// LargeKeys returns |count| LargeRsaKeyLine lines from |first| on.
std::string LargeKeys(uint32_t first, uint32_t count) {
  std::string out;
  for (uint32_t i = first; i < first + count; ++i) out += LargeRsaKeyLine(i) + "\n";
  return out;
}

// The audit's case: rounds of many large keys (the issuer moving to a new
// set again and again within keep_retired, the old ones retired) made a
// state file every later round refused. The round that would write it
// fails before anything changes, saying how many keys and bytes and what
// to do; the state in place still loads, and a round that fits works.
TEST_F(AgentTest, AStateTooLargeToLoadIsNeverWritten) {
  WriteFile(config_.sshd.config, BaseConfig());
  config_.keep_retired_seconds = 86400;
  const uint32_t per_answer = 60;  // an answer lists at most 64 keys
  uint32_t round = 0;
  core::Result<RunOutcome> r = RunOutcome{};
  std::map<std::string, std::string> before;
  for (; round < 10; ++round) {
    before = Watched();
    WriteFile(dir_.Path("issuer.pub"), LargeKeys(round * per_answer, per_answer));
    r = Run(1000 + round);
    if (!r) break;
  }
  ASSERT_FALSE(r) << "10 rounds of " << per_answer << " large keys fit";
  EXPECT_EQ(r.error().code, core::Errc::kTooLarge);
  const uint32_t keys = (round + 1) * per_answer;
  EXPECT_GT(static_cast<size_t>(keys) * 2700, kMaxStateFileSize);  // the limit, not another error
  EXPECT_NE(r.error().detail.find(" bytes for " + std::to_string(keys) + " CA keys (60 listed, " +
                                  std::to_string(keys - per_answer) +
                                  " retired), over the state file's limit of " + std::to_string(kMaxStateFileSize) +
                                  " bytes; lower keep_retired"),
            std::string::npos)
      << r.error().detail;
  EXPECT_EQ(FailureOutcome(r.error()), "nothing changed");
  EXPECT_EQ(Watched(), before);
  EXPECT_FALSE(Run(1000 + round, /*dry_run=*/true));  // what --once would refuse
  ASSERT_TRUE(LoadState(config_.state_dir));
  // Once the retired keys have gone, the same answer fits.
  auto later = Run(1000 + 86400 + round);
  ASSERT_TRUE(later) << later.error().detail;
  ASSERT_TRUE(LoadState(config_.state_dir));
}

}  // namespace
}  // namespace certgate::cafetch
