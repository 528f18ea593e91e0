// Views of reminders and change notices: what a member reads, in their zone.
#include <algorithm>
#include <sstream>

#include "convene/html.h"
#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

namespace {

const date::time_zone* zone_for(const Occurrence& o, const date::time_zone* zone) {
  return zone ? zone : o.community->zone;
}

// "4:00 pm"
std::string clock_time(LocalTime t) {
  const auto day = date::floor<date::days>(t);
  const date::hh_mm_ss tod{t - day};
  const int h = static_cast<int>(tod.hours().count());
  char buf[16];
  std::snprintf(buf, sizeof buf, "%d:%02d %s", h % 12 == 0 ? 12 : h % 12, static_cast<int>(tod.minutes().count()),
                h < 12 ? "am" : "pm");
  return buf;
}

std::string abbreviation(Instant at, const date::time_zone* zone) { return zone->get_info(at).abbrev; }

// "4:00 pm EST"
std::string reader_clock(Instant at, const date::time_zone* zone) {
  return clock_time(to_local(at, zone)) + " " + abbreviation(at, zone);
}

std::string year_of(LocalDay day) { return std::to_string(static_cast<int>(date::year_month_day{day}.year())); }

// "15 minutes", "2 hours", "90 minutes"
std::string span_text(Seconds s) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(s).count();
  if (minutes % 60 == 0 && minutes >= 60) return count_of(std::size_t(minutes / 60), "hour", "hours");
  return count_of(std::size_t(minutes), "minute", "minutes");
}

// A session's own value of a field: its override's, else its series'.
std::optional<std::string> field_of(const Occurrence& o, const std::optional<std::string> OverrideDef::*field,
                                    const std::optional<std::string>& own) {
  const OverrideDef* ov = o.override_def;
  return ov && (ov->*field) ? (ov->*field) : own;
}

// What a member needs of a session: the lines of the body and its facts.
void describe(const Occurrence& o, const date::time_zone* zone, MessageText& out) {
  std::ostringstream body;
  body << o.title() << "\n";
  std::string when = reader_time(*o.start, zone);
  if (o.end) when += " to " + reader_clock(*o.end, zone);
  if (zone != o.community->zone) when += " (" + zone->name() + ")";
  body << when << "\n";
  out.facts.emplace_back("When", when);
  const std::string moved = why(o, to_local(resolve_local(o.original, o.community->zone), zone));
  if (!moved.empty()) {
    body << "Why it moved: " << moved << "\n";
    out.facts.emplace_back("Why it moved", moved);
  }
  const OverrideDef* ov = o.override_def;
  const auto pick = [&](const std::optional<std::string> OverrideDef::*field, const std::optional<std::string>& own) {
    return field_of(o, field, own);
  };
  const auto fact = [&](const char* label, const std::optional<std::string>& value) {
    if (!value || value->empty()) return;
    body << label << ": " << *value << "\n";
    out.facts.emplace_back(label, *value);
  };
  fact("Join", pick(&OverrideDef::join_url, o.series->join_url));
  fact("Location", pick(&OverrideDef::location, o.series->location));
  fact("Presenter", pick(&OverrideDef::presenter, o.series->presenter));
  fact("Agenda", ov ? ov->agenda : std::nullopt);
  fact("About", pick(&OverrideDef::description, o.series->description));
  if (ov && !ov->resources.empty()) {
    body << "Resources:\n";
    for (const auto& r : ov->resources) {
      body << "  - " << r.title << ": " << r.url << "\n";
      out.facts.emplace_back("Resource", r.title + ": " + r.url);
    }
  }
  body << o.community->name << "\n";
  out.text = body.str();
}

std::string day_and_time(Instant at, const date::time_zone* zone) {
  const LocalTime local = to_local(at, zone);
  return format_day_long(date::floor<date::days>(local)) + ", " + reader_clock(at, zone);
}

// One line of a notice for one session.
std::string notice_line(const NoticeItem& item, const date::time_zone* zone) {
  const auto& c = item.change;
  const std::string was = day_and_time(c.was, zone);
  switch (c.kind) {
    case NoticeKind::moved: return "moved from " + was + " to " + day_and_time(c.start, zone);
    case NoticeKind::back_on: return "takes place again: " + day_and_time(c.start, zone);
    case NoticeKind::cancelled: return "cancelled: " + was;
    case NoticeKind::closed: return "does not take place: " + was + (c.why.empty() ? "" : " (" + c.why + ")");
  }
  return was;
}

std::string notice_subject(const PlannedMessage& notice, const std::vector<NoticeItem>& items, const date::time_zone* zone) {
  const std::string title = items.front().now->title();
  if (items.size() > 1) return title + ": " + std::to_string(items.size()) + " sessions change";
  const auto& c = items.front().change;
  switch (c.kind) {
    case NoticeKind::moved: return title + " moved to " + day_and_time(c.start, zone);
    case NoticeKind::back_on: return title + " is back on: " + day_and_time(c.start, zone);
    case NoticeKind::cancelled: return "Cancelled: " + title + " on " + day_and_time(c.was, zone);
    case NoticeKind::closed: return "Not taking place: " + title + " on " + day_and_time(c.was, zone);
  }
  (void)notice;
  return title;
}

}  // namespace

std::string reader_time(Instant at, const date::time_zone* zone) {
  const LocalTime local = to_local(at, zone);
  const LocalDay day = date::floor<date::days>(local);
  return format_day_long(day) + " " + year_of(day) + ", " + reader_clock(at, zone);
}

MessageText reminder_text(const Occurrence& session, Seconds offset, const date::time_zone* zone) {
  zone = zone_for(session, zone);
  MessageText out;
  describe(session, zone, out);
  const Instant start = *session.start;
  const LocalDay day = date::floor<date::days>(to_local(start, zone));
  const LocalDay sent = date::floor<date::days>(to_local(start - offset, zone));
  const std::string at = reader_clock(start, zone);
  if (offset < std::chrono::hours{1}) out.subject = "In " + span_text(offset) + ": " + session.title() + " (" + at + ")";
  else if (day == sent) out.subject = "Today at " + at + ": " + session.title();
  else if (day == sent + date::days{1}) out.subject = "Tomorrow at " + at + ": " + session.title();
  else out.subject = format_day_long(day) + " at " + at + ": " + session.title();
  return out;
}

MessageText notice_text(const PlannedMessage& notice, const std::vector<NoticeItem>& items, const date::time_zone* zone) {
  MessageText out;
  if (items.empty()) return out;
  zone = zone_for(*items.front().now, zone);
  out.subject = notice_subject(notice, items, zone);
  std::ostringstream body;
  body << items.front().now->title() << ":\n";
  for (const auto& item : items) {
    const std::string line = notice_line(item, zone);
    body << "  - " << line << "\n";
    out.facts.emplace_back(item.now->title(), line);
  }
  if (notice.reason && !notice.reason->empty()) {
    body << "Why: " << *notice.reason << "\n";
    out.facts.emplace_back("Why", *notice.reason);
  }
  body << "Times in " << zone->name() << ". " << items.front().now->community->name << "\n";
  out.text = body.str();
  return out;
}

std::string_view unsubscribe_words(MessageKind kind) {
  return kind == MessageKind::digest ? "Stop this weekly digest" : "Stop these reminders";
}

std::string message_html(const MessageText& text, std::string_view unsubscribe_url, MessageKind kind) {
  std::ostringstream out;
  out << "<!doctype html><html><head><meta charset=\"utf-8\"><title>" << html::text(text.subject)
      << "</title></head><body>\n<h1 style=\"font-size:1.25em\">" << html::text(text.subject) << "</h1>\n<dl>\n";
  for (const auto& [label, value] : text.facts) {
    out << "<dt><strong>" << html::text(label) << "</strong></dt><dd>";
    const auto colon = value.rfind(": http");
    if (label == "Join") {
      out << "<a href=\"" << html::url_attribute(value) << "\">" << html::text(value) << "</a>";
    } else if (label == "Resource" && colon != std::string::npos) {
      const std::string url = value.substr(colon + 2);
      out << "<a href=\"" << html::url_attribute(url) << "\">" << html::text(value.substr(0, colon)) << "</a>";
    } else {
      out << html::text(value);
    }
    out << "</dd>\n";
  }
  out << "</dl>\n";
  if (!unsubscribe_url.empty())
    out << "<p style=\"font-size:0.875em\"><a href=\"" << html::url_attribute(unsubscribe_url)
        << "\">" << html::text(unsubscribe_words(kind)) << "</a></p>\n";
  out << "</body></html>\n";
  return out.str();
}

// --- the weekly digest ------------------------------------------------------------------

namespace {

// One session of a digest's week: "Monday 1 February, 4:00 pm EST: Mentoring Monday",
// its status when it does not take place, then where to join it.
void digest_session(const Occurrence& o, const date::time_zone* zone, std::ostringstream& body, MessageText& out) {
  const Instant at = o.start ? *o.start : resolve_local(o.original, o.community->zone);
  std::string line = o.title();
  if (o.status == OccurrenceStatus::cancelled) line += ": cancelled";
  else if (!o.live()) line += ": does not take place" + (o.reason.empty() ? "" : " (" + o.reason + ")");
  else if (const std::string moved = why(o, to_local(resolve_local(o.original, o.community->zone), zone)); !moved.empty())
    line += ": " + moved;
  const std::string when = day_and_time(at, zone);
  body << when << ": " << line << "\n";
  out.facts.emplace_back(when, line);
  if (!o.live()) return;
  for (const auto& [label, value] : {std::pair{"Join", field_of(o, &OverrideDef::join_url, o.series->join_url)},
                                     std::pair{"Location", field_of(o, &OverrideDef::location, o.series->location)}}) {
    if (!value || value->empty()) continue;
    body << "  " << label << ": " << *value << "\n";
    out.facts.emplace_back(label, *value);
  }
}

}  // namespace

MessageText digest_text(const PlannedMessage& digest, const SessionLookup& session) {
  MessageText out;
  const date::time_zone* zone = digest.zone;
  const LocalDay first = date::floor<date::days>(digest.occurrence);
  const LocalDay last = first + date::days{6};
  std::vector<const Occurrence*> coming;
  for (const auto& s : digest.upcoming)
    if (const Occurrence* o = session(s.series, s.occurrence)) coming.push_back(o);
  const std::size_t live = static_cast<std::size_t>(
      std::count_if(coming.begin(), coming.end(), [](const Occurrence* o) { return o->live(); }));
  out.subject = "Your week from " + format_day_long(first) + ": " +
                (live ? count_of(live, "session", "sessions") : std::string("no sessions"));
  std::ostringstream body;
  body << "Your sessions from " << format_day_long(first) << " to " << format_day_long(last) << " " << year_of(last)
       << ", in " << zone->name() << ":\n\n";
  for (const Occurrence* o : coming) digest_session(*o, zone, body, out);
  if (coming.empty()) body << "Nothing is planned for what you follow.\n";
  body << "\n";
  if (digest.changes.empty()) body << "Nothing changed since your last digest.\n";
  else body << "What changed since your last digest:\n";
  for (const auto& c : digest.changes) {
    const Occurrence* now = session(c.session.shown_series, c.session.shown_occurrence);
    if (!now) continue;
    std::string line = now->title() + " " + notice_line({c.session, now}, zone);
    if (c.reason && !c.reason->empty()) line += ". Why: " + *c.reason;
    body << "  - " << line << "\n";
    out.facts.emplace_back("Changed", line);
  }
  const std::string day = format_day_long(first);  // "Monday 1 February": its weekday is the digest's
  body << "\nYou get this digest every " << day.substr(0, day.find(' ')) << " at " << clock_time(digest.occurrence)
       << " (" << zone->name() << ").\n";
  out.text = body.str();
  return out;
}

}  // namespace convene::views
