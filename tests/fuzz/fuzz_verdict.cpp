// libFuzzer target for the verdict parser: any bytes a model might emit must give a verdict or a
// typed problem, never a crash, hang or out-of-range verdict.
//   clang++ build with -DKSPAM_BUILD_FUZZERS=ON, then: fuzz_verdict -max_total_time=60 corpus/
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "kspam/text/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const kspam::text::VerdictResult r = kspam::text::parse_verdict(text);
  if (r.ok()) {
    // A verdict is always complete and in range, and comes from a '{'...'}' span of the input.
    if (!r.verdict || !(r.verdict->confidence >= 0.0 && r.verdict->confidence <= 1.0)) std::abort();
    if (r.verdict->reason.size() > kspam::text::VerdictLimits{}.max_reason_bytes) std::abort();
    if (r.object_end <= r.object_begin || r.object_end > size || text[r.object_begin] != '{' ||
        text[r.object_end - 1] != '}')
      std::abort();
  } else if (r.verdict) {
    std::abort();
  }
  return 0;
}
