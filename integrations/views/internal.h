// Helpers the views share (not part of convene/views.h).
#pragma once

#include <string>

#include "convene/views.h"

namespace convene::views::internal {

// A string, or null when empty / unset.
Json or_null(const std::optional<std::string>& value);
Json text_or_null(const std::string& value);
// "2027-02-01T09:00:00Z"
std::string utc(Instant at);
// "2027-02-01 09:00Z": the history table's compact form.
std::string utc_short(Instant at);
// "Mon" for a day.
const char* short_weekday(LocalDay day);
// "16:00"
std::string hh_mm(LocalTime t);
// "1 session", "2 sessions"
std::string count_of(std::size_t n, const std::string& singular, const std::string& plural);

// One RFC 4180 field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& value);

// A JSON array of `each(item)` for every item.
template <class T, class Each>
Json array_of(const std::vector<T>& items, Each each) {
  Json array = Json::array();
  for (const auto& item : items) array.push_back(each(item));
  return array;
}

// Why a session is where it is: its reason, where it was moved from (`original_shown`,
// the original start as the view shows times), its own title when an override gave one.
std::string why(const Occurrence& occurrence, LocalTime original_shown);

}  // namespace convene::views::internal
