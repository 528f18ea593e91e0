// convene/reminder_plan.h: which reminders and change notices must be sent, and when.
//
// The planner is a pure function of the store's state and the clock: the definitions
// (what takes place when), the revisions (when each session got the state it has), the
// recent changes (the audit trail), the members with what they follow and their
// preferences, the messages already waiting in the outbox, and "now". It returns the
// messages that must exist, each with an idempotency key, a due time and what it is
// about; the messages waiting that are no longer wanted (withdrawn, and why); and log
// lines for what it dropped. It reads nothing else and sends nothing: the worker
// (convene/remind.h) writes its plan into the outbox and dispatches what is due.
//
// The rules (one place for each):
//   - Reminders. For every member whose channel is not "none", every series they follow
//     (directly, by community or through a split: Store::subscribed_series) and every
//     session of it that takes place, one reminder per offset: the member's offsets, or
//     the series' `reminders` when the member has none. Due at start - offset. A
//     community channel (a Slack or Teams webhook for the whole community) gets the same,
//     at its own offsets (or the series'). Key:
//       reminder/<member>/<series>/<occurrence>/<offset>/<start UTC>
//       community/<channel>/<series>/<occurrence>/<offset>/<start UTC>
//     The start is in the key, so a session moved to another time is another reminder
//     (the one for the old time is withdrawn while it waits) and an edit of its agenda
//     is not (nothing is sent twice).
//   - No reminder at booking time: a reminder whose due time came before the session
//     had its current state (its revision's `modified`) or before the member joined is
//     not planned; a change notice told them (cal.com #10749).
//   - Lateness: a reminder is planned up to kReminderLookahead before it is due. After
//     downtime, one that came due while nothing ran is still sent while its session has
//     not started, marked late (dispatch_rule); once the session has started it is
//     dropped with a log line.
//   - Change notices. A reschedule, cancellation, closure, split, restore or reopen that
//     touches a session starting within the community's notice horizon (default
//     kNoticeHorizon) after the change tells every member following the series, at once,
//     whatever their delivery: one notice per member per change, listing each session
//     it touched that they follow (a week-long closure is one message, not five). Key:
//       notice/<member>/c<audit id>       notice-community/<channel>/c<audit id>
//     however many times it is planned. Changes older than kNoticeLookback are not
//     looked at; a notice whose sessions are all over is dropped.
//   - Digests (opt-in: Member::digest). Once a week, at the member's chosen weekday and
//     local time (DigestTime, resolved in their display zone, or the zone of the first
//     community they follow, by resolve_local), one message: the sessions of what they
//     follow in the kDigestSpan from its due time (cancelled and closed ones marked), and
//     what changed since the previous digest was due (reschedules, cancellations,
//     closures, splits, restores: the audit trail, each with the facilitator's reason).
//     It is planned when due, not before (its words are of that moment), and sent while
//     less than kDigestCatchUp late; later it is dropped with a log line. Not planned
//     for a member who follows nothing, or for a week whose time came before the member
//     joined. Key: digest/<member>/<ISO week of its local day>, e.g. digest/rosa/2027-W05,
//     so a member who moves their digest to another day gets one that week, not two.
//     Withdrawn while waiting when the member turns it off, is removed, or it is late.
//   - Withdrawal. A waiting reminder the plan no longer holds is withdrawn, with the
//     reason: the session moved, was cancelled or no longer takes place, the member left
//     or stopped following it or turned reminders off, or the session started.
//
// How to use:
//   ReminderPlanInput in{.definitions = &defs, .revisions = snapshot.revisions,
//                        .followers = ..., .changes = ..., .pending = ..., .now = clock.now()};
//   ReminderPlan plan = plan_reminders(in);
//   for (const auto& m : plan.messages) ...   // enqueue by m.key
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/definitions.h"
#include "convene/revision.h"
#include "convene/schedule.h"
#include "convene/store.h"
#include "convene/time.h"

namespace convene {

// How far after a change a session may start and still be worth a notice (per
// community; ReminderPlanInput::notice_horizons overrides it).
inline constexpr Seconds kNoticeHorizon = std::chrono::days{14};
// Reminders are planned (written to the outbox) this long before they are due.
inline constexpr Seconds kReminderLookahead = std::chrono::days{8};
// Changes this recent are read for notices; older ones were planned already.
inline constexpr Seconds kNoticeLookback = std::chrono::days{2};
// A message sent more than this after its due time is late (logged as such).
inline constexpr Seconds kLateAfter = std::chrono::minutes{1};
// A digest lists the sessions this long after its due time.
inline constexpr Seconds kDigestSpan = std::chrono::days{7};
// A digest that could not go out at its time is sent up to this late, then dropped.
inline constexpr Seconds kDigestCatchUp = std::chrono::hours{6};
// The audit trail a pass reads: the notices' lookback, and a digest's week (the
// previous digest's due time is at most a week and a DST hour before this one's, which
// is at most kDigestCatchUp ago).
inline constexpr Seconds kChangesLookback =
    std::max(kNoticeLookback, kDigestSpan + std::chrono::hours{1} + kDigestCatchUp);
// The audit actions that notify members.
inline constexpr std::string_view kNoticeActions[] = {"reschedule", "cancel", "close", "split", "restore", "reopen"};

enum class MessageKind {
  reminder,  // "Tomorrow at 4:00 pm: Mentoring Monday"
  notice,    // "Mentoring Monday moved to Tuesday 9 February, 4:00 pm"
  digest,    // "Your week from Monday 1 February: 5 sessions"
};
std::string_view to_string(MessageKind kind);

// What a notice says happened to the session.
enum class NoticeKind {
  moved,      // takes place at another time than before
  cancelled,  // cancelled by a facilitator
  closed,     // does not take place: a closure (snow day) or a holiday policy
  back_on,    // takes place again (restore, reopen)
};
std::string_view to_string(NoticeKind kind);

// A member and the series they follow (Store::subscribed_series).
struct Follower {
  Member member;
  std::vector<std::string> series;
};

// A channel for a whole community ("Power Hour starts in 15 minutes"), e.g. a webhook.
struct CommunityChannel {
  std::string name;                // the channel's name (unique), in its keys
  std::string community;
  std::vector<Seconds> offsets;    // empty: each series' reminders
};

// A message waiting in the outbox (planned, not yet handed to a server).
struct PendingMessage {
  std::string key;
  MessageKind kind = MessageKind::reminder;
  std::string member;              // "" for a community channel
  std::string series;
  LocalTime occurrence;
  Instant session_start{};         // the start it was planned for
};

struct ReminderPlanInput {
  const Definitions* definitions = nullptr;
  RevisionSource revisions;
  std::vector<Follower> followers;
  std::vector<CommunityChannel> community_channels;
  // The recent audit records (those of kNoticeActions create notices; others are ignored).
  std::vector<AuditRecord> changes;
  std::vector<PendingMessage> pending;
  std::map<std::string, Seconds, std::less<>> notice_horizons;  // by community id
  Instant now{};
};

// One session a notice tells about.
struct NoticeSession {
  NoticeKind kind = NoticeKind::moved;
  std::string series;              // the series it was in (a split's old one)
  LocalTime occurrence;            // its identity there
  std::string shown_series;        // where it is now (a split's new series), else == series
  LocalTime shown_occurrence;
  std::uint64_t revision = 0;      // its revision after the change
  Instant was{};                   // its original start's instant
  Instant start{};                 // its start now (or, when it does not take place, `was`)
  std::string why;                 // the engine's reason ("Snow day"), when it has one
  friend bool operator==(const NoticeSession&, const NoticeSession&) = default;
};

// A digest's session of the coming week (live or not: Occurrence::status says).
struct DigestSession {
  std::string series;
  LocalTime occurrence;
  friend bool operator==(const DigestSession&, const DigestSession&) = default;
};

// A digest's change since the previous digest: the session, and what the record says.
struct DigestChange {
  NoticeSession session;
  std::string action;                 // "reschedule", "cancel", "close", ...
  std::optional<std::string> reason;  // the facilitator's
  Instant at{};                       // when it was made
  friend bool operator==(const DigestChange&, const DigestChange&) = default;
};

// One message that must exist in the outbox.
struct PlannedMessage {
  std::string key;
  MessageKind kind = MessageKind::reminder;
  std::optional<NoticeKind> notice;
  std::string member;              // "" for a community channel
  std::string channel;             // "email", "webhook", or the community channel's name
  std::string community;
  std::string series;
  LocalTime occurrence;            // the session's identity (a notice: its first session's)
  std::optional<Seconds> offset;   // reminders
  Instant due{};
  // When the session starts (for one that no longer takes place, when it would have);
  // a notice: the latest of its sessions'.
  Instant session_start{};
  std::uint64_t revision = 0;      // the session's revision the message describes
  std::uint64_t change = 0;        // notices: the audit record
  std::string action;              // notices: the record's action ("reschedule", "close", ...)
  std::optional<std::string> reason;  // notices: the facilitator's reason
  std::vector<NoticeSession> sessions;  // notices: what it tells, in time order
  // Digests: the zone its time was resolved in (and its words are in), the coming
  // week's sessions in time order, the changes in the order they were made, and the
  // week it is for ("2027-W05"). Its session_start is the time it is dropped after.
  const date::time_zone* zone = nullptr;
  std::vector<DigestSession> upcoming;
  std::vector<DigestChange> changes;
  std::string week;
  friend bool operator==(const PlannedMessage&, const PlannedMessage&) = default;
};

struct Withdrawal {
  std::string key;
  std::string reason;              // "the session moved", "the session was cancelled", ...
};

struct ReminderPlan {
  std::vector<PlannedMessage> messages;  // by due time, then key
  std::vector<Withdrawal> withdrawals;
  std::vector<std::string> log;          // "dropped reminder/...: the session started at ..."
  // The earliest due time after `now` of a planned message, or of the next reminder to
  // enter the lookahead: when the worker must plan or send next.
  std::optional<Instant> next_wake;
};

// The plan at input.now. Throws what expand() throws.
ReminderPlan plan_reminders(const ReminderPlanInput& input);

// What a worker does with a due message at `now`.
enum class Dispatch {
  wait,       // not due yet
  send,       // on time
  send_late,  // due more than kLateAfter ago, and its session has not started: log it late
  drop,       // its session has started (a reminder) or is over (a notice): log and drop
};
Dispatch dispatch_rule(MessageKind kind, Instant due, Instant session_start, Instant now);

}  // namespace convene
