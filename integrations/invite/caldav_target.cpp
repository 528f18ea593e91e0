// The CalDAV target: one calendar object per series in the organizer's collection.
#include <map>

#include "convene/caldav.h"
#include "convene/fault_points.h"
#include "convene/ical.h"
#include "internal/ical.h"
#include "invite/internal/targets.h"

namespace convene::invite {

namespace {

// Rounds of conditional writes for one series: a write, then (after a 412 or 404) a
// read and a write again; past this, the series waits for the next sync.
constexpr int kMaxRounds = 4;

// The PARTSTAT each attendee has in a calendar object a server holds (the replies it
// recorded), from its master VEVENT.
std::vector<std::pair<std::string, std::string>> partstats_of(const std::string& ics) {
  std::vector<std::pair<std::string, std::string>> out;
  ical::Component cal{icalparser_parse_string(ics.c_str())};
  if (!cal) return out;
  for (icalcomponent* e = icalcomponent_get_first_component(cal.get(), ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(cal.get(), ICAL_VEVENT_COMPONENT)) {
    if (icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY)) continue;
    for (icalproperty* p = icalcomponent_get_first_property(e, ICAL_ATTENDEE_PROPERTY); p;
         p = icalcomponent_get_next_property(e, ICAL_ATTENDEE_PROPERTY)) {
      std::string value = icalproperty_get_attendee(p) ? icalproperty_get_attendee(p) : "";
      if (value.size() > 7 && strncasecmp(value.c_str(), "mailto:", 7) == 0) value.erase(0, 7);
      if (icalparameter* ps = icalproperty_get_first_parameter(p, ICAL_PARTSTAT_PARAMETER))
        out.emplace_back(value, icalparameter_enum_to_string(icalparameter_get_partstat(ps)));
    }
    break;
  }
  return out;
}

// One series' write in progress.
struct Work {
  const SeriesInScope* scope = nullptr;  // null: the series left the target
  std::string series;
  std::string href;
  std::string etag;
  bool remove = false;
  bool exists = false;  // false: create (If-None-Match: *)
  bool reread = false;  // the next round reads it first (after a 412)
  std::vector<std::pair<std::string, std::string>> partstat;
  std::vector<RemoteRecord> current;
  bool finished = false;
};

class CaldavTarget final : public Target {
 public:
  CaldavTarget(CaldavSettings settings, std::optional<Secret> password)
      : settings_(std::move(settings)), client_(config(settings_, std::move(password))) {}

  TargetKind kind() const override { return TargetKind::caldav; }
  std::string remote_id_for(const std::string& uid) const override { return client_.href_for_uid(uid); }
  std::string check() override { return client_.check().message; }

  TargetOutcome execute(const SyncContext& ctx, const TargetPlan& plan) override {
    TargetOutcome outcome;
    std::vector<Work> work = works_of(ctx, plan);
    for (int round = 0; round < kMaxRounds; ++round) {
      std::vector<caldav::Request> requests;
      std::vector<std::size_t> owner;
      for (std::size_t i = 0; i < work.size(); ++i) {
        if (work[i].finished) continue;
        requests.push_back(request_of(ctx, work[i], outcome));
        owner.push_back(i);
      }
      if (requests.empty()) break;
      std::size_t finished = 0;
      const auto failure = client_.run(requests, [&](std::size_t k, const caldav::Response& r) {
        handle(ctx, work[owner[k]], requests[k], r, round + 1 == kMaxRounds, outcome);
        if (work[owner[k]].finished && ctx.progress) ctx.progress(++finished, requests.size(), work[owner[k]].series);
      });
      if (failure) {
        outcome.failure = failure.message;
        break;
      }
    }
    for (const auto& w : work)
      if (!w.finished) ++outcome.pending;
    return outcome;
  }

 private:
  static caldav::Config config(const CaldavSettings& s, std::optional<Secret> password) {
    caldav::Config c;
    c.collection_url = s.url;
    c.username = s.username;
    c.password = std::move(password);
    c.ca_file = s.ca_file;
    c.max_connections = s.max_connections;
    return c;
  }

  std::vector<Work> works_of(const SyncContext& ctx, const TargetPlan& plan) const {
    std::vector<Work> out;
    std::map<std::string, std::size_t> index;
    for (const auto& op : plan.operations) {
      auto [it, fresh] = index.try_emplace(op.series, out.size());
      if (fresh) {
        Work w;
        w.series = op.series;
        for (const auto& s : ctx.series)
          if (s.desired.series == op.series) w.scope = &s;
        for (const auto& r : ctx.remote)
          if (r.series == op.series && r.copy.empty()) w.current.push_back(r);
        for (const auto& r : w.current)
          if (!r.occurrence && r.live) {
            w.exists = true;
            w.href = r.remote_id;
            w.etag = r.etag;
          }
        if (w.href.empty()) w.href = remote_id_for(op.series + "@" + ctx.uid_domain);
        out.push_back(std::move(w));
      }
      if (op.kind == OperationKind::cancel_series) out[it->second].remove = true;
    }
    return out;
  }

  // The object of a series as the target should hold it now.
  std::string object_of(const SyncContext& ctx, const Work& w, TargetOutcome& outcome) const {
    const SeriesDef& series = *w.scope->series;
    EventOptions options;
    options.uid_domain = ctx.uid_domain;
    if (settings_.organizer) options.organizer = Person{settings_.organizer->name, settings_.organizer->email};
    if (series.organizer || options.organizer) {
      for (const auto& i : w.scope->desired.invitees) options.attendees.push_back({i.email, i.name});
      options.partstat = w.partstat;
    } else if (!w.scope->desired.invitees.empty()) {
      outcome.problems.push_back("series " + series.id +
                                 " names no organizer: its attendees are left out (give the target --organizer)");
    }
    return series_calendar(ctx.definitions, *w.scope->community, series, ctx.horizon, ctx.revisions, options);
  }

  caldav::Request request_of(const SyncContext& ctx, Work& w, TargetOutcome& outcome) const {
    if (w.reread) return {caldav::Method::get, w.href, "", ""};
    if (w.remove || !w.scope) return {caldav::Method::remove, w.href, w.etag, ""};
    return {w.exists ? caldav::Method::update : caldav::Method::create, w.href, w.etag, object_of(ctx, w, outcome)};
  }

  void handle(const SyncContext& ctx, Work& w, const caldav::Request& request, const caldav::Response& r, bool last,
              TargetOutcome& outcome) const {
    if (r.status == 0) return;  // no answer: the batch failure says why, the series waits
    const bool ok = r.status >= 200 && r.status < 300;
    if (request.method == caldav::Method::get) {
      w.reread = false;
      if (ok) {
        w.exists = true;
        w.etag = r.etag;
        w.partstat = partstats_of(r.body);
      } else if (r.status == 404) {
        w.exists = false;
        w.etag.clear();
      } else {
        fail(w, "reading " + w.href + " failed: " + r.error, outcome);
      }
      return;
    }
    if (ok || (request.method == caldav::Method::remove && r.status == 404)) {
      fault_point("invite.put");  // written there, not yet recorded here
      record(ctx, w, r.etag);
      ++outcome.done;
      return;
    }
    if (r.status == 412 || (r.status == 404 && request.method == caldav::Method::update)) {
      // Changed or gone since we last wrote it: read it again and re-apply.
      w.reread = r.status == 412;
      if (r.status == 404) {
        w.exists = false;
        w.etag.clear();
      }
      if (last) fail(w, "series " + w.series + " kept changing on the server; tried again at the next sync", outcome);
      return;
    }
    fail(w, "series " + w.series + ": " + r.error, outcome);
  }

  static void fail(Work& w, const std::string& why, TargetOutcome& outcome) {
    w.finished = true;
    ++outcome.pending;
    outcome.problems.push_back(why);
  }

  void record(const SyncContext& ctx, Work& w, const std::string& etag) const {
    Operation op;
    op.series = w.series;
    if (w.remove || !w.scope) {
      op.kind = OperationKind::cancel_series;
      ctx.store.put_remote_records(ctx.target.spec.name, w.series, "",
                                   records_after(nullptr, op, "", w.current, w.href, ""));
    } else {
      // A PUT writes the whole object: every record is what was desired.
      op.kind = OperationKind::update;
      op.master = true;
      auto records = records_after(&w.scope->desired, op, "", w.current, w.href, etag);
      if (etag.empty())
        for (auto& r : records) r.etag.clear();  // the server did not say: the next write reads it first
      ctx.store.put_remote_records(ctx.target.spec.name, w.series, "", records);
    }
    w.finished = true;
  }

  CaldavSettings settings_;
  caldav::Client client_;
};

}  // namespace

std::unique_ptr<Target> make_caldav_target(const CaldavSettings& settings, std::optional<Secret> password) {
  return std::make_unique<CaldavTarget>(settings, std::move(password));
}

}  // namespace convene::invite
