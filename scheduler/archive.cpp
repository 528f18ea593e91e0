// The archive's entries (what each session is found by) and the reading of a search's
// words into an FTS5 query (convene/archive.h). No SQL here: the index is in
// store_archive.cpp.
#include "convene/archive.h"

#include <algorithm>
#include <cctype>

#include "convene/schedule.h"

namespace convene {

namespace {

// Free text never holds the marks (validate.h refuses control characters); a file read
// before that check cannot smuggle them into a page either.
std::string without_marks(std::string text) {
  std::erase_if(text, [](char c) { return c == kMarkOpen || c == kMarkClose; });
  return text;
}

LocalDay first_day(const Definitions& definitions) {
  std::optional<LocalDay> first;
  for (const auto& community : definitions.communities) {
    for (const auto& series : community.series) {
      LocalTime start = series.start;
      for (const auto& added : series.add) start = std::min(start, added);
      const LocalDay day = date::floor<date::days>(start);
      if (!first || day < *first) first = day;
    }
  }
  return first.value_or(LocalDay{});
}

std::string resources_text(const std::vector<Resource>& resources) {
  std::string text;
  for (const auto& r : resources) text += (text.empty() ? "" : "\n") + r.title + " " + r.url;
  return text;
}

// Whether a term has something FTS5's unicode61 tokenizer reads as a word: a letter or
// digit, or any non-ASCII character (which it may read as one).
bool has_word(std::string_view term) {
  return std::any_of(term.begin(), term.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x80 || std::isalnum(u);
  });
}

// An FTS5 string: the term between double quotes, with its own quotes dropped (FTS5
// would read a doubled one as a quote, but a quote never separates words anyway).
std::string fts_string(std::string_view term) {
  std::string out = "\"";
  for (char c : term)
    if (c != '"') out += c;
  return out + "\"";
}

}  // namespace

std::vector<ArchiveEntry> archive_entries(const Definitions& definitions, LocalDay last) {
  std::vector<ArchiveEntry> out;
  if (definitions.communities.empty()) return out;
  const LocalDay first = first_day(definitions);
  if (last < first) return out;
  for (const auto& o : expand(definitions, Window{first, last})) {
    if (!o.live()) continue;
    const OverrideDef* d = o.override_def;
    ArchiveEntry e;
    e.series = o.series->id;
    e.community = o.community->id;
    e.original = o.original;
    e.start = *o.start;
    e.day = date::floor<date::days>(*o.local_start);
    e.title = without_marks(o.title());
    e.presenter = without_marks(d && d->presenter ? *d->presenter : o.series->presenter.value_or(""));
    e.agenda = without_marks(d && d->agenda ? *d->agenda : "");
    e.resources = without_marks(d ? resources_text(d->resources) : "");
    e.description = without_marks(d && d->description ? *d->description : o.series->description.value_or(""));
    e.categories = o.series->categories;
    out.push_back(std::move(e));
  }
  return out;
}

ArchiveTerms archive_match(std::string_view words) {
  ArchiveTerms out;
  if (words.size() > kMaxArchiveQueryBytes) {
    std::size_t cut = kMaxArchiveQueryBytes;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(words[cut]) & 0xC0) == 0x80) --cut;
    words = words.substr(0, cut);
  }
  std::vector<std::pair<std::string, bool>> terms;  // (term, is a phrase)
  std::size_t i = 0;
  while (i < words.size() && terms.size() < kMaxArchiveTerms) {
    const char c = words[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '"') {
      const auto end = words.find('"', i + 1);
      const auto stop = end == std::string_view::npos ? words.size() : end;
      terms.emplace_back(std::string(words.substr(i + 1, stop - i - 1)), true);
      i = stop + 1;
      continue;
    }
    std::size_t j = i;
    while (j < words.size() && !std::isspace(static_cast<unsigned char>(words[j])) && words[j] != '"') ++j;
    terms.emplace_back(std::string(words.substr(i, j - i)), false);
    i = j;
  }
  for (const auto& [term, phrase] : terms) {
    if (!has_word(term)) continue;
    out.match += (out.match.empty() ? "" : " AND ") + fts_string(term) + (phrase ? "" : "*");
    out.terms.push_back(term);
  }
  return out;
}

}  // namespace convene
