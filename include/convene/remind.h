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
//   4. sends what is due through that target's SMTP server: each batch of kSendBatch is
//      claimed as "sending" in one commit before it is handed over (Store::claim_sending:
//      a message withdrawn since it was read is not sent; a crash after the claim sends
//      the claimed ones at the next pass, as planned ones), and each message's "sent" is
//      committed alone right after the server's 250 (Store::mark_tried: the state
//      columns only, the payload is in a table of its own). A crash between the 250 and
//      that commit sends the message again at the next pass, with the same Message-ID
//      (the window SMTP cannot close). A reminder whose session has started is
//      dropped (logged); one sent more than kLateAfter after its due time is logged late.
//      A refused recipient fails alone; a deferred one is retried at later passes, after
//      kMaxAttempts it is failed with its last error; a server that is down stops only
//      its target's messages.
//   5. a member whose channel is "webhook", and each community channel (Store::channels),
//      get the same words as a JSON POST (convene/webhook.h), their outbox rows with no
//      target and the recipient "member:ID" or "channel:NAME" (the URL is looked up and
//      unsealed only to post, never written to the outbox or a log): several at once, a
//      2xx sent, 429/5xx/no answer retried with the same backoff (not before the
//      server's Retry-After), any other status failed with it.
//
// How to use:
//   convene::remind::PassOptions options;
//   auto report = convene::remind::run_once(*store, clock, options);
//   for (const auto& line : report.log) std::cerr << line << "\n";
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/clock.h"
#include "convene/reminder_plan.h"
#include "convene/store.h"
#include "convene/webhook.h"

namespace convene::http {
class Router;
}

namespace convene::remind {

// The outbox kinds a pass writes and sends (OutboxMessage::kind; invitations are
// convene sync's), and the planner's kind of one (an unknown one: a reminder).
inline constexpr const char* kOutboxKinds[] = {"reminder", "notice", "digest"};
MessageKind message_kind(std::string_view outbox_kind);

// A deferred message is tried this many times before it counts as failed.
inline constexpr std::uint32_t kMaxAttempts = 8;
// A message that could not be sent is tried again after kRetryBackoff, doubling with
// each attempt, at most kMaxRetryBackoff (1, 2, 4, ... 30 minutes).
inline constexpr Seconds kRetryBackoff = std::chrono::minutes{1};
inline constexpr Seconds kMaxRetryBackoff = std::chrono::minutes{30};
// Due messages are handed to the server in batches of this many; between two, a pass
// checks it may go on (a SIGTERM, a lost lease stop it there).
inline constexpr std::size_t kSendBatch = 50;

// Several workers on one database: a pass writes and sends only while it holds the
// store's lease kLeaseName (Store::acquire_lease), renewed before each batch; a worker
// that finds it held waits until it expires, then takes it over (a holder killed with
// kill -9 gives it up that way). kLeaseTtl is how long it lasts unrenewed: a batch must
// be sent within it.
inline constexpr std::string_view kLeaseName = "remind";
inline constexpr Seconds kLeaseTtl = std::chrono::seconds{60};

// When a message last tried at `last_try` after `attempts` attempts is tried again.
Instant retry_at(Instant last_try, std::uint32_t attempts);

// --- a burst sent so that it ends on time ---------------------------------------------
//
// A reminder promises a time ("in 15 minutes"). A target sends some number of messages a
// second (its throughput), so of N messages due at one instant T the last goes out N /
// throughput after T when the burst starts at T: 10,000 at 370 msg/s, 27 s late. When a
// burst cannot be sent within kOnTime, the pass starts it `burst_lead` before T, in due
// order, so that it ends at about T: what a member sees is their reminder up to the lead
// early (at most kMaxLead, never earlier), and no longer late. Its words stay right: the
// subject gives the clock time ("In 15 minutes: Power Hour (4:00 pm)"), and "15 minutes"
// is off by at most kMaxLead, under the minute the text counts in.
//
// The throughput is measured per target (Throughput: the messages a pass sent through it
// over the time they took, once it sent for kMeasureFor at least: a server answers the
// first messages of a burst faster than it keeps up, 1,110 msg/s over the first 50
// through aiosmtpd against about 600 over the burst); before any measurement it
// is assumed to be kAssumedThroughput, low on purpose (a burst started too early by it is
// paced again once measured, once: the pass then stops and resumes the rest at its own
// lead, a second early of it; a pass that started on a measured rate sends to the end).
// A burst of at most kSmallBurst messages is sent at its minute, as before: its tail is
// late by kSmallBurst / throughput at most (under a second at the 370 msg/s measured
// through one aiosmtpd here), and a rate measured on a few messages is not worth sending
// early for. Between two batches a pass also checks the store: a change (a cancellation,
// a move, a member removed) stops it there, and the next pass, planned again, withdraws
// what the change no longer wants before the rest of the burst goes.
inline constexpr Seconds kOnTime = std::chrono::seconds{1};
inline constexpr Seconds kMaxLead = std::chrono::seconds{60};
inline constexpr double kAssumedThroughput = 100;  // messages a second
inline constexpr std::size_t kSmallBurst = 250;
inline constexpr Seconds kMeasureFor = std::chrono::seconds{1};

// The lead of a burst of `due_count` messages due at one instant through a target sending
// `throughput` messages a second: 0 when due_count <= kSmallBurst or due_count /
// throughput <= kOnTime, else that time rounded up to a second, at most kMaxLead.
Seconds burst_lead(std::size_t due_count, double throughput);

// Each target's measured throughput (the webhooks' under ""); thread-safe. A worker keeps
// one for its life; tests give one that does not measure (`measures` false), so that the
// lead is what they set.
class Throughput {
 public:
  explicit Throughput(double assumed = kAssumedThroughput, bool measures = true);
  // Messages a second through `target`: the last measurement, else the assumed rate.
  double of(const std::string& target) const;
  // True once `target` was measured.
  bool measured(const std::string& target) const;
  // `messages` sent through `target` in `took` (counted from kSendBatch messages sent
  // over kMeasureFor at least).
  void observe(const std::string& target, std::size_t messages, std::chrono::steady_clock::duration took);

 private:
  mutable std::mutex mutex_;
  const double assumed_;
  const bool measures_;
  std::map<std::string, double> measured_;
};

struct PassOptions {
  bool dry_run = false;                // plan and show; write and send nothing
  std::filesystem::path key_file;      // for targets' sealed secrets (empty: none)
  // The public base URL (`convene serve`'s, absolute http(s), no trailing "/"): for the
  // List-Unsubscribe links. Empty: messages carry none (a pass logs it once).
  std::string base_url;
  // Asked before each batch of kSendBatch messages: false stops the pass there (the
  // rest waits for the next pass). Unset: always true.
  std::function<bool()> may_continue;
  // Who holds the lease for this pass (unique per process; empty: this process's own,
  // "host:pid:random") and how long it lasts unrenewed.
  std::string holder;
  Seconds lease = kLeaseTtl;
  // How webhook messages are posted (timeouts, posts at once; convene/webhook.h).
  webhook::Options webhook;
  // The targets' throughput, read for the leads of bursts and measured by the pass
  // (unset: a pass's own, starting from kAssumedThroughput). A worker passes its own.
  Throughput* throughput = nullptr;
  // The newest change (audit record id, 0 for none) that a pass had seen when it last
  // rendered the planned messages again (unset: no pass has yet). A pass renders them again only after a newer
  // change, so a pass after no change renders only new messages. Unset: every pass
  // renders them again. A worker passes its own.
  std::optional<std::uint64_t>* rendered_through = nullptr;
};

// This process's lease holder name: "host:pid:" and 8 random hex digits.
const std::string& process_holder();

struct PassReport {
  std::size_t planned = 0;     // new messages written to the outbox
  std::size_t withdrawn = 0;   // no longer wanted (the dropped ones included)
  std::size_t rewritten = 0;   // planned before, rewritten: their session, the member's address, zone or channel changed
  std::size_t sent = 0;
  std::size_t late = 0;        // of those sent, more than kLateAfter after their due time
  std::size_t early = 0;       // of those sent, before their due time (a burst's lead)
  std::size_t dropped = 0;     // their session had started
  std::size_t failed = 0;      // refused for good, or out of attempts
  std::size_t deferred = 0;    // to be tried again
  std::size_t backing_off = 0; // due, but waiting for their retry time (retry_at)
  bool stopped = false;        // may_continue said stop (or the lease was lost) before everything due was sent
  // For each message sent: from the server's 250 to the outbox's commit of "sent" (the
  // window in which a crash sends it again), as measured on the steady clock.
  std::vector<std::chrono::microseconds> commit_windows;
  // Another worker held the lease until then: this pass wrote and sent nothing.
  std::optional<Instant> lease_held_until;
  std::vector<std::string> log;  // one line per drop, late message, failure, skipped member
  ReminderPlan plan;             // what was planned (a dry run shows it)
  // When the next pass has work: a due time, a burst's start (its lead before its due
  // time), a retry time; now, when the store changed while sending.
  std::optional<Instant> next_wake;
};

// The planner's input as the store holds it at `now` (the definitions inside `snapshot`,
// which must outlive the result).
ReminderPlanInput plan_input(const Store& store, const StoreSnapshot& snapshot, Instant now);

// One pass at clock.now(). Throws StoreError for a store that cannot be read or written.
PassReport run_once(Store& store, const Clock& clock, const PassOptions& options = {});

// --- convene worker: a pass whenever there is work, asleep in between ------------------
//
// The worker runs a pass, then sleeps until the earliest of: the time the pass said it
// has work next (PassReport::next_wake: a due time, a retry time, a reminder entering
// the lookahead), a change in the store made by another process (a facilitator's change,
// an import, a member or target added or changed: Store::data_version, read only when the
// store's files were written), or a stop request (SIGTERM). It never polls: with nothing
// due it wakes at most every kMaxSleep, a safety net for a clock that jumps (a suspended
// machine, a corrected clock). Catching up after downtime is the first pass's: what came
// due while nothing ran is sent late (logged) while its session has not started, and
// dropped (logged) once it has.
inline constexpr Seconds kMaxSleep = std::chrono::minutes{10};

enum class Wake {
  time,     // `until` came (or kMaxSleep passed)
  changed,  // the store's files were written (perhaps by this process: check data_version)
  stop,     // a stop was requested
};

// How a worker sleeps. StoreWatch sleeps in real time; tests script one that moves a
// SimulatedClock instead, so a simulated week passes without a sleep.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Returns at `until` on the worker's clock, or earlier (changed, stop).
  virtual Wake wait(Instant until) = 0;
  // True once a stop was requested (a pass asks it between batches).
  virtual bool stop_requested() const = 0;
};

// Sleeps with poll(2) on an inotify watch of the directory of `database` (its file and
// its -wal file written, created or renamed into place) and a self-pipe for stop
// requests, until `until` on `clock` (to the second boundary, at most kMaxSleep).
// Throws std::system_error when inotify cannot watch the directory.
class StoreWatch final : public Waiter {
 public:
  StoreWatch(const std::filesystem::path& database, const Clock& clock);
  ~StoreWatch() override;
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;
  Wake wait(Instant until) override;
  bool stop_requested() const override;
  // Async-signal-safe (a SIGTERM handler calls it): the wait in progress returns stop.
  void request_stop() noexcept;

 private:
  bool store_written();
  const Clock& clock_;
  std::string names_[2];  // the database's file name and its -wal's
  int inotify_ = -1;
  int pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
};

struct WorkerOptions {
  PassOptions pass;                              // may_continue is the worker's own
  std::function<void(const std::string&)> log;   // one line at a time (unset: none)
};

// `convene worker`: passes on `store` at `clock`'s now, sleeping on `waiter` in between.
class Worker {
 public:
  Worker(Store& store, const Clock& clock, Waiter& waiter, WorkerOptions options);
  // Runs until the waiter says stop, finishing the batch being sent first. Throws what
  // run_once throws. Returns the number of passes run.
  std::size_t run();

 private:
  void log(const std::string& line) const;
  Store& store_;
  const Clock& clock_;
  Waiter& waiter_;
  WorkerOptions options_;
  Throughput throughput_;  // measured over the worker's life (unless options give one)
  std::optional<std::uint64_t> rendered_through_;  // PassOptions::rendered_through, over the worker's life
};

// --- one-click unsubscribe (RFC 8058) -------------------------------------------------
//
// Every reminder and notice carries `List-Unsubscribe: <BASE/unsubscribe/TOKEN>` and
// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` when the public base URL is known
// (PassOptions::base_url). The token is "<member id>.<HMAC-SHA256 of the id>" (base64url)
// under a key kept in the store (Accounts::key("unsubscribe")): nothing per member is
// stored, any process can check one, and none can be made up. `convene serve` answers
// POST /unsubscribe/TOKEN with List-Unsubscribe=One-Click by turning that member's
// reminders and notices off (channel "none", audited), or with ?only=digest their weekly
// digest alone; GET shows a page that asks first.
std::string unsubscribe_token(Store& store, std::string_view member);
// The member a token names, when it is theirs (compared in constant time), else nullopt.
std::optional<std::string> unsubscribe_member(Store& store, std::string_view token);
// BASE/unsubscribe/TOKEN (`base_url` absolute, without a trailing "/"); a weekly digest's
// is BASE/unsubscribe/TOKEN?only=digest, which turns off that member's digest alone (and
// its footer says so: "Stop this weekly digest", views::unsubscribe_words).
std::string unsubscribe_url(std::string_view base_url, std::string_view token, bool digest_only = false);
// The routes above, on `router` (the store must outlive it; it is thread-safe).
void add_unsubscribe_routes(http::Router& router, Store& store);

// The 250-to-commit window of the messages a pass sent (PassReport::commit_windows).
struct CommitWindow {
  std::chrono::microseconds p50, p99, max;
};
std::optional<CommitWindow> window_of(const PassReport& report);

// `convene remind --once` and `convene reminders`: what a pass did, and the outbox.
std::string report_text(const PassReport& report, bool dry_run);
nlohmann::ordered_json report_json(const PassReport& report, bool dry_run);
// [{id, key, kind, member, series, occurrence, recipient, state, attempts, last_error,
//   due, not_after, updated}]
nlohmann::ordered_json outbox_json(const std::vector<OutboxMessage>& messages);
std::string outbox_text(const std::vector<OutboxMessage>& messages);

// `convene channel list`: [{name, community, offsets, webhook: "sealed", created}] (the
// URL is never shown, sealed or not).
nlohmann::ordered_json channels_json(const std::vector<ChannelInfo>& channels);
std::string channels_text(const std::vector<ChannelInfo>& channels);

}  // namespace convene::remind
