// What the cloud targets share (invite/internal/cloud_target.h).
#include "invite/internal/cloud_target.h"

#include <map>

#include "convene/fault_points.h"
#include "internal/curl.h"

namespace convene::cloud {

bool SeriesFlow::load_series() {
  if (event_) return true;
  std::string error;
  try {
    EventOptions options;
    options.uid_domain = s_.ctx->uid_domain;
    event_ = read_cloud_series(series_calendar(s_.ctx->definitions, *s_.scope->community, *s_.scope->series,
                                               s_.ctx->horizon, s_.ctx->revisions, options),
                               error);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!event_) {
    problem(error);
    failed_ = true;
  }
  return event_.has_value();
}

std::vector<Invitee> SeriesFlow::attendees_after(const Operation& op) const {
  return records_after(s_.scope ? &s_.scope->desired : nullptr, op, "", s_.current, "", "").front().invitees;
}

void SeriesFlow::problem(const std::string& what) { s_.outcome->problems.push_back("series " + s_.series + ": " + what); }

void SeriesFlow::fail(const std::string& what, const HttpResponse& r) {
  problem(what + " failed: " + net::shorten(r.error, 200));
  failed_ = true;
}

void SeriesFlow::written() { fault_point("cloud.write"); }

void SeriesFlow::complete(const std::string& remote_id, const std::string& etag, bool exact) {
  auto records = records_after(s_.scope ? &s_.scope->desired : nullptr, op(), "", s_.current, remote_id, etag);
  if (exact)
    for (auto& r : records) r.remote_id = remote_id;
  s_.ctx->store.put_remote_records(s_.ctx->target.spec.name, s_.series, "", records);
  s_.current = std::move(records);
  ++index_;
  ++s_.outcome->done;
  if (s_.ctx->progress) s_.ctx->progress(++*s_.done_total, s_.total, s_.series);
}

invite::TargetOutcome run_plan(const invite::SyncContext& ctx, const TargetPlan& plan, const FlowMaker& make,
                               const HttpSettings& settings, Authorizer& auth, const ThrottlePredicate& throttled,
                               const std::string& service) {
  invite::TargetOutcome outcome;
  std::map<std::string, std::size_t> index;
  std::vector<SeriesFlow::Start> starts;
  std::size_t done_total = 0;
  for (const auto& op : plan.operations) {
    auto [it, fresh] = index.try_emplace(op.series, starts.size());
    if (fresh) {
      SeriesFlow::Start s;
      s.ctx = &ctx;
      s.series = op.series;
      for (const auto& x : ctx.series)
        if (x.desired.series == op.series) s.scope = &x;
      for (const auto& r : ctx.remote)
        if (r.series == op.series && r.copy.empty()) s.current.push_back(r);
      s.outcome = &outcome;
      s.done_total = &done_total;
      s.total = plan.operations.size();
      starts.push_back(std::move(s));
    }
    starts[it->second].ops.push_back(op);
  }
  std::vector<std::unique_ptr<SeriesFlow>> flows;
  std::vector<Flow*> raw;
  for (auto& s : starts) {
    flows.push_back(make(std::move(s)));
    raw.push_back(flows.back().get());
  }
  outcome.failure = run_flows(raw, settings, auth, throttled, service);
  for (const auto& f : flows) outcome.pending += f->left();
  return outcome;
}

std::optional<std::pair<std::string, long long>> read_token(const HttpResponse& answer, std::string& why) {
  const nlohmann::json j = nlohmann::json::parse(answer.body, nullptr, false);
  if (answer.status == 200 && j.is_object() && j.contains("access_token") && j["access_token"].is_string()) {
    long long lifetime = 3600;
    if (j.contains("expires_in") && j["expires_in"].is_number_integer()) lifetime = j["expires_in"].get<long long>();
    return std::make_pair(j["access_token"].get<std::string>(), lifetime);
  }
  why = "HTTP " + std::to_string(answer.status);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    why = j["error"].get<std::string>();
    if (j.contains("error_description") && j["error_description"].is_string())
      why += ": " + j["error_description"].get<std::string>();
  }
  why = net::shorten(why, 160);
  return std::nullopt;
}

}  // namespace convene::cloud
