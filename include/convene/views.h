// convene/views.h: what convene shows of its data, as text, JSON and CSV, in one place
// for every front end (the CLI prints these; the web pages and the JSON API will serve
// the same JSON). A view takes library values (occurrences, audit records, members,
// change results) and returns text or an nlohmann::ordered_json whose keys come in the
// documented order; it reads nothing and writes nothing.
//
// The JSON field names are a contract for scripts (docs/cli.md lists them): fields are
// never renamed or removed, new ones may be added. Times are RFC 3339 with the offset of
// the zone they are shown in; local times are "YYYY-MM-DDTHH:MM"; instants of the store
// (audit records, revisions) are UTC "YYYY-MM-DDTHH:MM:SSZ"; absent values are null.
//
// How to use:
//   auto occurrences = convene::expand(defs, window);
//   std::cout << convene::views::occurrences_json(occurrences).dump(2) << "\n";
//   std::cout << convene::views::preview_text(defs, occurrences, window, std::nullopt);
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/accounts.h"
#include "convene/agenda.h"
#include "convene/definitions.h"
#include "convene/feed_catalog.h"
#include "convene/reminder_plan.h"
#include "convene/schedule.h"
#include "convene/store.h"

namespace convene::views {

using Json = nlohmann::ordered_json;

// --- occurrences (expand, preview) -------------------------------------------------

// {community, series, title, occurrence_id, start, end, local_start, timezone, status,
//  reason, holiday: {name, calendar, date} | null}; start/end in the community's zone.
Json occurrence_json(const Occurrence& occurrence);
Json occurrences_json(const std::vector<Occurrence>& occurrences);
// The same fields as CSV (RFC 4180, CRLF), holiday as two columns (holiday, holiday_calendar).
std::string occurrences_csv(const std::vector<Occurrence>& occurrences);

// One season table per series: date, weekday, local time, status and why.
std::string preview_text(const Definitions& definitions, const std::vector<Occurrence>& occurrences,
                         Window window, const std::optional<std::string>& only_series);
// {from, to, series: [{id, title, community, timezone, time, duration, rrule, on_holiday,
//  sessions, live, occurrences: [occurrence_json...]}]}
Json preview_json(const Definitions& definitions, const std::vector<Occurrence>& occurrences, Window window,
                  const std::optional<std::string>& only_series);

// --- check ---------------------------------------------------------------------------

// "FILE: ok: 3 calendars, 3 communities, 7 series, 3 overrides (1 warning)"
std::string check_text(const Definitions& definitions, std::size_t warnings);
// {source, ok: true, calendars, communities, series, overrides,
//  warnings: [{where, message}]}
Json check_json(const Definitions& definitions, const std::vector<Diagnostic>& warnings);

// --- the agenda ------------------------------------------------------------------------

// A table in the viewer's zone: date, weekday, time, series, community, status, why.
std::string agenda_text(const Agenda& agenda);
// {from, to, timezone, sessions: [occurrence_json + {viewer_start, viewer_end, at}]}:
// viewer_start/viewer_end are the start and end in the viewer's zone (null when skipped
// or cancelled), `at` the instant the agenda places the session at (its start, or its
// original start when it does not take place), in the viewer's zone.
Json agenda_json(const Agenda& agenda);

// --- the store: history, revisions, changes ----------------------------------------------

// [{id, at, actor, action, series, occurrence, target, summary, reason, before, after,
//   affected: [{series, occurrence, revision}]}]
Json history_json(const std::vector<AuditRecord>& records);
std::string history_text(const std::vector<AuditRecord>& records, const std::optional<std::string>& series);

// {series, occurrence (null for the series), revision, modified}
Json revision_json(std::string_view series, std::optional<LocalTime> occurrence, const Revision& revision);
std::string revision_text(std::string_view series, std::optional<LocalTime> occurrence, const Revision& revision);

// What a change did, or (dry_run) would do:
// {dry_run, changed, change (the audit id; null when nothing changed or dry run), actor,
//  summary, affected: [{series, occurrence, revision}], series: [ids whose revision moved]}
Json change_json(const ChangeResult& result, const ChangeContext& context, bool dry_run);
std::string change_text(const ChangeResult& result, const ChangeContext& context, bool dry_run);

// --- members -----------------------------------------------------------------------------

// A member with what they follow.
struct MemberView {
  Member member;
  std::vector<Subscription> subscriptions;
  std::vector<std::string> series;  // every series followed, directly or by community
};

// {id, name, email, timezone, reminders: {offsets: ["PT15M"], channel}, delivery
//  ("feed" | "invite"), created,
//  token_issued, subscriptions: ["series:ID" | "community:ID"], series: [ids]}
Json member_json(const MemberView& member);
Json members_json(const std::vector<MemberView>& members);
std::string member_text(const MemberView& member);
std::string members_text(const std::vector<MemberView>& members);

// A feed's links: the https URL and its webcal:// form (what calendar apps subscribe to).
struct FeedLinks {
  std::string url;     // "https://cop.example.org/feeds/members/TOKEN.ics"
  std::string webcal;  // "webcal://cop.example.org/feeds/members/TOKEN.ics"
};
// `base_url` is absolute http(s), without a trailing "/".
FeedLinks feed_links(std::string_view base_url, const FeedPath& path);

// A member's new token (member add, rotate-token) and, when the public base URL is known,
// the links to give them: {member, email, token, feed_path, url, webcal, dry_run}. A
// rehearsal (dry_run) issued no token: token, feed_path, url and webcal are null.
Json issued_token_json(const IssuedToken& issued, const std::optional<FeedLinks>& links, bool dry_run = false);
// `rotated`: the wording for rotate-token (the old link no longer works).
std::string issued_token_text(const IssuedToken& issued, const std::optional<FeedLinks>& links, bool rotated,
                              bool dry_run = false);

// --- reminders and change notices (convene/reminder_plan.h) ---------------------------------

// A reminder's or notice's words, in the reader's zone: `subject` one line, `text` the
// plain-text body (LF line ends), `facts` the same as (label, value) pairs for HTML and
// webhook cards.
struct MessageText {
  std::string subject;
  std::string text;
  std::vector<std::pair<std::string, std::string>> facts;
};

// "Tuesday 2 February 2027, 5:00 pm EST": a start as a member reads it, in `zone`.
std::string reader_time(Instant at, const date::time_zone* zone);

// A reminder of `session` (a live one) sent `offset` before it, in `zone` (the member's
// display zone; nullptr: the community's): "Tomorrow at 4:00 pm EST: Mentoring Monday" or
// "In 15 minutes: Power Hour", then the title, date and time with the zone, why it moved,
// the join link or location, the agenda, the description and the resources.
MessageText reminder_text(const Occurrence& session, Seconds offset, const date::time_zone* zone);

// A change notice: what happened to each session it lists (its NoticeSession and the
// session as it is now), the facilitator's reason, in `zone` (nullptr: the community's).
struct NoticeItem {
  NoticeSession change;
  const Occurrence* now = nullptr;  // the session as it is now
};
MessageText notice_text(const PlannedMessage& notice, const std::vector<NoticeItem>& items, const date::time_zone* zone);
// A weekly digest (PlannedMessage of kind digest), in digest.zone: the week's sessions
// (cancelled and closed ones marked, join link or location for the others), what changed
// since the last digest with the facilitators' reasons, and when it comes. `session`
// finds a session by series and original start (nullptr: out of reach, left out).
using SessionLookup = std::function<const Occurrence*(const std::string& series, LocalTime occurrence)>;
MessageText digest_text(const PlannedMessage& digest, const SessionLookup& session);
// The words of a message's one-click unsubscribe link, as what it stops (convene/remind.h:
// a digest's link stops the weekly digest alone, the others' the reminders and notices):
// "Stop this weekly digest", "Stop these reminders".
std::string_view unsubscribe_words(MessageKind kind);

// The HTML part of a reminder, notice or digest (`kind`): the subject, then its facts (a
// join link and resources as links, through html::url_attribute), then, with
// `unsubscribe_url`, a link to stop them (unsubscribe_words). Every value through
// convene/html.h.
std::string message_html(const MessageText& text, std::string_view unsubscribe_url,
                         MessageKind kind = MessageKind::reminder);

// --- users and API tokens (the workspace's accounts, convene/accounts.h) ---------------------

// {email, name, role, communities: [ids], password_set, created}
Json user_json(const User& user);
Json users_json(const std::vector<User>& users);
std::string users_text(const std::vector<User>& users);
// A new user (user add) or a new password link (user password-link): the one-time link to
// set a password, under the public base URL when it is known:
// {user: user_json, password_link, password_path, expires}.
Json password_link_json(const User& user, const IssuedSecret& link, const std::optional<std::string>& base_url);
std::string password_link_text(const User& user, const IssuedSecret& link, const std::optional<std::string>& base_url,
                               bool added);

// {name, communities: [ids] | "all", created, last_used}
Json api_token_json(const ApiToken& token);
Json api_tokens_json(const std::vector<ApiToken>& tokens);
std::string api_tokens_text(const std::vector<ApiToken>& tokens);
// A new API token, shown once: {name, communities, token}.
Json issued_api_token_json(const ApiTokenSpec& spec, const IssuedSecret& issued);
std::string issued_api_token_text(const ApiTokenSpec& spec, const IssuedSecret& issued);

// --- attendance (convene attendance): who answered what, per session ----------------------

// One attendee's answer for one session: the session's own (for_session) when the
// target keeps one, else the series', else none (not answered, or not read yet).
struct AttendanceEntry {
  std::string member;  // "" when the address is no member's
  std::string email;
  std::string name;
  Answer answer = Answer::none;
  bool for_session = false;
  std::optional<Instant> read_at;  // when the target said so; unset: never read
  std::string target;              // the target that said so ("" when never read)
};

struct AttendanceSession {
  const Occurrence* occurrence = nullptr;
  std::vector<AttendanceEntry> entries;  // the invitees by member id, then other addresses
  std::size_t count(Answer answer) const;
};

// The attendance of `sessions` (one series' occurrences): its invitees (Store::invitees)
// and whoever else a target lists, with the answers of `responses` (Store::responses).
// Several targets answering for one address: the latest read wins.
std::vector<AttendanceSession> attendance(const std::vector<Occurrence>& sessions,
                                          const std::vector<Invitee>& invitees,
                                          const std::vector<AttendeeResponse>& responses);
// Per session: "2026-09-09 Wed 15:00  accepted 2, tentative 0, declined 1, not answered 1",
// then a line per answer with the names.
std::string attendance_text(const SeriesDef& series, const std::vector<AttendanceSession>& sessions);
// {series, title, timezone, sessions: [{occurrence_id, start (null when it does not take
//  place), status, accepted, tentative, declined, none, attendees: [{member, email, name,
//  response, for_session, read_at, target}]}]}
Json attendance_json(const SeriesDef& series, const CommunityDef& community,
                     const std::vector<AttendanceSession>& sessions);
// One row per session and attendee: series, occurrence_id, start, status, member, email,
// name, response, for_session, read_at, target (RFC 4180, CRLF).
std::string attendance_csv(const SeriesDef& series, const std::vector<AttendanceSession>& sessions);

}  // namespace convene::views
