// convene/invite.h: invitations, one sync engine for every kind of target.
//
// `convene sync` brings each target (convene/store.h: TargetSpec) to what the store says
// now, in three steps per target:
//   1. desired_series(): what each series in the target's scope should look like there
//      (its revision, the sessions that are not "live at revision 0", its invitees:
//      members with `invite` delivery who follow it, by community, series or split);
//   2. plan_target() (convene/invitation_plan.h) against the mapping the store keeps of
//      what the target was last given: create, update, cancel-session, cancel-series,
//      add-attendee and remove-attendee operations;
//   3. the target carries the plan out, recording each step in the store as it completes,
//      so a process killed at any point and run again converges: nothing duplicated,
//      nothing missing. A target that fails (down, refused login, quota) is reported,
//      recorded (Store::record_sync) and tried again at the next sync; the others go on.
//
// The Target interface is what each kind implements. Two are here:
//   - email (iMIP, RFC 6047): per-member copies. Each operation becomes one message per
//     member (REQUEST with the master and its overrides, or CANCEL of one session or the
//     series), rendered once, stored in the outbox under its key, then sent through
//     SmtpClient; a message's "sent" and the mapping change it makes commit together.
//     SMTP has no idempotency: a message whose 250 arrived but whose commit did not is
//     sent again after a crash, with the same Message-ID (the stated window).
//   - caldav (RFC 4791): one object per series in the organizer's collection, at
//     href_for_uid(UID); created with If-None-Match: *, updated with If-Match; a 412 is
//     read again (the attendees' recorded replies kept) and re-applied; a series that
//     left is DELETEd (404: already gone).
// Google Calendar and Microsoft Graph (issue 12) implement the same interface with their
// own idempotency keys: a Google event id derived from the UID (remote_id_for), Graph's
// transactionId from Operation::key.
//
// How to use:
//   convene::invite::SyncOptions options;
//   options.key_file = "convene.db.key";
//   auto report = convene::invite::sync(*store, clock, options);
//   std::cout << convene::invite::report_text(report);
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/clock.h"
#include "convene/definitions.h"
#include "convene/invitation_plan.h"
#include "convene/mail.h"
#include "convene/revision.h"
#include "convene/secrets.h"
#include "convene/store.h"

namespace convene::invite {

// --- settings of the kinds built here (TargetSpec::settings) -----------------------------

// The most transfers a target runs at once unless its settings say otherwise.
inline constexpr std::size_t kDefaultConnections = 4;

struct EmailSettings {
  std::string smtp_url;                  // smtp://HOST:PORT or smtps://HOST:PORT
  mail::SmtpSecurity security = mail::SmtpSecurity::none;
  mail::Address from;                    // "School Nurse CoP <cop@example.org>"
  std::string username;                  // empty: no AUTH
  std::optional<SecretRef> password;
  std::string ca_file;
  std::size_t max_connections = kDefaultConnections;
};

struct CaldavSettings {
  std::string url;                       // the organizer's calendar collection
  std::string username;
  std::optional<SecretRef> password;
  std::string ca_file;
  std::size_t max_connections = kDefaultConnections;
  // The ORGANIZER of series that name none.
  std::optional<mail::Address> organizer;
};

nlohmann::json to_json(const EmailSettings& settings);
nlohmann::json to_json(const CaldavSettings& settings);
// From a target's settings; nullopt with `error` naming the field when they are not valid.
std::optional<EmailSettings> email_settings(const nlohmann::json& settings, std::string& error);
std::optional<CaldavSettings> caldav_settings(const nlohmann::json& settings, std::string& error);

// --- what one sync of one target works with ----------------------------------------------

// One series in a target's scope, with what its events need.
struct SeriesInScope {
  const CommunityDef* community = nullptr;
  const SeriesDef* series = nullptr;
  DesiredSeries desired;
};

struct SyncContext {
  Store& store;
  const TargetInfo& target;
  const Definitions& definitions;
  const RevisionSource& revisions;
  Instant now{};
  LocalDay horizon{};
  std::string uid_domain = "convene";
  const std::vector<SeriesInScope>& series;   // in scope, in definitions order
  const std::vector<RemoteRecord>& remote;    // the mapping of this target
  // Called as operations complete: (done, total, what) for a progress bar.
  std::function<void(std::size_t, std::size_t, const std::string&)> progress;
};

// What carrying out a plan came to.
struct TargetOutcome {
  std::size_t done = 0;      // steps completed (messages sent, objects written)
  std::size_t failed = 0;    // steps refused for good (an invalid recipient)
  std::size_t pending = 0;   // steps left for the next sync (deferred, not attempted)
  std::vector<std::string> problems;  // one line each: "rosa@example.org: 550 5.1.1 no such user"
  // The meeting links the service made, one line each ("series power-hour: Teams meeting https://...").
  std::vector<std::string> links;
  std::string failure;       // why the whole target stopped ("" when it did not)
  // Attendees' responses read back after the plan (Google, Graph; Target::read_responses).
  bool read_responses = false;      // this sync read them
  std::size_t read_requests = 0;    // the requests it took (all reads)
  std::size_t responses = 0;        // the answers recorded (series and sessions)
};

// The interface every target kind implements (email, caldav; google and graph next).
class Target {
 public:
  virtual ~Target() = default;
  virtual TargetKind kind() const = 0;
  // The remote id (href, event id) of the event of `uid` on this target, chosen by us.
  virtual std::string remote_id_for(const std::string& uid) const = 0;
  // Whether the target can be used now (reachable, login accepted, the calendar there):
  // "" or why not. Called before any write.
  virtual std::string check() = 0;
  // Carries out `plan`, recording each step in ctx.store as it completes.
  virtual TargetOutcome execute(const SyncContext& ctx, const TargetPlan& plan) = 0;
  // Reads back the attendees' responses of every series ctx.remote says the target holds
  // and replaces the store's (Store::put_responses), with read requests only; sets
  // outcome's read_* and responses, a problem per series it could not read, and its
  // failure when the target could not be read at all. Kinds that keep no responses
  // (email; CalDAV: PARTSTATs are not read back) do nothing.
  virtual void read_responses(const SyncContext& ctx, TargetOutcome& outcome) {
    (void)ctx;
    (void)outcome;
  }
};

// The Target for a stored target: its settings read and its secret resolved (a sealed
// one with `key`). nullptr with `error` when that fails.
std::unique_ptr<Target> make_target(const TargetInfo& target, const SecretKey* key, std::string& error);

// What each series in `target`'s scope should look like there (convene/invitation_plan.h).
std::vector<SeriesInScope> series_in_scope(const Store& store, const TargetInfo& target,
                                           const Definitions& definitions, const RevisionSource& revisions,
                                           LocalDay horizon);

// --- the sync engine -----------------------------------------------------------------------

struct SyncOptions {
  std::optional<std::string> target;   // only this one
  bool dry_run = false;                // plan and show, send and write nothing
  std::filesystem::path key_file;      // for sealed secrets (empty: none)
  std::string uid_domain = "convene";  // the feeds' UIDs, so clients merge feed and invitation
  std::function<void(const std::string& target, std::size_t done, std::size_t total, const std::string& what)> progress;
};

struct TargetReport {
  std::string name;
  TargetKind kind = TargetKind::email;
  TargetPlan plan;
  // What the plan means on this kind, one line each (Microsoft 365: "series X: 10 single
  // events: its rule RRULE:... has no Graph pattern (...)").
  std::vector<std::string> notes;
  bool attempted = false;  // false in a dry run, or when the target could not be set up
  TargetOutcome outcome;
  std::string error;       // why it could not be planned or used (the outcome's failure too)
};

struct SyncReport {
  std::vector<TargetReport> targets;
  bool dry_run = false;
  // True when every target was planned and (unless a dry run) carried out without failure.
  bool ok() const;
};

// Runs the three steps for every target (or options.target: StoreError::invalid when it
// does not exist). Never throws for a target's own failure: it is in its report.
SyncReport sync(Store& store, const Clock& clock, const SyncOptions& options);

// The plan and outcome as `convene sync` prints them: per target, its operations
// ("create mentoring-monday (12 invitees)"), then what happened, then a summary line.
std::string report_text(const SyncReport& report);
nlohmann::ordered_json report_json(const SyncReport& report);

// A target as `convene target list|show` print it: kind, scope, settings (secrets only
// described: "file /etc/convene/smtp.pass"), the last sync, what it holds and the
// outbox's messages by state. `store` supplies the last two (show only).
nlohmann::ordered_json target_json(const TargetInfo& target, const Store* store = nullptr);
std::string target_text(const TargetInfo& target, const Store* store = nullptr);
std::string targets_text(const std::vector<TargetInfo>& targets);

}  // namespace convene::invite
