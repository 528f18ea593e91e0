// The reminder planner (convene/reminder_plan.h states the rules).
#include "convene/reminder_plan.h"

#include "internal/digest_plan.h"

#include <algorithm>
#include <set>
#include <unordered_map>

namespace convene {

std::string_view to_string(MessageKind kind) {
  switch (kind) {
    case MessageKind::reminder: return "reminder";
    case MessageKind::notice: return "notice";
    case MessageKind::digest: return "digest";
  }
  return "reminder";
}

std::string_view to_string(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::moved: return "moved";
    case NoticeKind::cancelled: return "cancelled";
    case NoticeKind::closed: return "closed";
    case NoticeKind::back_on: return "back_on";
  }
  return "moved";
}

Dispatch dispatch_rule(MessageKind kind, Instant due, Instant session_start, Instant now) {
  if (now < due) return Dispatch::wait;
  if (now >= session_start) return Dispatch::drop;
  // A notice goes out at once; it is late only when it waited past kLateAfter too.
  if (now - due > kLateAfter) return Dispatch::send_late;
  (void)kind;
  return Dispatch::send;
}

namespace {

// "20270208T2100Z": an instant in a key.
std::string key_instant(Instant at) { return date::format("%Y%m%dT%H%MZ", at); }

std::string reminder_key(const std::string& who, const Occurrence& o, Seconds offset) {
  return who + "/" + o.series->id + "/" + format_local_minute(o.original) + "/" + format_duration(offset) + "/" +
         key_instant(*o.start);
}


using SessionIndex = std::unordered_map<std::string, std::vector<const Occurrence*>>;

const Occurrence* find_session(const SessionIndex& index, std::string_view series, LocalTime original) {
  const auto it = index.find(std::string(series));
  if (it == index.end()) return nullptr;
  for (const auto* o : it->second)
    if (o->original == original) return o;
  return nullptr;
}

// When a session starts, or, when it does not take place, when it would have.
Instant session_instant(const Occurrence& o) {
  return o.start ? *o.start : resolve_local(o.original, o.community->zone);
}

// The largest offset anything plans with: how far ahead of the lookahead to expand.
Seconds max_offset(const ReminderPlanInput& in) {
  Seconds most{0};
  for (const auto& c : in.definitions->communities)
    for (const auto& s : c.series)
      for (auto r : s.reminders) most = std::max(most, r);
  for (const auto& f : in.followers)
    for (auto r : f.member.reminders.offsets) most = std::max(most, r);
  for (const auto& c : in.community_channels)
    for (auto r : c.offsets) most = std::max(most, r);
  return most;
}

Seconds horizon_of(const ReminderPlanInput& in, std::string_view community) {
  const auto it = in.notice_horizons.find(community);
  return it == in.notice_horizons.end() ? kNoticeHorizon : it->second;
}

// Local days around [from, to], wide enough for any zone (±1 day) and moved sessions
// (the engine places a moved one by its final start).
Window window_around(Instant from, Instant to) {
  const auto first = date::floor<date::days>(from) - date::days{1};
  const auto last = date::floor<date::days>(to) + date::days{1};
  return {LocalDay{first.time_since_epoch()}, LocalDay{last.time_since_epoch()}};
}

bool follows(const Follower& f, std::string_view series) {
  return std::find(f.series.begin(), f.series.end(), series) != f.series.end();
}

bool receives(const Member& m) { return m.reminders.channel != "none"; }

class Planner {
 public:
  explicit Planner(const ReminderPlanInput& in) : in_(in) {
    const Seconds ahead = std::max(kReminderLookahead + max_offset(in), kNoticeHorizon + kNoticeLookback);
    Seconds widest = ahead;
    for (const auto& [community, horizon] : in.notice_horizons) widest = std::max(widest, horizon + kNoticeLookback);
    sessions_ = expand(*in.definitions, window_around(in.now - kNoticeLookback, in.now + widest));
    for (const auto& o : sessions_) index_[o.series->id].push_back(&o);
    for (const auto& p : in.pending) pending_.insert(p.key);
  }

  ReminderPlan run() {
    for (const auto& f : in_.followers)
      if (receives(f.member)) plan_member_reminders(f);
    for (const auto& c : in_.community_channels) plan_channel_reminders(c);
    for (const auto& record : in_.changes) plan_notices(record);
    plan_internal::plan_digests(in_, sessions_, [this](const AuditRecord& r) { return touched(r); }, plan_);
    withdraw_pending();
    std::sort(plan_.messages.begin(), plan_.messages.end(), [](const auto& a, const auto& b) {
      return a.due != b.due ? a.due < b.due : a.key < b.key;
    });
    return std::move(plan_);
  }

 private:
  void wake_at(Instant at) {
    if (at > in_.now && (!plan_.next_wake || at < *plan_.next_wake)) plan_.next_wake = at;
  }

  // One reminder for (who, session, offset), unless the rules say not (see the header).
  void plan_reminder(const std::string& key, const Occurrence& o, Seconds offset, Instant known_since,
                     PlannedMessage base) {
    const Instant start = *o.start;
    const Instant due = start - offset;
    if (start <= in_.now) return;
    if (due > in_.now + kReminderLookahead) {
      wake_at(due - kReminderLookahead);
      return;
    }
    const Revision revision = in_.revisions.occurrence(o.series->id, o.original);
    if (due < std::max(revision.modified, known_since) && !pending_.contains(key)) return;
    base.key = key;
    base.kind = MessageKind::reminder;
    base.community = o.community->id;
    base.series = o.series->id;
    base.occurrence = o.original;
    base.offset = offset;
    base.due = due;
    base.session_start = start;
    base.revision = revision.sequence;
    wake_at(due);
    desired_.insert(key);
    plan_.messages.push_back(std::move(base));
  }

  void plan_member_reminders(const Follower& f) {
    for (const auto& series : f.series) {
      const auto it = index_.find(series);
      if (it == index_.end()) continue;
      for (const auto* o : it->second) {
        if (!o->live()) continue;
        const auto& offsets = f.member.reminders.offsets.empty() ? o->series->reminders : f.member.reminders.offsets;
        for (const Seconds offset : offsets) {
          PlannedMessage m;
          m.member = f.member.id;
          m.channel = f.member.reminders.channel;
          plan_reminder("reminder/" + reminder_key(f.member.id, *o, offset), *o, offset, f.member.created, m);
        }
      }
    }
  }

  void plan_channel_reminders(const CommunityChannel& c) {
    for (const auto& o : sessions_) {
      if (!o.live() || o.community->id != c.community) continue;
      const auto& offsets = c.offsets.empty() ? o.series->reminders : c.offsets;
      for (const Seconds offset : offsets) {
        PlannedMessage m;
        m.channel = c.name;
        plan_reminder("community/" + reminder_key(c.name, o, offset), o, offset, Instant::min(), m);
      }
    }
  }

  // The session a split carried `original` into: the continuing series' session nearest
  // to it, within a week.
  const Occurrence* continuation(const std::string& series, LocalTime original) const {
    const auto it = index_.find(series);
    if (it == index_.end()) return nullptr;
    const Occurrence* best = nullptr;
    for (const auto* o : it->second) {
      const auto distance = o->original > original ? o->original - original : original - o->original;
      if (distance > std::chrono::days{7}) continue;
      const auto best_distance =
          best ? (best->original > original ? best->original - original : original - best->original) : Seconds::max();
      if (distance < best_distance) best = o;
    }
    return best;
  }

  static bool notifies(const AuditRecord& record) {
    return std::find(std::begin(kNoticeActions), std::end(kNoticeActions), record.action) != std::end(kNoticeActions);
  }

  static NoticeKind notice_kind(const AuditRecord& record, const Occurrence& now) {
    if (now.live()) return record.action == "restore" || record.action == "reopen" ? NoticeKind::back_on : NoticeKind::moved;
    return now.status == OccurrenceStatus::cancelled ? NoticeKind::cancelled : NoticeKind::closed;
  }

  // The sessions `record` touched within their community's horizon, as they are now.
  std::vector<NoticeSession> touched(const AuditRecord& record) const {
    std::vector<NoticeSession> out;
    std::set<std::pair<std::string, LocalTime>> seen;
    for (const auto& affected : record.affected) {
      // A split's new series shows the same sessions again: notices go by the old ones.
      if (record.action == "split" && record.series && affected.series != *record.series) continue;
      if (!seen.emplace(affected.series, affected.original).second) continue;
      const Occurrence* found = find_session(index_, affected.series, affected.original);
      if (!found && record.action == "split" && record.target) found = continuation(*record.target, affected.original);
      if (!found) continue;
      const auto community = in_.definitions->find_series(affected.series).first;
      if (!community) continue;
      NoticeSession s;
      s.kind = notice_kind(record, *found);
      s.series = affected.series;
      s.occurrence = affected.original;
      s.shown_series = found->series->id;
      s.shown_occurrence = found->original;
      s.revision = affected.sequence;
      s.was = resolve_local(affected.original, community->zone);
      s.start = session_instant(*found);
      s.why = found->reason;
      const Instant until = record.at + horizon_of(in_, community->id);
      const auto within = [&](Instant t) { return t > record.at && t <= until; };
      if (within(s.was) || within(s.start)) out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.start != b.start ? a.start < b.start : a.series < b.series;
    });
    return out;
  }

  void plan_notices(const AuditRecord& record) {
    if (!notifies(record) || record.at < in_.now - kNoticeLookback) return;
    const auto sessions = touched(record);
    if (sessions.empty()) return;
    PlannedMessage base;
    base.kind = MessageKind::notice;
    base.due = record.at;
    base.change = record.id;
    base.action = record.action;
    base.reason = record.reason;
    const std::string change = "/c" + std::to_string(record.id);
    for (const auto& f : in_.followers) {
      if (!receives(f.member) || f.member.created > record.at) continue;
      add_notice("notice/" + f.member.id + change, base, f.member.id, f.member.reminders.channel, sessions,
                 [&](const NoticeSession& s) { return follows(f, s.series) || follows(f, s.shown_series); });
    }
    for (const auto& c : in_.community_channels) {
      add_notice("notice-community/" + c.name + change, base, "", c.name, sessions, [&](const NoticeSession& s) {
        return in_.definitions->find_series(s.series).first->id == c.community;
      });
    }
  }

  template <class Wanted>
  void add_notice(const std::string& key, const PlannedMessage& base, const std::string& member,
                  const std::string& channel, const std::vector<NoticeSession>& sessions, Wanted wanted) {
    PlannedMessage m = base;
    for (const auto& s : sessions)
      if (wanted(s)) m.sessions.push_back(s);
    if (m.sessions.empty() || !desired_.insert(key).second) return;
    m.key = key;
    m.member = member;
    m.channel = channel;
    const auto first = m.sessions.front();
    m.community = in_.definitions->find_series(first.series).first->id;
    m.series = first.series;
    m.occurrence = first.occurrence;
    m.notice = first.kind;
    m.revision = first.revision;
    for (const auto& s : m.sessions) m.session_start = std::max(m.session_start, std::max(s.start, s.was));
    wake_at(m.due);
    plan_.messages.push_back(std::move(m));
  }

  const Follower* follower(std::string_view id) const {
    for (const auto& f : in_.followers)
      if (f.member.id == id) return &f;
    return nullptr;
  }

  // Why a waiting reminder is no longer in the plan.
  std::string why_not(const PendingMessage& p) const {
    if (p.session_start <= in_.now) return "the session started at " + date::format("%FT%TZ", p.session_start);
    if (!p.member.empty()) {
      const Follower* f = follower(p.member);
      if (!f) return "the member was removed";
      if (!receives(f->member)) return "the member turned reminders off";
      if (!follows(*f, p.series)) return "the member no longer follows " + p.series;
    }
    const Occurrence* o = find_session(index_, p.series, p.occurrence);
    if (!o) return "the session no longer exists";
    if (o->status == OccurrenceStatus::cancelled) return "the session was cancelled";
    if (!o->live()) return "the session does not take place" + (o->reason.empty() ? "" : ": " + o->reason);
    if (*o->start != p.session_start) return "the session moved to " + format_rfc3339(*o->start, o->community->zone);
    return "the reminder offsets changed";
  }

  void withdraw_pending() {
    for (const auto& p : in_.pending) {
      if (desired_.contains(p.key) || p.kind == MessageKind::digest) continue;  // plan_digests withdraws digests
      if (p.kind == MessageKind::notice && p.session_start > in_.now) continue;  // notices stay until sent
      std::string reason = why_not(p);
      if (p.session_start <= in_.now) plan_.log.push_back("dropped " + p.key + ": " + reason);
      plan_.withdrawals.push_back({p.key, std::move(reason)});
    }
  }

  const ReminderPlanInput& in_;
  std::vector<Occurrence> sessions_;
  SessionIndex index_;
  std::set<std::string, std::less<>> pending_;
  std::set<std::string, std::less<>> desired_;
  ReminderPlan plan_;
};

}  // namespace

ReminderPlan plan_reminders(const ReminderPlanInput& input) { return Planner(input).run(); }

}  // namespace convene
