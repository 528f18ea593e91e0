// The Microsoft Graph target (convene/cloud.h): one event per series with a
// patternedRecurrence in the organizer's mailbox; its instances for the sessions that
// differ from the rule.
#include <chrono>
#include <deque>
#include <map>
#include <set>

#include "convene/change_detector.h"
#include "convene/cloud.h"
#include "convene/fault_points.h"
#include "convene/validate.h"
#include "internal/curl.h"
#include "invite/internal/cloud_event.h"
#include "invite/internal/cloud_http.h"
#include "invite/internal/cloud_target.h"
#include "invite/internal/targets.h"

namespace convene::invite {

namespace {

using nlohmann::json;
using namespace convene::cloud;

// The client-credentials token, kept until a minute before it expires.
class GraphAuth final : public Authorizer {
 public:
  GraphAuth(Secret secret, const GraphSettings& settings) : secret_(std::move(secret)), s_(settings) {}

  std::string header(std::string& error) override {
    const auto now = std::chrono::steady_clock::now();
    if (!token_.empty() && now < expires_) return "Bearer " + token_;
    HttpRequest r{"POST", s_.http.token_url,
                  form_encode({{"client_id", s_.client_id},
                               {"client_secret", secret_.reveal()},
                               {"scope", kGraphScope},
                               {"grant_type", "client_credentials"}}),
                  {"Content-Type: application/x-www-form-urlencoded"}, "token"};
    const HttpResponse answer = perform(r, s_.http);
    if (answer.status == 0) {
      error = "cannot reach the Microsoft token endpoint " + net::shorten(s_.http.token_url, 100) + ": " + answer.error;
      return "";
    }
    std::string why;
    const auto token = read_token(answer, why);
    if (!token) {
      error = "Microsoft refused a token for the application " + net::shorten(s_.client_id, 60) + " of tenant " +
              net::shorten(s_.tenant, 60) + " (" + why + ")";
      return "";
    }
    token_ = token->first;
    expires_ = now + std::chrono::seconds(std::clamp<long long>(token->second - 60, 0, 86400));
    return "Bearer " + token_;
  }
  void invalidate() override { token_.clear(); }

 private:
  Secret secret_;
  const GraphSettings& s_;
  std::string token_;
  std::chrono::steady_clock::time_point expires_{};
};

bool graph_throttled(const HttpResponse& r) { return r.status == 429; }

std::string utc_iso(Instant at) { return date::format("%FT%TZ", at); }

enum class StepKind {
  create, list_instances, patch_series, patch_instance, cancel_instance, cancel_series,
  // a series carried as single events: one session's own event
  create_single, patch_single, cancel_single,
};

struct Step {
  explicit Step(StepKind k, Instant at = {}) : kind(k), original(at) {}
  Step(StepKind k, LocalTime at) : kind(k), session(at) {}
  StepKind kind;
  Instant original;     // an instance's original start
  LocalTime session{};  // a single event's session (its original start)
};

class GraphFlow final : public SeriesFlow {
 public:
  GraphFlow(Start start, const GraphSettings& s) : SeriesFlow(std::move(start)) {
    base_ = s.http.api_url + "/v1.0/users/" + percent_encode(s.mailbox) + "/events";
    teams_ = s_.scope && online_meeting_wanted(s_.scope->series->online_meeting, s.teams);
    for (const auto& r : s_.current)
      if (!r.occurrence && r.live) {
        id_ = r.remote_id;
        singles_ = graph_single_events(r.etag);
      }
  }

  std::optional<HttpRequest> next() override {
    while (!failed_) {
      if (steps_.empty()) {
        if (!more()) return std::nullopt;
        if (!plan_steps(op())) return std::nullopt;
        if (steps_.empty()) finish();  // nothing to send for it (a single event already gone)
        continue;
      }
      const Step s = steps_.front();
      if ((s.kind == StepKind::patch_instance || s.kind == StepKind::cancel_instance) && instance_id(s.original).empty()) {
        // Graph no longer lists it: cancelled there already (a cancel is done; a change cannot be).
        if (s.kind == StepKind::patch_instance)
          problem("Microsoft 365 has no session at " + utc_iso(s.original) + " to change (cancelled there)");
        steps_.pop_front();
        if (steps_.empty()) finish();
        continue;
      }
      return request_of(s);
    }
    return std::nullopt;
  }

  void done(const HttpResponse& r) override {
    if (r.status == 0 || r.throttled || r.status == 401) {
      failed_ = true;
      return;
    }
    const Step step = steps_.front();
    steps_.pop_front();
    const bool ok = r.status >= 200 && r.status < 300;
    const json body = json::parse(r.body, nullptr, false);
    switch (step.kind) {
      case StepKind::create:
        if (!ok || !body.is_object() || !body.contains("id") || !body["id"].is_string())
          return fail("creating the event", r);
        id_ = body["id"].get<std::string>();
        written();
        teams_link(body, "");
        break;
      case StepKind::list_instances:
        if (!ok || !body.is_object() || !body.contains("value")) return fail("listing its instances", r);
        instances_.clear();
        for (const auto& i : body["value"])
          if (i.is_object() && i.contains("id") && i.contains("originalStart") && i["originalStart"].is_string())
            instances_[i["originalStart"].get<std::string>().substr(0, 19)] = i["id"].get<std::string>();
        break;
      case StepKind::patch_series:
        if (!ok) return fail("updating the event", r);
        written();
        break;
      case StepKind::patch_instance:
      case StepKind::cancel_instance:
        if (!ok) return fail("changing the session of " + utc_iso(step.original), r);
        written();
        break;
      case StepKind::cancel_series:
        if (!ok && r.status != 404) return fail("cancelling the event", r);
        id_.clear();  // the recurring event is gone (404: cancelled already, by an earlier try)
        written();
        break;
      case StepKind::create_single:
        if (!ok || !body.is_object() || !body.contains("id") || !body["id"].is_string())
          return fail("creating the single event of " + format_local_minute(step.session), r);
        singles_[step.session] = body["id"].get<std::string>();
        written();
        teams_link(body, " " + format_local_minute(step.session));
        break;
      case StepKind::patch_single:
        if (r.status == 404) {  // deleted in Outlook meanwhile: made again
          singles_.erase(step.session);
          steps_.push_front(Step(StepKind::create_single, step.session));
          return;
        }
        if (!ok) return fail("updating the single event of " + format_local_minute(step.session), r);
        written();
        break;
      case StepKind::cancel_single:
        if (!ok && r.status != 404) return fail("cancelling the single event of " + format_local_minute(step.session), r);
        singles_.erase(step.session);
        written();
        break;
    }
    if (steps_.empty()) finish();
  }

 private:
  // The Teams meeting Graph made for the event (`onlineMeeting.joinUrl` of its answer),
  // in the sync's report; a problem when it asked for one and got none.
  void teams_link(const json& event, const std::string& session) {
    if (!teams_) return;
    std::string url;
    if (event.contains("onlineMeeting") && event["onlineMeeting"].is_object())
      url = json_text(event["onlineMeeting"], "joinUrl");
    if (url.empty()) {
      problem("Microsoft 365 gave no Teams link for" + (session.empty() ? " the series" : session) +
              " (isOnlineMeeting asked; read again at the next change)");
    } else if (const auto why = url_problem(url)) {
      problem("Microsoft 365's Teams link for" + (session.empty() ? " the series" : session) + " is not a link: " + *why);
    } else {
      s_.outcome->links.push_back("series " + s_.series + session + ": Teams meeting " + url);
    }
  }

  // The operation's records written: the recurring event's id ("" when there is none)
  // and the single events' ids, the two forms the series may have on Graph.
  void finish() { complete(id_, graph_single_events_etag(singles_), true); }

  // Whether the series is one patterned event or single events (graph_pattern), and
  // for single events, the sessions that take place (the feeds' own expansion).
  bool shape() {
    if (shaped_) return true;
    if (!load_series()) return false;
    zone_ = windows_zone(event_->master.timezone).value_or("");
    std::string why;
    if (auto r = graph_pattern(event_->rrule, !event_->rdates.empty(), event_->master.start, event_->master.timezone, why))
      recurrence_ = *r;
    single_ = recurrence_.is_null();
    if (single_ && zone_.empty()) {
      problem("not carried to Microsoft 365: its zone " + event_->master.timezone + " has no Windows name");
      failed_ = true;
      return false;
    }
    if (single_) {
      const SeriesDef& series = *s_.scope->series;
      const RenderSpan span = render_span(s_.ctx->definitions, series, s_.ctx->horizon);
      for (const auto& o : rendered_occurrences(s_.ctx->definitions, *s_.scope->community, series, span.last))
        if (o.live()) live_.insert(o.original);
    }
    shaped_ = true;
    return true;
  }

  void single_session(LocalTime t) {
    if (live_.count(t)) steps_.push_back(Step(singles_.count(t) ? StepKind::patch_single : StepKind::create_single, t));
    else if (singles_.count(t)) steps_.push_back(Step(StepKind::cancel_single, t));
  }

  // A series as single events: each session that takes place is its own event,
  // created with its own transactionId; the ones that no longer do are cancelled.
  void plan_single(const Operation& op) {
    switch (op.kind) {
      case OperationKind::update:
        if (!op.master) {
          for (auto t : op.sessions) single_session(t);
          break;
        }
        [[fallthrough]];
      case OperationKind::create:
      case OperationKind::add_attendee:
      case OperationKind::remove_attendee: {
        std::set<LocalTime> all(live_.begin(), live_.end());
        for (const auto& [t, id] : singles_) all.insert(t);
        for (auto t : all) single_session(t);
        break;
      }
      case OperationKind::cancel_session: single_session(op.sessions.front()); break;
      case OperationKind::cancel_series:
        for (const auto& [t, id] : singles_) steps_.push_back(Step(StepKind::cancel_single, t));
        break;
    }
  }

  // The steps of `op`. The mapping says which form the series has on Graph (a recurring
  // event: id_; single events: singles_) and the rule which form it must have (shape);
  // when they differ (its rule moved into or out of Graph's patterns), the new form is
  // made whole first, then the old one cancelled, so attendees get one cancellation of
  // the old form and never lose a session. Every create has its transactionId and every
  // cancel takes a 404 (done by an earlier try) as done, so a retry converges.
  bool plan_steps(const Operation& op) {
    if (op.kind == OperationKind::cancel_series) {
      plan_single(op);
      if (!id_.empty()) steps_.push_back(Step(StepKind::cancel_series));
      return true;
    }
    if (!shape()) return false;
    attendees_ = attendees_after(op);
    if (single_) {
      if (id_.empty()) {
        plan_single(op);
      } else {  // from one recurring event to single events
        plan_single(Operation{OperationKind::create, op.series});
        steps_.push_back(Step(StepKind::cancel_series));
      }
      return true;
    }
    if (id_.empty() && op.kind != OperationKind::create) {  // from single events (or none) to one recurring event
      steps_.push_back(Step(StepKind::create));
      exceptions();
      for (const auto& [t, id] : singles_) steps_.push_back(Step(StepKind::cancel_single, t));
      return true;
    }
    switch (op.kind) {
      case OperationKind::create:
        steps_.push_back(Step(StepKind::create));
        exceptions();
        break;
      case OperationKind::update:
        if (op.master) {
          steps_.push_back(Step(StepKind::patch_series));
          exceptions();
        } else {
          steps_.push_back(Step(StepKind::list_instances));
          for (auto t : op.sessions) steps_.push_back(Step(StepKind::patch_instance, original_utc(t)));
        }
        break;
      case OperationKind::cancel_session:
        steps_.push_back(Step(StepKind::list_instances));
        steps_.push_back(Step(StepKind::cancel_instance, original_utc(op.sessions.front())));
        break;
      case OperationKind::cancel_series: steps_.push_back(Step(StepKind::cancel_series)); break;
      case OperationKind::add_attendee:
      case OperationKind::remove_attendee: steps_.push_back(Step(StepKind::patch_series)); break;
    }
    return true;
  }

  Instant original_utc(LocalTime t) const { return resolve_local(t, find_zone(event_->master.timezone)); }

  // Every session that differs from the rule: the overrides, and the sessions the rule
  // makes that the series leaves out (EXDATE), cancelled.
  void exceptions() {
    const CloudSeries& e = *event_;
    if (e.overrides.empty() && e.exdates.empty()) return;
    steps_.push_back(Step(StepKind::list_instances));
    for (const auto& o : e.overrides)
      steps_.push_back(Step(o.cancelled ? StepKind::cancel_instance : StepKind::patch_instance, o.original_utc));
    for (auto x : e.exdates) steps_.push_back(Step(StepKind::cancel_instance, original_utc(x)));
  }

  json when(LocalTime t) const { return {{"dateTime", local_iso(t)}, {"timeZone", zone_}}; }

  json attendees_json() const {
    json list = json::array();
    for (const auto& i : attendees_)
      list.push_back({{"emailAddress", {{"address", i.email}, {"name", i.name.empty() ? i.email : i.name}}},
                      {"type", "required"}});
    return list;
  }

  json event_body(bool create) const {
    const CloudEvent& m = event_->master;
    json j = {{"subject", m.summary},
              {"body", {{"contentType", "text"}, {"content", m.description}}},
              {"start", when(m.start)},
              {"end", when(m.end)},
              {"location", {{"displayName", m.location}}},
              {"attendees", attendees_json()},
              {"recurrence", recurrence_}};
    if (teams_) {
      j["isOnlineMeeting"] = true;
      j["onlineMeetingProvider"] = "teamsForBusiness";
    }
    if (create) j["transactionId"] = transaction_id();
    return j;
  }

  // The plan's key of the create, so a retry after a lost answer is the same create.
  std::string transaction_id() const { return op().key; }

  const CloudEvent* override_at_utc(Instant original) const {
    for (const auto& o : event_->overrides)
      if (o.original_utc == original) return &o;
    return nullptr;
  }

  HttpRequest request_of(const Step& step) const {
    std::vector<std::string> headers{"Content-Type: application/json"};
    if (!zone_.empty()) headers.push_back("Prefer: outlook.timezone=\"" + zone_ + "\"");
    switch (step.kind) {
      case StepKind::create: return {"POST", base_, event_body(true).dump(), headers, "create " + s_.series};
      case StepKind::list_instances: {
        const Instant from = event_->master.start_utc - std::chrono::hours(24);
        const Instant to = Instant{date::sys_days{s_.scope->desired.covers.time_since_epoch()}} + std::chrono::hours(72);
        return {"GET",
                base_ + "/" + percent_encode(id_) + "/instances?startDateTime=" + percent_encode(utc_iso(from)) +
                    "&endDateTime=" + percent_encode(utc_iso(to)) + "&$top=1000",
                "", headers, "instances " + s_.series};
      }
      case StepKind::patch_series: {
        json body = op().kind == OperationKind::add_attendee || op().kind == OperationKind::remove_attendee
                        ? json{{"attendees", attendees_json()}}
                        : event_body(false);
        return {"PATCH", base_ + "/" + percent_encode(id_), body.dump(), headers, "update " + s_.series};
      }
      case StepKind::patch_instance: {
        const CloudEvent* o = override_at_utc(step.original);
        const CloudEvent shown = o ? *o : event_->plain_instance(to_local(step.original, find_zone(event_->master.timezone)));
        json body = {{"subject", shown.summary},
                     {"body", {{"contentType", "text"}, {"content", shown.description}}},
                     {"start", when(shown.start)},
                     {"end", when(shown.end)},
                     {"location", {{"displayName", shown.location}}}};
        return {"PATCH", base_ + "/" + percent_encode(instance_id(step.original)), body.dump(), headers,
                "session " + s_.series};
      }
      case StepKind::cancel_instance:
        return {"POST", base_ + "/" + percent_encode(id_) + "/instances/" + percent_encode(instance_id(step.original)) +
                            "/microsoft.graph.cancel",
                json{{"Comment", "Cancelled"}}.dump(), headers, "cancel session " + s_.series};
      case StepKind::cancel_series:
        return {"POST", base_ + "/" + percent_encode(id_) + "/microsoft.graph.cancel",
                json{{"Comment", "This series has ended"}}.dump(), headers, "cancel " + s_.series};
      case StepKind::create_single:
        return {"POST", base_, single_body(step.session, true).dump(), headers, "create " + s_.series + " session"};
      case StepKind::patch_single:
        return {"PATCH", base_ + "/" + percent_encode(singles_.at(step.session)), single_body(step.session, false).dump(),
                headers, "update " + s_.series + " session"};
      case StepKind::cancel_single:
        return {"POST", base_ + "/" + percent_encode(singles_.at(step.session)) + "/microsoft.graph.cancel",
                json{{"Comment", "Cancelled"}}.dump(), headers, "cancel " + s_.series + " session"};
    }
    return {};
  }

  // One session's own event: its text and times (an override's, else the series'), the
  // series' attendees; on create, its transactionId: the operation's key and the
  // session, so a retry after a lost answer is the same create.
  json single_body(LocalTime session, bool create) const {
    const CloudEvent* o = event_->override_at(session);
    const CloudEvent shown = o ? *o : event_->plain_instance(session);
    json j = {{"subject", shown.summary},
              {"body", {{"contentType", "text"}, {"content", shown.description}}},
              {"start", when(shown.start)},
              {"end", when(shown.end)},
              {"location", {{"displayName", shown.location}}},
              {"attendees", attendees_json()}};
    if (teams_) {
      j["isOnlineMeeting"] = true;
      j["onlineMeetingProvider"] = "teamsForBusiness";
    }
    if (create) j["transactionId"] = op().key + "/" + format_local_minute(session);
    return j;
  }

  std::string instance_id(Instant original) const {
    const auto it = instances_.find(utc_iso(original).substr(0, 19));
    return it == instances_.end() ? "" : it->second;
  }

  bool teams_ = false;  // a Teams meeting: the series' online_meeting, else the target's --teams
  std::string base_, id_, zone_;
  std::deque<Step> steps_;
  json recurrence_;
  std::map<std::string, std::string> instances_;  // original start (UTC, to the second) -> instance id
  std::vector<Invitee> attendees_;
  bool shaped_ = false;
  bool single_ = false;                        // carried as single events
  std::set<LocalTime> live_;                   // single events: the sessions that take place
  std::map<LocalTime, std::string> singles_;   // single events: session -> event id

};

// An attendee's status.response (none, organizer, tentativelyAccepted, accepted,
// declined, notResponded).
Answer graph_answer(const std::string& response) {
  if (response == "accepted" || response == "organizer") return Answer::accepted;
  if (response == "tentativelyAccepted") return Answer::tentative;
  if (response == "declined") return Answer::declined;
  return Answer::none;
}

// Each attendee's answer in `event` (a series master or one of its occurrences).
template <class Put>
void graph_answers(const json& event, Put put) {
  const auto attendees = event.find("attendees");
  if (attendees == event.end() || !attendees->is_array()) return;
  for (const auto& a : *attendees) {
    if (!a.is_object() || !a.contains("emailAddress")) continue;
    const std::string email = json_text(a["emailAddress"], "address");
    if (email.empty()) continue;
    put(email, graph_answer(a.contains("status") ? json_text(a["status"], "response") : ""));
  }
}

// Graph's largest page of events.
constexpr int kGraphPage = 1000;

class GraphTarget final : public Target {
 public:
  GraphTarget(GraphSettings settings, Secret secret) : s_(std::move(settings)), auth_(std::move(secret), s_) {}

  TargetKind kind() const override { return TargetKind::graph; }
  // Graph chooses its ids; ours is the create's transactionId (the plan's key).
  std::string remote_id_for(const std::string& uid) const override { return uid; }

  std::string check() override {
    std::string error;
    const std::string bearer = auth_.header(error);
    if (bearer.empty()) return error;
    HttpRequest r{"GET", s_.http.api_url + "/v1.0/users/" + percent_encode(s_.mailbox) + "/events?$top=1", "",
                  {"Authorization: " + bearer}, "mailbox"};
    const HttpResponse a = perform(r, s_.http);
    const std::string mailbox = "the mailbox \"" + net::shorten(s_.mailbox, 80) + "\"";
    if (a.status == 0) return "cannot reach Microsoft Graph at " + net::shorten(s_.http.api_url, 100) + ": " + a.error;
    if (a.status == 404) return mailbox + " does not exist in tenant " + net::shorten(s_.tenant, 60) + " (404)";
    if (a.status == 401 || a.status == 403)
      return mailbox + " refused the application (" + net::shorten(a.error, 160) + "; it needs Calendars.ReadWrite)";
    if (a.status != 200) return mailbox + ": " + net::shorten(a.error, 160);
    return "";
  }

  TargetOutcome execute(const SyncContext& ctx, const TargetPlan& plan) override {
    return run_plan(
        ctx, plan, [&](SeriesFlow::Start start) { return std::make_unique<GraphFlow>(std::move(start), s_); }, s_.http,
        auth_, graph_throttled, "Microsoft Graph");
  }

  // The mailbox's events, page after page (each series' answers), and each series'
  // /instances over its span (the answers given for one session): ceil(events / 1,000)
  // + one per series (per 1,000 sessions) read requests per sync; 4 at once.
  void read_responses(const SyncContext& ctx, TargetOutcome& outcome) override {
    AnswerBook book(ctx);
    if (book.series().empty()) return;
    for (const auto& r : ctx.remote)
      if (!r.occurrence && r.copy.empty() && r.live)
        for (const auto& [t, id] : graph_single_events(r.etag)) book.add_session_event(id, r.series, t);
    const std::string base = s_.http.api_url + "/v1.0/users/" + percent_encode(s_.mailbox) + "/events";
    auto next_link = [](const json& page) { return json_text(page, "@odata.nextLink"); };
    PagedRead masters({"GET", base + "?$top=" + std::to_string(kGraphPage) + "&$select=id,attendees", "", {},
                       "read responses"},
                      s_.http.api_url, [&](const json& page) {
                        if (page.contains("value") && page["value"].is_array())
                          for (const auto& e : page["value"]) {
                            if (const std::string* series = book.series_of(json_text(e, "id")))
                              graph_answers(e, [&](const std::string& email, Answer a) {
                                book.series_answer(*series, email, a);
                              });
                            if (const auto* session = book.session_of(json_text(e, "id")))
                              graph_answers(e, [&](const std::string& email, Answer a) {
                                book.session_answer(session->first, session->second, email, a);
                              });
                          }
                        return next_link(page);
                      });
    std::vector<std::unique_ptr<PagedRead>> sessions;
    std::vector<std::string> names;
    for (const auto& series : book.series()) {
      if (book.remote_id(series).empty()) continue;  // single events: read with the mailbox's
      const SeriesInScope* scope = nullptr;
      for (const auto& x : ctx.series)
        if (x.desired.series == series) scope = &x;
      const Instant from = resolve_local(scope->series->start, book.zone_of(series)) - std::chrono::hours(24);
      const Instant to =
          Instant{date::sys_days{scope->desired.covers.time_since_epoch()}} + std::chrono::hours(72);
      const std::string url = base + "/" + percent_encode(book.remote_id(series)) +
                              "/instances?startDateTime=" + percent_encode(utc_iso(from)) +
                              "&endDateTime=" + percent_encode(utc_iso(to)) + "&$top=" + std::to_string(kGraphPage) +
                              "&$select=originalStart,attendees";
      sessions.push_back(std::make_unique<PagedRead>(
          HttpRequest{"GET", url, "", {}, "responses " + series}, s_.http.api_url, [&book, series, next_link](const json& page) {
            if (page.contains("value") && page["value"].is_array())
              for (const auto& i : page["value"]) {
                const auto at = parse_rfc3339(json_text(i, "originalStart"));
                if (!at) continue;
                const LocalTime original = to_local(*at, book.zone_of(series));
                graph_answers(i, [&](const std::string& email, Answer a) {
                  book.session_answer(series, original, email, a);
                });
              }
            return next_link(page);
          }));
      names.push_back(series);
    }
    std::vector<Flow*> flows{&masters};
    for (const auto& f : sessions) flows.push_back(f.get());
    outcome.failure = run_flows(flows, s_.http, auth_, graph_throttled, "Microsoft Graph");
    if (!outcome.failure.empty()) return;
    std::size_t requests = masters.requests();
    if (!masters.complete()) book.unread_all(masters.error());
    for (std::size_t i = 0; i < sessions.size(); ++i) {
      requests += sessions[i]->requests();
      if (masters.complete() && !sessions[i]->complete()) book.unread(names[i], sessions[i]->error());
    }
    book.record(outcome, requests);
  }

 private:
  GraphSettings s_;
  GraphAuth auth_;
};

}  // namespace

std::unique_ptr<Target> make_graph_target(const cloud::GraphSettings& settings, const SecretKey* key,
                                          std::string& error) {
  auto secret = settings.client_secret.resolve(key);
  if (!secret.secret) {
    error = "its client secret: " + secret.error;
    return nullptr;
  }
  return std::make_unique<GraphTarget>(settings, std::move(*secret.secret));
}

}  // namespace convene::invite
