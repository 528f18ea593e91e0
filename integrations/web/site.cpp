// The site: its shared state, the headers every page gets, and the public pages as
// routes with their cache (convene/web.h).
#include "site.h"

#include <libical/ical.h>

#include "convene/feed.h"
#include "internal/ical.h"
#include <sodium.h>

namespace convene::web {

using http::Request;
using http::Response;
using namespace internal;

Site::Impl::Impl(FeedCatalog& c, Store* s, SiteOptions o)
    : catalog(c), store(s), options(std::move(o)), clock(options.clock ? *options.clock : Clock::real()) {
  if (store) accounts = std::make_unique<Accounts>(*store);
  archive = store ? ArchiveIndex::in_store(*store) : ArchiveIndex::in_memory();
}

SiteData Site::Impl::data(const Request& req) {
  auto snap = catalog.source().snapshot();
  SiteData d;
  d.definitions = snap->definitions;
  d.revisions = snap->revisions;
  d.version = snap->version;
  d.now = date::floor<Seconds>(clock.now());
  d.base_url = options.base_url.empty() ? req.base_url() : options.base_url;
  while (!d.base_url.empty() && d.base_url.back() == '/') d.base_url.pop_back();
  std::lock_guard lock(cache_mutex);
  if (snap->version != snapshot_version) {
    snapshot_version = snap->version;
    cache.clear();
  }
  return d;
}

const ArchiveIndex& Site::Impl::archive_for(const SiteData& d) {
  const LocalDay horizon = feed_horizon(d.now);
  std::uint64_t version;
  {
    std::lock_guard lock(cache_mutex);
    version = snapshot_version;
  }
  archive->refresh(std::to_string(version) + "@" + format_date(horizon),
                   [&] { return archive_entries(*d.definitions, horizon); });
  return *archive;
}

const std::string& Site::Impl::csrf_key() {
  std::lock_guard lock(key_mutex);
  if (key.empty()) {
    if (accounts) {
      key = accounts->key("csrf");
    } else {  // a definitions file: this process's own key (no form survives a restart)
      key.resize(32);
      randombytes_buf(key.data(), key.size());
    }
  }
  return key;
}

namespace internal {

void send_page(const Request&, Response& res, int status, std::string html, std::string_view cache_control,
               std::string_view referrer) {
  res.status(status)
      .type("text/html; charset=utf-8")
      .cache(cache_control)
      .header("Content-Security-Policy", content_security_policy())
      .header("X-Content-Type-Options", "nosniff")
      .header("Referrer-Policy", referrer)
      .body(std::move(html));
}

void send_message(const Request& req, Response& res, int status, std::string_view title, std::string_view text) {
  send_page(req, res, status, page(std::string(title),
                                    "<h1>" + T(title) + "</h1><p>" + T(text) + "</p>"));
}

namespace {

// Serves a public page from the cache, rendering it when the data changed or it went stale.
void serve_cached(Site::Impl& site, const Request& req, Response& res, const std::function<Rendered(const SiteData&)>& render) {
  const SiteData data = site.data(req);
  const std::string key = data.base_url + std::string(req.path());
  Site::Impl::Cached entry;
  bool hit = false;
  {
    std::lock_guard lock(site.cache_mutex);
    auto it = site.cache.find(key);
    if (it != site.cache.end() && data.now < it->second.valid_until) {
      entry = it->second;
      hit = true;
    }
  }
  if (!hit) {
    Rendered r = render(data);
    entry.status = r.status;
    entry.valid_until = r.valid_until;
    entry.etag = strong_etag(r.html);
    entry.html = std::make_shared<const std::string>(std::move(r.html));
    std::lock_guard lock(site.cache_mutex);
    site.cache[key] = entry;
  }
  res.status(entry.status)
      .header("ETag", entry.etag)
      .cache("no-cache")
      .header("Content-Security-Policy", content_security_policy())
      .header("X-Content-Type-Options", "nosniff")
      .header("Referrer-Policy", "same-origin");
  if (entry.status == 200 && req.has_header("If-None-Match") && http::etag_listed(req.header("If-None-Match"), {entry.etag})) {
    res.status(304);
    return;
  }
  res.type("text/html; charset=utf-8");
  const std::string_view bytes = *entry.html;
  res.body(std::move(entry.html), bytes);
}

// "20270118T1600": the occurrence part of an expanded feed's UID.
std::string compact(LocalTime t) {
  std::string s = format_local_minute(t);
  std::erase_if(s, [](char c) { return c == '-' || c == ':'; });
  return s;
}

// One session alone as iCalendar: its event from the series' expanded feed (the same
// UID, SEQUENCE and text as every feed), with the feed's time zones.
void serve_session_ics(Site::Impl& site, const Request& req, Response& res, std::string_view series,
                       std::string_view occurrence) {
  const SiteData data = site.data(req);
  const auto original = parse_local_minute(occurrence);
  const auto o = original ? find_session(*data.definitions, series, *original) : std::nullopt;
  if (!o || !o->live()) return void(res.error(404));
  FeedPath path{FeedPath::Kind::series, std::string(series), true};
  auto feed = site.catalog.get(path);
  if (!feed) return void(res.error(404));
  ical::Component calendar(icalparser_parse_string(feed->body.c_str()));
  if (!calendar) return void(res.error(500));
  const std::string uid_prefix = std::string(series) + "-" + compact(*original) + "@";
  std::vector<icalcomponent*> drop;
  bool found = false;
  for (icalcomponent* e = icalcomponent_get_first_component(calendar.get(), ICAL_VEVENT_COMPONENT); e;
       e = icalcomponent_get_next_component(calendar.get(), ICAL_VEVENT_COMPONENT)) {
    const char* uid = icalcomponent_get_uid(e);
    if (uid && std::string_view(uid).substr(0, uid_prefix.size()) == uid_prefix) found = true;
    else drop.push_back(e);
  }
  if (!found) return void(res.error(404));
  for (icalcomponent* e : drop) {
    icalcomponent_remove_component(calendar.get(), e);
    icalcomponent_free(e);
  }
  std::string body = ical::to_text(calendar.get());
  res.status(200)
      .type("text/calendar; charset=utf-8")
      .header("Content-Disposition", "attachment; filename=\"" + std::string(series) + "-" + compact(*original) + ".ics\"")
      .cache("no-cache")
      .body(std::move(body));
}

ArchiveForm read_archive_form(const Request& req, const Definitions& d) {
  ArchiveForm f;
  auto q = req.query_params();
  if (!q) {
    f.problems.push_back("The search could not be read (a malformed %-escape in the address).");
    return f;
  }
  auto text = [&](const char* name) { return std::string(q->get(name).value_or("")); };
  f.words = text("q").substr(0, kMaxArchiveQueryBytes);
  f.community = text("community");
  f.series = text("series");
  f.category = text("category");
  f.from = text("from");
  f.to = text("to");
  if (!f.community.empty() && std::none_of(d.communities.begin(), d.communities.end(),
                                           [&](const CommunityDef& c) { return c.id == f.community; }))
    f.problems.push_back("There is no community \"" + f.community + "\"; searching every community.");
  if (!f.series.empty() && !d.find_series(f.series).second)
    f.problems.push_back("There is no series \"" + f.series + "\"; searching every series.");
  for (auto* date : {&f.from, &f.to}) {
    if (!date->empty() && !parse_date(*date)) {
      f.problems.push_back("\"" + *date + "\" is not a date (YYYY-MM-DD); it was left out of the search.");
      date->clear();
    }
  }
  const std::string p = text("page");
  if (!p.empty()) {
    std::size_t n = 0;
    for (char c : p) n = c >= '0' && c <= '9' && n < 100000 ? n * 10 + static_cast<std::size_t>(c - '0') : 100000;
    f.page = std::clamp<std::size_t>(n, 1, 100000);
  }
  return f;
}

void serve_archive(Site::Impl& site, const Request& req, Response& res) {
  const SiteData data = site.data(req);
  const Definitions& d = *data.definitions;
  ArchiveForm form = read_archive_form(req, d);
  ArchiveQuery query;
  query.words = form.words;
  query.before = data.now;
  for (const auto& c : d.communities)
    if (c.id == form.community) query.community = form.community;
  if (!form.series.empty() && d.find_series(form.series).second) query.series = series_family(d, form.series);
  if (!form.category.empty()) query.category = form.category;
  if (!form.from.empty()) query.from = parse_date(form.from);
  if (!form.to.empty()) query.to = parse_date(form.to);
  query.limit = kArchivePageSize;
  query.offset = (form.page - 1) * kArchivePageSize;
  const ArchiveIndex& index = site.archive_for(data);
  const ArchiveResults results = index.search(query);
  Rendered r = archive_page(data, form, results, index.categories());
  send_page(req, res, r.status, std::move(r.html), "no-cache");
}

}  // namespace

void add_public_routes(Site::Impl& site, http::Router& router) {
  auto home = [&site](const Request& req, Response& res) {
    serve_cached(site, req, res, [](const SiteData& d) { return home_page(d); });
  };
  if (site.options.home_page) {
    router.get("/", home);
    router.get("/index.html", home);
  }
  router.get("/communities/{community}", [&site](const Request& req, Response& res) {
    const std::string id(req.param("community"));
    serve_cached(site, req, res, [&](const SiteData& d) { return community_page(d, id); });
  });
  router.get("/series/{series}", [&site](const Request& req, Response& res) {
    const std::string id(req.param("series"));
    serve_cached(site, req, res, [&](const SiteData& d) { return series_page(d, id); });
  });
  router.get("/sessions/{series}/{occurrence}", [&site](const Request& req, Response& res) {
    const std::string series(req.param("series"));
    std::string occurrence(req.param("occurrence"));
    if (occurrence.size() > 4 && occurrence.substr(occurrence.size() - 4) == ".ics")
      return serve_session_ics(site, req, res, series, occurrence.substr(0, occurrence.size() - 4));
    serve_cached(site, req, res, [&](const SiteData& d) { return session_page(d, series, occurrence); });
  });
  router.get("/archive", [&site](const Request& req, Response& res) { serve_archive(site, req, res); });
}

}  // namespace internal

Site::Site(FeedCatalog& catalog, Store* store, SiteOptions options)
    : impl_(std::make_unique<Impl>(catalog, store, std::move(options))) {}
Site::~Site() = default;

void Site::add_routes(http::Router& router) {
  router.problem_details_under("/api/");
  add_public_routes(*impl_, router);
  add_member_routes(*impl_, router);
  add_workspace_routes(*impl_, router);
  add_api_routes(*impl_, router);
}

}  // namespace convene::web
