// iMIP messages (RFC 6047) for the email target: what each planned operation says to one
// member, as a calendar part (iTIP, RFC 5546) and in words (text and HTML).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

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

struct ComposeInput {
  const SyncContext* ctx = nullptr;
  const Operation* op = nullptr;
  Invitee member;
  // The series as the store has it now (null for a series that left the target).
  const SeriesSessions* sessions = nullptr;
  // The copy's series record (what the member was last sent), when there is one.
  const RemoteRecord* record = nullptr;
  mail::Address from;
};

struct Composed {
  std::string method;   // REQUEST or CANCEL
  std::string subject;
  std::string text;
  std::string html;
  std::string ics;
  Person organizer;
};

// The message `in.op` sends `in.member`.
Composed compose(const ComposeInput& in);

// Why a session moved or does not take place: the holiday or closure for the policy's
// doing, else the facilitator's reason ("" when none is known).
std::string reason_of(const Occurrence& o);

}  // namespace convene::invite::internal
