// libFuzzer target: RRULE parsing and iteration.
//
// The input's first line picks the start and the zone: "YYYY-MM-DDTHH:MM ZONE" (an
// unreadable first line means 2026-09-14T16:00 America/New_York); the rest is an RRULE.
// A rule that parses is iterated (at most kMaxInstances instances) and, besides crashes,
// hangs and sanitizer reports, checked for:
//   - instances strictly increasing, the first one the start (DTSTART is the first
//     instance), COUNT instances at most when COUNT is given;
//   - seek(t) agreeing with next(): the first instance at or after an instance the
//     iteration met is that instance;
//   - to_string() giving a rule that parses to the same rule;
//   - a refused rule's message being short and printable (quote_value's bound).
// See docs/fuzzing.md for how to build and run it, and what it found.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "convene/recurrence.h"
#include "convene/time.h"
#include "convene/validate.h"

namespace {

// Bounds on the work one input does, so that every input stays far below libFuzzer's
// -timeout=2 even on a loaded machine at nice 19: a sparse rule (FREQ=YEARLY;BYYEARDAY=366
// from 2012, Europe/London) still walks the years up to the engine's horizon (2200) to
// find its instances, and each seek() check walks again (the first long run stopped on
// such a seed: 0.2 s under ASan with 2,000 instances and 7 seeks, over 2 s of wall time
// at nice 19 with a load of 11; with 500 and 3 the slowest seed takes a third of that).
// A sparse rule is also followed only for kYears after its start (FREQ=YEARLY;BYWEEKNO=53
// walks its week-years to 2200 otherwise: 0.4 s under ASan).
constexpr std::size_t kMaxInstances = 500;
constexpr auto kYears = date::years{60};

[[noreturn]] void fail(const char* what, std::string_view rule) {
  std::fprintf(stderr, "rrule_fuzz: %s\nrule: %.*s\n", what, int(std::min<std::size_t>(rule.size(), 2000)), rule.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view head = newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
  const std::string_view rule_text = newline == std::string_view::npos ? input : input.substr(newline + 1);

  convene::LocalTime start = *convene::parse_local_minute("2026-09-14T16:00");
  const date::time_zone* zone = convene::find_zone("America/New_York");
  if (head.size() > 17) {
    if (auto t = convene::parse_local_minute(head.substr(0, 16))) start = *t;
    if (auto* z = convene::find_zone(head.substr(17))) zone = z;
  }

  const auto parsed = convene::RecurrenceRule::parse(rule_text);
  if (!parsed) {
    if (parsed.error().size() > 4096) fail("a refusal longer than 4096 bytes", rule_text);
    for (unsigned char c : parsed.error())
      if (c < 0x20 || c == 0x7F) fail("a refusal with a control character", rule_text);
    return 0;
  }
  const auto again = convene::RecurrenceRule::parse(parsed->to_string());
  if (!again || !(*again == *parsed)) fail("to_string() does not parse back to the same rule", rule_text);

  std::vector<convene::LocalTime> instances;
  convene::RecurrenceIterator it(*parsed, start, zone);
  while (instances.size() < kMaxInstances) {
    auto t = it.next();
    if (!t || *t > start + kYears) break;
    if (!instances.empty() && *t <= instances.back()) fail("instances not strictly increasing", rule_text);
    instances.push_back(*t);
  }
  if (!instances.empty() && instances.front() != start) fail("the first instance is not DTSTART", rule_text);
  if (parsed->count && instances.size() > static_cast<std::size_t>(*parsed->count))
    fail("more instances than COUNT", rule_text);
  // seek() to a few instances met (the second, one in the middle, the last): the next
  // instance is that one.
  const std::size_t n = instances.size();
  for (const std::size_t k : {std::size_t{1}, n / 2, n - 1}) {
    if (k == 0 || k >= n) continue;
    convene::RecurrenceIterator seeker(*parsed, start, zone);
    seeker.seek(instances[k]);
    auto t = seeker.next();
    if (!t || *t != instances[k]) fail("seek(t) disagrees with next()", rule_text);
  }
  return 0;
}
