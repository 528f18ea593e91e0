// iMIP messages: the iTIP calendar part and the words around it, per operation and member.
#include "invite/internal/itip.h"

#include <algorithm>
#include <sstream>

#include "convene/ical.h"

namespace convene::invite::internal {

namespace {

// How many coming sessions an invitation lists.
constexpr std::size_t kSessionsListed = 6;

LocalDay day_of(LocalTime t) { return date::floor<date::days>(t); }
std::string hh_mm(LocalTime t) { return format_local_minute(t).substr(11, 5); }

Person person_of(const std::string& text) {
  const auto parsed = mail::parse_address(text);
  if (!parsed.address) return {};
  return {parsed.address->name, parsed.address->email};
}

// "Monday 18 January 2027, 16:00–17:00"
std::string when(const Occurrence& o) {
  const auto zone = o.community->zone;
  const LocalTime start = *o.local_start;
  const LocalTime end = to_local(*o.end, zone);
  return format_day_long(day_of(start)) + " " + format_local_minute(start).substr(0, 4) + ", " + hh_mm(start) +
         "–" + hh_mm(end);
}

std::string join_of(const Occurrence* o, const SeriesDef& series) {
  if (o && o->override_def && o->override_def->join_url) return *o->override_def->join_url;
  return series.join_url.value_or("");
}

// "Mentoring Monday moved from Monday 18 January to Tuesday 19 January: Martin Luther
// King, Jr. Day" (the times too when the time of day changed).
std::string moved_line(const std::string& title, const Occurrence& o) {
  const LocalTime to = *o.local_start;
  std::string line = title + " moved from " + format_day_long(day_of(o.original));
  const bool time_changed = hh_mm(to) != hh_mm(o.original);
  if (time_changed) line += " " + hh_mm(o.original);
  line += " to " + format_day_long(day_of(to));
  if (time_changed) line += " " + hh_mm(to);
  const std::string why = reason_of(o);
  return why.empty() ? line : line + ": " + why;
}

// One line per session an update names.
std::string session_line(const std::string& title, const Occurrence& o) {
  if (!o.live()) {
    const std::string why = reason_of(o);
    return title + " on " + format_day_long(day_of(o.original)) + " is cancelled" + (why.empty() ? "" : ": " + why);
  }
  if (o.status == OccurrenceStatus::shifted || o.status == OccurrenceStatus::moved) return moved_line(title, o);
  return title + " on " + when(o) + " takes place as shown (its details changed)";
}

std::vector<std::string> coming_sessions(const SeriesSessions& s, Instant now) {
  std::vector<std::string> out;
  for (const auto& o : s.occurrences) {
    if (!o.live() || *o.end < now) continue;
    std::string line = "- " + when(o);
    if (o.status == OccurrenceStatus::shifted || o.status == OccurrenceStatus::moved) {
      line += " (moved from " + format_day_long(day_of(o.original));
      const std::string why = reason_of(o);
      line += (why.empty() ? "" : ": " + why) + ")";
    }
    out.push_back(line);
    if (out.size() == kSessionsListed) break;
  }
  return out;
}

// Element text for the HTML part: & < > " ' escaped.
// TODO(mail): convene::html::text once issue 7's one HTML escaper is on main.
std::string html_text(std::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Text and HTML from paragraphs (each a list of lines), HTML through the one escaper.
void set_body(Composed& c, const std::vector<std::vector<std::string>>& paragraphs) {
  std::string text, html = "<!DOCTYPE html>\n<html><body>\n";
  for (const auto& p : paragraphs) {
    if (p.empty()) continue;
    if (!text.empty()) text += "\n";
    html += "<p>";
    for (std::size_t i = 0; i < p.size(); ++i) {
      text += p[i] + "\n";
      html += (i ? "<br>\n" : "") + html_text(p[i]);
    }
    html += "</p>\n";
  }
  c.text = text;
  c.html = html + "</body></html>\n";
}

std::vector<std::string> join_paragraph(const std::string& join, const SeriesDef* series) {
  std::vector<std::string> p;
  if (!join.empty()) p.push_back("Join: " + join);
  if (series && series->location) p.push_back("Location: " + *series->location);
  return p;
}

Composed request(const ComposeInput& in) {
  const SyncContext& ctx = *in.ctx;
  const Operation& op = *in.op;
  const SeriesInScope& scope = *in.sessions->scope;
  const SeriesDef& series = *scope.series;
  Composed c;
  c.method = "REQUEST";
  c.organizer = series.organizer ? *series.organizer : Person{in.from.name, in.from.email};

  EventOptions options;
  options.uid_domain = ctx.uid_domain;
  options.itip = true;
  options.organizer = c.organizer;
  options.dtstamp = ctx.now;
  c.request = std::make_shared<const SeriesCalendar>(ctx.definitions, *scope.community, series, ctx.horizon,
                                                     ctx.revisions, options, "REQUEST");

  const std::string& title = series.title;
  std::vector<std::vector<std::string>> body;
  const bool fresh = op.kind == OperationKind::create || op.kind == OperationKind::add_attendee;
  if (fresh) {
    c.subject = "Invitation: " + title;
    body.push_back({"You are invited to " + title + " (" + scope.community->name + ")."});
    if (series.description) body.push_back({*series.description});
  } else {
    std::vector<std::string> changes;
    const Occurrence* only = nullptr;
    for (auto t : op.sessions)
      if (const Occurrence* o = in.sessions->find(t)) {
        changes.push_back(session_line(title, *o));
        only = o;
      }
    if (op.master) changes.insert(changes.begin(), title + " has changed: your calendar now shows the series as it is.");
    if (!op.master && op.sessions.size() == 1 && only && only->live() &&
        (only->status == OccurrenceStatus::shifted || only->status == OccurrenceStatus::moved)) {
      c.subject = title + " moved to " + format_day_long(day_of(*only->local_start));
    } else {
      c.subject = "Updated: " + title;
    }
    body.push_back(changes);
  }
  auto coming = coming_sessions(*in.sessions, ctx.now);
  if (!coming.empty()) {
    coming.insert(coming.begin(), "Coming sessions (" + scope.community->timezone + "):");
    body.push_back(coming);
  }
  const Occurrence* first_changed = op.sessions.empty() ? nullptr : in.sessions->find(op.sessions.front());
  body.push_back(join_paragraph(join_of(first_changed, series), &series));
  body.push_back({fresh ? "Accept the invitation to keep every session in your calendar; changes will reach it as updates."
                        : "Your calendar updates the sessions when you open this message."});
  set_body(c, body);
  return c;
}

Composed cancel_session(const ComposeInput& in) {
  const SyncContext& ctx = *in.ctx;
  const SeriesInScope& scope = *in.sessions->scope;
  const SeriesDef& series = *scope.series;
  const LocalTime original = in.op->sessions.front();
  const Occurrence* o = in.sessions->find(original);
  Composed c;
  c.method = "CANCEL";
  c.organizer = series.organizer ? *series.organizer : Person{in.from.name, in.from.email};
  CancelSpec spec;
  spec.uid = series.id + "@" + ctx.uid_domain;
  spec.recurrence_id = original;
  spec.timezone = scope.community->timezone;
  spec.start = original;
  spec.sequence = ctx.revisions.occurrence(series.id, original).sequence;
  spec.dtstamp = ctx.now;
  spec.summary = series.title;
  spec.comment = o ? reason_of(*o) : "";
  spec.organizer = c.organizer;
  c.cancel = spec;
  const std::string day = format_day_long(day_of(original));
  c.subject = "Cancelled: " + series.title + " on " + day;
  std::string line = series.title + " on " + day + " at " + hh_mm(original) + " is cancelled";
  line += spec.comment.empty() ? "." : ": " + spec.comment + ".";
  set_body(c, {{line}, {"The other sessions of " + series.title + " stay in your calendar as they are."}});
  return c;
}

Composed cancel_series(const ComposeInput& in) {
  const SyncContext& ctx = *in.ctx;
  Composed c;
  c.method = "CANCEL";
  const SeriesDef* series = in.sessions ? in.sessions->scope->series : nullptr;
  const std::string title = series ? series->title : in.record ? in.record->title : in.op->series;
  if (series && series->organizer) c.organizer = *series->organizer;
  else if (in.record && !in.record->organizer.empty()) c.organizer = person_of(in.record->organizer);
  if (c.organizer.email.empty()) c.organizer = {in.from.name, in.from.email};
  CancelSpec spec;
  spec.uid = in.op->series + "@" + ctx.uid_domain;
  spec.sequence = in.record ? in.record->sequence : 0;
  if (series) spec.sequence = std::max(spec.sequence, ctx.revisions.series(series->id).sequence);
  spec.dtstamp = ctx.now;
  spec.summary = title;
  spec.organizer = c.organizer;
  c.cancel = spec;
  c.subject = "Cancelled: " + title;
  if (in.op->kind == OperationKind::remove_attendee) {
    set_body(c, {{"You no longer receive " + title + " by invitation, so its sessions leave your calendar."},
                 {"Ask your facilitator to subscribe you again, or to send it to your feed instead."}});
  } else {
    set_body(c, {{title + " has been cancelled: every one of its sessions leaves your calendar."}});
  }
  return c;
}

}  // namespace

std::string Composed::ics_for(const Invitee& member) const {
  const Attendee attendee{member.email, member.name};
  if (request) return request->text_for(attendee);
  CancelSpec spec = *cancel;
  spec.attendees = {attendee};
  return cancel_calendar(spec);
}

const Occurrence* SeriesSessions::find(LocalTime original) const {
  for (const auto& o : occurrences)
    if (o.original == original) return &o;
  return nullptr;
}

std::string reason_of(const Occurrence& o) {
  if ((o.status == OccurrenceStatus::shifted || o.status == OccurrenceStatus::skipped) && o.holiday)
    return o.holiday->name;
  if (o.override_def && o.override_def->reason) return *o.override_def->reason;
  if (o.holiday) return o.holiday->name;
  return {};
}

Composed compose(const ComposeInput& in) {
  switch (in.op->kind) {
    case OperationKind::create:
    case OperationKind::add_attendee:
    case OperationKind::update: return request(in);
    case OperationKind::cancel_session: return cancel_session(in);
    case OperationKind::cancel_series:
    case OperationKind::remove_attendee: break;
  }
  return cancel_series(in);
}

}  // namespace convene::invite::internal
