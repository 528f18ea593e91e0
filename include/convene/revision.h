// convene/revision.h: how far a series or one occurrence has been changed.
//
// Every change a facilitator makes (convene reschedule, cancel, edit, close, split,
// import of an edited file) gives each occurrence it affects a new revision number,
// and the series too. Numbers only ever increase: feeds turn them into iCalendar
// SEQUENCE values, invitations into updates. `modified` is when that change was made
// (DTSTAMP / LAST-MODIFIED), never the time a feed is requested, so the same state
// always renders to the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "convene/time.h"

namespace convene {

struct Revision {
  std::uint64_t sequence = 0;
  Instant modified{};
  // Occurrences: the store recorded this one taking place at some revision, so members'
  // calendars may hold it; when it no longer takes place, outputs show it as cancelled
  // (shown_as_cancelled() in convene/change_detector.h). Always false for a series.
  bool was_live = false;
  friend bool operator==(const Revision&, const Revision&) = default;
};

// The latest change to a series or its occurrences: its audit id (0: none yet) and when.
struct LastChange {
  std::uint64_t id = 0;
  Instant at{};
  friend bool operator==(const LastChange&, const LastChange&) = default;
};

// Where renderers read revisions from: the store, or (for a plain definitions file)
// a source that says "never changed".
struct RevisionSource {
  std::function<Revision(std::string_view series)> series;
  std::function<Revision(std::string_view series, LocalTime original)> occurrence;
  // The latest change that raised a revision of the series or of one of its
  // occurrences: it changes whenever any of them does (the feed catalog's cache key and
  // Last-Modified). Empty for a source that never changes.
  std::function<LastChange(std::string_view series)> last_change;

  // Every series and occurrence at sequence 0, modified at `modified`.
  static RevisionSource unchanged(Instant modified) {
    return {[modified](std::string_view) { return Revision{0, modified, false}; },
            [modified](std::string_view, LocalTime) { return Revision{0, modified, false}; },
            [modified](std::string_view) { return LastChange{0, modified}; }};
  }
};

}  // namespace convene
