// The sync engine: per target, desired state, plan, execution, and the report.
#include <algorithm>
#include <sstream>

#include "convene/change_detector.h"
#include "convene/cloud.h"
#include "convene/ical.h"
#include "convene/invite.h"
#include "invite/internal/targets.h"

namespace convene::invite {

namespace {

using nlohmann::ordered_json;

bool in_scope(const TargetInfo& target, const CommunityDef& community) {
  const auto& ids = target.spec.communities;
  return !ids || std::find(ids->begin(), ids->end(), community.id) != ids->end();
}

std::string address_text(const Person& p) { return p.name.empty() ? p.email : p.name + " <" + p.email + ">"; }

// What a plan's operation says in one line: "create mentoring-monday (2 invitees)".
std::string operation_line(const Operation& op) {
  std::ostringstream out;
  out << to_string(op.kind) << " " << op.series;
  if (op.kind == OperationKind::update) {
    if (op.master) out << " (the series)";
    for (std::size_t i = 0; i < op.sessions.size() && i < 6; ++i)
      out << (i == 0 && !op.master ? " " : ", ") << format_local_minute(op.sessions[i]);
    if (op.sessions.size() > 6) out << ", and " << op.sessions.size() - 6 << " more";
  } else if (op.kind == OperationKind::cancel_session) {
    out << " " << format_local_minute(op.sessions.front());
  }
  if (!op.members.empty()) {
    out << " (";
    for (std::size_t i = 0; i < op.members.size() && i < 5; ++i)
      out << (i ? ", " : "") << (op.members[i].member.empty() ? op.members[i].email : op.members[i].member);
    if (op.members.size() > 5) out << " and " << op.members.size() - 5 << " more";
    out << ")";
  }
  return out.str();
}

ordered_json operation_json(const Operation& op) {
  ordered_json j;
  j["kind"] = std::string(to_string(op.kind));
  j["series"] = op.series;
  if (op.kind == OperationKind::update) j["master"] = op.master;
  ordered_json sessions = ordered_json::array();
  for (auto t : op.sessions) sessions.push_back(format_local_minute(t));
  j["sessions"] = sessions;
  ordered_json members = ordered_json::array();
  for (const auto& m : op.members) members.push_back({{"member", m.member}, {"email", m.email}});
  j["members"] = members;
  j["key"] = op.key;
  return j;
}

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The secret a target's settings name, resolved now (never stored in the clear).
std::optional<Secret> resolve(const std::optional<SecretRef>& ref, const SecretKey* key, std::string& error) {
  if (!ref) return std::nullopt;
  auto r = ref->resolve(key);
  if (!r.secret) error = "its password (" + ref->describe() + "): " + r.error;
  return std::move(r.secret);
}

// The form each series of `plan` has on a Microsoft 365 target (`remote`: its mapping):
// single events, one note each, and a note for each series whose form changes (its rule
// moved into or out of Graph's patterns), saying what is cancelled. The same decision
// (cloud::graph_pattern) and sessions (the feeds') the target uses.
std::vector<std::string> graph_notes(const Definitions& definitions, const std::vector<SeriesInScope>& scope,
                                     const std::vector<RemoteRecord>& remote, const TargetPlan& plan,
                                     LocalDay horizon) {
  std::vector<std::string> notes;
  for (const auto& s : scope) {
    const SeriesDef& series = *s.series;
    if (std::none_of(plan.operations.begin(), plan.operations.end(),
                     [&](const Operation& op) { return op.series == series.id; }))
      continue;
    bool recurring_now = false;
    std::size_t singles_now = 0;
    for (const auto& r : remote)
      if (r.series == series.id && !r.occurrence && r.copy.empty() && r.live) {
        recurring_now = !r.remote_id.empty();
        singles_now = cloud::graph_single_events(r.etag).size();
      }
    std::string why;
    if (cloud::graph_pattern(series.rrule_text, !series.add.empty(), series.start, s.community->timezone, why)) {
      if (singles_now > 0)
        notes.push_back("series " + series.id + ": one recurring event again (its rule fits a Graph pattern now): " +
                        "its " + plural(singles_now, "single event is", "single events are") + " cancelled");
      continue;
    }
    const RenderSpan span = render_span(definitions, series, horizon);
    std::size_t live = 0;
    for (const auto& o : rendered_occurrences(definitions, *s.community, series, span.last)) live += o.live();
    std::string because = series.rrule_text && series.add.empty()
                              ? "its rule RRULE:" + *series.rrule_text + " has no Graph pattern (" + why + ")"
                              : why + ", which no Graph pattern has";
    if (recurring_now) because += ": its recurring event is cancelled";
    notes.push_back("series " + series.id + ": " + plural(live, "single event", "single events") + ": " + because);
  }
  return notes;
}

// The series of `plan` whose online meeting on a Google or Microsoft 365 target is the
// series' own choice ("online_meeting"), one note each; the target's switch (--meet,
// --teams, in its settings) decides the rest. A meeting asked beside the series' own
// join link says so: members see both (the link stays in the event's text).
std::vector<std::string> meeting_notes(const TargetInfo& target, const std::vector<SeriesInScope>& scope,
                                       const TargetPlan& plan) {
  const bool google = target.spec.kind == TargetKind::google;
  const auto settings = nlohmann::json::parse(target.spec.settings, nullptr, false);
  const char* key = google ? "meet" : "teams";
  const bool on = settings.is_object() && settings.contains(key) && settings[key].is_boolean() && settings[key].get<bool>();
  const std::string meeting = google ? "a Meet link" : "a Teams meeting", flag = google ? "--meet" : "--teams";
  std::vector<std::string> notes;
  for (const auto& s : scope) {
    const SeriesDef& series = *s.series;
    if (!series.online_meeting || std::none_of(plan.operations.begin(), plan.operations.end(),
                                               [&](const Operation& op) { return op.series == series.id; }))
      continue;
    if (*series.online_meeting)
      notes.push_back("series " + series.id + ": " + meeting + " (its online_meeting asks for one" +
                      (on ? "" : ", without the target's " + flag) + ")" +
                      (series.join_url ? ", beside its own join link " + *series.join_url : ""));
    else
      notes.push_back("series " + series.id + ": no " + (google ? "Meet link" : "Teams meeting") +
                      " (its online_meeting is false" + (on ? ", whatever the target's " + flag : "") + ")");
  }
  return notes;
}

}  // namespace

std::unique_ptr<Target> make_target(const TargetInfo& target, const SecretKey* key, std::string& error) {
  const auto settings = nlohmann::json::parse(target.spec.settings, nullptr, false);
  switch (target.spec.kind) {
    case TargetKind::email: {
      auto s = email_settings(settings, error);
      if (!s) return nullptr;
      auto password = resolve(s->password, key, error);
      if (!error.empty()) return nullptr;
      return make_email_target(*s, std::move(password));
    }
    case TargetKind::caldav: {
      auto s = caldav_settings(settings, error);
      if (!s) return nullptr;
      auto password = resolve(s->password, key, error);
      if (!error.empty()) return nullptr;
      return make_caldav_target(*s, std::move(password));
    }
    case TargetKind::google: {  // issue 12 (cloud)
      auto s = cloud::google_settings(settings, error);
      if (!s) return nullptr;
      return make_google_target(*s, key, error);
    }
    case TargetKind::graph: {  // issue 12 (cloud)
      auto s = cloud::graph_settings(settings, error);
      if (!s) return nullptr;
      return make_graph_target(*s, key, error);
    }
  }
  error = "this convene cannot sync " + std::string(to_string(target.spec.kind)) + " targets";
  return nullptr;
}

bool SyncReport::ok() const {
  return std::all_of(targets.begin(), targets.end(),
                     [](const TargetReport& t) { return t.error.empty() && t.outcome.failure.empty(); });
}

std::vector<SeriesInScope> series_in_scope(const Store& store, const TargetInfo& target,
                                           const Definitions& definitions, const RevisionSource& revisions,
                                           LocalDay horizon) {
  std::vector<SeriesInScope> out;
  for (const auto& community : definitions.communities) {
    if (!in_scope(target, community)) continue;
    for (const auto& series : community.series) {
      SeriesInScope s{&community, &series, {}};
      DesiredSeries& d = s.desired;
      d.series = series.id;
      d.title = series.title;
      if (series.organizer) d.organizer = address_text(*series.organizer);
      d.sequence = revisions.series(series.id).sequence;
      d.covers = series_covers(definitions, community, series, horizon);
      const RenderSpan span = render_span(definitions, series, horizon);
      for (const auto& o : rendered_occurrences(definitions, community, series, span.last)) {
        const Revision r = revisions.occurrence(series.id, o.original);
        if (r.sequence > 0 || !o.live()) d.sessions.push_back({o.original, r.sequence, o.live()});
      }
      std::sort(d.sessions.begin(), d.sessions.end(),
                [](const SessionState& a, const SessionState& b) { return a.original < b.original; });
      d.invitees = store.invitees(series.id);
      out.push_back(std::move(s));
    }
  }
  return out;
}

SyncReport sync(Store& store, const Clock& clock, const SyncOptions& options) {
  SyncReport report;
  report.dry_run = options.dry_run;
  std::vector<TargetInfo> targets;
  if (options.target) {
    targets.push_back(store.require_target(*options.target));
  } else {
    targets = store.targets();
  }
  // Definitions and revisions read in one transaction: one consistent state, however
  // many facilitators change things meanwhile (their changes reach the next sync).
  const StoreSnapshot snapshot = store.snapshot();
  if (!snapshot.definitions.ok())
    throw StoreError(StoreError::Kind::corrupt, store.path() + " holds definitions this convene cannot use");
  const Definitions& definitions = *snapshot.definitions.definitions;
  const RevisionSource& revisions = snapshot.revisions;
  const Instant now = clock.now();
  const LocalDay horizon = feed_horizon(now);

  std::optional<SecretKey> key;
  std::string key_error;
  if (!options.key_file.empty()) {
    auto opened = SecretKey::open(options.key_file);
    if (opened.key) key.emplace(*opened.key);
    else key_error = opened.error;
  }

  for (const auto& target : targets) {
    TargetReport r;
    r.name = target.spec.name;
    r.kind = target.spec.kind;
    try {
      const auto scope = series_in_scope(store, target, definitions, revisions, horizon);
      const auto remote = store.remote_records(target.spec.name);
      std::vector<DesiredSeries> desired;
      for (const auto& s : scope) desired.push_back(s.desired);
      r.plan = plan_target(desired, remote, holding_of(target.spec.kind));
      if (target.spec.kind == TargetKind::graph) r.notes = graph_notes(definitions, scope, remote, r.plan, horizon);
      if (target.spec.kind == TargetKind::google || target.spec.kind == TargetKind::graph)
        for (auto& note : meeting_notes(target, scope, r.plan)) r.notes.push_back(std::move(note));
      // Targets that keep attendees' responses are read at every sync, even with nothing
      // to write (issue 12, point 4).
      const bool read_back = target.spec.kind == TargetKind::google || target.spec.kind == TargetKind::graph;
      if (options.dry_run || (r.plan.empty() && !(read_back && !remote.empty()))) {
        if (!options.dry_run) store.record_sync(target.spec.name, now, "");
        report.targets.push_back(std::move(r));
        continue;
      }
      std::string error;
      auto impl = make_target(target, key ? &*key : nullptr, error);
      if (!impl && !key_error.empty() && error.find("key file") != std::string::npos) error = key_error;
      if (impl) error = impl->check();
      if (!error.empty()) {
        r.error = error;
        r.outcome.pending = r.plan.operations.size();
        store.record_sync(target.spec.name, now, error);
        report.targets.push_back(std::move(r));
        continue;
      }
      SyncContext ctx{store, target, definitions, revisions, now, horizon, options.uid_domain, scope, remote, {}};
      if (options.progress)
        ctx.progress = [&](std::size_t done, std::size_t total, const std::string& what) {
          options.progress(target.spec.name, done, total, what);
        };
      if (!r.plan.empty()) {
        r.attempted = true;
        r.outcome = impl->execute(ctx, r.plan);
      }
      if (read_back && r.outcome.failure.empty()) {
        const auto held = store.remote_records(target.spec.name);  // as the plan left it
        SyncContext after{store, target, definitions, revisions, now, horizon, options.uid_domain, scope, held, {}};
        impl->read_responses(after, r.outcome);
      }
      r.error = r.outcome.failure;
      store.record_sync(target.spec.name, now, r.outcome.failure);
    } catch (const StoreError&) {
      throw;  // the store itself failed: nothing else can go on
    } catch (const std::exception& e) {
      r.error = e.what();
      store.record_sync(target.spec.name, now, r.error);
    }
    report.targets.push_back(std::move(r));
  }
  return report;
}

std::string report_text(const SyncReport& report) {
  std::ostringstream out;
  std::size_t operations = 0, done = 0, failed = 0, pending = 0, failing = 0;
  for (const auto& t : report.targets) {
    out << "target " << t.name << " (" << to_string(t.kind) << "): ";
    if (t.plan.empty()) {
      out << "nothing to do\n";
    } else {
      out << plural(t.plan.operations.size(), "operation", "operations") << "\n";
      for (const auto& op : t.plan.operations) out << "  " << operation_line(op) << "\n";
      for (const auto& n : t.notes) out << "  note: " << n << "\n";
    }
    operations += t.plan.operations.size();
    if (t.attempted) {
      out << "  done: " << t.outcome.done << ", failed: " << t.outcome.failed << ", left for the next sync: "
          << t.outcome.pending << "\n";
    }
    if (t.outcome.read_responses)
      out << "  responses read: " << plural(t.outcome.responses, "answer", "answers") << " recorded ("
          << plural(t.outcome.read_requests, "read request", "read requests") << ")\n";
    for (const auto& l : t.outcome.links) out << "  " << l << "\n";
    if (t.attempted || t.outcome.read_responses)
      for (const auto& p : t.outcome.problems) out << "    " << p << "\n";
    if (!t.error.empty()) {
      out << "  error: " << t.error << " (tried again at the next sync)\n";
      ++failing;
    }
    done += t.outcome.done;
    failed += t.outcome.failed;
    pending += t.outcome.pending;
  }
  out << (report.dry_run ? "dry run: " : "") << plural(report.targets.size(), "target", "targets") << ", "
      << plural(operations, "operation", "operations");
  if (!report.dry_run) {
    out << "; " << done << " done, " << failed << " failed, " << pending << " left for the next sync";
    if (failing) out << "; " << plural(failing, "target", "targets") << " failed";
  }
  out << "\n";
  return out.str();
}

ordered_json report_json(const SyncReport& report) {
  ordered_json j;
  j["dry_run"] = report.dry_run;
  j["ok"] = report.ok();
  ordered_json targets = ordered_json::array();
  for (const auto& t : report.targets) {
    ordered_json x;
    x["name"] = t.name;
    x["kind"] = std::string(to_string(t.kind));
    ordered_json ops = ordered_json::array();
    for (const auto& op : t.plan.operations) ops.push_back(operation_json(op));
    x["operations"] = ops;
    x["notes"] = t.notes;
    x["attempted"] = t.attempted;
    x["done"] = t.outcome.done;
    x["failed"] = t.outcome.failed;
    x["pending"] = t.outcome.pending;
    x["problems"] = t.outcome.problems;
    x["links"] = t.outcome.links;
    x["responses_read"] = t.outcome.read_responses;
    x["read_requests"] = t.outcome.read_requests;
    x["responses"] = t.outcome.responses;
    x["error"] = t.error.empty() ? ordered_json(nullptr) : ordered_json(t.error);
    targets.push_back(std::move(x));
  }
  j["targets"] = targets;
  return j;
}

}  // namespace convene::invite
