// convene/store.h: the durable store, convene's one source of truth.
//
// A store holds what a definitions file holds (calendars, communities, series,
// overrides), in tables rather than as a file, plus what a file cannot: who changed
// what and why (the audit trail), how often each series and occurrence has changed
// (revisions, the future iCalendar SEQUENCE), and the members who subscribe to series,
// with their private feed tokens.
//
// The embedded default is SQLite (one file, WAL, foreign keys on, a schema version with
// forward migrations run at open). All SQL lives in scheduler/store*.cpp; this
// interface names no SQL, so a PostgreSQL backend can follow.
//
// Every change is one transaction that takes the write lock first (BEGIN IMMEDIATE)
// and reads what it changes inside it, so two processes writing at once lose no update
// and refuse none: the second waits (up to the busy timeout) and then applies its change
// to what the first committed. Only an explicit expectation can conflict: a change given
// `expect_revision` (the revision its caller read, `--expect-revision N`) is refused with
// StoreError::Kind::conflict when the occurrence (or, for split, the series) is no longer
// at that revision, rather than applied over another facilitator's change.
// A process killed at any point leaves the store as it was before or after a change,
// never between.
//
// Rehearsals: a change whose context has `dry_run` runs exactly as it would (the same
// checks and refusals, the same transaction, holding the write lock for its duration),
// computes its ChangeResult (what it would change: the summary, the affected sessions
// with the revisions they would get, the series whose revision would rise), and then
// rolls back: nothing is written, no audit record is kept (audit_id is 0) and
// result.dry_run is true. Every change operation takes it, the members' ones too.
//
// Revisions come from the change detector alone (convene/change_detector.h, which states
// the rule): every covered occurrence of a series has a revision row; a change extends
// the covered span to what feeds render at its time, compares the fingerprints of every
// covered occurrence and of the series before and after, and raises exactly the ones that
// differ. Numbers only ever increase, including across a re-import that removes and
// re-adds a series. `modified` is the store clock's time of that change.
//
// How to use:
//   convene::SimulatedClock clock(...);               // or convene::Clock::real()
//   auto store = convene::Store::open({.path = "convene.db", .clock = &clock});
//   store->import_definitions(*convene::load_definitions("nurses.json").definitions,
//                             {.actor = "ana"});
//   store->reschedule("mentoring-monday", *convene::parse_local_minute("2027-02-08T16:00"),
//                     *convene::parse_local_minute("2027-02-09T16:00"), std::nullopt,
//                     {.actor = "ana", .reason = "Presenter's request"});
//   auto defs = store->load();                        // LoadedDefinitions, source "store convene.db"
//   convene::RevisionSource revisions = store->revisions();
//
// A Store is one connection. Its methods lock an internal mutex, so one Store may be
// shared by threads (they take turns); a server may also open one Store per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "convene/clock.h"
#include "convene/definitions.h"
#include "convene/invitation_plan.h"
#include "convene/revision.h"
#include "convene/time.h"

namespace convene {

// Everything the store refuses or cannot do. what() is one clear sentence that names
// the database file, the series, the occurrence or the value at fault; kind() is stable
// for tests and callers.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    invalid,        // bad input: unknown series/occurrence/calendar/member, a date that does not exist
    overlap,        // a move onto a start another occurrence of the series holds
    conflict,       // another writer changed the same thing since it was read
    not_found,      // no database file where one was required
    read_only,      // the database file (or its folder) cannot be written
    locked,         // another process held the write lock past the busy timeout
    corrupt,        // not a convene database, or a damaged one
    newer_schema,   // written by a newer convene; left untouched
    io,             // any other failure of the storage
  };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct StoreOptions {
  std::string path = "convene.db";
  const Clock* clock = nullptr;  // nullptr: Clock::real()
  // Create the file (and its schema) when it does not exist. When false, a missing file
  // is StoreError::Kind::not_found (reading verbs never create a store by accident).
  bool create = true;
  // How long a writer waits for another writer's lock before StoreError::Kind::locked.
  std::chrono::milliseconds busy_timeout{5000};
};

// Who makes a change, why, and what they saw (for conflict detection).
struct ChangeContext {
  std::string actor;                          // "--as NAME" or the OS user
  std::optional<std::string> reason;          // "Presenter's request"
  // The occurrence's (or, for split, the series') revision sequence the caller read.
  // When set and the stored one differs, the change is refused as a conflict. Unset:
  // the change applies to whatever is stored when it takes the write lock.
  std::optional<std::uint64_t> expect_revision;
  // Rehearse: do everything, report what would change, write nothing (see above).
  bool dry_run = false;
};

// An occurrence a change affected, with the revision it now has.
struct AffectedOccurrence {
  std::string series;
  LocalTime original;
  std::uint64_t sequence = 0;
  friend bool operator==(const AffectedOccurrence&, const AffectedOccurrence&) = default;
};

struct ChangeResult {
  bool changed = false;                   // false: the store already said so (nothing written)
  std::uint64_t audit_id = 0;             // 0 when nothing changed
  std::string summary;                    // "moved mentoring-monday 2027-02-08T16:00 to 2027-02-09T16:00"
  std::vector<AffectedOccurrence> affected;
  std::vector<std::string> series;        // series whose revision moved
  bool dry_run = false;                   // a rehearsal: nothing was written
};

// The definitions and every revision, read in one transaction: what a renderer needs
// to show one consistent state however many writers commit meanwhile.
struct StoreSnapshot {
  LoadedDefinitions definitions;
  RevisionSource revisions;               // a frozen copy, independent of the Store
  std::uint64_t data_version = 0;
};

// What import does where a change made with the CLI since the last import and the file
// disagree about the same thing (the same session, series or closure).
enum class ImportPreference {
  refuse,  // the default: refuse, listing each conflict (who changed it, when, what the file says)
  file,    // take the file's version (--prefer file)
  store,   // keep the change made with the CLI (--prefer store)
};
struct ImportOptions {
  ImportPreference prefer = ImportPreference::refuse;
};

// One entry of the audit trail.
struct AuditRecord {
  std::uint64_t id = 0;
  Instant at{};
  std::string actor;
  std::string action;                     // "import", "reschedule", "cancel", "restore", "edit",
                                          // "split", "close", "member add", "subscribe", ...
  std::optional<std::string> series;
  std::optional<LocalTime> occurrence;
  std::optional<std::string> target;      // calendar or member id, when it is one of those
  std::string summary;                    // what, in one line
  std::optional<std::string> reason;      // why
  std::string before;                     // JSON (the definitions format where it applies), "null" if none
  std::string after;
  std::vector<AffectedOccurrence> affected;
};

struct HistoryQuery {
  std::optional<std::string> series;      // only changes to this series (or a calendar it observes)
  std::optional<std::size_t> limit;       // the most recent N
};

// A change to one session's details (convene edit). Unset fields stay as they are; a
// field set to an empty string is cleared. `resources`, when set, replaces the list.
struct OccurrenceEdit {
  std::optional<std::string> title, description, presenter, join_url, location, agenda;
  std::optional<std::vector<Resource>> resources;
};

// "This and all following" (convene split): what the continuing series changes.
struct SplitSpec {
  LocalDay from;                          // the first day of the new series
  std::optional<std::string> new_id;      // default "<series>-from-<from>"
  // Either a full local start (its first occurrence) or just a new time of day.
  std::optional<LocalTime> start;
  std::optional<Seconds> time_of_day;     // since midnight; with no `start`
  std::optional<Seconds> duration;
  std::optional<std::string> rrule;       // default: the old rule without COUNT/UNTIL
  std::optional<std::string> title;
};

// --- members ---------------------------------------------------------------

struct ReminderPreferences {
  std::vector<Seconds> offsets;           // before the start, e.g. {PT15M, P1D}; empty: none
  std::string channel = "email";          // one of kReminderChannels
  // The member's webhook URL, sealed (SecretKey::seal, convene/secrets.h: never in clear
  // in the store); required by channel "webhook", kept when they switch to another.
  std::string webhook;
  friend bool operator==(const ReminderPreferences&, const ReminderPreferences&) = default;
};
// The channels something delivers: email (the reminders worker, through the email target
// of the member's community), webhook (a JSON POST to the member's own URL, as Slack and
// Microsoft Teams incoming webhooks take it: convene/webhook.h), or none. `sms` and `push`, accepted by earlier versions and
// never delivered, are refused now; a member who has one stored keeps it as it is (the
// worker says that nothing delivers it) until their reminders are next changed.
inline constexpr std::string_view kReminderChannels[] = {"email", "webhook", "none"};

// A member's weekly digest (convene/reminder_plan.h plans it): on `day`, at `time_of_day`
// on the wall clock of the member's display zone (or, with none, the zone of the first
// community they follow), resolved as the engine resolves every civil time
// (resolve_local: a time in a spring-forward gap counts from the offset before it, one
// in a fall-back overlap is the first). Written "MO 07:00": an RFC 5545 weekday code
// (MO TU WE TH FR SA SU, any case) and a 24-hour local time.
struct DigestTime {
  date::weekday day;
  Seconds time_of_day{0};                 // since local midnight, a whole minute, < 24 h
  friend bool operator==(const DigestTime&, const DigestTime&) = default;
};
std::optional<DigestTime> parse_digest_time(std::string_view text);
std::string format_digest_time(const DigestTime& digest);  // "MO 07:00"

// How sessions reach a member's calendar: by their private feed (the default), or by
// invitations (convene sync sends them to members with `invite`), never both, so nobody
// sees a session twice.
enum class Delivery { feed, invite };
std::string_view to_string(Delivery delivery);
std::optional<Delivery> parse_delivery(std::string_view text);

struct Member {
  std::string id;
  std::string name;
  std::string email;
  std::optional<std::string> timezone;    // display zone (IANA); unset: each series' own
  const date::time_zone* zone = nullptr;  // set when timezone is
  ReminderPreferences reminders;
  std::optional<DigestTime> digest;       // unset: no weekly digest (opt-in)
  Delivery delivery = Delivery::feed;
  Instant created{};
  Instant token_created{};                // when the current feed token was issued
};

// What a member subscribes to: one series, or every series of a community.
struct Subscription {
  enum class Kind { series, community };
  Kind kind = Kind::series;
  std::string target;
  friend bool operator==(const Subscription&, const Subscription&) = default;
};

// A new member's details (convene member add).
struct MemberSpec {
  std::string id;
  std::string name;
  std::string email;
  std::optional<std::string> timezone;
  ReminderPreferences reminders;
  std::optional<DigestTime> digest;
};

// Changes to a member (convene member set): unset fields stay.
struct MemberUpdate {
  std::optional<std::string> name, email;
  std::optional<std::optional<std::string>> timezone;  // {nullopt}: clear
  std::optional<std::vector<Seconds>> reminder_offsets;
  std::optional<std::string> reminder_channel;
  std::optional<std::string> reminder_webhook;  // sealed, as ReminderPreferences::webhook
  std::optional<Delivery> delivery;
  std::optional<std::optional<DigestTime>> digest;     // {nullopt}: no digest
};

// A member and the private feed token issued to them. The token (43 characters of
// base64url: 32 bytes from getrandom(2)) exists only here: the store keeps its SHA-256.
struct IssuedToken {
  Member member;
  std::string token;
};

// --- invitation targets, the mapping, the outbox -----------------------------

// A place invitations go (convene target add): an SMTP server (email), an organizer's
// CalDAV collection, a Google calendar, a Microsoft 365 mailbox. `settings` is the
// kind's configuration as a JSON object (integrations/invite reads it); its secrets are
// references to files or variables, or sealed (convene/secrets.h), never in clear.
struct TargetSpec {
  std::string name;                                     // letters, digits, - _ .
  TargetKind kind = TargetKind::email;
  std::string settings = "{}";                          // a JSON object
  std::optional<std::vector<std::string>> communities;  // nullopt: every community
};

struct TargetInfo {
  TargetSpec spec;
  Instant created{};
  std::optional<Instant> last_attempt;   // the last sync that tried it
  std::optional<Instant> last_success;   // the last sync that finished it
  std::string last_error;                // why the last attempt failed ("" when it did not)
  std::uint64_t failures = 0;            // attempts failed in a row
};

// One message in the durable outbox: one row per message, keyed by what it is for, so
// planning twice never makes two. Invitations use it now; reminders and notices next.
struct OutboxMessage {
  enum class State {
    planned,    // waiting to be sent
    sending,    // handed to the server; after a crash, sent again (the 250-to-commit window)
    sent,       // the server accepted it
    failed,     // refused for good (an invalid recipient) or out of attempts
    withdrawn,  // no longer wanted (a later change replaced it) before it was sent
  };
  std::uint64_t id = 0;
  std::string key;          // unique
  std::string kind;         // "invitation", "reminder", "notice"
  std::string target;       // the email target sending it
  std::string member;       // member id ("" when none)
  std::string series;
  std::optional<LocalTime> occurrence;
  std::string recipient;    // the address it goes to
  std::string message_id;   // "<...@domain>"
  std::string payload;      // the message as it is sent (RFC 5322, CRLF)
  State state = State::planned;
  std::uint32_t attempts = 0;
  std::string last_error;
  Instant due{};            // not before
  // A retry waits until then at least (a webhook's Retry-After). Unset: the backoff alone.
  std::optional<Instant> retry_not_before;
  // Not after: a reminder is dropped once its session has started, a notice once its
  // sessions are over (convene/reminder_plan.h). Unset: no such limit (invitations).
  std::optional<Instant> not_after;
  Instant created{};
  Instant updated{};
};
std::string_view to_string(OutboxMessage::State state);

// A channel for a whole community (convene channel add): a webhook that gets the
// community's reminders ("Power Hour starts in 15 minutes") and change notices.
struct ChannelSpec {
  std::string name;               // letters, digits, - _ . (in the outbox's keys)
  std::string community;
  std::string webhook;            // the URL, sealed (SecretKey::seal): never in clear
  std::vector<Seconds> offsets;   // empty: each series' reminders
};

struct ChannelInfo {
  ChannelSpec spec;
  Instant created{};
};

struct OutboxQuery {
  std::optional<std::string> target;
  std::optional<std::string> kind;
  std::optional<std::string> member;
  std::vector<OutboxMessage::State> states;  // empty: any
  bool with_payload = false;
};

// --- attendees' responses (read back from the targets that keep them: Google, Graph) ---

// What an attendee answered, as the target's copy of the event says.
enum class Answer {
  none,       // not answered (Google's needsAction, Graph's none/notResponded)
  accepted,   // accepted (Graph's organizer: the organizer's own)
  tentative,  // tentatively accepted
  declined,   // declined
};
std::string_view to_string(Answer answer);  // "none", "accepted", "tentative", "declined"
std::optional<Answer> parse_answer(std::string_view text);
// An attendee's address as responses are kept and matched: ASCII lower case.
std::string response_email(std::string_view email);

// One attendee's answer, for the whole series or one of its sessions (an answer for a
// session overrides the series' for that session).
struct AttendeeResponse {
  std::string target;
  std::string series;
  std::optional<LocalTime> occurrence;  // unset: the whole series; else its original start
  std::string member;                   // member id ("" when the address is no member's)
  std::string email;                    // lower case
  Answer answer = Answer::none;
  Instant read_at{};                    // when the target was read
  friend bool operator==(const AttendeeResponse&, const AttendeeResponse&) = default;
};

// --- the store -------------------------------------------------------------

class Store {
 public:
  // The schema version this build writes; older stores are migrated forward at open.
  static constexpr int kSchemaVersion = 15;

  // Opens (and with options.create, creates) the store at options.path, migrating an
  // older schema forward in one transaction. Throws StoreError: not_found, read_only,
  // locked, corrupt ("... is not a convene database"), newer_schema (the file is not
  // touched).
  static std::unique_ptr<Store> open(const StoreOptions& options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  int schema_version() const;  // of the open file, == kSchemaVersion after open
  // True when the database file may not be written (its mode has no write bit): every
  // change then throws StoreError::Kind::read_only.
  bool read_only() const;

  // --- definitions ---
  // The current definitions, as load_definitions() would give them for the exported
  // file: source "store <path>", calendars with their ICS closures as imported.
  LoadedDefinitions load() const;
  // The same, as the definitions format (what convene export prints).
  nlohmann::ordered_json export_json() const;
  // True when nothing has been imported yet.
  bool empty() const;

  // Loads `definitions` as one transaction, matching series by id (identity and
  // revisions kept); series, calendars and communities absent from them are removed.
  // It never silently reverts a change made with the CLI: the store keeps what the last
  // imported file said, and merges three ways (scheduler/store_import.cpp says how).
  // What the file did not change since, but the CLI did (a reschedule, a cancel, an
  // edit, a split, a closure), is kept, and the summary says so ("kept 3 changes made
  // with the CLI (...)"); where the file now says something else about the same thing,
  // the import is refused with StoreError::Kind::conflict listing each (who changed it,
  // when, what the file says), unless options.prefer chooses a side. Importing the same
  // file again changes nothing (changed == false). The summary counts the sessions whose
  // revision rose. `definitions` must be valid (from load_definitions); the result must
  // expand.
  ChangeResult import_definitions(const Definitions& definitions, const ChangeContext& context,
                                  const ImportOptions& options = {});

  // --- revisions ---
  Revision series_revision(std::string_view series) const;
  Revision occurrence_revision(std::string_view series, LocalTime original) const;
  // Reads through this store (which must outlive it).
  RevisionSource revisions() const;
  // Definitions and revisions at one moment (one read transaction).
  StoreSnapshot snapshot() const;
  // Increases with every committed change to the store, by any process; cheap (one row).
  std::uint64_t data_version() const;

  // --- facilitator operations: one transaction and one audit record each ---
  // The original starts (occurrence ids) of `series` on `day`, for a date-only reference.
  std::vector<LocalTime> occurrences_on(std::string_view series, LocalDay day) const;

  ChangeResult reschedule(std::string_view series, LocalTime original, LocalTime to,
                          std::optional<Seconds> duration, const ChangeContext& context);
  ChangeResult cancel(std::string_view series, LocalTime original, const ChangeContext& context);
  // Removes a cancel or a move (and its duration); edits stay.
  ChangeResult restore(std::string_view series, LocalTime original, const ChangeContext& context);
  ChangeResult edit(std::string_view series, LocalTime original, const OccurrenceEdit& edit,
                    const ChangeContext& context);
  ChangeResult split(std::string_view series, const SplitSpec& spec, const ChangeContext& context);
  // Adds a closure to a calendar; every series observing it reacts by its policy.
  ChangeResult close(std::string_view calendar, const Closure& closure, const ChangeContext& context);
  // Removes the closure of a calendar written for exactly [from, to] ("we're open after
  // all"); the series that reacted to it return to their schedule, at new revisions.
  ChangeResult reopen(std::string_view calendar, LocalDay from, LocalDay to, const ChangeContext& context);

  std::vector<AuditRecord> history(const HistoryQuery& query = {}) const;

  // --- backup ---
  // Writes a consistent copy of the whole database to `path` with SQLite's online backup
  // API: every page, so every table (members, tokens, history, revisions, and whatever
  // later schemas add). It reads in one transaction, so writers (and a running serve) go
  // on meanwhile and the copy is the state at one commit. The copy is made 0600 beside
  // `path` and renamed into place: `path` never holds half a backup. It is a store
  // itself, in one file (rollback journal mode). Throws StoreError(io).
  void backup(const std::string& path) const;
  // Makes the store at `target.path` the backup at `backup` (written by backup(), or
  // any convene store file): checked first (an SQLite file, integrity_check, convene's
  // tables, a schema not newer than this convene's; StoreError corrupt/newer_schema).
  // No store there: a new one, created 0600 and renamed into place. A store there: it is
  // replaced in one write transaction (readers see the old state or the restored one),
  // only with `replace` if it holds anything (else StoreError invalid). An older schema
  // is migrated as at open. The same feeds, history and members' tokens as the original.
  // With `dry_run`, every check and refusal, and nothing written.
  static void restore_backup(const std::string& backup, const StoreOptions& target, bool replace,
                             bool dry_run = false);

  // --- members ---
  IssuedToken add_member(const MemberSpec& spec, const ChangeContext& context);
  void remove_member(std::string_view id, const ChangeContext& context);
  Member update_member(std::string_view id, const MemberUpdate& update, const ChangeContext& context);
  // Issues a new token; the old one stops working at once.
  IssuedToken rotate_token(std::string_view id, const ChangeContext& context);
  std::optional<Member> member(std::string_view id) const;
  std::vector<Member> members() const;
  // The member whose token this is (hashes compared in constant time), or nullopt.
  std::optional<Member> find_member_by_token(std::string_view token) const;

  // Subscribing twice, or unsubscribing from what one is not subscribed to, changes
  // nothing (false). Unknown members, series and communities are StoreError::invalid.
  bool subscribe(std::string_view member, const Subscription& to, const ChangeContext& context);
  bool unsubscribe(std::string_view member, const Subscription& from, const ChangeContext& context);
  std::vector<Subscription> subscriptions(std::string_view member) const;
  // Every series the member follows, directly, through a community, or through a split
  // (the series that continue a followed one, `continues`), in definitions order,
  // without repeats.
  std::vector<std::string> subscribed_series(std::string_view member) const;

  // --- invitation targets (convene target ...): one audit record each ---
  // Refuses a name in use, an unknown community, settings that are not a JSON object.
  void add_target(const TargetSpec& spec, const ChangeContext& context);
  // Removes the target with its mapping and outbox rows.
  void remove_target(std::string_view name, const ChangeContext& context);
  std::vector<TargetInfo> targets() const;
  std::optional<TargetInfo> target(std::string_view name) const;
  // The same, or StoreError::invalid naming the targets there are.
  TargetInfo require_target(std::string_view name) const;
  // The outcome of a sync of `name` at `at`: `error` empty for success.
  void record_sync(std::string_view name, Instant at, const std::string& error);

  // Members whose delivery is `invite` and who follow `series`, by member id.
  std::vector<Invitee> invitees(std::string_view series) const;

  // --- the mapping: what each target was last given (convene/invitation_plan.h) ---
  std::vector<RemoteRecord> remote_records(std::string_view target) const;
  // Replaces every record of (target, series, copy) by `records`, in one transaction.
  void put_remote_records(std::string_view target, std::string_view series, std::string_view copy,
                          const std::vector<RemoteRecord>& records);

  // --- attendees' responses ---
  // Replaces what `target` said of `series`' responses by `responses` (one read of it:
  // their target and series are these), in one transaction.
  void put_responses(std::string_view target, std::string_view series, const std::vector<AttendeeResponse>& responses);
  // Every target's responses for `series`, by occurrence (the series' first), email, target.
  std::vector<AttendeeResponse> responses(std::string_view series) const;

  // --- the outbox ---
  // Adds each message whose key is new, as planned (given State::failed: failed, with its last_error);
  // returns every message of those keys as stored (those already there keep their state), in the order given.
  std::vector<OutboxMessage> enqueue(const std::vector<OutboxMessage>& messages);
  // A later pass's rendering of messages already planned: each one whose key is stored
  // and still planned is rewritten when what it says or where it goes differs (an edit of
  // its session, the member's address, zone or channel since it was planned), so what is
  // sent is what the store says when it is sent; sending, sent, failed or withdrawn rows
  // are left as they are (nothing sent is sent again). Given State::failed: failed, with
  // its last_error. Returns how many were rewritten.
  std::size_t refresh_planned(const std::vector<OutboxMessage>& messages);
  // Withdraws the planned or sending messages of (target, kind) whose key is not in
  // `keep`; returns how many.
  std::size_t withdraw_outbox(std::string_view target, std::string_view kind, const std::vector<std::string>& keep);
  // planned → sending, attempts + 1 (just before the message is handed to the server).
  void mark_sending(std::uint64_t id);
  // A batch about to be handed over, in one transaction: each of `ids` still planned or
  // sending → sending (attempts unchanged: mark_tried counts them); returns the payload
  // of each one claimed, by id (one withdrawn, sent or failed since it was read is not).
  // A crash after the claim sends a claimed message at the next pass, as a planned one.
  std::map<std::uint64_t, std::string> claim_sending(const std::vector<std::uint64_t>& ids);
  // After the server answered: `state` (sent, planned to retry, failed), attempts + 1,
  // `error` as last_error ("" for sent), retried not before `retry_not_before` when set.
  // One small UPDATE of the state columns and one commit: the payload is not rewritten.
  void mark_tried(std::uint64_t id, OutboxMessage::State state, const std::string& error,
                  std::optional<Instant> retry_not_before = std::nullopt);
  // sending → sent, and the records of (target, series, copy) replaced by `records`, in
  // one transaction: a message is never sent without its effect recorded, or the other way.
  void mark_sent(std::uint64_t id, std::string_view series, std::string_view copy,
                 const std::vector<RemoteRecord>& records);
  // Back to planned (to be retried, `error` kept, not before `retry_not_before` when set),
  // or failed for good.
  void mark_unsent(std::uint64_t id, const std::string& error, bool failed,
                   std::optional<Instant> retry_not_before = std::nullopt);
  std::vector<OutboxMessage> outbox(const OutboxQuery& query = {}) const;

  // --- community channels (convene channel ...): one audit record each ---
  // Refuses a name in use or malformed, an unknown community, an empty webhook, offsets
  // as a member's are refused.
  void add_channel(const ChannelSpec& spec, const ChangeContext& context);
  // Removes the channel; its messages still waiting are withdrawn.
  void remove_channel(std::string_view name, const ChangeContext& context);
  std::vector<ChannelInfo> channels() const;

  // --- leases: one holder at a time of a named piece of work (the reminder worker's) ---
  // Takes the lease `name` for `holder` until the store clock's now + `ttl`, or renews
  // it: true when `holder` holds it now (it was free, expired, or its own already);
  // false when another holder's has not expired (`held_until`, if given, says until
  // when). One write transaction, so two processes never both get it.
  bool acquire_lease(std::string_view name, std::string_view holder, Seconds ttl,
                     Instant* held_until = nullptr);
  // Gives the lease up, if `holder` holds it.
  void release_lease(std::string_view name, std::string_view holder);

  struct Impl;

 private:
  // The web's accounts and archive (convene/accounts.h, archive.h) keep their tables in
  // the store and use its connection and lock.
  friend class Accounts;
  friend class ArchiveIndex;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene
