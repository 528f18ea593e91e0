// Views of the agenda: every session in the viewer's zone.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

std::string agenda_text(const Agenda& agenda) {
  const date::time_zone* zone = agenda.query.zone;
  std::ostringstream out;
  out << "Agenda " << format_date(agenda.query.from) << " to " << format_date(agenda.query.to) << " · times in "
      << zone->name() << "\n";
  if (agenda.entries.empty()) {
    out << "  (no sessions in this window)\n";
    return out.str();
  }
  std::size_t title_w = 6, community_w = 9, live = 0;
  for (const auto& e : agenda.entries) {
    title_w = std::max(title_w, e.occurrence.title().size());
    community_w = std::max(community_w, e.occurrence.community->id.size());
  }
  out << "  Date        Day  Time         " << std::left << std::setw(static_cast<int>(title_w)) << "Series" << "  "
      << std::setw(static_cast<int>(community_w)) << "Community" << "  Status     Why\n";
  for (const auto& e : agenda.entries) {
    const Occurrence& o = e.occurrence;
    const LocalTime at = to_local(e.at, zone);
    const LocalDay day = date::floor<date::days>(at);
    std::string time = hh_mm(at);
    if (o.live()) {
      ++live;
      time += "–" + hh_mm(to_local(*o.end, zone));
    }
    const LocalTime original = to_local(resolve_local(o.original, o.community->zone), zone);
    out << "  " << format_date(day) << "  " << short_weekday(day) << "  " << std::left << std::setw(11) << time
        << "  " << std::setw(static_cast<int>(title_w)) << o.title() << "  "
        << std::setw(static_cast<int>(community_w)) << o.community->id << "  " << std::setw(9) << to_string(o.status);
    if (const std::string w = why(o, original); !w.empty()) out << "  " << w;
    out << "\n";
  }
  out << "  " << count_of(agenda.entries.size(), "session", "sessions") << ", " << live << " taking place\n";
  return out.str();
}

Json agenda_json(const Agenda& agenda) {
  const date::time_zone* zone = agenda.query.zone;
  Json j;
  j["from"] = format_date(agenda.query.from);
  j["to"] = format_date(agenda.query.to);
  j["timezone"] = zone->name();
  j["sessions"] = Json::array();
  for (const auto& e : agenda.entries) {
    Json s = occurrence_json(e.occurrence);
    s["viewer_start"] = e.occurrence.start ? Json(format_rfc3339(*e.occurrence.start, zone)) : Json(nullptr);
    s["viewer_end"] = e.occurrence.end ? Json(format_rfc3339(*e.occurrence.end, zone)) : Json(nullptr);
    s["at"] = format_rfc3339(e.at, zone);
    j["sessions"].push_back(std::move(s));
  }
  return j;
}

}  // namespace convene::views
