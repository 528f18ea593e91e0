#include "convene/agenda.h"

#include <algorithm>
#include <unordered_set>

namespace convene {
namespace {

// Two wall clocks differ by at most 26 hours (UTC-12 to UTC+14): expanding each series
// this many days beyond the viewer's window, in its own zone, finds every session whose
// instant falls inside the viewer's window.
constexpr date::days kZoneSpreadMargin{2};

// When the session happens, or would have happened.
Instant placed_at(const Occurrence& o) {
  return o.start ? *o.start : resolve_local(o.original, o.community->zone);
}

}  // namespace

Agenda agenda(const Definitions& definitions, const AgendaQuery& query) {
  if (!query.zone) throw Error("an agenda needs the viewer's time zone");
  if (query.to < query.from) {
    throw Error("the agenda ends (" + format_date(query.to) + ") before it starts (" + format_date(query.from) + ")");
  }
  ExpandOptions options;
  options.community = query.community;
  const auto occurrences =
      expand(definitions, Window{query.from - kZoneSpreadMargin, query.to + kZoneSpreadMargin}, options);
  const Instant begin = resolve_local(LocalTime{query.from}, query.zone);
  const Instant end = resolve_local(LocalTime{query.to + date::days{1}}, query.zone);
  std::unordered_set<std::string_view> only;
  if (query.series) only.insert(query.series->begin(), query.series->end());
  Agenda out{query, {}};
  for (const auto& o : occurrences) {
    if (query.series && !only.count(o.series->id)) continue;
    const Instant at = placed_at(o);
    if (at < begin || at >= end) continue;
    out.entries.push_back({o, at});
  }
  // expand() orders by the same instant; say so rather than rely on it.
  std::stable_sort(out.entries.begin(), out.entries.end(),
                   [](const AgendaEntry& a, const AgendaEntry& b) { return a.at < b.at; });
  return out;
}

}  // namespace convene
