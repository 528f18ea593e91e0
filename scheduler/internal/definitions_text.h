// Small text helpers of the definitions loader: JSON pointers (RFC 6901) and
// "did you mean" suggestions by edit distance.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace convene::definitions_internal {

// The optimal-string-alignment (restricted Damerau-Levenshtein) distance, ignoring
// ASCII case: "rrul" → "rrule" is 1, "on_hloiday" → "on_holiday" is 1 (a transposition).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The same, but any distance above `limit` is reported as limit + 1, found without
// computing it exactly (words whose lengths differ by more are not compared at all).
std::size_t bounded_edit_distance(std::string_view a, std::string_view b, std::size_t limit);

// The candidate nearest to `word`, if it is near enough to be a likely typo: at most
// 2 edits, and at most 1 for words of 3 letters or fewer ("x" suggests nothing).
// A tie goes to the candidate listed first. Bounded work (convene/limits.h): a word longer
// than kMaxSuggestedWordLength gets no suggestion, and only the first
// kMaxSuggestionCandidates candidates are considered.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

// One RFC 6901 reference token: "~" → "~0", "/" → "~1".
std::string escape_pointer_token(std::string_view token);

// Up to `limit` IANA zone names (zone_names(): zones and links of the tz database) near
// `name`: by edit distance on the whole name, or on its last part when `name` has no
// "/" ("New_York" → "America/New_York", "Eastern" → "US/Eastern"). A name longer than
// kMaxSuggestedWordLength gets none.
std::vector<std::string> nearest_zones(std::string_view name, std::size_t limit = 3);

}  // namespace convene::definitions_internal
