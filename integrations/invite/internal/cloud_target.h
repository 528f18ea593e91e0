// What the Google and Graph targets share above the HTTP engine: one flow per series
// (its operations in plan order, the mapping written as each completes), the plan split
// by series, and the token endpoint's answer read.
#pragma once

#include <functional>
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
  void complete(const std::string& remote_id);
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

// An OAuth token endpoint's answer: the access token and its lifetime in seconds, or
// nullopt with `why` ("invalid_grant: ...", "HTTP 500").
std::optional<std::pair<std::string, long long>> read_token(const HttpResponse& answer, std::string& why);

}  // namespace convene::cloud
