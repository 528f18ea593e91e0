// The Google Calendar target (convene/cloud.h): one event per series, its instances for
// the sessions that differ from the rule, through Calendar API v3.
#include <chrono>
#include <deque>

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

// Reads of a pending Meet request before it is reported as stuck.
constexpr int kMeetPolls = 8;

// The service account's access token, fetched with a signed JWT and kept until a
// minute before it expires.
class GoogleAuth final : public Authorizer {
 public:
  GoogleAuth(ServiceAccount account, const GoogleSettings& settings) : account_(std::move(account)), s_(settings) {}

  std::string header(std::string& error) override {
    const auto now = std::chrono::steady_clock::now();
    if (!token_.empty() && now < expires_) return "Bearer " + token_;
    JwtClaims claims;
    claims.iss = account_.client_email;
    claims.scope = kGoogleScope;
    claims.aud = s_.http.token_url;
    claims.sub = s_.subject;
    // The token endpoint compares iat and exp with the real time, whatever clock the
    // store's schedule uses.
    claims.iat = std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now());
    std::string sign_error;
    const std::string jwt = sign_jwt(claims, account_.private_key, account_.private_key_id, sign_error);
    if (jwt.empty()) {
      error = "the service account's key " + sign_error;
      return "";
    }
    HttpRequest r{"POST", s_.http.token_url,
                  form_encode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", jwt}}),
                  {"Content-Type: application/x-www-form-urlencoded"}, "token"};
    const HttpResponse answer = perform(r, s_.http);
    if (answer.status == 0) {
      error = "cannot reach Google's token endpoint " + net::shorten(s_.http.token_url, 100) + ": " + answer.error;
      return "";
    }
    std::string why;
    const auto token = read_token(answer, why);
    if (!token) {
      error = "Google refused a token for the service account " + net::shorten(account_.client_email, 80) +
              (s_.subject.empty() ? "" : " acting as " + net::shorten(s_.subject, 80)) + " (" + why + ")";
      return "";
    }
    token_ = token->first;
    expires_ = now + std::chrono::seconds(std::clamp<long long>(token->second - 60, 0, 3600));
    return "Bearer " + token_;
  }
  void invalidate() override { token_.clear(); }

 private:
  ServiceAccount account_;
  const GoogleSettings& s_;
  std::string token_;
  std::chrono::steady_clock::time_point expires_{};
};

bool google_throttled(const HttpResponse& r) {
  if (r.status != 403 && r.status != 429) return false;
  const json j = json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return r.status == 429;
  const auto& errors = j["error"].value("errors", json::array());
  for (const auto& e : errors)
    if (e.is_object() && e.value("reason", "") != "" &&
        (e["reason"] == "rateLimitExceeded" || e["reason"] == "userRateLimitExceeded"))
      return true;
  return r.status == 429;
}

json time_of(LocalTime local, const std::string& zone) { return {{"dateTime", local_iso(local)}, {"timeZone", zone}}; }

enum class StepKind { insert, read_back, patch_series, patch_instance, remove, read_meet };

struct Step {
  explicit Step(StepKind k, std::optional<LocalTime> at = std::nullopt, int n = 0) : kind(k), original(at), polls(n) {}
  StepKind kind;
  std::optional<LocalTime> original;  // patch_instance
  int polls;                          // read_meet
};

// One series: its operations, one request at a time.
class GoogleFlow final : public SeriesFlow {
 public:
  GoogleFlow(Start start, const GoogleSettings& s) : SeriesFlow(std::move(start)), g_(s) {
    uid_ = s_.series + "@" + s_.ctx->uid_domain;
    id_ = google_event_id(uid_);
    base_ = s.http.api_url + "/calendar/v3/calendars/" + percent_encode(s.calendar_id) + "/events";
    meet_ = s_.scope && online_meeting_wanted(s_.scope->series->online_meeting, s.meet);
  }

  std::optional<HttpRequest> next() override {
    if (failed_) return std::nullopt;
    while (steps_.empty()) {
      if (!more()) return std::nullopt;
      if (!plan_steps(op())) return std::nullopt;
    }
    return request_of(steps_.front());
  }

  void done(const HttpResponse& r) override {
    if (r.status == 0 || r.throttled || r.status == 401) {
      failed_ = true;  // the run's failure says why; the series waits for the next sync
      return;
    }
    const Step step = steps_.front();
    steps_.pop_front();
    const bool ok = r.status >= 200 && r.status < 300;
    switch (step.kind) {
      case StepKind::insert:
        if (r.status == 409) {
          steps_.push_front(Step(StepKind::read_back));
          return;
        }
        if (!ok) return fail("inserting the event", r);
        written();
        meet_after(r);
        break;
      case StepKind::read_back: {
        if (!ok) return fail("reading back event " + id_ + " after a 409", r);
        const json j = json::parse(r.body, nullptr, false);
        if (!ours(j)) {
          problem("the Google event id " + id_ +
                                      " is in use by an event convene did not make; left alone");
          failed_ = true;
          return;
        }
        // Ours: an insert whose answer was lost, or our own event deleted earlier (its
        // id is never given out again): bring it up to date, confirmed.
        steps_.push_front(Step(StepKind::patch_series));
        return;
      }
      case StepKind::patch_series:
        if (r.status == 404 || r.status == 410) {
          steps_.push_front(Step(StepKind::insert));
          return;
        }
        if (!ok) return fail("updating the event", r);
        written();
        meet_after(r);
        break;
      case StepKind::patch_instance:
        if (!ok) return fail("changing the session of " + format_local_minute(*step.original), r);
        written();
        break;
      case StepKind::remove:
        if (!ok && r.status != 404 && r.status != 410) return fail("deleting the event", r);
        written();
        break;
      case StepKind::read_meet: {
        if (!ok) return fail("reading the Meet request", r);
        const std::string status = meet_status(json::parse(r.body, nullptr, false));
        if (status == "pending") {
          if (step.polls + 1 >= kMeetPolls) {
            problem("the Meet link is still pending after " +
                                        std::to_string(kMeetPolls) + " reads; read again at the next sync");
          } else {
            steps_.push_front(Step(StepKind::read_meet, std::nullopt, step.polls + 1));
            return;
          }
        } else if (status == "failure") {
          problem("Google could not create its Meet link (failure)");
        } else {
          meet_link(json::parse(r.body, nullptr, false));
        }
        break;
      }
    }
    if (steps_.empty()) complete(id_);
  }

 private:
  // The steps of one operation; false when the series cannot be rendered.
  bool plan_steps(const Operation& op) {
    if (op.kind != OperationKind::cancel_series && !load_series()) return false;
    switch (op.kind) {
      case OperationKind::create:
        steps_.push_back(Step(StepKind::insert));
        all_overrides();
        break;
      case OperationKind::update:
        if (op.master) {
          steps_.push_back(Step(StepKind::patch_series));
          all_overrides();
        } else {
          for (auto t : op.sessions) steps_.push_back(Step(StepKind::patch_instance, t));
        }
        break;
      case OperationKind::cancel_session: steps_.push_back(Step(StepKind::patch_instance, op.sessions.front())); break;
      case OperationKind::cancel_series: steps_.push_back(Step(StepKind::remove)); break;
      case OperationKind::add_attendee:
      case OperationKind::remove_attendee: steps_.push_back(Step(StepKind::patch_series)); break;
    }
    attendees_ = attendees_after(op);
    return true;
  }

  void all_overrides() {
    for (const auto& o : event_->overrides) steps_.push_back(Step(StepKind::patch_instance, o.recurrence_id));
  }

  json event_body(bool with_id) const {
    const CloudSeries& e = *event_;
    json j;
    if (with_id) j["id"] = id_;
    j["summary"] = e.master.summary;
    j["description"] = e.master.description;
    j["location"] = e.master.location;
    j["start"] = time_of(e.master.start, e.master.timezone);
    j["end"] = time_of(e.master.end, e.master.timezone);
    j["recurrence"] = e.recurrence;
    j["status"] = "confirmed";
    j["attendees"] = attendees_json();
    j["extendedProperties"] = {{"private", {{"conveneUid", uid_}}}};
    if (meet_)
      j["conferenceData"] = {{"createRequest",
                              {{"requestId", id_ + "-meet"}, {"conferenceSolutionKey", {{"type", "hangoutsMeet"}}}}}};
    return j;
  }

  json attendees_json() const {
    json list = json::array();
    for (const auto& i : attendees_) {
      json a = {{"email", i.email}};
      if (!i.name.empty()) a["displayName"] = i.name;
      list.push_back(a);
    }
    return list;
  }

  json instance_body(LocalTime original) const {
    const CloudSeries& e = *event_;
    const CloudEvent* o = e.override_at(original);
    const CloudEvent shown = o ? *o : e.plain_instance(original);
    json j;
    j["recurringEventId"] = id_;
    j["originalStartTime"] = time_of(original, e.master.timezone);
    if (shown.cancelled) {
      j["status"] = "cancelled";
      return j;
    }
    j["status"] = "confirmed";
    j["summary"] = shown.summary;
    j["description"] = shown.description;
    j["location"] = shown.location;
    j["start"] = time_of(shown.start, shown.timezone);
    j["end"] = time_of(shown.end, shown.timezone);
    return j;
  }

  std::string instance_id(LocalTime original) const {
    return id_ + "_" + utc_basic(resolve_local(original, find_zone(event_->master.timezone)));
  }

  HttpRequest request_of(const Step& step) const {
    const std::string updates = "sendUpdates=all";
    const std::string conference = meet_ ? "&conferenceDataVersion=1" : "";
    const std::vector<std::string> json_headers{"Content-Type: application/json"};
    switch (step.kind) {
      case StepKind::insert:
        return {"POST", base_ + "?" + updates + conference, event_body(true).dump(), json_headers, "insert " + s_.series};
      case StepKind::read_back: return {"GET", base_ + "/" + id_, "", {}, "read " + s_.series};
      case StepKind::patch_series: {
        json body = event_body(false);
        if (op().kind == OperationKind::add_attendee || op().kind == OperationKind::remove_attendee)
          body = {{"attendees", attendees_json()}};
        return {"PATCH", base_ + "/" + id_ + "?" + updates + conference, body.dump(), json_headers, "update " + s_.series};
      }
      case StepKind::patch_instance:
        return {"PATCH", base_ + "/" + instance_id(*step.original) + "?" + updates,
                instance_body(*step.original).dump(), json_headers, "session " + s_.series};
      case StepKind::remove: return {"DELETE", base_ + "/" + id_ + "?" + updates, "", {}, "delete " + s_.series};
      case StepKind::read_meet: {
        HttpRequest r{"GET", base_ + "/" + id_, "", {}, "meet " + s_.series};
        r.delay = std::chrono::milliseconds(std::max<long long>(50, g_.http.backoff.count()) << std::min(step.polls, 6));
        return r;
      }
    }
    return {};
  }

  bool ours(const json& j) const {
    if (!j.is_object()) return false;
    const auto ext = j.find("extendedProperties");
    if (ext == j.end() || !ext->is_object()) return false;
    const auto priv = ext->find("private");
    return priv != ext->end() && priv->is_object() && priv->value("conveneUid", "") == uid_;
  }

  static std::string meet_status(const json& j) {
    if (!j.is_object()) return "";
    const auto cd = j.find("conferenceData");
    if (cd == j.end() || !cd->is_object()) return "";
    if (cd->contains("entryPoints")) return "success";
    const auto cr = cd->find("createRequest");
    if (cr == cd->end() || !cr->is_object() || !cr->contains("status")) return "";
    return (*cr)["status"].value("statusCode", "");
  }

  // The Meet link Google made (conferenceData's video entry point), in the sync's report.
  void meet_link(const json& event) {
    if (!event.is_object() || !event.contains("conferenceData")) return;
    const json& cd = event["conferenceData"];
    if (!cd.is_object() || !cd.contains("entryPoints") || !cd["entryPoints"].is_array()) return;
    for (const auto& e : cd["entryPoints"])
      if (json_text(e, "entryPointType") == "video") {
        const std::string uri = json_text(e, "uri");
        if (const auto why = url_problem(uri)) problem("Google's Meet link is not a link: " + *why);
        else s_.outcome->links.push_back("series " + s_.series + ": Meet " + uri);
        return;
      }
  }

  void meet_after(const HttpResponse& r) {
    if (!meet_) return;
    const json event = json::parse(r.body, nullptr, false);
    const std::string status = meet_status(event);
    if (status == "success") meet_link(event);
    if (status == "pending") steps_.push_front(Step(StepKind::read_meet));
    if (status == "failure")
      problem("Google could not create its Meet link (failure)");
  }

  const GoogleSettings& g_;
  bool meet_ = false;  // a Meet link: the series' online_meeting, else the target's --meet
  std::string uid_, id_, base_;
  std::deque<Step> steps_;
  std::vector<Invitee> attendees_;
};

// An attendee's responseStatus (needsAction, declined, tentative, accepted).
Answer google_answer(const std::string& status) {
  if (status == "accepted") return Answer::accepted;
  if (status == "tentative") return Answer::tentative;
  if (status == "declined") return Answer::declined;
  return Answer::none;
}

// One item of events.list: a series' event (its attendees' answers for the whole
// series) or one of its exceptions (an instance: the answers for that session).
void read_answers(AnswerBook& book, const json& item) {
  if (!item.is_object() || json_text(item, "status") == "cancelled") return;
  const auto attendees = item.find("attendees");
  if (attendees == item.end() || !attendees->is_array()) return;
  const std::string* series = book.series_of(json_text(item, "id"));
  std::optional<LocalTime> session;
  if (!series) {
    series = book.series_of(json_text(item, "recurringEventId"));
    if (!series || !item.contains("originalStartTime")) return;
    const auto at = parse_rfc3339(json_text(item["originalStartTime"], "dateTime"));
    if (!at) return;
    session = to_local(*at, book.zone_of(*series));
  }
  for (const auto& a : *attendees) {
    const std::string email = json_text(a, "email");
    if (email.empty()) continue;
    const Answer answer = google_answer(json_text(a, "responseStatus"));
    if (session) book.session_answer(*series, *session, email, answer);
    else book.series_answer(*series, email, answer);
  }
}

// events.list pages: at most this many events each (the API's maximum).
constexpr int kListPage = 2500;

class GoogleTarget final : public Target {
 public:
  GoogleTarget(GoogleSettings settings, ServiceAccount account)
      : s_(std::move(settings)), auth_(std::move(account), s_) {}

  TargetKind kind() const override { return TargetKind::google; }
  std::string remote_id_for(const std::string& uid) const override { return google_event_id(uid); }

  std::string check() override {
    std::string error;
    const std::string bearer = auth_.header(error);
    if (bearer.empty()) return error;
    HttpRequest r{"GET", s_.http.api_url + "/calendar/v3/calendars/" + percent_encode(s_.calendar_id), "",
                  {"Authorization: " + bearer}, "calendar"};
    const HttpResponse a = perform(r, s_.http);
    const std::string calendar = "the Google calendar \"" + net::shorten(s_.calendar_id, 80) + "\"";
    if (a.status == 0) return "cannot reach Google Calendar at " + net::shorten(s_.http.api_url, 100) + ": " + a.error;
    if (a.status == 404) return calendar + " does not exist, or the service account may not see it (404)";
    if (a.status == 401 || a.status == 403) return calendar + " refused the service account (" + net::shorten(a.error, 160) + ")";
    if (a.status != 200) return calendar + ": " + net::shorten(a.error, 160);
    return "";
  }

  TargetOutcome execute(const SyncContext& ctx, const TargetPlan& plan) override {
    return run_plan(
        ctx, plan, [&](SeriesFlow::Start start) { return std::make_unique<GoogleFlow>(std::move(start), s_); }, s_.http,
        auth_, google_throttled, "Google Calendar");
  }

  // One events.list of the calendar (not expanded: the series' events and their
  // exceptions, where Google keeps an answer given for one session), page after page:
  // ceil(events / 2,500) read requests per sync, whatever the number of series.
  void read_responses(const SyncContext& ctx, TargetOutcome& outcome) override {
    AnswerBook book(ctx);
    if (book.series().empty()) return;
    const std::string first = s_.http.api_url + "/calendar/v3/calendars/" + percent_encode(s_.calendar_id) +
                              "/events?singleEvents=false&maxResults=" + std::to_string(kListPage) + "&fields=" +
                              percent_encode(
                                  "nextPageToken,items(id,status,recurringEventId,originalStartTime,"
                                  "attendees(email,responseStatus))");
    PagedRead read({"GET", first, "", {}, "read responses"}, s_.http.api_url, [&](const json& page) {
      if (page.contains("items") && page["items"].is_array())
        for (const auto& item : page["items"]) read_answers(book, item);
      const std::string token = json_text(page, "nextPageToken");
      return token.empty() ? std::string() : first + "&pageToken=" + percent_encode(token);
    });
    outcome.failure = run_flows({&read}, s_.http, auth_, google_throttled, "Google Calendar");
    if (!outcome.failure.empty()) return;
    if (!read.complete()) book.unread_all(read.error());
    book.record(outcome, read.requests());
  }

 private:
  GoogleSettings s_;
  GoogleAuth auth_;
};

}  // namespace

std::unique_ptr<Target> make_google_target(const cloud::GoogleSettings& settings, const SecretKey* key,
                                           std::string& error) {
  auto secret = settings.credentials.resolve(key);
  if (!secret.secret) {
    error = "its service-account file: " + secret.error;
    return nullptr;
  }
  const auto& ref = settings.credentials;
  auto account = parse_service_account(secret.secret->reveal(),
                                       ref.kind() == SecretRef::Kind::file ? ref.value() : ref.describe(), error);
  if (!account) return nullptr;
  return std::make_unique<GoogleTarget>(settings, std::move(*account));
}

}  // namespace convene::invite
