// convene/limits.h: the bounds every input is held to, in one place.
//
// convene reads files and flags written by people and by other programs, and some by
// someone hostile. Whatever arrives, the work it causes grows with its size and never
// faster, numbers never wrap, and what is outside these bounds is refused with one
// message that names the field (the README's "Limits" section lists them for users).
#pragma once

#include <chrono>
#include <cstddef>

namespace convene {

// --- files ------------------------------------------------------------------------------
// The largest definitions or ICS file read by default (16 MiB; the samples are 20 KB).
// `--max-input-size` raises it on the verbs that read files.
inline constexpr std::size_t kDefaultMaxInputSize = std::size_t{16} << 20;
// JSON nesting deeper than this is refused before it is parsed (the format needs 5).
inline constexpr std::size_t kMaxJsonDepth = 64;
// The most VEVENTs one ICS file may hold (a district's school year has about a hundred).
inline constexpr std::size_t kMaxIcsEvents = 20000;

// The bounds of reading input files, as one value the loaders take (the CLI's
// --max-input-size sets max_file_size).
struct InputLimits {
  std::size_t max_file_size = kDefaultMaxInputSize;  // each file: definitions, ICS
  std::size_t max_ics_events = kMaxIcsEvents;        // VEVENTs in each ICS file
};

// --- values ----------------------------------------------------------------------------
// The longest free text (a title, a description, an agenda, a name), in bytes. Feeds
// repeat a series' text in every changed session's event, so text is kept to a size
// that cannot multiply into gigabytes.
inline constexpr std::size_t kMaxTextLength = 10000;
// The most reminders one series (or member) may have, and categories one series.
inline constexpr std::size_t kMaxReminders = 10;
inline constexpr std::size_t kMaxCategories = 20;

// --- dates, times, durations -------------------------------------------------------------
// The years convene supports: every date, local start, window, "since" and "until"
// falls in them. Far beyond any season, and well inside every type convene computes with.
inline constexpr int kMinYear = 1900;
inline constexpr int kMaxYear = 2200;
// The longest duration (a session's length, a reminder's offset): 366 days ("P366D",
// "P52W"). Longer ones are refused, never wrapped.
inline constexpr std::chrono::seconds kMaxDuration{366LL * 24 * 3600};

// --- "did you mean" -------------------------------------------------------------------
// Suggestions are computed only for words this long or shorter (an id, a key, a zone)...
inline constexpr std::size_t kMaxSuggestedWordLength = 64;
// ...among at most this many candidates (the first ones, in file order)...
inline constexpr std::size_t kMaxSuggestionCandidates = 2000;
// ...for at most this many unknown names in one file; the rest are reported without one.
inline constexpr std::size_t kMaxSuggestionsPerFile = 25;

}  // namespace convene
