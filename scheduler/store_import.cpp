// Importing a definitions file into the store without reverting the facilitators'
// changes: a three-way merge of what the file said at the last import (the base), what
// the store holds now (ours: the file plus the changes made with the CLI since), and
// what the file says now (theirs).
//
// The definitions are cut into items, each with its members: a calendar (builtin, rules,
// ICS file), each of its written closures, a community, a series (with the community it
// belongs to), an override (its move, duration, cancel and reason are one member: they
// only make sense together). For each item and each member:
//   - ours == base: nobody changed it with the CLI, the file's version is taken;
//   - theirs == base: the file did not change it, the CLI change is kept (and the
//     summary says so);
//   - ours == theirs: both say the same;
//   - otherwise it is a conflict: the import is refused, listing who changed it with the
//     CLI, when, and what the file now says, unless the caller prefers one side.
// A store migrated from before schema 5 has no base: an item the CLI changed since the
// last import (by the audit trail) then counts as changed on both sides where the file
// differs from the store.
#include <algorithm>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "convene/change_detector.h"
#include "convene/schedule.h"
#include "convene/store.h"
#include "internal/store_impl.h"
#include "internal/store_revisions.h"
#include "internal/store_tables.h"

namespace convene {

using store_internal::Transaction;

namespace {

using Impl = Store::Impl;
using Json = nlohmann::ordered_json;


// --- items ----------------------------------------------------------------------

// One side of the merge, cut into items by key.
struct Side {
  std::map<std::string, Json> items;
  std::vector<std::string> order;  // every key, in the side's own order
  void put(std::string key, Json value) {
    if (!items.count(key)) order.push_back(key);
    items[std::move(key)] = std::move(value);
  }
};

constexpr char kSep = '\x1f';

std::string key_of(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (auto p : parts) {
    if (!key.empty()) key += kSep;
    key += p;
  }
  return key;
}

std::vector<std::string> parts_of(const std::string& key) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto at = key.find(kSep, start);
    out.push_back(key.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

Side cut(const Json& defs) {
  Side side;
  if (defs.contains("calendars")) {
    for (const auto& [id, calendar] : defs["calendars"].items()) {
      Json c = calendar;
      Json closures = c.contains("closures") ? c["closures"] : Json::array();
      c.erase("closures");
      side.put(key_of({"calendar", id}), c);
      for (const auto& closure : closures) {
        const std::string from = closure.value("date", closure.value("from", std::string()));
        const std::string to = closure.value("date", closure.value("to", std::string()));
        side.put(key_of({"closure", id, from, to, closure.value("name", std::string())}), closure);
      }
    }
  }
  if (defs.contains("communities")) {
    for (const auto& community : defs["communities"]) {
      Json c = community;
      const Json series = c.contains("series") ? c["series"] : Json::array();
      c.erase("series");
      const std::string id = c.value("id", std::string());
      side.put(key_of({"community", id}), c);
      for (const auto& s : series) {
        Json member = s;
        member["community"] = id;
        side.put(key_of({"series", s.value("id", std::string())}), member);
      }
    }
  }
  if (defs.contains("overrides")) {
    for (const auto& o : defs["overrides"])
      side.put(key_of({"override", o.value("series", std::string()), o.value("occurrence", std::string())}), o);
  }
  return side;
}

// The members merged as one: an override's move, duration, cancel and reason.
const std::set<std::string> kScheduleMembers = {"move_to", "duration", "cancel", "reason"};

// The groups of members of an item: each member alone, but an override's schedule as one.
std::vector<std::vector<std::string>> groups_of(const std::string& kind, const Json* b, const Json* o, const Json* t) {
  std::vector<std::string> names;
  for (const Json* j : {b, o, t}) {
    if (!j) continue;
    for (const auto& [name, value] : j->items())
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::vector<std::vector<std::string>> groups;
  std::vector<std::string> schedule;
  for (const auto& name : names) {
    if (kind == "override" && kScheduleMembers.count(name)) schedule.push_back(name);
    else groups.push_back({name});
  }
  if (!schedule.empty()) groups.push_back(schedule);
  return groups;
}

Json pick(const Json* j, const std::vector<std::string>& names) {
  Json out = Json::object();
  if (!j) return out;
  for (const auto& n : names)
    if (j->contains(n)) out[n] = (*j)[n];
  return out;
}

// --- the merge --------------------------------------------------------------------

struct Conflict {
  std::string key;
  std::optional<Json> theirs;  // what the file says (nullopt: nothing)
  std::optional<Json> ours;
};

struct Merge {
  Side merged;
  std::vector<std::string> kept;       // keys where the store's (CLI) version was kept
  std::vector<Conflict> conflicts;
};

// `base` has an item whose value is this: it equals nothing (a legacy store's item the
// CLI changed, whose value at the last import is unknown).
const Json kUnknown = Json{{"\x1f" "unknown", true}};

// The file's order, with what only the store has (a series a split added) placed after
// what precedes it in the store.
std::vector<std::string> merged_order(const Side& ours, const Side& theirs) {
  std::vector<std::string> keys = theirs.order;
  std::set<std::string> present(keys.begin(), keys.end());
  std::optional<std::string> previous;
  for (const auto& k : ours.order) {
    if (!present.count(k)) {
      auto at = previous ? std::find(keys.begin(), keys.end(), *previous) : keys.end();
      keys.insert(at == keys.end() ? keys.end() : std::next(at), k);
      present.insert(k);
    }
    previous = k;
  }
  return keys;
}

Merge merge(const Side& base, const Side& ours, const Side& theirs, ImportPreference prefer) {
  Merge m;
  const std::vector<std::string> keys = merged_order(ours, theirs);
  for (const auto& key : keys) {
    const auto find = [&key](const Side& s) -> const Json* {
      auto it = s.items.find(key);
      return it == s.items.end() ? nullptr : &it->second;
    };
    const Json* b = find(base);
    const Json* o = find(ours);
    const Json* t = find(theirs);
    auto same = [](const Json* x, const Json* y) { return (!x && !y) || (x && y && *x == *y); };
    auto conflict = [&]() -> std::optional<Json> {
      if (prefer == ImportPreference::file) return t ? std::optional<Json>(*t) : std::nullopt;
      if (prefer == ImportPreference::store) return o ? std::optional<Json>(*o) : std::nullopt;
      m.conflicts.push_back({key, t ? std::optional<Json>(*t) : std::nullopt, o ? std::optional<Json>(*o) : std::nullopt});
      return o ? std::optional<Json>(*o) : std::nullopt;
    };
    std::optional<Json> result;
    if (same(o, b)) {
      if (t) result = *t;
    } else if (same(t, b)) {
      if (o) result = *o;
    } else if (same(o, t)) {
      if (o) result = *o;
    } else if (!o || !t || (b && *b == kUnknown)) {
      result = conflict();
    } else {
      // Both changed the item: member by member.
      const std::string kind = parts_of(key).front();
      Json out = Json::object();
      bool clash = false;
      for (const auto& group : groups_of(kind, b, o, t)) {
        const Json bg = pick(b, group), og = pick(o, group), tg = pick(t, group);
        const Json& chosen = og == bg ? tg : tg == bg ? og : og == tg ? og : (clash = true, og);
        for (const auto& [name, value] : chosen.items()) out[name] = value;
      }
      if (clash) {
        result = conflict();
      } else {
        result = out;
      }
    }
    if (result && (!t || *result != *t)) m.kept.push_back(key);
    if (!result && t) m.kept.push_back(key);
    if (result) m.merged.put(key, *result);
  }
  return m;
}

// With the file preferred, what the CLI changed under something the file removes goes
// with it: an override of a removed series, a closure of a removed calendar, a series
// of a removed community (the file's version of all of it is "not there").
void drop_orphans(Merge& m) {
  const auto parent_of = [](const std::vector<std::string>& parts, const Json& value) -> std::string {
    if (parts[0] == "override") return key_of({"series", parts[1]});
    if (parts[0] == "closure") return key_of({"calendar", parts[1]});
    if (parts[0] == "series") return key_of({"community", value.value("community", std::string())});
    return "";
  };
  std::set<std::string> dropped;
  // Series first, so their overrides follow them.
  for (const char* kind : {"series", "closure", "override"}) {
    for (const auto& key : m.merged.order) {
      const auto parts = parts_of(key);
      if (parts[0] != kind || dropped.count(key)) continue;
      const std::string parent = parent_of(parts, m.merged.items.at(key));
      if (!m.merged.items.count(parent) || dropped.count(parent)) dropped.insert(key);
    }
  }
  if (dropped.empty()) return;
  Side kept_items;
  for (const auto& key : m.merged.order)
    if (!dropped.count(key)) kept_items.put(key, m.merged.items.at(key));
  m.merged = std::move(kept_items);
  std::erase_if(m.kept, [&dropped](const std::string& key) { return dropped.count(key) > 0; });
}

// --- from items back to definitions -------------------------------------------------

// The merged items as a definitions document, without the calendars' ICS files (so
// parsing it reads no file: build() adds what they held).
Json assemble(const Merge& m, std::vector<std::string>& problems) {
  Json calendars = Json::object();
  std::map<std::string, Json> communities;
  std::vector<std::string> community_order;
  std::map<std::string, std::vector<Json>> series_of;
  Json overrides = Json::array();
  std::set<std::string> series_ids;
  for (const auto& key : m.merged.order) {
    const auto parts = parts_of(key);
    const Json& value = m.merged.items.at(key);
    if (parts[0] == "calendar") {
      Json c = value;
      c.erase("ics");
      c["closures"] = Json::array();
      calendars[parts[1]] = c;
    } else if (parts[0] == "community") {
      communities[parts[1]] = value;
      community_order.push_back(parts[1]);
    } else if (parts[0] == "series") {
      series_ids.insert(parts[1]);
    }
  }
  for (const auto& key : m.merged.order) {
    const auto parts = parts_of(key);
    const Json& value = m.merged.items.at(key);
    if (parts[0] == "closure") {
      if (!calendars.contains(parts[1])) {
        problems.push_back("a closure of calendar \"" + parts[1] + "\" kept from the store, but the file removes the calendar");
        continue;
      }
      calendars[parts[1]]["closures"].push_back(value);
    } else if (parts[0] == "series") {
      Json s = value;
      const std::string community = s.value("community", std::string());
      s.erase("community");
      if (!communities.count(community)) {
        problems.push_back("series \"" + parts[1] + "\" kept from the store, but the file removes its community \"" +
                           community + "\"");
        continue;
      }
      series_of[community].push_back(std::move(s));
    } else if (parts[0] == "override") {
      if (!series_ids.count(parts[1])) {
        problems.push_back("an override of " + parts[1] + " " + parts[2] +
                           " kept from the store, but the file removes the series");
        continue;
      }
      overrides.push_back(value);
    }
  }
  for (auto& [id, c] : calendars.items())
    if (c["closures"].empty()) c.erase("closures");
  Json doc = Json::object();
  if (!calendars.empty()) doc["calendars"] = calendars;
  Json list = Json::array();
  for (const auto& id : community_order) {
    Json c = communities[id];
    c["series"] = series_of.count(id) ? Json(series_of[id]) : Json::array();
    list.push_back(std::move(c));
  }
  doc["communities"] = std::move(list);
  if (!overrides.empty()) doc["overrides"] = std::move(overrides);
  return doc;
}

// --- who changed what ----------------------------------------------------------------

struct Change {
  std::string actor, action, summary;
  Instant at{};
};

// The latest change made with the CLI since `since` (an audit id) to the item `key`.
std::optional<Change> latest_change(Impl& impl, const std::string& key, std::uint64_t since) {
  const auto parts = parts_of(key);
  auto q = impl.db->query(
      "SELECT actor, action, summary, at FROM audit WHERE id > ?1 AND action NOT IN ('import') AND ("
      "(?2 = 'override' AND series = ?3 AND occurrence = ?4) OR "
      "(?2 = 'series' AND action = 'split' AND (series = ?3 OR target = ?3)) OR "
      "(?2 = 'closure' AND action IN ('close', 'reopen') AND target = ?3)) ORDER BY id DESC LIMIT 1");
  q->bind(1, static_cast<std::int64_t>(since)).bind(2, parts[0]).bind(3, parts.size() > 1 ? parts[1] : "");
  q->bind(4, parts.size() > 2 ? parts[2] : "");
  if (!q->step()) return std::nullopt;
  return Change{q->text(0), q->text(1), q->text(2), Instant{Seconds{q->int64(3)}}};
}

std::string label_of(const std::string& key) {
  const auto p = parts_of(key);
  if (p[0] == "override") return p[1] + " " + p[2];
  if (p[0] == "series") return "series " + p[1];
  if (p[0] == "closure") return p[1] + " " + (p[2] == p[3] ? p[2] : p[2] + " to " + p[3]) + " (" + p[4] + ")";
  return p[0] + " " + p[1];
}

std::string shorten(const std::string& text) {
  return text.size() <= 160 ? text : text.substr(0, 157) + "...";
}

// The items the CLI changed since the last import, for a store without a base (from
// before schema 5): their value at that import is unknown.
void mark_unknown(Impl& impl, Side& base, const Side& ours, std::uint64_t since) {
  for (const auto& key : ours.order)
    if (latest_change(impl, key, since)) base.items[key] = kUnknown;
  // Removed with the CLI (a restore, a reopen): an item ours no longer has.
  auto q = impl.db->query(
      "SELECT series, occurrence FROM audit WHERE id > ?1 AND action IN ('reschedule', 'cancel', 'restore', 'edit') "
      "AND occurrence IS NOT NULL");
  q->bind(1, static_cast<std::int64_t>(since));
  while (q->step()) {
    const std::string key = key_of({"override", q->text(0), q->text(1)});
    if (!ours.items.count(key)) base.put(key, kUnknown);
  }
}

// The members where the file differs from the store, as the file has them:
// {"move_to":"2027-02-12T15:00","reason":"Room booked"}; or that it says nothing.
std::string what_the_file_says(const Conflict& c) {
  if (!c.theirs) return "nothing about it";
  Json differing = Json::object();
  for (const auto& [name, value] : c.theirs->items()) {
    if (name == "series" || name == "occurrence" || name == "id") continue;
    if (!c.ours || !c.ours->contains(name) || (*c.ours)[name] != value) differing[name] = value;
  }
  if (c.ours) {
    for (const auto& [name, value] : c.ours->items())
      if (!c.theirs->contains(name)) differing[name] = nullptr;
  }
  return shorten(differing.dump());
}

std::string conflicts_message(Impl& impl, const Definitions& theirs, const std::vector<Conflict>& conflicts) {
  std::ostringstream out;
  out << theirs.source << " was not imported: " << conflicts.size() << " thing"
      << (conflicts.size() == 1 ? " was" : "s were") << " changed with the CLI since the last import, and the file "
      << "now says something else about " << (conflicts.size() == 1 ? "it" : "them") << ":";
  std::size_t shown = 0;
  for (const auto& c : conflicts) {
    if (++shown > 20) {
      out << "\n  ... and " << conflicts.size() - 20 << " more";
      break;
    }
    out << "\n  " << label_of(c.key) << ": ";
    if (auto change = latest_change(impl, c.key, 0)) {
      out << change->action << " by " << change->actor << " at " << store_internal::format_utc(change->at) << " ("
          << shorten(change->summary) << ")";
    } else {
      out << "changed with the CLI";
    }
    out << "; the file now says " << what_the_file_says(c);
  }
  out << "\nnothing was changed: edit the file, or import it with --prefer file (take the file's version) or "
         "--prefer store (keep the changes made with the CLI)";
  return out.str();
}

std::string kept_text(const std::vector<std::string>& kept) {
  std::string text = "kept " + std::to_string(kept.size()) + " change" + (kept.size() == 1 ? "" : "s") +
                     " made with the CLI (";
  for (std::size_t i = 0; i < kept.size() && i < 8; ++i) text += (i ? ", " : "") + label_of(kept[i]);
  if (kept.size() > 8) text += ", ...";
  return text + ")";
}

// --- the base ------------------------------------------------------------------------

struct Base {
  std::optional<Json> definitions;
  std::uint64_t audit = 0;  // the import it records (0: none)
};

Base read_base(Impl& impl) {
  Base base;
  auto q = impl.db->query("SELECT definitions, audit FROM import_base WHERE id = 1");
  if (q->step()) {
    base.definitions = Json::parse(q->text(0));
    if (auto a = q->optional_int64(1)) base.audit = static_cast<std::uint64_t>(*a);
  } else {
    auto last = impl.db->query("SELECT COALESCE(MAX(id), 0) FROM audit WHERE action = 'import'");
    last->step();
    base.audit = static_cast<std::uint64_t>(last->int64(0));
  }
  return base;
}

void write_base(Impl& impl, const Definitions& theirs, std::optional<std::uint64_t> audit) {
  auto q = impl.db->query(
      "INSERT INTO import_base (id, definitions, source, audit) VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE "
      "SET definitions = excluded.definitions, source = excluded.source, "
      "audit = COALESCE(excluded.audit, import_base.audit)");
  q->bind(1, to_json(theirs).dump()).bind(2, theirs.source);
  if (audit) q->bind(3, static_cast<std::int64_t>(*audit)); else q->bind_null(3);
  q->run();
}

std::vector<std::string> all_series_ids(const Definitions& defs) {
  std::vector<std::string> ids;
  for (const auto& c : defs.communities)
    for (const auto& s : c.series) ids.push_back(s.id);
  return ids;
}

// Whether two definitions say the same (the order of their overrides aside: each names
// its own session).
bool same_definitions(const Definitions& a, const Definitions& b) {
  auto sorted = [](Definitions d) {
    std::sort(d.overrides.begin(), d.overrides.end(), [](const OverrideDef& x, const OverrideDef& y) {
      return std::tie(x.series, x.occurrence) < std::tie(y.series, y.occurrence);
    });
    return to_json(d);
  };
  if (sorted(a) != sorted(b) || a.calendars.size() != b.calendars.size()) return false;
  for (std::size_t i = 0; i < a.calendars.size(); ++i)
    if (store_internal::ics_closures(a.calendars[i]) != store_internal::ics_closures(b.calendars[i])) return false;
  return true;
}

void refuse_if_invalid(const Definitions& defs, const std::string& what, const std::string& hint) {
  std::vector<std::string> errors;
  for (const auto& d : validate_schedule(defs))
    if (d.severity == Diagnostic::Severity::error) errors.push_back(d.to_string());
  if (errors.empty()) return;
  std::string message = what + " cannot be imported:";
  for (std::size_t i = 0; i < errors.size() && i < 10; ++i) message += "\n  " + errors[i];
  if (errors.size() > 10) message += "\n  ... and " + std::to_string(errors.size() - 10) + " more";
  throw StoreError(StoreError::Kind::invalid, message + hint);
}

// The definitions the merge gives, with each calendar's ICS file and closures as the
// side it came from had them.
Definitions build(const Merge& m, const Definitions& current, const Definitions& theirs) {
  std::map<std::string, std::vector<Closure>> from_ics;
  std::map<std::string, std::optional<std::string>> ics_path;
  for (const auto& key : m.merged.order) {
    const auto parts = parts_of(key);
    if (parts[0] != "calendar") continue;
    const Json& value = m.merged.items.at(key);
    const std::optional<std::string> path =
        value.contains("ics") ? std::optional<std::string>(value["ics"].get<std::string>()) : std::nullopt;
    ics_path[parts[1]] = path;
    for (const Definitions* side : {&theirs, &current}) {
      const CalendarDef* c = side->find_calendar(parts[1]);
      if (c && c->ics == path) {
        from_ics[parts[1]] = store_internal::ics_closures(*c);
        break;
      }
    }
  }
  std::vector<std::string> problems;
  const Json doc = assemble(m, problems);
  if (!problems.empty()) {
    std::string message = theirs.source + " cannot be imported:";
    for (const auto& p : problems) message += "\n  " + p;
    throw StoreError(StoreError::Kind::conflict,
                     message + "\nnothing was changed: import it with --prefer file to take the file's version");
  }
  auto loaded = parse_definitions_json(doc, theirs.source, "");
  if (!loaded.ok()) {
    std::string message = theirs.source + " cannot be merged with the changes made with the CLI:";
    for (const auto& d : loaded.diagnostics)
      if (d.severity == Diagnostic::Severity::error) message += "\n  " + d.to_string();
    throw StoreError(StoreError::Kind::conflict,
                     message + "\nnothing was changed: import it with --prefer file to take the file's version");
  }
  Definitions out = std::move(*loaded.definitions);
  out.source = theirs.source;
  // Each calendar's ICS file and what it held, as the store reads them back (after the
  // builtin, the rules and the written closures).
  for (auto& c : out.calendars) {
    c.ics = ics_path[c.id];
    for (const auto& closure : from_ics[c.id]) c.calendar = c.calendar.with_closure(closure);
  }
  return out;
}

}  // namespace

ChangeResult Store::import_definitions(const Definitions& theirs, const ChangeContext& context,
                                       const ImportOptions& options) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("import " + theirs.source);
  refuse_if_invalid(theirs, theirs.source, "");

  Transaction tx(*impl.db, Transaction::Mode::write);
  const Instant at = impl.now();
  std::optional<Definitions> current;
  if (!store_internal::definitions_empty(*impl.db)) current = store_internal::load_or_throw(impl);

  // What to write: the file, merged with the changes made with the CLI since the last import.
  std::vector<std::string> kept;
  Definitions merged = theirs;
  if (current) {
    Base base = read_base(impl);
    const Side ours = cut(to_json(*current));
    Side base_side = base.definitions ? cut(*base.definitions) : ours;
    if (!base.definitions) mark_unknown(impl, base_side, ours, base.audit);
    Merge m = merge(base_side, ours, cut(to_json(theirs)), options.prefer);
    if (options.prefer == ImportPreference::file) drop_orphans(m);
    if (!m.conflicts.empty()) {
      throw StoreError(StoreError::Kind::conflict, conflicts_message(impl, theirs, m.conflicts));
    }
    kept = m.kept;
    if (!kept.empty()) {
      merged = build(m, *current, theirs);
      refuse_if_invalid(merged, theirs.source + " with the changes made with the CLI kept",
                        "\nimport it with --prefer file to take the file's version");
    }
  }
  if (current && same_definitions(*current, merged)) {
    ChangeResult unchanged;
    unchanged.summary = theirs.source + ": no changes; " + impl.options.path + " already holds these definitions" +
                        (kept.empty() ? "" : " (" + kept_text(kept) + ")");
    unchanged.dry_run = context.dry_run;
    write_base(impl, theirs, std::nullopt);
    store_internal::finish(tx, context, unchanged);
    return unchanged;
  }

  // What changed, series by series.
  std::vector<std::string> added, updated, removed;
  for (const auto& c : merged.communities) {
    for (const auto& s : c.series) {
      auto [oc, os] = current ? current->find_series(s.id) : std::pair<const CommunityDef*, const SeriesDef*>{};
      if (!os) {
        added.push_back(s.id);
      } else if (definition_fingerprint(*current, *oc, *os) != definition_fingerprint(merged, c, s)) {
        updated.push_back(s.id);
      }
    }
  }
  if (current) {
    for (const auto& id : all_series_ids(*current))
      if (!merged.find_series(id).second) removed.push_back(id);
  }

  store_internal::RevisionPlan plan;
  try {
    plan = store_internal::plan_revisions(*impl.db, current ? *current : Definitions{}, merged, at, {});
  } catch (const Error& e) {
    throw StoreError(StoreError::Kind::invalid, theirs.source + " cannot be imported: " + e.what());
  }
  store_internal::write_definitions(*impl.db, merged, at);

  nlohmann::ordered_json after;
  after["source"] = theirs.source;
  after["added"] = added;
  after["updated"] = updated;
  after["removed"] = removed;
  std::vector<std::string> kept_labels;
  for (const auto& k : kept) kept_labels.push_back(label_of(k));
  after["kept"] = kept_labels;
  nlohmann::ordered_json before;
  before["series"] = current ? all_series_ids(*current) : std::vector<std::string>{};
  Impl::AuditEntry entry;
  entry.actor = context.actor;
  entry.action = "import";
  entry.reason = context.reason;
  entry.before = before.dump();
  entry.after = after.dump();
  const auto audit = impl.insert_audit(entry, at);
  ChangeResult result = store_internal::apply_revisions(*impl.db, plan, audit, at);
  impl.bump_data_version();
  write_base(impl, theirs, audit);

  std::size_t series_count = 0;
  for (const auto& c : merged.communities) series_count += c.series.size();
  std::ostringstream summary;
  summary << "imported " << theirs.source << ": " << merged.calendars.size() << " calendar"
          << (merged.calendars.size() == 1 ? "" : "s") << ", " << merged.communities.size() << " communit"
          << (merged.communities.size() == 1 ? "y" : "ies") << ", " << series_count << " series, "
          << merged.overrides.size() << " override" << (merged.overrides.size() == 1 ? "" : "s");
  if (current) {
    summary << " (series: " << added.size() << " added, " << updated.size() << " updated, " << removed.size()
            << " removed; " << result.affected.size() << " session" << (result.affected.size() == 1 ? "" : "s")
            << " changed)";
  }
  if (!kept.empty()) summary << "; " << kept_text(kept);
  result.summary = summary.str();
  impl.set_audit_summary(audit, result.summary);
  store_internal::finish(tx, context, result);
  return result;
}

}  // namespace convene
