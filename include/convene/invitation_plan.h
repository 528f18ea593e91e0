// convene/invitation_plan.h: what must be sent so every target shows every series right.
//
// Invitations keep a copy of each series in places convene cannot read back cheaply
// (a member's inbox and calendar, an organizer's CalDAV collection, a Google or
// Microsoft 365 calendar). So the store keeps, per target, what it last pushed there
// (the mapping: RemoteRecord rows), and a sync is the difference between that and what
// the store says now (DesiredSeries), as a plan of operations. This unit is that
// difference: a pure function, no network, no clock, no SQL, so a plan can be shown
// (`convene sync --dry-run`) exactly as it will be carried out.
//
// How a target holds a series (Holding):
//   - shared (CalDAV, Google, Graph): one event per series in the organizer's calendar,
//     with the invitees as its attendees; the service delivers the invitations. Its
//     records are the series (occurrence unset, with the attendees last pushed) and one
//     per session that is not "live at revision 0", all with copy "".
//   - per_member (email, iMIP): a copy per invitee, kept by the invitee's own calendar
//     from the messages convene sends. Its records are the same, once per copy, with copy
//     = the address the copy was sent to (a member who changes address gets a CANCEL at
//     the old one and a REQUEST at the new one).
//
// A session's state is (revision, live). A session absent from the records was pushed
// live at revision 0 (records are kept for every other session, so this holds). A
// series is "changed" when its revision or the day its event runs to (`covers`: the end
// of an open-ended series' rule moves with the feed horizon) differs from the record's.
// A copy that was cancelled keeps its series record, not live (a tombstone), with its
// `generation` raised. Keys hold the generation and the revisions a change brings, so a
// retry of the same change has the same key (whatever else was sent meanwhile) and a
// later, equal change (unsubscribed, subscribed again, unsubscribed again) a new one.
//
// The operations, per series (Operation::kind), and what each target does with them:
//   create           the series is new on the target: shared: the event with its
//                    attendees; per_member: a REQUEST (master and overrides) to every
//                    invitee.
//   update           the series (`master`) or some sessions (`sessions`, live now) changed:
//                    shared: the event (or its instances); per_member: a REQUEST with
//                    the higher SEQUENCE to each copy that is behind.
//   cancel_session   one session that was live is not any more: shared: the instance
//                    cancelled; per_member: a CANCEL with its RECURRENCE-ID.
//   cancel_series    the series left the target (removed, or out of its scope): shared:
//                    the event deleted; per_member: a CANCEL of the whole series.
//   add_attendee     new invitees of a series already there: shared: added as attendees;
//                    per_member: a REQUEST to each.
//   remove_attendee  invitees who left (unsubscribed, removed, delivery back to feed):
//                    shared: removed from the attendees; per_member: a CANCEL to each.
// Operations of one series come in this order: cancel_series, remove_attendee, create,
// update, cancel_session, add_attendee; series in the order of `desired` (then removed
// ones, by id). Every operation has a key, the same for the same change whatever the
// run, from which targets derive their idempotency keys (outbox rows, transactionIds).
//
// After an operation succeeds, `records_after` gives the records that now describe the
// target, so a runner stores exactly what it pushed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/time.h"

namespace convene {

enum class TargetKind { email, caldav, google, graph };
std::string_view to_string(TargetKind kind);
std::optional<TargetKind> parse_target_kind(std::string_view text);

enum class Holding { shared, per_member };
Holding holding_of(TargetKind kind);

// A member invited to a series.
struct Invitee {
  std::string member;  // member id
  std::string email;
  std::string name;
  friend bool operator==(const Invitee&, const Invitee&) = default;
};

// A session whose state is not "live at revision 0".
struct SessionState {
  LocalTime original;
  std::uint64_t sequence = 0;
  bool live = true;
  friend bool operator==(const SessionState&, const SessionState&) = default;
};

// What a series should look like on a target.
struct DesiredSeries {
  std::string series;
  std::string title;                    // shown when it is cancelled (not compared)
  std::string organizer;                // "Name <address>" the events name (not compared)
  std::uint64_t sequence = 0;           // the series' revision
  LocalDay covers{};                    // the last day its event's rule runs to
  std::vector<SessionState> sessions;   // sorted by original, each once
  std::vector<Invitee> invitees;        // sorted by member, each once
};

// One row of the mapping: what the target was last given.
struct RemoteRecord {
  std::string series;
  std::optional<LocalTime> occurrence;  // unset: the series itself
  std::string copy;                     // "" (shared) or the address of a per-member copy
  std::string remote_id;                // CalDAV href, Google/Graph event id, or the UID
  std::string etag;
  std::uint64_t sequence = 0;
  bool live = true;
  LocalDay covers{};                    // the series record: the day its rule ran to
  std::vector<Invitee> invitees;        // the series record: the attendees (shared) or the copy's member
  std::uint64_t generation = 0;         // the series record: raised each time the copy is cancelled
  std::string title;                    // the series record: the title last pushed
  std::string organizer;                // the series record: the ORGANIZER last pushed
  friend bool operator==(const RemoteRecord&, const RemoteRecord&) = default;
};

enum class OperationKind { create, update, cancel_session, cancel_series, add_attendee, remove_attendee };
std::string_view to_string(OperationKind kind);

struct Operation {
  OperationKind kind = OperationKind::create;
  std::string series;
  bool master = false;               // update: the series itself changed
  std::vector<LocalTime> sessions;   // update: sessions changed and live; cancel_session: the one
  // per_member: the copies it is for; add/remove_attendee (shared): who joins or leaves.
  std::vector<Invitee> members;
  // The operation's key: "<series>/<kind>/g<generation>/..." for shared targets; for
  // per_member ones, `keys` holds one per member (the copy's address and generation in it).
  std::string key;
  std::vector<std::string> keys;
  friend bool operator==(const Operation&, const Operation&) = default;
};

struct TargetPlan {
  std::vector<Operation> operations;
  bool empty() const { return operations.empty(); }
  std::size_t count(OperationKind kind) const;
};

// The operations that bring a target holding `remote` to `desired`.
TargetPlan plan_target(const std::vector<DesiredSeries>& desired, const std::vector<RemoteRecord>& remote,
                       Holding holding);

// The records of one copy ("" for shared) of `desired` after `op` succeeded for it,
// given that copy's records before (`current`, any order). `remote_id` and `etag` are
// what the target answered (kept from `current` when empty). A cancel_series, or a
// remove_attendee of a per-member copy, leaves the tombstone. `desired` may be null only
// for cancel_series.
std::vector<RemoteRecord> records_after(const DesiredSeries* desired, const Operation& op, const std::string& copy,
                                        const std::vector<RemoteRecord>& current, const std::string& remote_id,
                                        const std::string& etag);

}  // namespace convene
