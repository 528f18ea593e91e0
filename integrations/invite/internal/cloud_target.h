// What the Google and Graph targets share above the HTTP engine: one flow per series
// (its operations in plan order, the mapping written as each completes), the plan split
// by series, and the token endpoint's answer read.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convene/invite.h"
#include "invite/internal/cloud_event.h"
#include "invite/internal/cloud_http.h"

namespace convene::cloud {

// One series' operations, carried out one request at a time by a kind's subclass.
class SeriesFlow : public Flow {
 public:
  struct Start {
    const invite::SyncContext* ctx = nullptr;
    const invite::SeriesInScope* scope = nullptr;  // null: the series left the target
    std::string series;
    std::vector<Operation> ops;
    std::vector<RemoteRecord> current;  // its records before
    invite::TargetOutcome* outcome = nullptr;
    std::size_t* done_total = nullptr;
    std::size_t total = 0;
  };
  explicit SeriesFlow(Start start) : s_(std::move(start)) {}
  // The operations not completed (left for the next sync).
  std::size_t left() const { return s_.ops.size() - index_; }

 protected:
  // The series as the one event builder renders it (read once); false with a problem
  // recorded when it cannot be.
  bool load_series();
  // The attendees the series has once `op` is done.
  std::vector<Invitee> attendees_after(const Operation& op) const;
  void fail(const std::string& what, const HttpResponse& r);
  void problem(const std::string& what);
  // A write was answered: the window before the mapping records it.
  static void written();
  // The current operation is done: its records (with `remote_id`) replace the series'.
  // `etag`: the series record's (Graph's single events), "" to keep it. `exact`: the
  // records take `remote_id` even when it is "" (Graph: the recurring event cancelled).
  void complete(const std::string& remote_id, const std::string& etag = "", bool exact = false);
  const Operation& op() const { return s_.ops[index_]; }
  bool more() const { return index_ < s_.ops.size(); }

  Start s_;
  std::size_t index_ = 0;
  bool failed_ = false;
  std::optional<CloudSeries> event_;
};

// The flows of `plan`, one per series in plan order, made by `make`; runs them through
// the engine and returns the outcome (pending: the operations not done).
using FlowMaker = std::function<std::unique_ptr<SeriesFlow>(SeriesFlow::Start)>;
invite::TargetOutcome run_plan(const invite::SyncContext& ctx, const TargetPlan& plan, const FlowMaker& make,
                               const HttpSettings& settings, Authorizer& auth, const ThrottlePredicate& throttled,
                               const std::string& service);

// --- attendees' responses read back (both kinds) ---------------------------------------

// One listing read page after page: `first`, then the page each answer names next
// (`on_page` reads a page and returns the next one's URL, "" at the end). Only URLs
// under `api_url` are followed: the bearer token never goes to another host.
class PagedRead final : public Flow {
 public:
  using OnPage = std::function<std::string(const nlohmann::json& page)>;
  PagedRead(HttpRequest first, std::string api_url, OnPage on_page)
      : request_(std::move(first)), api_url_(std::move(api_url)), on_page_(std::move(on_page)) {}
  std::optional<HttpRequest> next() override;
  void done(const HttpResponse& response) override;
  bool complete() const { return complete_; }  // every page read
  std::size_t requests() const { return requests_; }
  const std::string& error() const { return error_; }  // why not complete

 private:
  HttpRequest request_;
  std::string api_url_;
  OnPage on_page_;
  bool finished_ = false, complete_ = false;
  std::size_t requests_ = 0;
  std::string error_;
};

// The answers one sync reads for the series a target holds (the live series records of
// ctx.remote that are in scope), kept as the store keeps them: a row per attendee for
// the series, and a row for a session only where its answer differs from the series'.
class AnswerBook {
 public:
  explicit AnswerBook(const invite::SyncContext& ctx);
  // The series whose event has this remote id, or nullptr.
  const std::string* series_of(const std::string& remote_id) const;
  // A session's own event (Graph's single events): its answers are that session's.
  void add_session_event(const std::string& remote_id, const std::string& series, LocalTime original);
  // The session whose own event this is, or nullptr.
  const std::pair<std::string, LocalTime>* session_of(const std::string& remote_id) const;
  const date::time_zone* zone_of(const std::string& series) const;
  std::vector<std::string> series() const;
  std::string remote_id(const std::string& series) const;
  void series_answer(const std::string& series, const std::string& email, Answer answer);
  void session_answer(const std::string& series, LocalTime original, const std::string& email, Answer answer);
  // This series could not be read: its stored answers stay, and a problem says why.
  void unread(const std::string& series, const std::string& why);
  // Nothing could be read (the listing failed): every stored answer stays; one problem.
  void unread_all(const std::string& why);
  // Replaces the stored answers of every series read (Store::put_responses) and counts
  // them in `outcome`; `requests`: what the reads took.
  void record(invite::TargetOutcome& outcome, std::size_t requests) const;

 private:
  struct Held {
    std::string remote_id;
    const date::time_zone* zone = nullptr;
    std::vector<Invitee> invitees;
    bool unread = false;
    std::map<std::string, Answer> whole;                               // email -> answer
    std::map<std::pair<LocalTime, std::string>, Answer> sessions;      // (original, email) -> answer
  };
  const invite::SyncContext& ctx_;
  std::map<std::string, Held> held_;              // by series
  std::map<std::string, std::string> by_remote_;  // remote id -> series
  std::map<std::string, std::pair<std::string, LocalTime>> sessions_;  // a session's own event -> it
  std::vector<std::string> problems_;
};

// An RFC 3339 date-time ("2026-11-11T15:00:00-05:00", "2026-11-11T20:00:00Z", with or
// without fractional seconds) as an instant; nullopt for anything else.
std::optional<Instant> parse_rfc3339(std::string_view text);
// j[key] when it is a string, else "" (answers are read without trusting their shape).
std::string json_text(const nlohmann::json& j, const char* key);

// An OAuth token endpoint's answer: the access token and its lifetime in seconds, or
// nullopt with `why` ("invalid_grant: ...", "HTTP 500").
std::optional<std::pair<std::string, long long>> read_token(const HttpResponse& answer, std::string& why);

}  // namespace convene::cloud
