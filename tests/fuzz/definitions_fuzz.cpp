// libFuzzer target: the definitions loader and the engine behind it.
//
// The input is a definitions file. It is loaded as `convene check` loads one (ICS paths
// resolve against samples/, so "district-2026-27.ics" reads the sample's school
// calendar); besides crashes, hangs and sanitizer reports it checks:
//   - every diagnostic is one line of at most kMaxLine bytes, valid UTF-8 without control
//     characters: values reach messages through quote_value() only;
//   - a file that loads writes back to a file that loads to the same JSON (to_json is a
//     fixpoint: load(write(d)) == d, the loader's contract);
//   - the engine expands it over the 2026-27 school year and validates it without a
//     crash (an engine Error is an answer, not a finding).
// See docs/fuzzing.md for how to build and run it, and what it found.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "convene/definitions.h"
#include "convene/schedule.h"
#include "convene/validate.h"

#ifndef CONVENE_SOURCE_DIR
#error "CONVENE_SOURCE_DIR must name the source tree (the samples the ICS paths resolve against)"
#endif

namespace {

constexpr std::size_t kMaxLine = 4096;

[[noreturn]] void fail(const char* what, std::string_view context) {
  std::fprintf(stderr, "definitions_fuzz: %s\n%.*s\n", what, int(std::min<std::size_t>(context.size(), 2000)),
               context.data());
  std::abort();
}

void check_message(const std::string& line) {
  if (line.size() > kMaxLine) fail("a diagnostic longer than 4096 bytes", line);
  for (std::size_t i = 0; i < line.size();) {
    const auto cp = convene::decode_utf8(std::string_view(line).substr(i));
    if (!cp) fail("a diagnostic that is not UTF-8", line);
    if (cp->value < 0x20 || cp->value == 0x7F) fail("a diagnostic with a control character", line);
    i += cp->length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string samples = std::string(CONVENE_SOURCE_DIR) + "/samples";
  const auto loaded = convene::parse_definitions(text, "fuzz.json", samples);
  for (const auto& d : loaded.diagnostics) check_message(d.to_string());
  if (!loaded.ok()) return 0;

  const std::string written = convene::to_json(*loaded.definitions).dump(2);
  const auto again = convene::parse_definitions(written, "written.json", samples);
  if (!again.ok()) fail("to_json wrote a file that does not load", written);
  if (convene::to_json(*again.definitions).dump(2) != written) fail("load(write(d)) != d", written);

  try {
    const convene::Window season{*convene::parse_date("2026-09-01"), *convene::parse_date("2027-06-30")};
    (void)convene::expand(*loaded.definitions, season);
    for (const auto& d : convene::validate_schedule(*loaded.definitions)) check_message(d.to_string());
  } catch (const convene::Error& e) {
    check_message(e.what());
  }
  return 0;
}
