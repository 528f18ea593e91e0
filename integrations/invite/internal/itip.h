// iMIP messages (RFC 6047) for the email target: what each planned operation says to one
// member, as a calendar part (iTIP, RFC 5546) and in words (text and HTML).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convene/ical.h"
#include "convene/invite.h"
#include "convene/mail.h"
#include "convene/schedule.h"

namespace convene::invite::internal {

// The engine's occurrences of one series, as the events show them (the render span).
struct SeriesSessions {
  const SeriesInScope* scope = nullptr;
  std::vector<Occurrence> occurrences;
  const Occurrence* find(LocalTime original) const;
};

// What composing one operation's messages needs (the same for every member it goes to).
struct ComposeInput {
  const SyncContext* ctx = nullptr;
  const Operation* op = nullptr;
  // The series as the store has it now (null for a series that left the target).
  const SeriesSessions* sessions = nullptr;
  // A copy's series record (what the members were last sent), when there is one.
  const RemoteRecord* record = nullptr;
  mail::Address from;
};

// The messages of one operation: the words are the same for every member; the
// calendar part differs only in the member's own ATTENDEE.
struct Composed {
  std::string method;   // REQUEST or CANCEL
  std::string subject;
  std::string text;
  std::string html;
  Person organizer;
  std::shared_ptr<const SeriesCalendar> request;  // REQUEST: rendered once
  std::optional<CancelSpec> cancel;                // CANCEL
  // The calendar part of the message to `member`.
  std::string ics_for(const Invitee& member) const;
};

Composed compose(const ComposeInput& in);

// Why a session moved or does not take place: the holiday or closure for the policy's
// doing, else the facilitator's reason ("" when none is known).
std::string reason_of(const Occurrence& o);

}  // namespace convene::invite::internal
