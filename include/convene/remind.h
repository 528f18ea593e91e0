// convene/remind.h: reminders and change notices, planned into the outbox and sent.
//
// One pass (`convene remind --once`, and each wake of `convene worker`) at the clock's now:
//   1. reads the store in one snapshot (definitions, revisions, members with what they
//      follow, the recent audit trail, the messages waiting in the outbox);
//   2. plans (convene/reminder_plan.h: the rules live there, nowhere else);
//   3. renders each new email message once (convene/views.h words, convene/mail.h
//      headers and MIME, a deterministic Message-ID from its key and recipient), through
//      the email target that covers the member's community (`convene target add NAME
//      --kind email ...`), and writes it to the outbox under its key: planning twice
//      never makes two; it withdraws what the plan no longer wants;
//   4. sends what is due through that target's SMTP server: "sending" is recorded before
//      the message is handed over, "sent" after the server's 250. A crash between the
//      250 and that commit sends the message again at the next pass, with the same
//      Message-ID (the window SMTP cannot close). A reminder whose session has started is
//      dropped (logged); one sent more than kLateAfter after its due time is logged late.
//      A refused recipient fails alone; a deferred one is retried at later passes, after
//      kMaxAttempts it is failed with its last error; a server that is down stops only
//      its target's messages.
//
// How to use:
//   convene::remind::PassOptions options;
//   auto report = convene::remind::run_once(*store, clock, options);
//   for (const auto& line : report.log) std::cerr << line << "\n";
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/clock.h"
#include "convene/reminder_plan.h"
#include "convene/store.h"

namespace convene::remind {

// A deferred message is tried at this many passes before it counts as failed.
inline constexpr std::uint32_t kMaxAttempts = 8;

struct PassOptions {
  bool dry_run = false;                // plan and show; write and send nothing
  std::filesystem::path key_file;      // for targets' sealed secrets (empty: none)
};

struct PassReport {
  std::size_t planned = 0;     // new messages written to the outbox
  std::size_t withdrawn = 0;   // no longer wanted (the dropped ones included)
  std::size_t sent = 0;
  std::size_t late = 0;        // of those sent, more than kLateAfter after their due time
  std::size_t dropped = 0;     // their session had started
  std::size_t failed = 0;      // refused for good, or out of attempts
  std::size_t deferred = 0;    // to be tried again
  std::vector<std::string> log;  // one line per drop, late message, failure, skipped member
  ReminderPlan plan;             // what was planned (a dry run shows it)
  std::optional<Instant> next_wake;  // when the next pass has work
};

// The planner's input as the store holds it at `now` (the definitions inside `snapshot`,
// which must outlive the result).
ReminderPlanInput plan_input(const Store& store, const StoreSnapshot& snapshot, Instant now);

// One pass at clock.now(). Throws StoreError for a store that cannot be read or written.
PassReport run_once(Store& store, const Clock& clock, const PassOptions& options = {});

// `convene remind --once` and `convene reminders`: what a pass did, and the outbox.
std::string report_text(const PassReport& report, bool dry_run);
nlohmann::ordered_json report_json(const PassReport& report, bool dry_run);
// [{id, key, kind, member, series, occurrence, recipient, state, attempts, last_error,
//   due, not_after, updated}]
nlohmann::ordered_json outbox_json(const std::vector<OutboxMessage>& messages);
std::string outbox_text(const std::vector<OutboxMessage>& messages);

}  // namespace convene::remind
