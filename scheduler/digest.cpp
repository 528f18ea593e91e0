// The weekly digests (convene/reminder_plan.h states the rules): when each member's is
// due, and what it lists.
#include <algorithm>
#include <cstdio>

#include <date/iso_week.h>

#include "internal/digest_plan.h"

namespace convene::plan_internal {

namespace {

// One week's digest of a member: when it is due and the week it is for.
struct DigestSlot {
  Instant due{};
  LocalTime local{};  // its wall-clock time in the member's zone
  std::string week;   // "2027-W05"
};

LocalDay monday_of(LocalDay day) { return day - (date::weekday{day} - date::Monday); }

// "2027-W05": the ISO 8601 week of `monday`.
std::string iso_week_of(LocalDay monday) {
  const iso_week::year_weeknum_weekday ywd{date::sys_days{monday.time_since_epoch()}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-W%02u", static_cast<int>(ywd.year()), static_cast<unsigned>(ywd.weeknum()));
  return buf;
}

DigestSlot slot_of(LocalDay monday, const DigestTime& when, const date::time_zone* zone) {
  const LocalTime local = LocalTime{monday + (when.day - date::Monday)} + when.time_of_day;
  return {resolve_local(local, zone), local, iso_week_of(monday)};
}

// The zone a member's digest is in: theirs, else the first community's they follow.
const date::time_zone* digest_zone(const ReminderPlanInput& in, const Follower& f) {
  if (f.member.zone) return f.member.zone;
  for (const auto& series : f.series)
    if (const auto* community = in.definitions->find_series(series).first) return community->zone;
  return nullptr;
}

bool follows(const Follower& f, std::string_view series) {
  return std::find(f.series.begin(), f.series.end(), series) != f.series.end();
}

bool notifies(const AuditRecord& record) {
  return std::find(std::begin(kNoticeActions), std::end(kNoticeActions), record.action) != std::end(kNoticeActions);
}

// When a session starts, or, when it does not take place, when it would have.
Instant when_of(const Occurrence& o) { return o.start ? *o.start : resolve_local(o.original, o.community->zone); }

class DigestPlanner {
 public:
  DigestPlanner(const ReminderPlanInput& in, const std::vector<Occurrence>& sessions, const TouchedSessions& touched,
                ReminderPlan& plan)
      : in_(in), sessions_(sessions), touched_(touched), plan_(plan) {}

  void run() {
    for (const auto& f : in_.followers)
      if (f.member.digest && !f.series.empty()) plan_member(f);
    withdraw_pending();
  }

 private:
  void wake_at(Instant at) {
    if (at > in_.now && (!plan_.next_wake || at < *plan_.next_wake)) plan_.next_wake = at;
  }

  void plan_member(const Follower& f) {
    const date::time_zone* zone = digest_zone(in_, f);
    if (!zone) return;  // follows only series the definitions no longer hold
    const LocalDay monday = monday_of(date::floor<date::days>(to_local(in_.now, zone)));
    // Last week's (a Sunday-night digest may still be catching up), this week's, next week's.
    for (const int week : {-1, 0, 1}) {
      const LocalDay this_monday = monday + date::days{7 * week};
      const DigestSlot slot = slot_of(this_monday, *f.member.digest, zone);
      if (slot.due > in_.now) {
        wake_at(slot.due);
        continue;
      }
      if (in_.now >= slot.due + kDigestCatchUp || slot.due < f.member.created) continue;
      const DigestSlot previous = slot_of(this_monday - date::days{7}, *f.member.digest, zone);
      plan_.messages.push_back(digest(f, zone, slot, previous.due));
      desired_.push_back(plan_.messages.back().key);
    }
  }

  PlannedMessage digest(const Follower& f, const date::time_zone* zone, const DigestSlot& slot, Instant since) const {
    PlannedMessage m;
    m.key = "digest/" + f.member.id + "/" + slot.week;
    m.kind = MessageKind::digest;
    m.member = f.member.id;
    m.channel = "email";
    m.community = in_.definitions->find_series(f.series.front()).first->id;
    m.occurrence = slot.local;
    m.due = slot.due;
    m.session_start = slot.due + kDigestCatchUp;
    m.zone = zone;
    m.week = slot.week;
    std::vector<const Occurrence*> coming;
    for (const auto& o : sessions_) {
      const Instant at = when_of(o);
      if (at >= slot.due && at < slot.due + kDigestSpan && follows(f, o.series->id)) coming.push_back(&o);
    }
    std::stable_sort(coming.begin(), coming.end(), [](const auto* a, const auto* b) { return when_of(*a) < when_of(*b); });
    for (const auto* o : coming) m.upcoming.push_back({o->series->id, o->original});
    for (const auto& record : in_.changes) {
      if (!notifies(record) || record.at <= since || record.at > in_.now) continue;
      for (auto& s : touched_(record)) {
        if (!follows(f, s.series) && !follows(f, s.shown_series)) continue;
        m.changes.push_back({std::move(s), record.action, record.reason, record.at});
      }
    }
    std::stable_sort(m.changes.begin(), m.changes.end(), [](const auto& a, const auto& b) { return a.at < b.at; });
    return m;
  }

  const Follower* follower(std::string_view id) const {
    for (const auto& f : in_.followers)
      if (f.member.id == id) return &f;
    return nullptr;
  }

  // Why a waiting digest is no longer wanted.
  std::string why_not(const PendingMessage& p) const {
    if (p.session_start <= in_.now)
      return "more than " + format_duration(kDigestCatchUp) + " late (due before " +
             date::format("%FT%TZ", p.session_start - kDigestCatchUp + Seconds{1}) + ")";
    const Follower* f = follower(p.member);
    if (!f) return "the member was removed";
    if (!f->member.digest) return "the member turned the digest off";
    if (f->series.empty()) return "the member follows nothing";
    return "the member moved their digest to another time";
  }

  void withdraw_pending() {
    for (const auto& p : in_.pending) {
      if (p.kind != MessageKind::digest) continue;
      if (std::find(desired_.begin(), desired_.end(), p.key) != desired_.end()) continue;
      std::string reason = why_not(p);
      if (p.session_start <= in_.now) plan_.log.push_back("dropped " + p.key + ": " + reason);
      plan_.withdrawals.push_back({p.key, std::move(reason)});
    }
  }

  const ReminderPlanInput& in_;
  const std::vector<Occurrence>& sessions_;
  const TouchedSessions& touched_;
  ReminderPlan& plan_;
  std::vector<std::string> desired_;
};

}  // namespace

void plan_digests(const ReminderPlanInput& in, const std::vector<Occurrence>& sessions, const TouchedSessions& touched,
                  ReminderPlan& plan) {
  DigestPlanner(in, sessions, touched, plan).run();
}

}  // namespace convene::plan_internal
