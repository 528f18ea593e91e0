// convene/archive.h: the archive of past sessions and its search ("Search Past
// Communities of Practice": a past session's slides, recording and resources).
//
// The archive is every session that takes place, with the words a member would look it
// up by: its title, presenter, agenda, resources (titles and links), and description,
// and what it can be narrowed by: its community, series, categories and local date. An
// ArchiveIndex keeps them in SQLite's FTS5 full-text index (part of Debian's SQLite):
// words match in any of those fields, word forms by the Porter stemmer ("vaccines"
// finds "vaccine"), accents ignored, each word also as a prefix ("immun" finds
// "immunization"), "quoted words" as a phrase. Results are ranked by BM25 with the
// fields weighted (kArchiveWeights: a word in the title counts most), the newest first
// among equals, and come with the matched words marked (kMarkOpen/kMarkClose) for the
// page to highlight.
//
// The index is derived data: refresh() brings it to the definitions it is given,
// writing only the sessions whose indexed content changed, and does nothing when the
// state it is told about (`version`) is the one indexed. In a store it lives in the
// store file (so a restart does not rebuild it); over a definitions file, or a store
// that is read-only, it lives in memory.
//
// How to use:
//   auto index = convene::ArchiveIndex::in_store(*store);
//   index->refresh("v" + std::to_string(snapshot.version), [&] {
//     return convene::archive_entries(*defs, convene::feed_horizon(now)); });
//   auto results = index->search({.words = "asthma action plan", .before = now});
//   for (const auto& hit : results.hits) ... hit.title, hit.snippet ...
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convene/definitions.h"
#include "convene/time.h"

namespace convene {

class Store;

// One session of the archive.
struct ArchiveEntry {
  std::string series;
  std::string community;
  LocalTime original;          // the occurrence id
  Instant start{};
  LocalDay day{};              // its local start date, in its community's zone
  std::string title;
  std::string presenter;
  std::string agenda;
  std::string resources;       // "title url" per resource, one a line
  std::string description;
  std::vector<std::string> categories;
  friend bool operator==(const ArchiveEntry&, const ArchiveEntry&) = default;
};

// Every session that takes place, of every series, from its first to `last` (a local
// date, inclusive: feed_horizon(now) indexes what the feeds show). Throws what expand()
// throws.
std::vector<ArchiveEntry> archive_entries(const Definitions& definitions, LocalDay last);

// The relative weights of the fields in the ranking: title, presenter, agenda,
// resources, description.
inline constexpr double kArchiveWeights[] = {10.0, 5.0, 3.0, 2.0, 1.0};
// What marks a matched word in ArchiveHit::title and ::snippet (control characters free
// text never holds; the page turns them into <mark> and </mark> after escaping).
inline constexpr char kMarkOpen = '\x02';
inline constexpr char kMarkClose = '\x03';
// Bounds of a search: the words (bytes) and terms read, and the page size.
inline constexpr std::size_t kMaxArchiveQueryBytes = 256;
inline constexpr std::size_t kMaxArchiveTerms = 16;
inline constexpr std::size_t kMaxArchiveLimit = 100;

struct ArchiveQuery {
  std::string words;                          // empty: every session (newest first)
  std::optional<std::string> community;
  std::vector<std::string> series;            // empty: any (a split's parts: all of them)
  std::optional<std::string> category;
  std::optional<LocalDay> from, to;           // local dates, inclusive
  std::optional<Instant> before;              // only sessions that started before this (now)
  std::size_t limit = 20;                     // at most kMaxArchiveLimit
  std::size_t offset = 0;
};

struct ArchiveHit {
  std::string series;
  std::string community;
  LocalTime original;
  Instant start{};
  LocalDay day{};
  std::string title;    // with the matched words marked
  std::string snippet;  // the best-matching passage (title, agenda, ...), marked; "…" where cut
  double rank = 0;      // BM25 (lower is better); 0 for a search without words
};

struct ArchiveResults {
  std::vector<ArchiveHit> hits;
  std::size_t total = 0;         // matches in all (hits is one page of them)
  std::vector<std::string> terms;  // the words searched for, as read
};

// The FTS5 query `words` become (each word a quoted prefix term, a "quoted phrase" a
// phrase, all required), with the terms as read; empty when there is no word. Whatever
// the input, the result is a valid query: FTS5's own syntax (OR, NEAR, *, column:) in
// the input is read as words.
struct ArchiveTerms {
  std::string match;
  std::vector<std::string> terms;
};
ArchiveTerms archive_match(std::string_view words);

class ArchiveIndex {
 public:
  // The index in the store's file (or, when the store is read-only, in memory); the
  // store must outlive it.
  static std::unique_ptr<ArchiveIndex> in_store(Store& store);
  // An index in memory only.
  static std::unique_ptr<ArchiveIndex> in_memory();
  ~ArchiveIndex();

  // Brings the index to `entries()` unless `version` is the state already indexed. Only
  // sessions whose content changed are written; those gone are removed. Thread-safe.
  void refresh(const std::string& version, const std::function<std::vector<ArchiveEntry>()>& entries);
  // The version indexed ("" before the first refresh).
  std::string version() const;
  // Sessions indexed.
  std::size_t size() const;
  // Thread-safe.
  ArchiveResults search(const ArchiveQuery& query) const;
  // The categories, communities and series that appear in the index (for the form).
  std::vector<std::string> categories() const;

  struct Impl;

 private:
  explicit ArchiveIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convene
