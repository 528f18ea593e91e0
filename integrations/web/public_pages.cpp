// The public pages: home, a community, a series, a session, the archive (pure
// functions of the data; the site caches what they give).
#include <algorithm>
#include <set>

#include "internal.h"

namespace convene::web::internal {

namespace {

// How many upcoming sessions each page lists.
constexpr std::size_t kUpcomingOnHome = 3;
constexpr std::size_t kUpcomingOnCommunity = 8;
constexpr std::size_t kUpcomingOnSeries = 12;
constexpr std::size_t kRecentOnSeries = 5;
// How far ahead "upcoming" looks, and back for "recent".
constexpr date::days kLookAhead{400};
constexpr date::days kLookBack{400};
// A school year: the season view runs from 1 August to 31 July.
constexpr unsigned kSeasonFirstMonth = 8;
// How far from its original date a policy or a move may carry a session (find_session).
constexpr date::days kFindMargin{60};

Instant at_of(const Occurrence& o) { return o.start ? *o.start : resolve_local(o.original, o.community->zone); }

// The sessions from now on, in time order, at most `limit`; sets `until` to the first one's start.
std::vector<Occurrence> upcoming(std::vector<Occurrence> all, Instant now, std::size_t limit, Instant& until) {
  std::vector<Occurrence> out;
  for (auto& o : all) {
    if (at_of(o) < now) continue;
    until = std::min(until, at_of(o));
    out.push_back(std::move(o));
    if (out.size() == limit) break;
  }
  return out;
}

std::string list_html(const std::vector<Occurrence>& sessions, std::string_view empty) {
  if (sessions.empty()) return "<p>" + T(empty) + "</p>";
  std::string out = "<ul class=\"sessions\">";
  for (const auto& o : sessions) out += session_item(o);
  return out + "</ul>";
}

std::string feed_url(const SiteData& d, const std::string& path) { return d.base_url + "/" + path; }

const CommunityDef* find_community(const Definitions& d, std::string_view id) {
  for (const auto& c : d.communities)
    if (c.id == id) return &c;
  return nullptr;
}

std::string zone_sentence(const CommunityDef& c) {
  return "Times are " + zone_long_name(c.zone) + " (" + c.timezone + ").";
}

struct Season {
  LocalDay from, to;
  std::string name;  // "2026–27"
};
Season season_of(LocalDay today) {
  const date::year_month_day ymd{today};
  const int year = static_cast<int>(ymd.year()) - (static_cast<unsigned>(ymd.month()) < kSeasonFirstMonth ? 1 : 0);
  Season s;
  s.from = LocalDay{date::year{year} / date::month{kSeasonFirstMonth} / 1};
  s.to = LocalDay{date::year{year + 1} / date::month{kSeasonFirstMonth} / 1} - date::days{1};
  const int next = (year + 1) % 100;
  s.name = std::to_string(year) + "\u2013" + (next < 10 ? "0" : "") + std::to_string(next);
  return s;
}

std::string season_html(const std::vector<Occurrence>& sessions, const Season& season) {
  std::string out = "<h2 id=\"season\">The " + T(season.name) + " season</h2>";
  if (sessions.empty()) return out + "<p>No sessions this season.</p>";
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : sessions) {
    const std::string status = status_html(o);
    rows.push_back({T(session_day(o)), T(session_time(o)),
                    "<a href=\"" + U(session_path(o.series->id, o.original)) + "\">" + T(o.title()) + "</a>",
                    status.empty() ? std::string("As planned") : status});
  }
  return out + table_html("season", {{"Date"}, {"Time"}, {"Session"}, {"Status"}}, rows, true);
}

std::string details_html(const Occurrence& o, bool past) {
  const OverrideDef* d = o.override_def;
  const SeriesDef& s = *o.series;
  std::string out = "<dl>";
  auto row = [&out](std::string_view term, const std::string& html) {
    out += "<dt>" + T(term) + "</dt><dd>" + html + "</dd>";
  };
  const auto presenter = d && d->presenter ? d->presenter : s.presenter;
  if (presenter && !presenter->empty()) row("Presenter", T(*presenter));
  if (s.organizer) row("Organizer", T(s.organizer->name.empty() ? s.organizer->email : s.organizer->name));
  const auto location = d && d->location ? d->location : s.location;
  if (location && !location->empty()) row("Where", T(*location));
  const auto join = d && d->join_url ? d->join_url : s.join_url;
  if (join && !join->empty() && o.live() && !past)
    row("Join", "<a href=\"" + U(*join) + "\">" + T(*join) + "</a>");
  out += "</dl>";
  if (out == "<dl></dl>") out.clear();
  const auto description = d && d->description ? d->description : s.description;
  if (description && !description->empty()) out = "<p>" + T(*description) + "</p>" + out;
  if (d && d->agenda && !d->agenda->empty()) out += "<h2>Agenda</h2><p class=\"agenda\">" + T(*d->agenda) + "</p>";
  if (d && !d->resources.empty()) {
    out += std::string("<h2>") + (past ? "Materials and recording" : "Resources") + "</h2><ul>";
    for (const auto& r : d->resources) out += "<li><a href=\"" + U(r.url) + "\">" + T(r.title) + "</a></li>";
    out += "</ul>";
  } else if (past && o.live()) {
    out += "<p class=\"meta\">No materials or recording have been added for this session yet.</p>";
  }
  return out;
}

}  // namespace

// --- occurrences ---------------------------------------------------------------------------------

LocalDay today_in(Instant now, const date::time_zone* zone) {
  return date::floor<date::days>(to_local(now, zone ? zone : date::locate_zone("UTC")));
}

std::vector<Occurrence> sessions_between(const Definitions& d, LocalDay from, LocalDay to,
                                         const std::optional<std::string>& community,
                                         const std::vector<std::string>& series) {
  if (series.empty()) {
    ExpandOptions options;
    options.community = community;
    return expand(d, Window{from, to}, options);
  }
  std::vector<Occurrence> out;
  for (const auto& id : series) {
    if (!d.find_series(id).second) continue;
    ExpandOptions options;
    options.series = id;
    auto part = expand(d, Window{from, to}, options);
    out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  std::stable_sort(out.begin(), out.end(), [](const Occurrence& a, const Occurrence& b) { return at_of(a) < at_of(b); });
  return out;
}

std::optional<Occurrence> find_session(const Definitions& d, std::string_view series, LocalTime original) {
  if (!d.find_series(series).second) return std::nullopt;
  LocalDay from = date::floor<date::days>(original) - kFindMargin, to = date::floor<date::days>(original) + kFindMargin;
  for (const auto& o : d.overrides) {
    if (o.series == series && o.occurrence == original && o.move_to) {
      from = std::min(from, date::floor<date::days>(*o.move_to) - date::days{1});
      to = std::max(to, date::floor<date::days>(*o.move_to) + date::days{1});
    }
  }
  ExpandOptions options;
  options.series = std::string(series);
  for (auto& o : expand(d, Window{from, to}, options))
    if (o.original == original) return o;
  return std::nullopt;
}

std::vector<std::string> series_family(const Definitions& d, std::string_view series) {
  std::vector<std::string> family{std::string(series)};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& c : d.communities) {
      for (const auto& s : c.series) {
        if (s.continues && std::find(family.begin(), family.end(), *s.continues) != family.end() &&
            std::find(family.begin(), family.end(), s.id) == family.end()) {
          family.push_back(s.id);
          grew = true;
        }
      }
    }
  }
  return family;
}

// --- pages --------------------------------------------------------------------------------------

Rendered not_found_page(std::string_view what) {
  Rendered r;
  r.status = 404;
  r.html = page("Not found", "<h1>Not found</h1><p>" + T(what) +
                                                "</p><p><a href=\"/\">See every community</a></p>",
                 "");
  return r;
}

Rendered home_page(const SiteData& data) {
  Rendered r;
  const Definitions& d = *data.definitions;
  std::string main = "<h1>Communities of Practice</h1><p class=\"lead\">Groups of people who share a concern or a "
                     "passion for something they do, and learn to do it better as they meet regularly. Choose a "
                     "community to see its sessions and add them to your calendar.</p>";
  for (const auto& c : d.communities) {
    const LocalDay today = today_in(data.now, c.zone);
    auto next = upcoming(sessions_between(d, today - date::days{1}, today + kLookAhead, c.id), data.now, kUpcomingOnHome,
                         r.valid_until);
    main += "<section aria-labelledby=\"c-" + A(c.id) + "\"><h2 id=\"c-" + A(c.id) + "\"><a href=\"" +
            U(community_path(c.id)) + "\">" + T(c.name) + "</a></h2>";
    if (c.description) main += "<p>" + T(*c.description) + "</p>";
    main += "<h3>Next sessions</h3>" + list_html(next, "No upcoming sessions.") + "</section>";
  }
  if (d.communities.empty()) main += "<p>No communities yet.</p>";
  main += subscribe_html(feed_url(data, "feeds/all.ics"), "every community", "all");
  main += "<p><a href=\"/archive\">Search past sessions</a> for their slides, recordings and resources.</p>";
  r.html = page("Communities of Practice", main, "home");
  return r;
}

Rendered community_page(const SiteData& data, std::string_view id) {
  const Definitions& d = *data.definitions;
  const CommunityDef* c = find_community(d, id);
  if (!c) return not_found_page("There is no community \"" + std::string(id) + "\".");
  Rendered r;
  const LocalDay today = today_in(data.now, c->zone);
  const Season season = season_of(today);
  std::string main = "<h1>" + T(c->name) + "</h1>";
  if (c->description) main += "<p class=\"lead\">" + T(*c->description) + "</p>";
  main += "<p class=\"meta\">" + T(zone_sentence(*c)) + "</p>";
  main += subscribe_html(feed_url(data, "feeds/communities/" + segment(c->id) + ".ics"), c->name, "community");
  auto next = upcoming(sessions_between(d, today - date::days{1}, today + kLookAhead, c->id), data.now,
                       kUpcomingOnCommunity, r.valid_until);
  main += "<h2>Upcoming sessions</h2>" + list_html(next, "No upcoming sessions.");
  main += "<h2>Series</h2>";
  for (const auto& s : c->series) {
    // A series that continues another (convene split) is that one's: listed once, as the feeds do.
    if (s.continues && d.find_series(*s.continues).second) continue;
    main += "<h3><a href=\"" + U(series_path(s.id)) + "\">" + T(s.title) + "</a></h3><p>" +
            T(meeting_pattern(*c, s)) + "</p>";
    if (s.description) main += "<p class=\"meta\">" + T(*s.description) + "</p>";
  }
  if (c->series.empty()) main += "<p>No series yet.</p>";
  main += season_html(sessions_between(d, season.from, season.to, c->id), season);
  main += "<p><a href=\"" + U("/archive?community=" + html::query_component(c->id)) +
          "\">Search this community's past sessions</a></p>";
  r.html = page(c->name, main, "home");
  return r;
}

Rendered series_page(const SiteData& data, std::string_view id) {
  const Definitions& d = *data.definitions;
  const auto [c, s] = d.find_series(id);
  if (!s) return not_found_page("There is no series \"" + std::string(id) + "\".");
  Rendered r;
  const LocalDay today = today_in(data.now, c->zone);
  const auto family = series_family(d, s->id);
  std::string main = "<p class=\"meta\"><a href=\"" + U(community_path(c->id)) + "\">" + T(c->name) + "</a></p><h1>" +
                     T(s->title) + "</h1><p class=\"lead\">" + T(meeting_pattern(*c, *s)) + "</p>";
  if (s->description) main += "<p>" + T(*s->description) + "</p>";
  main += "<p class=\"meta\">" + T(zone_sentence(*c)) + "</p>";
  if (s->join_url) main += "<p>Join online: <a href=\"" + U(*s->join_url) + "\">" + T(*s->join_url) + "</a></p>";
  if (s->location) main += "<p>Where: " + T(*s->location) + "</p>";
  main += subscribe_html(feed_url(data, "feeds/series/" + segment(s->id) + ".ics"), s->title, "series");
  auto all = sessions_between(d, today - kLookBack, today + kLookAhead, std::nullopt, family);
  auto next = upcoming(all, data.now, kUpcomingOnSeries, r.valid_until);
  main += "<h2>Upcoming sessions</h2>" + list_html(next, "No upcoming sessions.");
  std::vector<Occurrence> recent;
  for (auto it = all.rbegin(); it != all.rend() && recent.size() < kRecentOnSeries; ++it)
    if (it->live() && at_of(*it) < data.now) recent.push_back(*it);
  if (!recent.empty()) {
    main += "<h2>Recent sessions</h2>" + list_html(recent, "");
    main += "<p><a href=\"" + U("/archive?series=" + html::query_component(s->id)) + "\">Every past session of " +
            T(s->title) + "</a></p>";
  }
  r.html = page(s->title, main, "home");
  return r;
}

Rendered session_page(const SiteData& data, std::string_view series, std::string_view occurrence) {
  const Definitions& d = *data.definitions;
  const auto original = parse_local_minute(occurrence);
  const auto o = original ? find_session(d, series, *original) : std::nullopt;
  if (!o) return not_found_page("There is no session " + std::string(occurrence) + " of \"" + std::string(series) + "\".");
  Rendered r;
  const Instant at = at_of(*o);
  const bool past = at < data.now;
  if (!past) r.valid_until = at;
  std::string main = "<p class=\"meta\"><a href=\"" + U(series_path(o->series->id)) + "\">" + T(o->series->title) +
                     "</a> · <a href=\"" + U(community_path(o->community->id)) + "\">" + T(o->community->name) +
                     "</a></p><h1>" + T(o->title()) + "</h1>";
  main += "<p class=\"lead\">" + when_html(*o) + "</p>";
  if (const std::string s = status_html(*o); !s.empty()) main += "<p>" + s + "</p>";
  if (past && o->live()) main += "<p class=\"meta\">This session has taken place.</p>";
  main += details_html(*o, past);
  if (o->live() && !past) {
    main += "<p><a class=\"button\" href=\"" + U(session_path(o->series->id, o->original) + ".ics") +
            "\">Add this session only (.ics)</a></p>";
  }
  r.html = page(o->title() + ", " + session_day(*o), main, "home");
  return r;
}

// --- the archive -----------------------------------------------------------------------------------

std::string marked_html(std::string_view marked) {
  std::string out;
  bool open = false;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= marked.size(); ++i) {
    if (i < marked.size() && marked[i] != kMarkOpen && marked[i] != kMarkClose) continue;
    out += T(marked.substr(from, i - from));
    if (i < marked.size()) {
      if (marked[i] == kMarkOpen && !open) out += "<mark>", open = true;
      else if (marked[i] == kMarkClose && open) out += "</mark>", open = false;
    }
    from = i + 1;
  }
  if (open) out += "</mark>";
  return out;
}

namespace {

std::string option(std::string_view value, std::string_view label, std::string_view selected) {
  return "<option value=\"" + A(value) + "\"" + (value == selected ? " selected" : "") + ">" + T(label) + "</option>";
}

std::string archive_query(const ArchiveForm& f, std::size_t page) {
  std::string q;
  auto add = [&q](const char* name, const std::string& v) {
    if (!v.empty()) q += (q.empty() ? "?" : "&") + std::string(name) + "=" + html::query_component(v);
  };
  add("q", f.words);
  add("community", f.community);
  add("series", f.series);
  add("category", f.category);
  add("from", f.from);
  add("to", f.to);
  if (page > 1) add("page", std::to_string(page));
  return "/archive" + q;
}

}  // namespace

Rendered archive_page(const SiteData& data, const ArchiveForm& f, const ArchiveResults& results,
                      const std::vector<std::string>& categories) {
  const Definitions& d = *data.definitions;
  Rendered r;
  std::string main = "<h1>Past sessions</h1><p class=\"lead\">Find a past session by a word of its title, presenter, "
                     "agenda or resources, and its slides, recording and resources.</p>";
  main += "<form method=\"get\" action=\"/archive\" role=\"search\"><label for=\"q\">Words</label>"
          "<input type=\"search\" id=\"q\" name=\"q\" value=\"" + A(f.words) + "\">";
  main += "<div class=\"grid two\"><div><label for=\"community\">Community</label><select id=\"community\" name=\"community\">" +
          option("", "Any community", f.community);
  for (const auto& c : d.communities) main += option(c.id, c.name, f.community);
  main += "</select></div><div><label for=\"series\">Series</label><select id=\"series\" name=\"series\">" +
          option("", "Any series", f.series);
  for (const auto& c : d.communities)
    for (const auto& s : c.series)
      if (!s.continues) main += option(s.id, s.title, f.series);
  main += "</select></div>";
  if (!categories.empty()) {
    main += "<div><label for=\"category\">Category</label><select id=\"category\" name=\"category\">" +
            option("", "Any category", f.category);
    for (const auto& c : categories) main += option(c, c, f.category);
    main += "</select></div>";
  }
  main += "<div><label for=\"from\">From</label><input type=\"date\" id=\"from\" name=\"from\" value=\"" + A(f.from) +
          "\"></div><div><label for=\"to\">To</label><input type=\"date\" id=\"to\" name=\"to\" value=\"" + A(f.to) +
          "\"></div></div><p><button class=\"primary\" type=\"submit\">Search</button></p></form>";
  for (const auto& p : f.problems) main += notice_html("error", "", p);
  const std::size_t first = results.hits.empty() ? 0 : (f.page - 1) * kArchivePageSize + 1;
  main += "<h2 id=\"results\">" +
          T(results.total == 0 ? std::string("No past sessions found")
                               : std::to_string(results.total) + (results.total == 1 ? " past session" : " past sessions") +
                                     (results.total > results.hits.size()
                                          ? ", " + std::to_string(first) + " to " +
                                                std::to_string(first + results.hits.size() - 1) + " shown"
                                          : std::string())) +
          "</h2>";
  if (!results.hits.empty()) {
    main += "<ul class=\"sessions hits\" aria-labelledby=\"results\">";
    for (const auto& h : results.hits) {
      const auto [c, s] = d.find_series(h.series);
      main += "<li><a class=\"title\" href=\"" + U(session_path(h.series, h.original)) + "\">" + marked_html(h.title) +
              "</a><p class=\"meta\">" +
              T(format_day_long(h.day) + " " + std::to_string(static_cast<int>(date::year_month_day{h.day}.year())) +
                (c ? " · " + c->name : std::string())) +
              "</p>";
      if (!h.snippet.empty() && h.snippet != h.title) main += "<p>" + marked_html(h.snippet) + "</p>";
      main += "</li>";
    }
    main += "</ul>";
  }
  if (f.page > 1 || f.page * kArchivePageSize < results.total) {
    main += "<nav class=\"pager\" aria-label=\"Pages of results\">";
    if (f.page > 1) main += "<a href=\"" + U(archive_query(f, f.page - 1)) + "\">Previous page</a>";
    if (f.page * kArchivePageSize < results.total)
      main += "<a href=\"" + U(archive_query(f, f.page + 1)) + "\">Next page</a>";
    main += "</nav>";
  }
  r.html = page(f.words.empty() ? "Past sessions" : "Past sessions: " + f.words, main,
                 "archive");
  return r;
}

}  // namespace convene::web::internal
