// Revisions: what outputs show, and how a change moves them (internal/store_revisions.h).
#include "internal/store_revisions.h"

#include <algorithm>

namespace convene::store_internal {

namespace {

std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }
Instant from_unix(std::int64_t s) { return Instant{Seconds{s}}; }
LocalDay day_of(LocalTime t) { return date::floor<date::days>(t); }

RevisionRow read_row(Statement& q, int first) {
  RevisionRow r;
  r.sequence = static_cast<std::uint64_t>(q.int64(first));
  r.modified = from_unix(q.int64(first + 1));
  if (auto a = q.optional_int64(first + 2)) r.audit = static_cast<std::uint64_t>(*a);
  r.was_live = q.int64(first + 3) != 0;
  if (auto f = q.optional_int64(first + 4)) r.fingerprint = static_cast<Fingerprint>(*f);
  return r;
}

void add_row(SeriesRevisions& s, const std::string& occurrence, RevisionRow row) {
  if (row.audit && *row.audit > s.last_change.id) s.last_change.id = *row.audit;
  s.last_change.at = std::max(s.last_change.at, row.modified);
  if (occurrence.empty()) {
    s.master = row;
  } else if (auto t = parse_local_minute(occurrence)) {
    s.occurrences[*t] = row;
  }
}

// The higher of two revisions (by sequence, then time).
Revision higher(const Revision& a, const Revision& b) {
  if (a.sequence != b.sequence) return a.sequence > b.sequence ? a : b;
  return a.modified >= b.modified ? a : b;
}

Revision to_revision(const RevisionRow& r) { return {r.sequence, r.modified, r.was_live}; }

}  // namespace

namespace {

void read_coverage_and_created(Connection& db, std::string_view series, SeriesRevisions& s) {
  {
    auto q = db.query("SELECT until FROM coverage WHERE series = ?1");
    q->bind(1, series);
    if (q->step()) s.coverage = parse_date(q->text(0));
  }
  {
    auto q = db.query("SELECT created FROM series WHERE id = ?1");
    q->bind(1, series);
    if (q->step()) s.created = from_unix(q->int64(0));
  }
}

}  // namespace

SeriesRevisions read_series_head(Connection& db, std::string_view series, std::optional<LocalTime> occurrence) {
  SeriesRevisions s;
  auto q = db.query(
      "SELECT occurrence, sequence, modified, audit, was_live, fingerprint FROM revisions "
      "WHERE series = ?1 AND occurrence IN ('', ?2)");
  q->bind(1, series).bind(2, occurrence ? format_local_minute(*occurrence) : std::string());
  while (q->step()) add_row(s, q->text(0), read_row(*q, 1));
  read_coverage_and_created(db, series, s);
  return s;
}

SeriesRevisions read_series_revisions(Connection& db, std::string_view series) {
  SeriesRevisions s;
  {
    auto q = db.query(
        "SELECT occurrence, sequence, modified, audit, was_live, fingerprint FROM revisions "
        "WHERE series = ?1");
    q->bind(1, series);
    while (q->step()) add_row(s, q->text(0), read_row(*q, 1));
  }
  read_coverage_and_created(db, series, s);
  return s;
}

std::map<std::string, SeriesRevisions, std::less<>> read_all_revisions(Connection& db) {
  std::map<std::string, SeriesRevisions, std::less<>> out;
  {
    auto q = db.query(
        "SELECT series, occurrence, sequence, modified, audit, was_live, fingerprint FROM revisions");
    while (q->step()) add_row(out[q->text(0)], q->text(1), read_row(*q, 2));
  }
  {
    auto q = db.query("SELECT series, until FROM coverage");
    while (q->step()) out[q->text(0)].coverage = parse_date(q->text(1));
  }
  {
    auto q = db.query("SELECT id, created FROM series");
    while (q->step()) out[q->text(0)].created = from_unix(q->int64(1));
  }
  return out;
}

Revision shown_series_revision(const SeriesRevisions& s) {
  if (s.master) return to_revision(*s.master);
  return {0, s.created, false};
}

Revision shown_occurrence_revision(const SeriesRevisions& s, LocalTime original) {
  const Revision series = shown_series_revision(s);
  auto row = s.occurrences.find(original);
  const bool covered = s.coverage && day_of(original) <= *s.coverage;
  if (covered) return row != s.occurrences.end() ? to_revision(row->second) : Revision{series.sequence, series.modified, false};
  Revision shown{series.sequence, series.modified, false};
  if (row != s.occurrences.end()) {
    shown = higher(shown, to_revision(row->second));
    shown.was_live = row->second.was_live;
  }
  return shown;
}

std::optional<std::uint64_t> shown_occurrence_audit(const SeriesRevisions& s, LocalTime original) {
  auto row = s.occurrences.find(original);
  const Revision shown = shown_occurrence_revision(s, original);
  if (row != s.occurrences.end() && row->second.sequence == shown.sequence && row->second.modified == shown.modified)
    return row->second.audit;
  return s.master ? s.master->audit : std::nullopt;
}

namespace {

// All series ids of `after` in definitions order, then those only in `before`.
std::vector<std::string> series_ids(const Definitions& before, const Definitions& after) {
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const Definitions* d : {&after, &before})
    for (const auto& c : d->communities)
      for (const auto& s : c.series)
        if (seen.insert(s.id).second) ids.push_back(s.id);
  return ids;
}

// How far the series must be covered after this change (rule 2).
LocalDay coverage_target(const SeriesRevisions& stored, const Definitions& before, const SeriesDef* b,
                         const Definitions& after, const SeriesDef* a, Instant at,
                         const std::vector<LocalDay>& named_days) {
  const LocalDay horizon = feed_horizon(at);
  std::optional<LocalDay> target = stored.coverage;
  auto raise = [&target](LocalDay d) { target = target ? std::max(*target, d) : d; };
  if (b) raise(render_span(before, *b, horizon).last);
  if (a) raise(render_span(after, *a, horizon).last);
  const LocalDay ceiling = horizon + date::days{366 * kMaxCoverageAhead};
  for (LocalDay d : named_days) raise(std::min(d + date::days{2 * kCoverageSlack}, ceiling));
  return *target;
}

}  // namespace

RevisionPlan plan_revisions(Connection& db, const Definitions& before, const Definitions& after, Instant at,
                            const std::vector<LocalDay>& named_days) {
  RevisionPlan plan;
  for (const std::string& id : series_ids(before, after)) {
    const auto [bc, b] = before.find_series(id);
    const auto [ac, a] = after.find_series(id);
    if (b && a && definition_fingerprint(before, *bc, *b) == definition_fingerprint(after, *ac, *a)) continue;
    const SeriesRevisions stored = read_series_revisions(db, id);
    const bool brand_new = !b && !stored.master;
    const LocalDay coverage = coverage_target(stored, before, b, after, a, at, named_days);
    const Revision inherited = shown_series_revision(stored);

    // Rule 2: the occurrences newly covered keep what they showed; every covered one
    // records whether it was live before this change.
    std::map<LocalTime, RevisionRow> rows;  // after this change
    auto shown_row = [&](LocalTime t) {
      RevisionRow r;
      const Revision shown = shown_occurrence_revision(stored, t);
      r.sequence = shown.sequence;
      r.modified = brand_new ? at : shown.modified;
      r.audit = shown_occurrence_audit(stored, t);
      r.was_live = shown.was_live;
      if (auto it = stored.occurrences.find(t); it != stored.occurrences.end()) r.fingerprint = it->second.fingerprint;
      return r;
    };
    auto was_live_before = [&](LocalTime t) { return shown_occurrence_revision(stored, t).was_live; };
    SeriesFingerprints bf, af;
    if (b) bf = fingerprint_series(before, *bc, *b, coverage, was_live_before);
    for (const auto& [t, fp] : bf.occurrences) {
      RevisionRow r = shown_row(t);
      r.was_live = r.was_live || bf.live[t];
      rows[t] = r;
    }
    auto was_live_after = [&](LocalTime t) {
      auto it = rows.find(t);
      return it != rows.end() ? it->second.was_live : shown_occurrence_revision(stored, t).was_live;
    };
    if (a) af = fingerprint_series(after, *ac, *a, coverage, was_live_after);

    // Rule 3: raise each occurrence whose fingerprint differs.
    bool touched = false;
    std::set<LocalTime> keys;
    for (const auto& [t, fp] : bf.occurrences) keys.insert(t);
    for (const auto& [t, fp] : af.occurrences) keys.insert(t);
    for (LocalTime t : keys) {
      auto was = bf.occurrences.find(t);
      auto now = af.occurrences.find(t);
      RevisionRow r = rows.count(t) ? rows[t] : shown_row(t);
      RevisionPlan::Row row{id, format_local_minute(t), r, false, false};
      const bool differs = was == bf.occurrences.end() || now == af.occurrences.end() || was->second != now->second;
      if (differs && !brand_new) {
        row.value.sequence = r.sequence + 1;
        row.value.modified = at;
        row.raised = row.reported = true;
        touched = true;
      }
      if (now != af.occurrences.end()) {
        row.value.fingerprint = now->second;
        row.value.was_live = r.was_live || af.live[t];
      } else {
        row.value.fingerprint.reset();
      }
      auto old = stored.occurrences.find(t);
      const bool same = old != stored.occurrences.end() && !row.raised && old->second.sequence == row.value.sequence &&
                        old->second.modified == row.value.modified && old->second.was_live == row.value.was_live &&
                        old->second.fingerprint == row.value.fingerprint && old->second.audit == row.value.audit;
      if (!same) plan.rows.push_back(std::move(row));
    }

    // The series itself.
    RevisionPlan::Row master{id, "", stored.master ? *stored.master : RevisionRow{}, false, false};
    if (!stored.master) {
      master.value.sequence = inherited.sequence;
      master.value.modified = brand_new ? at : inherited.modified;
    }
    const bool series_differs = !b || !a || bf.series != af.series;
    if (series_differs && !brand_new) {
      master.value.sequence = inherited.sequence + 1;
      master.value.modified = at;
      master.raised = true;
      touched = true;
    }
    master.value.fingerprint = a ? std::optional<Fingerprint>(af.series) : std::nullopt;
    if (touched) plan.touched.insert(id);
    plan.rows.push_back(std::move(master));
    plan.coverage[id] = a ? std::optional<LocalDay>(coverage) : std::nullopt;
  }
  return plan;
}

ChangeResult apply_revisions(Connection& db, const RevisionPlan& plan, std::uint64_t audit, Instant at) {
  ChangeResult result;
  result.changed = true;
  result.audit_id = audit;
  for (const auto& row : plan.rows) {
    RevisionRow v = row.value;
    if (row.raised) {
      v.audit = audit;
      v.modified = at;
    }
    const bool series_row = row.occurrence.empty();
    auto q = db.query(
        "INSERT INTO revisions (series, occurrence, sequence, modified, audit, was_live, fingerprint) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (series, occurrence) DO UPDATE SET "
        "sequence = excluded.sequence, modified = excluded.modified, audit = excluded.audit, "
        "was_live = excluded.was_live, fingerprint = excluded.fingerprint");
    q->bind(1, row.series).bind(2, row.occurrence).bind(3, static_cast<std::int64_t>(v.sequence));
    q->bind(4, unix_seconds(v.modified));
    if (v.audit) q->bind(5, static_cast<std::int64_t>(*v.audit)); else q->bind_null(5);
    q->bind(6, std::int64_t{v.was_live});
    if (v.fingerprint) q->bind(7, static_cast<std::int64_t>(*v.fingerprint)); else q->bind_null(7);
    q->run();
    if (row.reported) {
      auto a = db.query("INSERT INTO audit_affected (audit, series, occurrence, sequence) VALUES (?1, ?2, ?3, ?4)");
      a->bind(1, static_cast<std::int64_t>(audit)).bind(2, row.series).bind(3, row.occurrence);
      a->bind(4, static_cast<std::int64_t>(v.sequence));
      a->run();
      if (auto t = parse_local_minute(row.occurrence)) result.affected.push_back({row.series, *t, v.sequence});
    }
    if (series_row && row.raised) result.series.push_back(row.series);
  }
  for (const auto& [series, until] : plan.coverage) {
    if (until) {
      auto q = db.query(
          "INSERT INTO coverage (series, until) VALUES (?1, ?2) ON CONFLICT (series) DO UPDATE SET until = excluded.until");
      q->bind(1, series).bind(2, format_date(*until));
      q->run();
    } else {
      db.query("DELETE FROM coverage WHERE series = ?1")->bind(1, series).run();
    }
  }
  return result;
}

}  // namespace convene::store_internal
