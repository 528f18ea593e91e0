// The archive's FTS5 index (convene/archive.h): in the store's file, or in memory.
// SQL lives here, as in the other store*.cpp files; the tables are schema 5's.
#include <memory>
#include <mutex>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "convene/archive.h"
#include "convene/store.h"
#include "internal/store_impl.h"
#include "internal/store_schema.h"

namespace convene {

using store_internal::Connection;
using store_internal::Transaction;

struct ArchiveIndex::Impl {
  Connection* db = nullptr;
  std::mutex* mutex = nullptr;
  std::unique_ptr<Connection> own_db;  // in memory
  std::unique_ptr<std::mutex> own_mutex;
};

namespace {

std::int64_t unix_seconds(Instant at) { return static_cast<std::int64_t>(at.time_since_epoch().count()); }

// FNV-1a 64 of every indexed field: a session is written again only when this changes.
std::int64_t fingerprint(const ArchiveEntry& e) {
  std::uint64_t h = 1469598103934665603ULL;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;  // a separator no UTF-8 text holds
  };
  add(e.community);
  add(std::to_string(unix_seconds(e.start)));
  add(format_date(e.day));
  for (const auto* s : {&e.title, &e.presenter, &e.agenda, &e.resources, &e.description}) add(*s);
  for (const auto& c : e.categories) add(c);
  return static_cast<std::int64_t>(h);
}

void write_text(Connection& db, std::int64_t id, const ArchiveEntry& e) {
  auto q = db.query(
      "INSERT INTO archive_text (rowid, title, presenter, agenda, resources, description) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  q->bind(1, id).bind(2, e.title).bind(3, e.presenter).bind(4, e.agenda).bind(5, e.resources).bind(6, e.description);
  q->run();
  for (const auto& c : e.categories) {
    db.query("INSERT OR IGNORE INTO archive_categories (category, session) VALUES (?1, ?2)")->bind(1, c).bind(2, id).run();
  }
}

void delete_text(Connection& db, std::int64_t id) {
  db.query("DELETE FROM archive_text WHERE rowid = ?1")->bind(1, id).run();
  db.query("DELETE FROM archive_categories WHERE session = ?1")->bind(1, id).run();
}

std::string key_of(std::string_view series, std::string_view occurrence) {
  return std::string(series) + '\n' + std::string(occurrence);
}

void sync(Connection& db, const std::vector<ArchiveEntry>& entries) {
  struct Row {
    std::int64_t id;
    std::int64_t fingerprint;
    bool seen = false;
  };
  std::unordered_map<std::string, Row> rows;
  {
    auto q = db.query("SELECT id, series, occurrence, fingerprint FROM archive_sessions");
    while (q->step()) rows[key_of(q->text(1), q->text(2))] = Row{q->int64(0), q->int64(3)};
  }
  for (const auto& e : entries) {
    const std::string occurrence = format_local_minute(e.original);
    const std::int64_t fp = fingerprint(e);
    auto it = rows.find(key_of(e.series, occurrence));
    if (it != rows.end()) {
      it->second.seen = true;
      if (it->second.fingerprint == fp) continue;
      auto q = db.query(
          "UPDATE archive_sessions SET community = ?2, start = ?3, day = ?4, fingerprint = ?5 WHERE id = ?1");
      q->bind(1, it->second.id).bind(2, e.community).bind(3, unix_seconds(e.start)).bind(4, format_date(e.day));
      q->bind(5, fp);
      q->run();
      delete_text(db, it->second.id);
      write_text(db, it->second.id, e);
      continue;
    }
    auto q = db.query(
        "INSERT INTO archive_sessions (series, occurrence, community, start, day, fingerprint) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id");
    q->bind(1, e.series).bind(2, occurrence).bind(3, e.community).bind(4, unix_seconds(e.start));
    q->bind(5, format_date(e.day)).bind(6, fp);
    q->step();
    const std::int64_t id = q->int64(0);
    q->run();
    rows[key_of(e.series, occurrence)] = Row{id, fp, true};
    write_text(db, id, e);
  }
  for (const auto& [key, row] : rows) {
    if (row.seen) continue;
    delete_text(db, row.id);
    db.query("DELETE FROM archive_sessions WHERE id = ?1")->bind(1, row.id).run();
  }
}

std::string read_version(Connection& db) {
  auto q = db.query("SELECT version FROM archive_state WHERE id = 1");
  return q->step() ? q->text(0) : std::string();
}

// The filters every search applies, after its own WHERE (?3 ...; ?1, ?2 are the
// query's own).
#define CONVENE_ARCHIVE_FILTERS                                                                    \
  " AND (?3 IS NULL OR s.start < ?3) AND (?4 IS NULL OR s.community = ?4)"                         \
  " AND (?5 IS NULL OR s.series IN (SELECT value FROM json_each(?5)))"                             \
  " AND (?6 IS NULL OR EXISTS (SELECT 1 FROM archive_categories c WHERE c.category = ?6 AND "      \
  "c.session = s.id))"                                                                             \
  " AND (?7 IS NULL OR s.day >= ?7) AND (?8 IS NULL OR s.day <= ?8)"

// A page of a search with words, in two steps: `page` ranks every match by BM25 with
// the fields' weights (FTS5's rank column: computed once per match; newest first among
// equals) and keeps one page of ids; only those rows then have their words marked.
// Marking is the costly part (it re-reads each text), and a common word matches
// thousands of sessions: highlight() and snippet() in the ranking query would run for
// every match before the LIMIT. The second scan looks each id up (CROSS JOIN keeps
// `page` outside), which the prefix indexes of schema 9 make a seek.
// bm25() as an integer (the statement layer reads integers): millionths, negated back.
const char* const kSearchWords =
    "WITH page AS (SELECT s.id AS id, CAST(archive_text.rank * 1000000 AS INTEGER) AS rank, s.start AS start "
    "FROM archive_text JOIN archive_sessions s ON s.id = archive_text.rowid "
    "WHERE archive_text MATCH ?1 AND archive_text.rank MATCH ?13" CONVENE_ARCHIVE_FILTERS
    " ORDER BY 2, 3 DESC LIMIT ?11 OFFSET ?12) "
    "SELECT s.series, s.occurrence, s.community, s.start, s.day, highlight(archive_text, 0, ?9, ?10), "
    "snippet(archive_text, -1, ?9, ?10, '…', 24), page.rank "
    "FROM page CROSS JOIN archive_text ON archive_text.rowid = page.id JOIN archive_sessions s ON s.id = page.id "
    "WHERE archive_text MATCH ?1 ORDER BY page.rank, page.start DESC";
const char* const kCountWords =
    "SELECT count(*) FROM archive_text JOIN archive_sessions s ON s.id = archive_text.rowid "
    "WHERE archive_text MATCH ?1" CONVENE_ARCHIVE_FILTERS;
const char* const kSearchAll =
    "SELECT s.series, s.occurrence, s.community, s.start, s.day, t.title, "
    "CASE WHEN t.agenda <> '' THEN t.agenda ELSE t.description END, 0 "
    "FROM archive_sessions s JOIN archive_text t ON t.rowid = s.id WHERE 1"
    CONVENE_ARCHIVE_FILTERS " ORDER BY s.start DESC LIMIT ?11 OFFSET ?12";
const char* const kCountAll =
    "SELECT count(*) FROM archive_sessions s WHERE 1" CONVENE_ARCHIVE_FILTERS;

// An excerpt of at most `bytes` bytes, cut after a whole word and a whole UTF-8
// character, with "…" where it was cut.
std::string excerpt(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t cut = bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  const auto space = text.rfind(' ', cut);
  if (space != std::string::npos && space > bytes / 2) cut = space;
  return text.substr(0, cut) + "…";
}
constexpr std::size_t kExcerptBytes = 200;

// FTS5's rank function with the fields' weights (kArchiveWeights), as `rank MATCH` takes it.
std::string rank_function() {
  std::string out = "bm25(";
  for (std::size_t i = 0; i < std::size(kArchiveWeights); ++i) {
    out += (i ? ", " : "") + std::to_string(kArchiveWeights[i]);
  }
  return out + ")";
}

void bind_filters(store_internal::Statement& q, const ArchiveQuery& query, const std::string& match) {
  if (match.empty()) q.bind_null(1); else q.bind(1, match);
  if (query.before) q.bind(3, unix_seconds(*query.before)); else q.bind_null(3);
  q.bind(4, query.community);
  if (query.series.empty()) q.bind_null(5); else q.bind(5, nlohmann::json(query.series).dump());
  q.bind(6, query.category);
  if (query.from) q.bind(7, format_date(*query.from)); else q.bind_null(7);
  if (query.to) q.bind(8, format_date(*query.to)); else q.bind_null(8);
}

}  // namespace

ArchiveIndex::ArchiveIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ArchiveIndex::~ArchiveIndex() = default;

std::unique_ptr<ArchiveIndex> ArchiveIndex::in_memory() {
  auto impl = std::make_unique<Impl>();
  impl->own_db = std::make_unique<Connection>(":memory:", true, false, 5000);
  impl->own_mutex = std::make_unique<std::mutex>();
  {
    // The store's own schema, empty: the archive's tables as the store has them.
    Transaction tx(*impl->own_db, Transaction::Mode::write);
    store_internal::migrate(*impl->own_db, Store::kSchemaVersion);
    tx.commit();
  }
  impl->db = impl->own_db.get();
  impl->mutex = impl->own_mutex.get();
  return std::unique_ptr<ArchiveIndex>(new ArchiveIndex(std::move(impl)));
}

std::unique_ptr<ArchiveIndex> ArchiveIndex::in_store(Store& store) {
  if (store.read_only()) return in_memory();
  auto impl = std::make_unique<Impl>();
  impl->db = store.impl_->db.get();
  impl->mutex = &store.impl_->mutex;
  return std::unique_ptr<ArchiveIndex>(new ArchiveIndex(std::move(impl)));
}

void ArchiveIndex::refresh(const std::string& version, const std::function<std::vector<ArchiveEntry>()>& entries) {
  {
    std::lock_guard lock(*impl_->mutex);
    Transaction tx(*impl_->db, Transaction::Mode::read);
    if (read_version(*impl_->db) == version) return;
  }
  // Expanding happens outside the lock: the store serves others meanwhile.
  const std::vector<ArchiveEntry> wanted = entries();
  std::lock_guard lock(*impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::write);
  if (read_version(*impl_->db) == version) return;  // another thread or process did it
  sync(*impl_->db, wanted);
  impl_->db->query("INSERT INTO archive_state (id, version) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET version = ?1")
      ->bind(1, version)
      .run();
  tx.commit();
}

std::string ArchiveIndex::version() const {
  std::lock_guard lock(*impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  return read_version(*impl_->db);
}

std::size_t ArchiveIndex::size() const {
  std::lock_guard lock(*impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  auto q = impl_->db->query("SELECT count(*) FROM archive_sessions");
  q->step();
  return static_cast<std::size_t>(q->int64(0));
}

std::vector<std::string> ArchiveIndex::categories() const {
  std::lock_guard lock(*impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<std::string> out;
  auto q = impl_->db->query("SELECT DISTINCT category FROM archive_categories ORDER BY category");
  while (q->step()) out.push_back(q->text(0));
  return out;
}

ArchiveResults ArchiveIndex::search(const ArchiveQuery& query) const {
  ArchiveResults out;
  const ArchiveTerms terms = archive_match(query.words);
  out.terms = terms.terms;
  const bool words = !terms.match.empty();
  std::lock_guard lock(*impl_->mutex);
  Connection& db = *impl_->db;
  Transaction tx(db, Transaction::Mode::read);
  {
    auto q = db.query(words ? kCountWords : kCountAll);
    bind_filters(*q, query, terms.match);
    q->step();
    out.total = static_cast<std::size_t>(q->int64(0));
  }
  auto q = db.query(words ? kSearchWords : kSearchAll);
  bind_filters(*q, query, terms.match);
  q->bind(9, std::string_view(&kMarkOpen, 1)).bind(10, std::string_view(&kMarkClose, 1));
  q->bind(11, static_cast<std::int64_t>(std::min(query.limit, kMaxArchiveLimit)));
  q->bind(12, static_cast<std::int64_t>(std::min<std::size_t>(query.offset, std::size_t{1} << 40)));
  if (words) {
    static const std::string rank = rank_function();
    q->bind(13, rank);
  }
  while (q->step()) {
    ArchiveHit hit;
    hit.series = q->text(0);
    hit.original = *parse_local_minute(q->text(1));
    hit.community = q->text(2);
    hit.start = Instant{Seconds{q->int64(3)}};
    hit.day = *parse_date(q->text(4));
    hit.title = q->text(5);
    hit.snippet = words ? q->text(6) : excerpt(q->text(6), kExcerptBytes);
    hit.rank = static_cast<double>(q->int64(7)) / 1e6;
    out.hits.push_back(std::move(hit));
  }
  return out;
}

}  // namespace convene
