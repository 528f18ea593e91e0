// The store: open and migrate, definitions in and out, revisions, the facilitator's
// operations and the audit trail. SQL lives here and in store_tables.cpp,
// store_members.cpp, store_schema.cpp, store_sqlite.cpp only.
#include "convene/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convene/fault_points.h"
#include "convene/schedule.h"
#include "convene/validate.h"
#include "internal/definitions_text.h"
#include "convene/change_detector.h"
#include "internal/store_impl.h"
#include "internal/store_revisions.h"
#include "internal/store_schema.h"
#include "internal/store_tables.h"

namespace convene {

using store_internal::Connection;
using store_internal::Transaction;

namespace {

class RealClock final : public Clock {
 public:
  Instant now() const override { return date::floor<Seconds>(std::chrono::system_clock::now()); }
};

std::string quote(std::string_view s) { return quote_value(s); }

// The guard every edit passes, whoever calls (the CLI, the web, the API): free text is
// text, links are http(s) links (convene/validate.h). An empty value clears a field.
void check_edit(const OccurrenceEdit& edit) {
  auto check = [](const char* field, const std::optional<std::string>& value,
                  std::optional<std::string> (*problem)(std::string_view)) {
    if (!value || value->empty()) return;
    if (auto why = problem(*value)) throw StoreError(StoreError::Kind::invalid, std::string(field) + ": " + *why);
  };
  check("title", edit.title, text_problem);
  check("description", edit.description, text_problem);
  check("presenter", edit.presenter, text_problem);
  check("join link", edit.join_url, url_problem);
  check("location", edit.location, text_problem);
  check("agenda", edit.agenda, text_problem);
  if (edit.resources) {
    for (const auto& r : *edit.resources) {
      check("resource title", r.title, text_problem);
      if (auto why = url_problem(r.url)) throw StoreError(StoreError::Kind::invalid, "resource link: " + *why);
    }
  }
}

std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }
Instant from_unix(std::int64_t s) { return Instant{Seconds{s}}; }

LocalDay day_of(LocalTime t) { return date::floor<date::days>(t); }

// --- JSON of single definitions (the file's own format, through to_json) --------

std::string override_json(const std::optional<OverrideDef>& o) {
  if (!o) return "null";
  Definitions d;
  d.overrides.push_back(*o);
  return to_json(d)["overrides"][0].dump();
}

nlohmann::ordered_json series_json(const CommunityDef& community, const SeriesDef& series) {
  Definitions d;
  CommunityDef c = community;
  c.series = {series};
  d.communities.push_back(std::move(c));
  return to_json(d)["communities"][0]["series"][0];
}

// --- windows ----------------------------------------------------------------------

Window around(LocalDay from, LocalDay to, int before_days, int after_days) {
  return Window{from - date::days{before_days}, to + date::days{after_days}};
}

// --- lookups with clear messages ---------------------------------------------------

std::vector<std::string> all_series_ids(const Definitions& defs) {
  std::vector<std::string> ids;
  for (const auto& c : defs.communities)
    for (const auto& s : c.series) ids.push_back(s.id);
  return ids;
}

std::string list_for_message(const std::vector<std::string>& ids) {
  std::string text;
  for (std::size_t i = 0; i < ids.size() && i < 8; ++i) text += (i ? ", " : "") + ids[i];
  if (ids.size() > 8) text += ", ... (" + std::to_string(ids.size()) + " in all)";
  return text;
}

std::pair<const CommunityDef*, const SeriesDef*> require_series(const Definitions& defs,
                                                               std::string_view id) {
  auto found = defs.find_series(id);
  if (found.second) return found;
  const auto ids = all_series_ids(defs);
  std::string message = "no series " + quote(id) + " in " + defs.source;
  if (auto near = definitions_internal::nearest(id, ids)) message += "; did you mean " + quote(*near) + "?";
  if (!ids.empty()) message += " (series: " + list_for_message(ids) + ")";
  throw StoreError(StoreError::Kind::invalid, message);
}

// The originals of a series near `t`, for "the nearest are ..." messages.
std::string nearest_occurrences(const Definitions& defs, std::string_view series, LocalTime t) {
  ExpandOptions options;
  options.series = std::string(series);
  std::vector<LocalTime> originals;
  try {
    for (const auto& o : expand(defs, around(day_of(t), day_of(t), 400, 400), options))
      originals.push_back(o.original);
  } catch (const Error&) {
    return "";
  }
  std::sort(originals.begin(), originals.end());
  auto pos = std::lower_bound(originals.begin(), originals.end(), t);
  std::string text;
  if (pos != originals.begin()) text += format_local_minute(*std::prev(pos));
  if (pos != originals.end()) text += (text.empty() ? "" : " and ") + format_local_minute(*pos);
  return text.empty() ? "" : " (the nearest are " + text + ")";
}

const OverrideDef* find_override(const Definitions& defs, std::string_view series, LocalTime original) {
  for (const auto& o : defs.overrides)
    if (o.series == series && o.occurrence == original) return &o;
  return nullptr;
}

// The occurrence (series, original), expanded in a window wide enough to see it even
// when a holiday shift or a move took it far from its original date.
std::optional<Occurrence> find_occurrence(const Definitions& defs, std::string_view series,
                                          LocalTime original, std::vector<LocalTime> also = {}) {
  also.push_back(original);
  if (const OverrideDef* o = find_override(defs, series, original); o && o->move_to)
    also.push_back(*o->move_to);
  const auto [lo, hi] = std::minmax_element(also.begin(), also.end());
  ExpandOptions options;
  options.series = std::string(series);
  for (auto& o : expand(defs, around(day_of(*lo), day_of(*hi), 45, 45), options)) {
    if (o.original == original) return o;
  }
  return std::nullopt;
}

bool is_empty_override(const OverrideDef& o) {
  return !o.move_to && !o.duration && !o.cancel && !o.title && !o.description && !o.join_url &&
         !o.location && !o.presenter && !o.agenda && o.resources.empty();
}

// Definitions with the override for (series, original) replaced (or removed: nullopt).
Definitions with_override(const Definitions& defs, std::string_view series, LocalTime original,
                          const std::optional<OverrideDef>& replacement) {
  Definitions out = defs;
  auto it = std::find_if(out.overrides.begin(), out.overrides.end(), [&](const OverrideDef& o) {
    return o.series == series && o.occurrence == original;
  });
  if (replacement) {
    if (it != out.overrides.end()) *it = *replacement;
    else out.overrides.push_back(*replacement);
  } else if (it != out.overrides.end()) {
    out.overrides.erase(it);
  }
  return out;
}

}  // namespace

const Clock& Clock::real() {
  static const RealClock clock;
  return clock;
}

namespace store_internal {

std::string format_utc(Instant at) { return date::format("%Y-%m-%dT%H:%M:%SZ", at); }

}  // namespace store_internal

// --- Impl helpers ------------------------------------------------------------------

void Store::Impl::check_writable(const std::string& action) const {
  if (read_only) {
    throw StoreError(StoreError::Kind::read_only,
                     options.path + " is read-only (its file mode allows no writing): cannot " +
                         action + "; nothing was changed");
  }
}

std::uint64_t Store::Impl::insert_audit(const AuditEntry& e, Instant at) {
  auto q = db->query(
      "INSERT INTO audit (at, actor, action, series, occurrence, target, summary, reason, before, "
      "after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id");
  q->bind(1, unix_seconds(at)).bind(2, e.actor).bind(3, e.action).bind(4, e.series);
  if (e.occurrence) q->bind(5, format_local_minute(*e.occurrence)); else q->bind_null(5);
  q->bind(6, e.target).bind(7, e.summary).bind(8, e.reason).bind(9, e.before).bind(10, e.after);
  q->step();
  const auto id = static_cast<std::uint64_t>(q->int64(0));
  q->run();
  return id;
}

void Store::Impl::audit_object(const ChangeContext& context, const std::string& action, std::string_view target,
                               const std::string& summary, const std::string& before, const std::string& after,
                               Instant at) {
  AuditEntry e;
  e.actor = context.actor;
  e.action = action;
  e.target = std::string(target);
  e.summary = summary;
  e.reason = context.reason;
  e.before = before;
  e.after = after;
  insert_audit(e, at);
  bump_data_version();
}

void Store::Impl::set_audit_summary(std::uint64_t id, const std::string& summary) {
  auto q = db->query("UPDATE audit SET summary = ?2 WHERE id = ?1");
  q->bind(1, static_cast<std::int64_t>(id)).bind(2, summary);
  q->run();
}

void Store::Impl::bump_data_version() {
  db->query("UPDATE meta SET value = value + 1 WHERE key = 'data_version'")->run();
}

namespace {

using Impl = Store::Impl;

// The conflict check (only with an explicit expectation, inside the write transaction):
// the revision the caller read must still be the one outputs show.
void check_unchanged(Impl& impl, std::string_view series, std::optional<LocalTime> occurrence,
                     std::uint64_t expected, const std::string& what) {
  const auto stored = store_internal::read_series_head(*impl.db, series, occurrence);
  const Revision shown = occurrence ? store_internal::shown_occurrence_revision(stored, *occurrence)
                                    : store_internal::shown_series_revision(stored);
  if (shown.sequence == expected) return;
  std::string by;
  const auto audit = occurrence ? store_internal::shown_occurrence_audit(stored, *occurrence)
                                : (stored.master ? stored.master->audit : std::nullopt);
  if (audit) {
    auto q = impl.db->query("SELECT actor, at FROM audit WHERE id = ?1");
    q->bind(1, static_cast<std::int64_t>(*audit));
    if (q->step()) by = " by " + q->text(0) + " at " + store_internal::format_utc(from_unix(q->int64(1)));
  }
  throw StoreError(StoreError::Kind::conflict,
                   what + " was changed" + by + " (now revision " + std::to_string(shown.sequence) +
                       ") since you read it (revision " + std::to_string(expected) +
                       "); nothing was changed: look at it again and re-run the command");
}

}  // namespace

namespace store_internal {

Definitions load_or_throw(Store::Impl& impl) {
  auto loaded = store_internal::read_definitions(*impl.db, impl.source);
  if (!loaded.ok()) {
    std::string message = impl.options.path + " holds definitions this convene cannot use:";
    for (const auto& d : loaded.diagnostics) message += " " + d.to_string() + ";";
    throw StoreError(StoreError::Kind::corrupt, message);
  }
  return std::move(*loaded.definitions);
}

// Commits a change, or (a rehearsal: context.dry_run) leaves its transaction to roll back.
void finish(Transaction& tx, const ChangeContext& context, ChangeResult& result) {
  if (context.dry_run) {
    result.audit_id = 0;
    result.dry_run = true;
    return;
  }
  tx.commit();
}

}  // namespace store_internal

using store_internal::finish;
using store_internal::load_or_throw;

// --- open ------------------------------------------------------------------------

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::open(const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : &Clock::real();
  impl->source = "store " + options.path;

  struct stat st {};
  const bool exists = ::stat(options.path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    throw StoreError(StoreError::Kind::invalid, options.path + " is a folder, not a convene database");
  }
  if (!exists && !options.create) {
    throw StoreError(StoreError::Kind::not_found,
                     "no convene store at " + options.path + " (import a definitions file first)");
  }
  bool wal_file_format = false;
  if (exists) {
    impl->read_only = (st.st_mode & 0222) == 0 || ::access(options.path.c_str(), W_OK) != 0;
    if (st.st_size > 0) {
      char header[20] = {};
      std::ifstream in(options.path, std::ios::binary);
      in.read(header, sizeof header);
      if (!in || std::string(header, 16) != std::string("SQLite format 3\0", 16)) {
        throw StoreError(StoreError::Kind::corrupt,
                         options.path + " is not a convene database (it is not an SQLite file)");
      }
      wal_file_format = header[18] == 2;
    }
  } else {
    // A new store holds members' names, emails and token hashes: only its owner may read
    // it. Its -wal and -shm files take the same mode (SQLite gives them the database's).
    const int fd = ::open(options.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::fchmod(fd, 0600);
      ::close(fd);
    } else if (errno != EEXIST) {
      throw StoreError(StoreError::Kind::read_only, "cannot create " + options.path + " (" + std::strerror(errno) +
                                                        "): check that its folder exists and may be written");
    }
  }
  if (impl->read_only && wal_file_format) store_internal::check_wal_readable(options.path);
  impl->db = std::make_unique<Connection>(options.path, options.create, impl->read_only,
                                          static_cast<int>(options.busy_timeout.count()));
  Connection& db = *impl->db;
  int version = store_internal::schema_version(db);
  if (version > kSchemaVersion) {
    throw StoreError(StoreError::Kind::newer_schema,
                     options.path + " has schema version " + std::to_string(version) +
                         ", newer than this convene knows (" + std::to_string(kSchemaVersion) +
                         "): upgrade convene to use it; the file was not changed");
  }
  {
    auto q = db.query(
        "SELECT count(*), count(CASE WHEN name = 'meta' THEN 1 END) FROM sqlite_master WHERE type = 'table'");
    q->step();
    const bool has_tables = q->int64(0) > 0, has_meta = q->int64(1) > 0;
    if ((version == 0 && has_tables) || (version > 0 && !has_meta)) {
      throw StoreError(StoreError::Kind::corrupt,
                       options.path + " is an SQLite database, but not a convene store");
    }
  }
  db.exec("PRAGMA foreign_keys = ON");
  if (!impl->read_only) {
    // The -wal and -shm files stay when the last connection closes (persistent WAL), so a
    // user who may read the store but not write its folder (a service user running serve)
    // can always read it: SQLite reads a WAL database read-only when they exist.
    db.persist_wal();
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
  }
  if (version < kSchemaVersion) {
    if (impl->read_only) {
      throw StoreError(StoreError::Kind::read_only,
                       options.path + " has schema version " + std::to_string(version) +
                           " and must be migrated to " + std::to_string(kSchemaVersion) +
                           ", but it is read-only");
    }
    Transaction tx(db, Transaction::Mode::write);
    version = store_internal::schema_version(db);  // another process may have migrated it
    if (version < kSchemaVersion) store_internal::migrate(db, kSchemaVersion);
    tx.commit();
    version = kSchemaVersion;
  }
  impl->version = version;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

const std::string& Store::path() const { return impl_->options.path; }
int Store::schema_version() const { return impl_->version; }
bool Store::read_only() const { return impl_->read_only; }

// --- definitions -------------------------------------------------------------------

LoadedDefinitions Store::load() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return store_internal::read_definitions(*impl_->db, impl_->source);
}

nlohmann::ordered_json Store::export_json() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  Definitions defs = load_or_throw(*impl_);
  // Self-contained: a calendar read from an ICS file is written with what it held, as
  // closures with their names, so the export gives the same season wherever it is read.
  for (auto& c : defs.calendars) {
    if (!c.ics) continue;
    for (auto& closure : store_internal::ics_closures(c)) c.closures.push_back(std::move(closure));
    c.ics.reset();
  }
  return to_json(defs);
}

bool Store::empty() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return store_internal::definitions_empty(*impl_->db);
}

// --- revisions -----------------------------------------------------------------------

Revision Store::series_revision(std::string_view series) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return store_internal::shown_series_revision(store_internal::read_series_head(*impl_->db, series, std::nullopt));
}

Revision Store::occurrence_revision(std::string_view series, LocalTime original) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return store_internal::shown_occurrence_revision(store_internal::read_series_head(*impl_->db, series, original),
                                                   original);
}

RevisionSource Store::revisions() const {
  return {[this](std::string_view series) { return series_revision(series); },
          [this](std::string_view series, LocalTime original) { return occurrence_revision(series, original); },
          [this](std::string_view series) {
            std::lock_guard lock(impl_->mutex);
            Transaction tx(*impl_->db, Transaction::Mode::read);
            auto q = impl_->db->query(
                "SELECT COALESCE(MAX(audit), 0), COALESCE(MAX(modified), 0) FROM revisions WHERE series = ?1");
            q->bind(1, series);
            q->step();
            return LastChange{static_cast<std::uint64_t>(q->int64(0)), Instant{Seconds{q->int64(1)}}};
          }};
}

StoreSnapshot Store::snapshot() const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  StoreSnapshot snap;
  {
    auto q = impl_->db->query("SELECT value FROM meta WHERE key = 'data_version'");
    snap.data_version = q->step() ? static_cast<std::uint64_t>(q->int64(0)) : 0;
  }
  snap.definitions = store_internal::read_definitions(*impl_->db, impl_->source);
  using All = std::map<std::string, store_internal::SeriesRevisions, std::less<>>;
  auto all = std::make_shared<const All>(store_internal::read_all_revisions(*impl_->db));
  auto find = [all](std::string_view series) -> const store_internal::SeriesRevisions* {
    auto it = all->find(series);
    return it == all->end() ? nullptr : &it->second;
  };
  snap.revisions.series = [find](std::string_view series) {
    const auto* s = find(series);
    return s ? store_internal::shown_series_revision(*s) : Revision{};
  };
  snap.revisions.occurrence = [find](std::string_view series, LocalTime original) {
    const auto* s = find(series);
    return s ? store_internal::shown_occurrence_revision(*s, original) : Revision{};
  };
  snap.revisions.last_change = [find](std::string_view series) {
    const auto* s = find(series);
    return s ? s->last_change : LastChange{};
  };
  return snap;
}

std::uint64_t Store::data_version() const {
  std::lock_guard lock(impl_->mutex);
  auto q = impl_->db->query("SELECT value FROM meta WHERE key = 'data_version'");
  return q->step() ? static_cast<std::uint64_t>(q->int64(0)) : 0;
}

// --- facilitator operations ----------------------------------------------------------

std::vector<LocalTime> Store::occurrences_on(std::string_view series, LocalDay day) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  const Definitions defs = load_or_throw(*impl_);
  require_series(defs, series);
  ExpandOptions options;
  options.series = std::string(series);
  std::vector<LocalTime> out;
  for (const auto& o : expand(defs, around(day, day, 45, 45), options)) {
    if (day_of(o.original) == day) out.push_back(o.original);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// What an occurrence operation does to the occurrence's override.
struct OccurrenceChange {
  std::string action;     // "reschedule"
  std::string verb_done;  // "moved"
  // Returns the new override (nullopt: none), given the current one (or a fresh one).
  std::function<std::optional<OverrideDef>(const OverrideDef& current, const Occurrence& occurrence)> apply;
  std::vector<LocalTime> also;  // other starts to look at (a move's target)
  std::function<std::string(const std::optional<OverrideDef>&)> unchanged_message;
  std::function<std::string()> summary;
};

ChangeResult change_occurrence(Impl& impl, std::string_view series, LocalTime original,
                               const ChangeContext& context, const OccurrenceChange& change) {
  const std::string what = std::string(series) + " " + format_local_minute(original);
  impl.check_writable(change.action + " " + what);
  const std::string occurrence_id = format_local_minute(original);
  fault_point("store.before-write");

  // Read and write in one transaction: a change without an expectation applies to what
  // the previous writer committed; one with an expectation is checked against it here.
  Transaction tx(*impl.db, Transaction::Mode::write);
  if (context.expect_revision) check_unchanged(impl, series, original, *context.expect_revision, what);
  const Instant at = impl.now();
  const Definitions defs = load_or_throw(impl);
  require_series(defs, series);
  const auto occurrence = find_occurrence(defs, series, original, change.also);
  if (!occurrence) {
    throw StoreError(StoreError::Kind::invalid, "series " + quote(series) + " has no occurrence at " +
                                                    occurrence_id +
                                                    nearest_occurrences(defs, series, original));
  }
  std::optional<OverrideDef> current;
  if (const OverrideDef* o = find_override(defs, series, original)) current = *o;
  OverrideDef base = current ? *current : OverrideDef{};
  base.series = std::string(series);
  base.occurrence = original;
  std::optional<OverrideDef> next = change.apply(base, *occurrence);
  if (next && is_empty_override(*next)) next.reset();
  if (next == current) {
    ChangeResult unchanged;
    unchanged.summary = change.unchanged_message(current);
    unchanged.dry_run = context.dry_run;
    return unchanged;
  }
  const Definitions after_defs = with_override(defs, series, original, next);

  // What the change does to every session any output shows; a move onto a start another
  // occurrence holds is refused, naming that occurrence.
  std::vector<LocalDay> days{day_of(original)};
  for (LocalTime t : change.also) days.push_back(day_of(t));
  if (current && current->move_to) days.push_back(day_of(*current->move_to));
  store_internal::RevisionPlan plan;
  try {
    plan = store_internal::plan_revisions(*impl.db, defs, after_defs, at, days);
  } catch (const OverlapError&) {
    std::string holder;
    ExpandOptions options;
    options.series = std::string(series);
    const LocalDay target = day_of(*next->move_to);
    for (const auto& o : expand(defs, around(target, target, 1, 1), options)) {
      if (o.live() && o.local_start == next->move_to && o.original != original) holder = o.occurrence_id();
    }
    throw StoreError(StoreError::Kind::overlap,
                     "cannot move " + what + " to " + format_local_minute(*next->move_to) +
                         ": the series already has a session at that time" +
                         (holder.empty() ? "" : " (the occurrence " + holder + ")") +
                         "; move or cancel that one first, or choose another time");
  } catch (const Error& e) {
    throw StoreError(StoreError::Kind::invalid, e.what());
  }

  if (next) {
    store_internal::put_override(*impl.db, *next);
  } else {
    store_internal::delete_override(*impl.db, series, original);
  }
  Impl::AuditEntry entry;
  entry.actor = context.actor;
  entry.action = change.action;
  entry.series = std::string(series);
  entry.occurrence = original;
  entry.summary = change.summary();
  entry.reason = context.reason;
  entry.before = override_json(current);
  entry.after = override_json(next);
  const auto audit = impl.insert_audit(entry, at);
  ChangeResult result = store_internal::apply_revisions(*impl.db, plan, audit, at);
  impl.bump_data_version();
  result.summary = entry.summary;
  finish(tx, context, result);
  return result;
}

std::string describe_fields(const OccurrenceEdit& e) {
  std::vector<std::string> names;
  if (e.title) names.push_back("title");
  if (e.description) names.push_back("description");
  if (e.presenter) names.push_back("presenter");
  if (e.join_url) names.push_back("join link");
  if (e.location) names.push_back("location");
  if (e.agenda) names.push_back("agenda");
  if (e.resources) names.push_back("resources");
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) text += (i ? ", " : "") + names[i];
  return text;
}

}  // namespace

ChangeResult Store::reschedule(std::string_view series, LocalTime original, LocalTime to,
                               std::optional<Seconds> duration, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  const std::string what = std::string(series) + " " + format_local_minute(original);
  if (duration && duration->count() <= 0) {
    throw StoreError(StoreError::Kind::invalid, "the duration " + format_duration(*duration) + " is not positive");
  }
  OccurrenceChange change;
  change.action = "reschedule";
  change.also = {to};
  change.apply = [&](const OverrideDef& current, const Occurrence&) -> std::optional<OverrideDef> {
    OverrideDef o = current;
    o.cancel = false;
    o.move_to = to;
    if (duration) o.duration = *duration;
    if (context.reason) o.reason = *context.reason;
    return o;
  };
  change.unchanged_message = [&](const std::optional<OverrideDef>&) {
    return what + " is already at " + format_local_minute(to) + "; nothing changed";
  };
  change.summary = [&] {
    return "moved " + what + " to " + format_local_minute(to) +
           (duration ? " for " + format_duration(*duration) : "");
  };
  return change_occurrence(*impl_, series, original, context, change);
}

ChangeResult Store::cancel(std::string_view series, LocalTime original, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  const std::string what = std::string(series) + " " + format_local_minute(original);
  OccurrenceChange change;
  change.action = "cancel";
  change.apply = [&](const OverrideDef& current, const Occurrence&) -> std::optional<OverrideDef> {
    OverrideDef o = current;
    o.cancel = true;
    if (context.reason) o.reason = *context.reason;
    return o;
  };
  change.unchanged_message = [&](const std::optional<OverrideDef>&) {
    return what + " is already cancelled; nothing changed";
  };
  change.summary = [&] { return "cancelled " + what; };
  return change_occurrence(*impl_, series, original, context, change);
}

ChangeResult Store::restore(std::string_view series, LocalTime original, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  const std::string what = std::string(series) + " " + format_local_minute(original);
  OccurrenceChange change;
  change.action = "restore";
  change.apply = [&](const OverrideDef& current, const Occurrence&) -> std::optional<OverrideDef> {
    OverrideDef o = current;
    if (!o.cancel && !o.move_to && !o.duration) return o;
    o.cancel = false;
    o.move_to.reset();
    o.duration.reset();
    o.reason.reset();
    return o;
  };
  change.unchanged_message = [&](const std::optional<OverrideDef>&) {
    return what + " is neither cancelled nor moved; nothing to restore";
  };
  change.summary = [&] { return "restored " + what + " to its scheduled time"; };
  return change_occurrence(*impl_, series, original, context, change);
}

ChangeResult Store::edit(std::string_view series, LocalTime original, const OccurrenceEdit& edit,
                         const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  const std::string what = std::string(series) + " " + format_local_minute(original);
  const std::string fields = describe_fields(edit);
  check_edit(edit);
  if (fields.empty()) {
    throw StoreError(StoreError::Kind::invalid,
                     "nothing to edit for " + what +
                         ": give --title, --description, --presenter, --join-url, --location, "
                         "--agenda or --resource");
  }
  OccurrenceChange change;
  change.action = "edit";
  change.apply = [&](const OverrideDef& current, const Occurrence&) -> std::optional<OverrideDef> {
    OverrideDef o = current;
    auto set = [](std::optional<std::string>& field, const std::optional<std::string>& value) {
      if (!value) return;
      if (value->empty()) field.reset();
      else field = *value;
    };
    set(o.title, edit.title);
    set(o.description, edit.description);
    set(o.presenter, edit.presenter);
    set(o.join_url, edit.join_url);
    set(o.location, edit.location);
    set(o.agenda, edit.agenda);
    if (edit.resources) o.resources = *edit.resources;
    return o;
  };
  change.unchanged_message = [&](const std::optional<OverrideDef>&) {
    return what + " already has that " + fields + "; nothing changed";
  };
  change.summary = [&] { return "edited " + what + ": " + fields; };
  return change_occurrence(*impl_, series, original, context, change);
}

ChangeResult Store::split(std::string_view series_id, const SplitSpec& spec, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  const std::string from_text = format_date(spec.from);
  impl.check_writable("split " + std::string(series_id));
  fault_point("store.before-write");

  Transaction tx(*impl.db, Transaction::Mode::write);
  if (context.expect_revision)
    check_unchanged(impl, series_id, std::nullopt, *context.expect_revision, "series " + quote(series_id));
  const Instant at = impl.now();
  const Definitions defs = load_or_throw(impl);
  const auto [community, old] = require_series(defs, series_id);
  const date::time_zone* zone = community->zone;
  const LocalTime boundary{spec.from};
  auto invalid = [](const std::string& m) { return StoreError(StoreError::Kind::invalid, m); };
  if (!old->rrule) {
    throw invalid("series " + quote(series_id) + " has no rule (one session): edit or reschedule it instead of splitting");
  }
  if (old->start >= boundary) {
    throw invalid("series " + quote(series_id) + " starts on " + format_local_minute(old->start) +
                  ", not before " + from_text + ": nothing before the split would remain");
  }
  {
    RecurrenceIterator it(*old->rrule, old->start, zone);
    it.seek(boundary);
    if (!it.next()) {
      throw invalid("series " + quote(series_id) + " has no occurrence on or after " + from_text +
                    ": nothing to split");
    }
  }
  // The old rule ends before the boundary: UNTIL the last second before it, in UTC
  // (RFC 5545 wants UNTIL in UTC when DTSTART has a zone).
  RecurrenceRule old_rule = *old->rrule;
  std::optional<int> remaining;
  if (old_rule.count) {
    RecurrenceIterator it(old_rule, old->start, zone);
    int before = 0;
    while (auto t = it.next()) {
      if (*t >= boundary) break;
      ++before;
    }
    remaining = *old_rule.count - before;
  }
  old_rule.count.reset();
  old_rule.until = Until{resolve_local(boundary, zone) - Seconds{1}};

  SeriesDef updated = *old;
  updated.rrule = old_rule;
  updated.rrule_text = old_rule.to_string();
  std::vector<LocalTime> moved_adds, moved_excepts;
  std::erase_if(updated.add, [&](LocalTime t) { return t >= boundary ? (moved_adds.push_back(t), true) : false; });
  std::erase_if(updated.except, [&](LocalTime t) { return t >= boundary ? (moved_excepts.push_back(t), true) : false; });

  SeriesDef next = *old;
  next.id = spec.new_id ? *spec.new_id : std::string(series_id) + "-from-" + from_text;
  if (next.id.empty()) throw invalid("the new series id must not be empty");
  if (defs.find_series(next.id).second) {
    throw invalid("a series " + quote(next.id) + " already exists: choose another id with --id");
  }
  next.continues = std::string(series_id);
  if (spec.title) {
    if (auto why = spec.title->empty() ? std::optional<std::string>("the title must not be empty")
                                       : text_problem(*spec.title))
      throw invalid("title: " + *why);
    next.title = *spec.title;
  }
  if (spec.duration) {
    if (spec.duration->count() <= 0) throw invalid("the duration " + format_duration(*spec.duration) + " is not positive");
    next.duration = *spec.duration;
  }
  RecurrenceRule next_rule = *old->rrule;
  if (spec.rrule) {
    auto parsed = RecurrenceRule::parse(*spec.rrule);
    if (!parsed) throw invalid("--rrule: " + parsed.error());
    next_rule = *parsed;
  } else {
    next_rule.count = remaining;
  }
  if (spec.start) {
    if (*spec.start < boundary) {
      throw invalid("the new start " + format_local_minute(*spec.start) + " is before " + from_text);
    }
    next.start = *spec.start;
  } else {
    const Seconds time_of_day = spec.time_of_day ? *spec.time_of_day : Seconds{old->start - LocalTime{day_of(old->start)}};
    RecurrenceRule probe = next_rule;
    probe.count.reset();
    RecurrenceIterator it(probe, LocalTime{day_of(old->start)} + time_of_day, zone);
    it.seek(boundary);
    auto first = it.next();
    if (!first) throw invalid("the new rule has no occurrence on or after " + from_text);
    next.start = *first;
  }
  next.rrule = next_rule;
  next.rrule_text = spec.rrule ? *spec.rrule : next_rule.to_string();
  next.add = moved_adds;
  next.except = moved_excepts;

  Definitions after_defs = defs;
  for (auto& c : after_defs.communities) {
    for (std::size_t i = 0; i < c.series.size(); ++i) {
      if (c.series[i].id == series_id) {
        c.series[i] = updated;
        c.series.insert(c.series.begin() + static_cast<std::ptrdiff_t>(i) + 1, next);
        break;
      }
    }
  }
  // Overrides on or after the boundary follow the new series when it has that occurrence;
  // the others are dropped (and kept in the audit record).
  std::vector<OverrideDef> candidates, dropped;
  std::erase_if(after_defs.overrides, [&](const OverrideDef& o) {
    if (o.series != series_id || o.occurrence < boundary) return false;
    candidates.push_back(o);
    return true;
  });
  {
    const Definitions probe = after_defs;
    for (const auto& o : candidates) {
      if (find_occurrence(probe, next.id, o.occurrence)) {
        OverrideDef moved = o;
        moved.series = next.id;
        after_defs.overrides.push_back(std::move(moved));
      } else {
        dropped.push_back(o);
      }
    }
  }

  store_internal::RevisionPlan plan;
  try {
    plan = store_internal::plan_revisions(*impl.db, defs, after_defs, at, {spec.from});
  } catch (const Error& e) {
    throw invalid(std::string("cannot split: ") + e.what());
  }

  store_internal::update_series(*impl.db, updated);
  store_internal::insert_series_after(*impl.db, community->id, series_id, next, at);
  for (const auto& o : after_defs.overrides) {
    if (o.series == next.id) store_internal::put_override(*impl.db, o);
  }
  for (const auto& o : defs.overrides) {
    if (o.series == series_id && o.occurrence >= boundary) store_internal::delete_override(*impl.db, o.series, o.occurrence);
  }

  nlohmann::ordered_json before_json, after_json;
  before_json["series"] = series_json(*community, *old);
  after_json["series"] = series_json(*community, updated);
  after_json["new"] = series_json(*community, next);
  if (!dropped.empty()) {
    Definitions d;
    d.overrides = dropped;
    after_json["dropped_overrides"] = to_json(d)["overrides"];
  }
  Impl::AuditEntry entry;
  entry.actor = context.actor;
  entry.action = "split";
  entry.series = std::string(series_id);
  entry.target = next.id;
  entry.summary = "split " + std::string(series_id) + " from " + from_text + ": it ends before, " +
                  next.id + " continues from " + format_local_minute(next.start) +
                  (next.rrule_text ? " (" + *next.rrule_text + ")" : "") +
                  (dropped.empty() ? "" : "; " + std::to_string(dropped.size()) + " override(s) dropped");
  entry.reason = context.reason;
  entry.before = before_json.dump();
  entry.after = after_json.dump();
  const auto audit = impl.insert_audit(entry, at);
  ChangeResult result = store_internal::apply_revisions(*impl.db, plan, audit, at);
  impl.bump_data_version();
  result.summary = entry.summary;
  finish(tx, context, result);
  return result;
}

namespace {

std::string day_range(LocalDay from, LocalDay to) {
  return from == to ? format_date(from) : format_date(from) + " to " + format_date(to);
}

// The calendar `id` of `defs`, or a refusal that suggests the nearest id.
const CalendarDef& calendar_or_throw(const Definitions& defs, std::string_view id) {
  if (const CalendarDef* calendar = defs.find_calendar(id)) return *calendar;
  std::vector<std::string> ids;
  for (const auto& c : defs.calendars) ids.push_back(c.id);
  std::string message = "no calendar " + quote(id) + " in " + defs.source;
  if (auto near = definitions_internal::nearest(id, ids)) message += "; did you mean " + quote(*near) + "?";
  if (!ids.empty()) message += " (calendars: " + list_for_message(ids) + ")";
  throw StoreError(StoreError::Kind::invalid, message);
}

// close and reopen: change a calendar's closures with `apply` (inside the caller's write
// transaction), then record which sessions reacted, around the days [from, to].
ChangeResult change_closures(Impl& impl, std::string_view calendar_id, LocalDay from, LocalDay to,
                             const Definitions& before_defs, const std::function<void()>& apply,
                             const char* action, const std::string& what,
                             const ChangeContext& context, const nlohmann::ordered_json& after_json) {
  const Instant at = impl.now();
  apply();
  const Definitions after_defs = load_or_throw(impl);
  const std::vector<LocalDay> days{from, to};
  store_internal::RevisionPlan plan;
  try {
    plan = store_internal::plan_revisions(*impl.db, before_defs, after_defs, at, days);
  } catch (const Error& e) {
    throw StoreError(StoreError::Kind::invalid, "cannot " + std::string(action) + " " +
                                                    std::string(calendar_id) + " " +
                                                    day_range(from, to) + ": " + e.what());
  }
  Impl::AuditEntry entry;
  entry.actor = context.actor;
  entry.action = action;
  entry.target = std::string(calendar_id);
  entry.summary = what;
  entry.reason = context.reason;
  entry.after = after_json.dump();
  const auto audit = impl.insert_audit(entry, at);
  ChangeResult result = store_internal::apply_revisions(*impl.db, plan, audit, at);
  impl.bump_data_version();
  result.summary = what + ": " + std::to_string(result.affected.size()) + " session(s) affected";
  impl.set_audit_summary(audit, result.summary);
  return result;
}

}  // namespace

ChangeResult Store::close(std::string_view calendar_id, const Closure& closure, const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  const std::string range = day_range(closure.from, closure.to);
  impl.check_writable("close " + std::string(calendar_id));
  if (closure.name.empty()) throw StoreError(StoreError::Kind::invalid, "a closure needs a name (--name \"Snow day\")");
  if (auto why = text_problem(closure.name)) throw StoreError(StoreError::Kind::invalid, "the closure's name: " + *why);
  if (closure.to < closure.from) {
    throw StoreError(StoreError::Kind::invalid, "--to " + format_date(closure.to) + " is before the first day " +
                                                    format_date(closure.from));
  }
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Definitions defs = load_or_throw(impl);
  const CalendarDef& calendar = calendar_or_throw(defs, calendar_id);
  if (std::find(calendar.closures.begin(), calendar.closures.end(), closure) != calendar.closures.end()) {
    ChangeResult unchanged;
    unchanged.summary = std::string(calendar_id) + " is already closed " + range + " (" + closure.name +
                        "); nothing changed";
    return unchanged;
  }
  nlohmann::ordered_json after_json;
  after_json["name"] = closure.name;
  if (closure.from == closure.to) {
    after_json["date"] = format_date(closure.from);
  } else {
    after_json["from"] = format_date(closure.from);
    after_json["to"] = format_date(closure.to);
  }
  ChangeResult result = change_closures(
      impl, calendar_id, closure.from, closure.to, defs,
      [&] { store_internal::add_closure(*impl.db, calendar_id, closure); }, "close",
      "closed " + std::string(calendar_id) + " " + range + " (" + closure.name + ")", context,
      after_json);
  finish(tx, context, result);
  return result;
}

ChangeResult Store::reopen(std::string_view calendar_id, LocalDay from, LocalDay to,
                           const ChangeContext& context) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  const std::string range = day_range(from, to);
  impl.check_writable("reopen " + std::string(calendar_id));
  Transaction tx(*impl.db, Transaction::Mode::write);
  const Definitions defs = load_or_throw(impl);
  const CalendarDef& calendar = calendar_or_throw(defs, calendar_id);
  std::vector<std::string> names, written;
  for (const auto& c : calendar.closures) {
    if (c.from == from && c.to == to) names.push_back(c.name);
    written.push_back(day_range(c.from, c.to) + " (" + c.name + ")");
  }
  if (names.empty()) {
    throw StoreError(StoreError::Kind::invalid,
                     std::string(calendar_id) + " has no closure of exactly " + range +
                         (written.empty() ? std::string(" (it has no closures written by hand)")
                                          : " (its closures: " + list_for_message(written) + ")"));
  }
  nlohmann::ordered_json before_json;
  before_json["from"] = format_date(from);
  before_json["to"] = format_date(to);
  before_json["names"] = names;
  ChangeResult result = change_closures(
      impl, calendar_id, from, to, defs,
      [&] { store_internal::remove_closures(*impl.db, calendar_id, from, to); }, "reopen",
      "reopened " + std::string(calendar_id) + " " + range + " (" + list_for_message(names) + ")",
      context, before_json);
  finish(tx, context, result);
  return result;
}

// --- history ---------------------------------------------------------------------------

std::vector<AuditRecord> Store::history(const HistoryQuery& query) const {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  Transaction tx(*impl.db, Transaction::Mode::read);
  std::vector<AuditRecord> out;
  auto q = impl.db->query(
      "SELECT id, at, actor, action, series, occurrence, target, summary, reason, before, after "
      "FROM audit WHERE ?1 IS NULL OR series = ?1 OR target = ?1 OR id IN "
      "(SELECT audit FROM audit_affected WHERE series = ?1) ORDER BY id DESC LIMIT ?2");
  q->bind(1, query.series);
  q->bind(2, static_cast<std::int64_t>(query.limit ? *query.limit : std::size_t{1} << 40));
  while (q->step()) {
    AuditRecord r;
    r.id = static_cast<std::uint64_t>(q->int64(0));
    r.at = from_unix(q->int64(1));
    r.actor = q->text(2);
    r.action = q->text(3);
    r.series = q->optional_text(4);
    if (auto o = q->optional_text(5)) r.occurrence = parse_local_minute(*o);
    r.target = q->optional_text(6);
    r.summary = q->text(7);
    r.reason = q->optional_text(8);
    r.before = q->text(9);
    r.after = q->text(10);
    out.push_back(std::move(r));
  }
  std::reverse(out.begin(), out.end());
  for (auto& r : out) {
    auto a = impl.db->query(
        "SELECT series, occurrence, sequence FROM audit_affected WHERE audit = ?1 ORDER BY series, occurrence");
    a->bind(1, static_cast<std::int64_t>(r.id));
    while (a->step()) {
      if (auto t = parse_local_minute(a->text(1)))
        r.affected.push_back({a->text(0), *t, static_cast<std::uint64_t>(a->int64(2))});
    }
  }
  return out;
}

}  // namespace convene
