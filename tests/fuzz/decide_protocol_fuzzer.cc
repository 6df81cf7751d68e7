// Fuzzes both parsers of the certgate-decide protocol (decide/protocol.h):
// the service's request parser and the client's answer parser, on the same
// bytes; whatever parses must re-encode to exactly those bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "decide/protocol.h"

using certgate::decide::AnswerView;
using certgate::decide::RequestView;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RequestView request;
  if (certgate::decide::ParseRequest(data, size, &request)) {
    std::vector<std::string> args;
    for (size_t i = 0; i < request.argc; ++i) {
      args.emplace_back(reinterpret_cast<const char*>(request.arg[i]), request.len[i]);
      if (std::strlen(args.back().c_str()) != request.len[i]) __builtin_trap();  // no NUL inside
    }
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    std::vector<uint8_t> again(size + 1);
    size_t n = certgate::decide::EncodeRequest(request.kind, argv.size(), argv.data(), again.data(), again.size());
    if (n != size || std::memcmp(again.data(), data, size) != 0) __builtin_trap();
  }
  AnswerView answer;
  if (certgate::decide::ParseAnswer(data, size, &answer)) {
    if (answer.exit_code < 0 || answer.exit_code > 255) __builtin_trap();
    if (answer.out_len > certgate::decide::kMaxAnswerOut || answer.err_len > certgate::decide::kMaxAnswerErr) {
      __builtin_trap();
    }
    std::vector<uint8_t> again(size);
    size_t n = answer.declined
                   ? certgate::decide::EncodeDecline(again.data(), again.size())
                   : certgate::decide::EncodeAnswer(answer.exit_code, answer.out, answer.out_len, answer.err,
                                                    answer.err_len, again.data(), again.size());
    if (n != size || std::memcmp(again.data(), data, size) != 0) __builtin_trap();
  }
  return 0;
}
