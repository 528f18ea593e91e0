// Attendance: who accepted, declined, tentatively accepted or has not answered, per
// session (convene/views.h).
#include <algorithm>
#include <map>
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

namespace {

// The answers shown, in this order, with the words the text view uses.
constexpr std::pair<Answer, const char*> kShown[] = {{Answer::accepted, "accepted"},
                                                     {Answer::tentative, "tentative"},
                                                     {Answer::declined, "declined"},
                                                     {Answer::none, "not answered"}};

// The latest read of each address, for the series and for each session.
struct Latest {
  std::map<std::string, const AttendeeResponse*> whole;
  std::map<std::pair<LocalTime, std::string>, const AttendeeResponse*> sessions;

  static void keep(const AttendeeResponse*& slot, const AttendeeResponse& r) {
    if (!slot || r.read_at > slot->read_at) slot = &r;
  }
  explicit Latest(const std::vector<AttendeeResponse>& responses) {
    for (const auto& r : responses) {
      if (r.occurrence) keep(sessions[{*r.occurrence, response_email(r.email)}], r);
      else keep(whole[response_email(r.email)], r);
    }
  }
};

AttendanceEntry entry_for(const Latest& latest, LocalTime original, AttendanceEntry e) {
  const std::string key = response_email(e.email);
  const AttendeeResponse* r = nullptr;
  if (auto it = latest.sessions.find({original, key}); it != latest.sessions.end()) r = it->second;
  e.for_session = r != nullptr;
  if (!r)
    if (auto it = latest.whole.find(key); it != latest.whole.end()) r = it->second;
  if (r) {
    e.answer = r->answer;
    e.read_at = r->read_at;
    e.target = r->target;
    if (e.member.empty()) e.member = r->member;
  }
  return e;
}

std::string session_label(const Occurrence& o) {
  const LocalTime shown = o.local_start.value_or(o.original);
  const LocalDay day{date::floor<date::days>(shown)};
  return format_date(day) + " " + short_weekday(day) + " " + hh_mm(shown);
}

std::string who(const AttendanceEntry& e) { return e.name.empty() ? e.email : e.name; }

}  // namespace

std::size_t AttendanceSession::count(Answer answer) const {
  return std::size_t(std::count_if(entries.begin(), entries.end(),
                                   [&](const AttendanceEntry& e) { return e.answer == answer; }));
}

std::vector<AttendanceSession> attendance(const std::vector<Occurrence>& sessions,
                                          const std::vector<Invitee>& invitees,
                                          const std::vector<AttendeeResponse>& responses) {
  const Latest latest(responses);
  // Everyone: the invitees, then the addresses a target lists that are no invitee's.
  std::vector<AttendanceEntry> people;
  std::map<std::string, bool> seen;
  for (const auto& i : invitees) {
    people.push_back({i.member, i.email, i.name, Answer::none, false, std::nullopt, ""});
    seen[response_email(i.email)] = true;
  }
  for (const auto& r : responses)
    if (!seen[response_email(r.email)]) {
      seen[response_email(r.email)] = true;
      people.push_back({r.member, response_email(r.email), "", Answer::none, false, std::nullopt, ""});
    }
  std::vector<AttendanceSession> out;
  for (const auto& o : sessions) {
    AttendanceSession s{&o, {}};
    for (const auto& p : people) s.entries.push_back(entry_for(latest, o.original, p));
    out.push_back(std::move(s));
  }
  return out;
}

std::string attendance_text(const SeriesDef& series, const std::vector<AttendanceSession>& sessions) {
  std::ostringstream out;
  out << series.title << " (" << series.id << "): " << count_of(sessions.size(), "session", "sessions") << "\n";
  for (const auto& s : sessions) {
    out << session_label(*s.occurrence) << " ";
    if (!s.occurrence->live()) out << " (" << to_string(s.occurrence->status) << ")";
    for (std::size_t i = 0; i < std::size(kShown); ++i)
      out << (i ? ", " : " ") << kShown[i].second << " " << s.count(kShown[i].first);
    out << "\n";
    for (const auto& [answer, word] : kShown) {
      std::string names;
      for (const auto& e : s.entries)
        if (e.answer == answer) names += (names.empty() ? "" : ", ") + who(e);
      if (!names.empty()) out << "  " << word << ": " << names << "\n";
    }
  }
  if (sessions.empty()) out << "  no sessions\n";
  return out.str();
}

Json attendance_json(const SeriesDef& series, const CommunityDef& community,
                     const std::vector<AttendanceSession>& sessions) {
  Json j;
  j["series"] = series.id;
  j["title"] = series.title;
  j["timezone"] = community.timezone;
  j["sessions"] = array_of(sessions, [&](const AttendanceSession& s) {
    const Occurrence& o = *s.occurrence;
    Json x;
    x["occurrence_id"] = o.occurrence_id();
    x["start"] = o.start ? Json(format_rfc3339(*o.start, community.zone)) : Json(nullptr);
    x["status"] = std::string(to_string(o.status));
    for (const auto& [answer, word] : kShown) x[std::string(to_string(answer))] = s.count(answer);
    x["attendees"] = array_of(s.entries, [](const AttendanceEntry& e) {
      return Json{{"member", text_or_null(e.member)},
                  {"email", e.email},
                  {"name", text_or_null(e.name)},
                  {"response", std::string(to_string(e.answer))},
                  {"for_session", e.for_session},
                  {"read_at", e.read_at ? Json(utc(*e.read_at)) : Json(nullptr)},
                  {"target", text_or_null(e.target)}};
    });
    return x;
  });
  return j;
}

std::string attendance_csv(const SeriesDef& series, const std::vector<AttendanceSession>& sessions) {
  std::ostringstream out;
  out << "series,occurrence_id,start,status,member,email,name,response,for_session,read_at,target\r\n";
  for (const auto& s : sessions) {
    const Occurrence& o = *s.occurrence;
    for (const auto& e : s.entries) {
      out << csv_field(series.id) << ',' << o.occurrence_id() << ','
          << (o.local_start ? format_local_minute(*o.local_start) : "") << ',' << to_string(o.status) << ','
          << csv_field(e.member) << ',' << csv_field(e.email) << ',' << csv_field(e.name) << ','
          << to_string(e.answer) << ',' << (e.for_session ? "true" : "false") << ','
          << (e.read_at ? utc(*e.read_at) : "") << ',' << csv_field(e.target) << "\r\n";
    }
  }
  return out.str();
}

}  // namespace convene::views
