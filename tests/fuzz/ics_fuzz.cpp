// libFuzzer target: ICS import (the closures of a school or district calendar).
//
// The input is an iCalendar file, read as a calendar's "ics" file is. Besides crashes,
// hangs and sanitizer reports it checks:
//   - an error is one line of at most 4096 bytes, without control characters;
//   - every closure read has to >= from and a name;
//   - the closures index (HolidayIndex, over the years convene supports) agrees with
//     them: the first day of each closure in those years is a holiday.
// See docs/fuzzing.md for how to build and run it, and what it found.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "convene/holiday_calendar.h"
#include "convene/limits.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view context) {
  std::fprintf(stderr, "ics_fuzz: %s\n%.*s\n", what, int(std::min<std::size_t>(context.size(), 2000)), context.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto read = convene::parse_ics_closures(text, "fuzz.ics");
  if (!read.error.empty()) {
    if (read.error.size() > 4096) fail("an error longer than 4096 bytes", read.error);
    for (unsigned char c : read.error)
      if (c < 0x20 || c == 0x7F) fail("an error with a control character", read.error);
    return 0;
  }
  const convene::LocalDay lo{date::year{convene::kMinYear} / 1 / 1};
  const convene::LocalDay hi{date::year{convene::kMaxYear} / 12 / 31};
  for (const auto& c : read.closures) {
    if (c.to < c.from) fail("a closure that ends before it starts", c.name);
  }
  const auto calendar = convene::HolidayCalendar{"district"}.with_closures(read.closures);
  const convene::HolidayIndex index({&calendar}, lo, hi);
  for (const auto& c : read.closures) {
    if (c.from >= lo && c.from <= hi && !index.contains(c.from)) fail("a closure's first day is not indexed", c.name);
  }
  return 0;
}
