// The invitation planner: desired state against the mapping, as operations.
#include "convene/invitation_plan.h"

#include <algorithm>
#include <map>
#include <set>

namespace convene {

namespace {

// One copy's records, indexed.
struct Copy {
  const RemoteRecord* series = nullptr;  // null: none; not live: a tombstone
  std::map<LocalTime, const RemoteRecord*> sessions;
  bool present() const { return series && series->live; }
  std::uint64_t generation() const { return series ? series->generation : 0; }
};

// What one copy needs to match the desired series.
struct Need {
  bool missing = false;
  bool master = false;
  std::vector<LocalTime> updated;    // live now, state differs
  std::vector<LocalTime> cancelled;  // not live now, state differs
  bool any() const { return missing || master || !updated.empty() || !cancelled.empty(); }
};

Need need_of(const DesiredSeries& d, const Copy& copy) {
  Need n;
  if (!copy.present()) {
    n.missing = true;
    return n;
  }
  n.master = copy.series->sequence != d.sequence || copy.series->covers != d.covers;
  std::map<LocalTime, SessionState> desired;
  for (const auto& s : d.sessions) desired[s.original] = s;
  std::set<LocalTime> originals;
  for (const auto& [t, _] : desired) originals.insert(t);
  for (const auto& [t, _] : copy.sessions) originals.insert(t);
  for (LocalTime t : originals) {
    const auto di = desired.find(t);
    const SessionState want = di != desired.end() ? di->second : SessionState{t, 0, true};
    const auto pi = copy.sessions.find(t);
    const SessionState had = pi != copy.sessions.end() ? SessionState{t, pi->second->sequence, pi->second->live}
                                                       : SessionState{t, 0, true};
    if (want == had) continue;
    (want.live ? n.updated : n.cancelled).push_back(t);
  }
  return n;
}

std::string compact(LocalTime t) {
  const std::string s = format_local_minute(t);  // 2027-01-18T16:00
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2) + "T" + s.substr(11, 2) + s.substr(14, 2);
}

std::string sequence_of(const DesiredSeries& d, LocalTime t) {
  for (const auto& s : d.sessions)
    if (s.original == t) return std::to_string(s.sequence);
  return "0";
}

// The part of a key after "<series>/<kind>": what the change brings the copy to.
std::string key_detail(const Operation& op, const DesiredSeries* d) {
  std::string k;
  if (d) k += "/s" + std::to_string(d->sequence);
  if (op.master && d) k += "/m" + format_date(d->covers);
  for (LocalTime t : op.sessions) k += "/" + compact(t) + "." + (d ? sequence_of(*d, t) : "0");
  return k;
}

Operation make(OperationKind kind, const std::string& series) {
  Operation op;
  op.kind = kind;
  op.series = series;
  return op;
}

// --- shared targets: one event per series -------------------------------------------------

void plan_shared(const DesiredSeries& d, const Copy& copy, std::vector<Operation>& out) {
  const std::string g = "/g" + std::to_string(copy.generation());
  const Need n = need_of(d, copy);
  if (n.missing) {
    Operation op = make(OperationKind::create, d.series);
    op.members = d.invitees;
    op.key = d.series + "/create" + g + key_detail(op, &d);
    out.push_back(std::move(op));
    return;
  }
  // Attendees by (member, address): a new address is a new attendee.
  const auto& had = copy.series->invitees;
  auto contains = [](const std::vector<Invitee>& list, const Invitee& i) {
    return std::any_of(list.begin(), list.end(),
                       [&](const Invitee& x) { return x.member == i.member && x.email == i.email; });
  };
  Operation removed = make(OperationKind::remove_attendee, d.series);
  for (const auto& i : had)
    if (!contains(d.invitees, i)) removed.members.push_back(i);
  Operation added = make(OperationKind::add_attendee, d.series);
  for (const auto& i : d.invitees)
    if (!contains(had, i)) added.members.push_back(i);
  auto members_key = [](const Operation& op) {
    std::string k;
    for (const auto& m : op.members) k += "/" + m.email;
    return k;
  };
  if (!removed.members.empty()) {
    removed.key = d.series + "/remove" + g + members_key(removed);
    out.push_back(std::move(removed));
  }
  if (n.master || !n.updated.empty()) {
    Operation op = make(OperationKind::update, d.series);
    op.master = n.master;
    op.sessions = n.updated;
    op.key = d.series + "/update" + g + key_detail(op, &d);
    out.push_back(std::move(op));
  }
  for (LocalTime t : n.cancelled) {
    Operation op = make(OperationKind::cancel_session, d.series);
    op.sessions = {t};
    op.key = d.series + "/cancel" + g + "/" + compact(t) + "." + sequence_of(d, t);
    out.push_back(std::move(op));
  }
  if (!added.members.empty()) {
    added.key = d.series + "/add" + g + members_key(added);
    out.push_back(std::move(added));
  }
}

// --- per-member copies ---------------------------------------------------------------------

// Groups members with the same need into one operation each (kind, master, sessions).
struct Grouped {
  std::map<std::pair<bool, std::vector<LocalTime>>, Operation> updates;
  std::map<LocalTime, Operation> cancels;
};

// A member's copy is created by the same REQUEST whether the plan calls it "create" (the
// target had no copy of the series yet) or "add-attendee" (others had one): which of the
// two depends on the other members' copies, so it must not reach the key, or a sync killed
// between two members' messages would re-send the first one under a new key.
std::string member_key(const Operation& op, const DesiredSeries* d, const Invitee& who, std::uint64_t generation) {
  const OperationKind keyed = op.kind == OperationKind::add_attendee ? OperationKind::create : op.kind;
  std::string k = op.series + "/" + std::string(to_string(keyed)) + "/" + who.email + "/g" +
                  std::to_string(generation);
  if (op.kind == OperationKind::cancel_session && d) return k + "/" + compact(op.sessions[0]) + "." + sequence_of(*d, op.sessions[0]);
  if (op.kind == OperationKind::update || op.kind == OperationKind::create || op.kind == OperationKind::add_attendee)
    return k + key_detail(op, d);
  return k;
}

void add_member(Operation& op, const DesiredSeries* d, const Invitee& who, std::uint64_t generation) {
  op.members.push_back(who);
  op.keys.push_back(member_key(op, d, who, generation));
}

Invitee invitee_of(const Copy& copy, const std::string& address) {
  if (copy.series && !copy.series->invitees.empty()) return copy.series->invitees.front();
  return Invitee{"", address, ""};
}

void plan_per_member(const DesiredSeries& d, const std::map<std::string, Copy>& copies, std::vector<Operation>& out) {
  std::set<std::string> wanted;
  for (const auto& i : d.invitees) wanted.insert(i.email);
  // "create" when the target never had the series; later invitees are "added".
  bool any_present = false;
  for (const auto& [_, c] : copies) any_present = any_present || c.series;

  Operation removed = make(OperationKind::remove_attendee, d.series);
  for (const auto& [address, c] : copies)
    if (c.present() && !wanted.count(address)) add_member(removed, &d, invitee_of(c, address), c.generation());
  Operation created = make(OperationKind::create, d.series);
  Operation added = make(OperationKind::add_attendee, d.series);
  Grouped grouped;
  static const Copy none;
  for (const auto& who : d.invitees) {
    const auto it = copies.find(who.email);
    const Copy& c = it != copies.end() ? it->second : none;
    const Need n = need_of(d, c);
    if (n.missing) {
      add_member(any_present ? added : created, &d, who, c.generation());
      continue;
    }
    if (n.master || !n.updated.empty()) {
      auto [slot, fresh] = grouped.updates.try_emplace({n.master, n.updated}, make(OperationKind::update, d.series));
      if (fresh) {
        slot->second.master = n.master;
        slot->second.sessions = n.updated;
        slot->second.key = d.series + "/update" + key_detail(slot->second, &d);
      }
      add_member(slot->second, &d, who, c.generation());
    }
    for (LocalTime t : n.cancelled) {
      auto [slot, fresh] = grouped.cancels.try_emplace(t, make(OperationKind::cancel_session, d.series));
      if (fresh) {
        slot->second.sessions = {t};
        slot->second.key = d.series + "/cancel/" + compact(t) + "." + sequence_of(d, t);
      }
      add_member(slot->second, &d, who, c.generation());
    }
  }
  if (!removed.members.empty()) {
    removed.key = d.series + "/remove";
    out.push_back(std::move(removed));
  }
  if (!created.members.empty()) {
    created.key = d.series + "/create" + key_detail(created, &d);
    out.push_back(std::move(created));
  }
  for (auto& [_, op] : grouped.updates) out.push_back(std::move(op));
  for (auto& [_, op] : grouped.cancels) out.push_back(std::move(op));
  if (!added.members.empty()) {
    added.key = d.series + "/add" + key_detail(added, &d);
    out.push_back(std::move(added));
  }
}

void plan_removed_series(const std::string& series, const std::map<std::string, Copy>& copies, Holding holding,
                         std::vector<Operation>& out) {
  Operation op = make(OperationKind::cancel_series, series);
  for (const auto& [address, c] : copies) {
    if (!c.present()) continue;
    if (holding == Holding::shared) {
      op.key = series + "/cancel-series/g" + std::to_string(c.generation()) + "/s" + std::to_string(c.series->sequence);
    } else {
      add_member(op, nullptr, invitee_of(c, address), c.generation());
    }
  }
  if (!op.key.empty() || !op.members.empty()) {
    if (op.key.empty()) op.key = series + "/cancel-series";
    out.push_back(std::move(op));
  }
}

}  // namespace

std::string_view to_string(TargetKind kind) {
  switch (kind) {
    case TargetKind::email: return "email";
    case TargetKind::caldav: return "caldav";
    case TargetKind::google: return "google";
    case TargetKind::graph: return "graph";
  }
  return "email";
}

std::optional<TargetKind> parse_target_kind(std::string_view text) {
  for (auto k : {TargetKind::email, TargetKind::caldav, TargetKind::google, TargetKind::graph})
    if (to_string(k) == text) return k;
  return std::nullopt;
}

Holding holding_of(TargetKind kind) { return kind == TargetKind::email ? Holding::per_member : Holding::shared; }

std::string_view to_string(OperationKind kind) {
  switch (kind) {
    case OperationKind::create: return "create";
    case OperationKind::update: return "update";
    case OperationKind::cancel_session: return "cancel-session";
    case OperationKind::cancel_series: return "cancel-series";
    case OperationKind::add_attendee: return "add-attendee";
    case OperationKind::remove_attendee: return "remove-attendee";
  }
  return "create";
}

std::size_t TargetPlan::count(OperationKind kind) const {
  return std::size_t(std::count_if(operations.begin(), operations.end(),
                                   [kind](const Operation& op) { return op.kind == kind; }));
}

TargetPlan plan_target(const std::vector<DesiredSeries>& desired, const std::vector<RemoteRecord>& remote,
                       Holding holding) {
  std::map<std::string, std::map<std::string, Copy>> have;
  for (const auto& r : remote) {
    Copy& c = have[r.series][r.copy];
    if (r.occurrence) c.sessions[*r.occurrence] = &r;
    else c.series = &r;
  }
  TargetPlan plan;
  std::set<std::string> seen;
  for (const auto& d : desired) {
    seen.insert(d.series);
    const auto it = have.find(d.series);
    static const std::map<std::string, Copy> no_copies;
    const auto& copies = it != have.end() ? it->second : no_copies;
    if (holding == Holding::shared) {
      const auto c = copies.find("");
      static const Copy none;
      plan_shared(d, c != copies.end() ? c->second : none, plan.operations);
    } else {
      plan_per_member(d, copies, plan.operations);
    }
  }
  for (const auto& [series, copies] : have)
    if (!seen.count(series)) plan_removed_series(series, copies, holding, plan.operations);
  return plan;
}

std::vector<RemoteRecord> records_after(const DesiredSeries* desired, const Operation& op, const std::string& copy,
                                        const std::vector<RemoteRecord>& current, const std::string& remote_id,
                                        const std::string& etag) {
  const RemoteRecord* before = nullptr;
  for (const auto& r : current)
    if (!r.occurrence) before = &r;
  RemoteRecord series;
  if (before) series = *before;
  series.copy = copy;
  series.occurrence.reset();
  if (!remote_id.empty()) series.remote_id = remote_id;
  if (!etag.empty()) series.etag = etag;
  series.generation = before ? before->generation : 0;
  const bool cancels_copy = op.kind == OperationKind::cancel_series ||
                            (op.kind == OperationKind::remove_attendee && !copy.empty());
  if (cancels_copy || !desired) {
    series.live = false;  // the tombstone, of a new generation: the next copy's keys differ
    ++series.generation;
    return {series};
  }
  series.series = desired->series;
  auto session_record = [&](const SessionState& s) {
    RemoteRecord r;
    r.series = desired->series;
    r.occurrence = s.original;
    r.copy = copy;
    r.remote_id = series.remote_id;
    r.sequence = s.sequence;
    r.live = s.live;
    return r;
  };
  const bool full = op.kind == OperationKind::create || (op.kind == OperationKind::add_attendee && !copy.empty()) ||
                    (op.kind == OperationKind::update && op.master);
  std::vector<RemoteRecord> out;
  if (full) {
    series.live = true;
    series.sequence = desired->sequence;
    series.covers = desired->covers;
    series.title = desired->title;
    series.organizer = desired->organizer;
    if (copy.empty()) {
      series.invitees = desired->invitees;
    } else {
      series.invitees.clear();
      for (const auto& i : desired->invitees)
        if (i.email == copy) series.invitees.push_back(i);
    }
    out.push_back(series);
    for (const auto& s : desired->sessions) out.push_back(session_record(s));
    return out;
  }
  // A partial change: the series record's attendees, or some sessions' records.
  if (op.kind == OperationKind::add_attendee) {
    for (const auto& m : op.members) series.invitees.push_back(m);
  } else if (op.kind == OperationKind::remove_attendee) {
    std::erase_if(series.invitees, [&](const Invitee& i) {
      return std::any_of(op.members.begin(), op.members.end(),
                         [&](const Invitee& m) { return m.member == i.member && m.email == i.email; });
    });
  }
  out.push_back(series);
  std::map<LocalTime, RemoteRecord> sessions;
  for (const auto& r : current)
    if (r.occurrence) sessions[*r.occurrence] = r;
  for (LocalTime t : op.sessions) {
    auto it = std::find_if(desired->sessions.begin(), desired->sessions.end(),
                           [&](const SessionState& s) { return s.original == t; });
    if (it != desired->sessions.end()) {
      sessions[t] = session_record(*it);
    } else {
      sessions.erase(t);  // back to "live at revision 0"
    }
  }
  for (auto& [_, r] : sessions) {
    r.remote_id = series.remote_id;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace convene
