// The JSON API, /api/v1 (docs/api.md): the data of the pages and the workspace's
// actions, for the communities' other tools.
//
// Every request carries "Authorization: Bearer TOKEN" (convene api-token add), and sees
// and changes only the communities its token is scoped to. Sessions and series carry an
// ETag, their revision ("\"r7\""); a change given If-Match is refused with 412 when the
// revision moved (the store's expect_revision), saying who changed it. Errors are
// application/problem+json (RFC 9457) with the field at fault as a JSON pointer
// ("pointer": "/to"). The bodies are the JSON of convene/views.h, as the CLI's --format
// json prints them.
#include <algorithm>

#include "convene/validate.h"
#include "convene/views.h"
#include "site.h"

namespace convene::web::internal {

using http::Request;
using http::Response;
using Json = nlohmann::json;

namespace {

// The largest request body the API reads, and the widest window of sessions it lists.
constexpr std::size_t kMaxApiBody = 64 * 1024;
constexpr date::days kDefaultSessionsWindow{90};
constexpr date::days kMaxSessionsWindow{400};
constexpr std::size_t kMaxHistory = 1000;

// A refusal of the request: its status, title and detail, and the member of the body at
// fault (a JSON pointer), if one is.
struct Refusal {
  int status;
  std::string title, detail, pointer;
};

[[noreturn]] void refuse(int status, std::string title, std::string detail, std::string pointer = "") {
  throw Refusal{status, std::move(title), std::move(detail), std::move(pointer)};
}

[[noreturn]] void invalid(std::string pointer, std::string detail) {
  refuse(422, "Invalid value", std::move(detail), std::move(pointer));
}

struct Caller {
  ApiToken token;
  std::string actor;  // "api:NAME"
  bool may(std::string_view community) const { return token.may_change(community); }
};

Caller authorize(Site::Impl& site, const Request& req) {
  if (!site.accounts) refuse(404, "Not available", "The API needs the store (convene serve --db).");
  const std::string_view auth = req.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !std::equal(kBearer.begin(), kBearer.end(), auth.begin(),
                                                    [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
    refuse(401, "Unauthorized", "Give an API token as \"Authorization: Bearer TOKEN\" (convene api-token add).");
  auto token = site.accounts->find_api_token(http::trim(auth.substr(kBearer.size())));
  if (!token) refuse(401, "Unauthorized", "This API token is not known (revoked, or mistyped).");
  return Caller{*token, "api:" + token->name};
}

void require_scope(const Caller& c, const CommunityDef& community) {
  if (!c.may(community.id))
    refuse(403, "Forbidden", "This API token is not scoped to the community \"" + community.id + "\".");
}

std::string etag_of(std::uint64_t revision) { return "\"r" + std::to_string(revision) + "\""; }

// If-Match: the revision the caller read ("\"r7\"", or "*": any), or nullopt.
std::optional<std::uint64_t> if_match(const Request& req) {
  if (!req.has_header("If-Match")) return std::nullopt;
  const std::string v(http::trim(req.header("If-Match")));
  if (v == "*") return std::nullopt;
  std::string digits = v;
  if (digits.size() >= 2 && digits.front() == '"' && digits.back() == '"') digits = digits.substr(1, digits.size() - 2);
  if (digits.size() < 2 || digits.size() > 20 || digits[0] != 'r' ||
      !std::all_of(digits.begin() + 1, digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
    refuse(412, "Precondition Failed", "If-Match " + quote_value(v) + " is not an ETag of this API (\"r7\").");
  return std::stoull(digits.substr(1));
}

Json body_of(const Request& req) {
  if (req.body().empty()) return Json::object();
  std::string why;
  auto j = req.json(&why);
  if (!j) {
    if (!req.header("Content-Type").starts_with("application/json"))
      refuse(415, "Unsupported Media Type", "Send the body as application/json.");
    refuse(400, "Malformed JSON", why);
  }
  if (!j->is_object()) refuse(400, "Malformed JSON", "The body is not a JSON object.", "");
  return *j;
}

// A string member of the body (absent: nullopt), checked as free text; `at` is the JSON
// pointer of the object holding it ("" for the body itself, "/resources/0").
std::optional<std::string> text_member(const Json& body, const char* name, bool required = false,
                                       const std::string& at = "") {
  const std::string pointer = at + "/" + name;
  if (!body.contains(name) || body[name].is_null()) {
    if (required) invalid(pointer, std::string(name) + " is required");
    return std::nullopt;
  }
  if (!body[name].is_string()) invalid(pointer, std::string(name) + " is not a string");
  std::string v = body[name].get<std::string>();
  if (auto why = text_problem(v)) invalid(pointer, std::string(name) + ": " + *why);
  return v;
}

std::optional<std::string> link_member(const Json& body, const char* name, const std::string& at = "") {
  auto v = text_member(body, name, false, at);
  if (v && !v->empty())
    if (auto why = url_problem(*v)) invalid(at + "/" + name, std::string(name) + ": " + *why);
  return v;
}

bool dry_run_of(const Json& body) {
  if (!body.contains("dry_run")) return false;
  if (!body["dry_run"].is_boolean()) invalid("/dry_run", "dry_run is not true or false");
  return body["dry_run"].get<bool>();
}

ChangeContext context_of(const Caller& c, const Json& body, std::optional<std::uint64_t> expect) {
  ChangeContext ctx;
  ctx.actor = c.actor;
  ctx.reason = text_member(body, "reason");
  if (ctx.reason && ctx.reason->empty()) ctx.reason.reset();
  ctx.expect_revision = expect;
  ctx.dry_run = dry_run_of(body);
  return ctx;
}

// The answer to a StoreError, as problem+json.
[[noreturn]] void store_refusal(Site::Impl& site, const StoreError& e, std::optional<std::string> series) {
  switch (e.kind()) {
    case StoreError::Kind::conflict: {
      std::string detail = "Changed since you read it";
      HistoryQuery q;
      q.series = std::move(series);
      q.limit = 1;
      if (auto last = site.store->history(q); !last.empty())
        detail += ": by " + last.back().actor + " (" + last.back().summary + ")";
      refuse(412, "Precondition Failed", detail + ". Read it again (GET) and repeat the change with its ETag.");
    }
    case StoreError::Kind::invalid:
    case StoreError::Kind::overlap: refuse(422, "Refused", e.what());
    case StoreError::Kind::locked: refuse(503, "Busy", e.what());
    case StoreError::Kind::read_only: refuse(503, "Read-only", "The store is read-only.");
    default: refuse(500, "Store error", "The store could not carry out the change.");
  }
}

// --- reading ---------------------------------------------------------------------------------

Json series_json(const CommunityDef& c, const SeriesDef& s, std::uint64_t revision) {
  return {{"id", s.id},
          {"community", c.id},
          {"title", s.title},
          {"description", s.description ? Json(*s.description) : Json(nullptr)},
          {"pattern", meeting_pattern(c, s)},
          {"timezone", c.timezone},
          {"start", format_local_minute(s.start)},
          {"duration", format_duration(s.duration)},
          {"rrule", s.rrule_text ? Json(*s.rrule_text) : Json(nullptr)},
          {"continues", s.continues ? Json(*s.continues) : Json(nullptr)},
          {"revision", revision}};
}

Json community_json(Site::Impl& site, const CommunityDef& c) {
  Json series = Json::array();
  for (const auto& s : c.series) series.push_back(series_json(c, s, site.store->series_revision(s.id).sequence));
  return {{"id", c.id}, {"name", c.name}, {"description", c.description ? Json(*c.description) : Json(nullptr)},
          {"timezone", c.timezone}, {"series", series}};
}

Json session_json(Site::Impl& site, const Occurrence& o) {
  Json j = views::occurrence_json(o);
  j["revision"] = site.store->occurrence_revision(o.series->id, o.original).sequence;
  j["why"] = why_words(o);
  const OverrideDef* d = o.override_def;
  j["presenter"] = d && d->presenter ? Json(*d->presenter) : o.series->presenter ? Json(*o.series->presenter) : Json(nullptr);
  j["agenda"] = d && d->agenda ? Json(*d->agenda) : Json(nullptr);
  Json resources = Json::array();
  if (d)
    for (const auto& r : d->resources) resources.push_back({{"title", r.title}, {"url", r.url}});
  j["resources"] = resources;
  return j;
}

const CommunityDef& community_of(const Definitions& d, std::string_view id) {
  for (const auto& c : d.communities)
    if (c.id == id) return c;
  refuse(404, "Not Found", "There is no community " + quote_value(id) + ".");
}

Occurrence session_of(const SiteData& data, const Request& req, const Caller& caller) {
  const auto original = parse_local_minute(req.param("occurrence"));
  auto o = original ? find_session(*data.definitions, req.param("series"), *original) : std::nullopt;
  if (!o) refuse(404, "Not Found", "There is no session " + quote_value(req.param("occurrence")) + " of " +
                                      quote_value(req.param("series")) + ".");
  require_scope(caller, *o->community);
  return *o;
}

std::optional<LocalDay> date_param(const http::Params& q, const char* name) {
  auto v = q.get(name);
  if (!v || v->empty()) return std::nullopt;
  auto d = parse_date(*v);
  if (!d) refuse(400, "Bad query", std::string(name) + " " + quote_value(*v) + " is not a date (YYYY-MM-DD)");
  return d;
}

Json list_sessions(Site::Impl& site, const Request& req, const Caller& caller) {
  const SiteData data = site.data(req);
  const Definitions& d = *data.definitions;
  auto q = req.query_params();
  if (!q) refuse(400, "Bad query", "The query holds a malformed %-escape.");
  std::optional<std::string> community, series;
  if (auto c = q->get("community"); c && !c->empty()) community = community_of(d, *c).id;
  if (auto s = q->get("series"); s && !s->empty()) {
    if (!d.find_series(*s).second) refuse(404, "Not Found", "There is no series " + quote_value(*s) + ".");
    series = std::string(*s);
  }
  const LocalDay today = today_in(data.now, d.communities.empty() ? nullptr : d.communities.front().zone);
  const LocalDay from = date_param(*q, "from").value_or(today);
  const LocalDay to = date_param(*q, "to").value_or(from + kDefaultSessionsWindow);
  if (to < from) refuse(400, "Bad query", "to is before from");
  if (to - from > kMaxSessionsWindow) refuse(400, "Bad query", "from..to spans more than 400 days; ask in parts");
  Json out = Json::array();
  for (const auto& o : sessions_between(d, from, to, community, series ? series_family(d, *series) : std::vector<std::string>{}))
    if (caller.may(o.community->id)) out.push_back(session_json(site, o));
  return {{"from", format_date(from)}, {"to", format_date(to)}, {"sessions", out}};
}

Json history(Site::Impl& site, const Request& req, const Caller& caller) {
  const SiteData data = site.data(req);
  auto q = req.query_params();
  if (!q) refuse(400, "Bad query", "The query holds a malformed %-escape.");
  HistoryQuery query;
  if (auto s = q->get("series"); s && !s->empty()) query.series = std::string(*s);
  query.limit = kMaxHistory;
  auto allowed = [&](const std::string& series) {
    const auto [c, s] = data.definitions->find_series(series);
    return c && caller.may(c->id);
  };
  std::vector<AuditRecord> mine;
  for (auto& r : site.store->history(query)) {
    bool ok = caller.token.all_communities || (r.series && allowed(*r.series));
    for (const auto& a : r.affected) ok = ok || allowed(a.series);
    if (ok) mine.push_back(std::move(r));
  }
  return Json::parse(views::history_json(mine).dump());
}

Json archive(Site::Impl& site, const Request& req, const Caller& caller) {
  const SiteData data = site.data(req);
  auto q = req.query_params();
  if (!q) refuse(400, "Bad query", "The query holds a malformed %-escape.");
  ArchiveQuery query;
  query.words = std::string(q->get("q").value_or("")).substr(0, kMaxArchiveQueryBytes);
  if (auto c = q->get("community"); c && !c->empty()) query.community = community_of(*data.definitions, *c).id;
  if (auto s = q->get("series"); s && !s->empty()) query.series = series_family(*data.definitions, *s);
  if (auto c = q->get("category"); c && !c->empty()) query.category = std::string(*c);
  query.from = date_param(*q, "from");
  query.to = date_param(*q, "to");
  query.before = data.now;
  query.limit = kMaxArchiveLimit;
  const ArchiveResults results = site.archive_for(data).search(query);
  Json hits = Json::array();
  auto unmark = [](std::string s) {
    std::erase_if(s, [](char ch) { return ch == kMarkOpen || ch == kMarkClose; });
    return s;
  };
  for (const auto& h : results.hits) {
    if (!caller.may(h.community)) continue;
    hits.push_back({{"series", h.series}, {"community", h.community}, {"occurrence_id", format_local_minute(h.original)},
                    {"date", format_date(h.day)}, {"title", unmark(h.title)}, {"snippet", unmark(h.snippet)},
                    {"url", data.base_url + session_path(h.series, h.original)}});
  }
  return {{"total", results.total}, {"terms", results.terms}, {"hits", hits}};
}

// --- changing ----------------------------------------------------------------------------------

OccurrenceEdit edit_of(const Json& body) {
  OccurrenceEdit e;
  e.title = text_member(body, "title");
  e.description = text_member(body, "description");
  e.presenter = text_member(body, "presenter");
  e.agenda = text_member(body, "agenda");
  e.location = text_member(body, "location");
  e.join_url = link_member(body, "join_url");
  if (body.contains("resources")) {
    if (!body["resources"].is_array()) invalid("/resources", "resources is not an array");
    std::vector<Resource> list;
    for (std::size_t i = 0; i < body["resources"].size(); ++i) {
      const Json& r = body["resources"][i];
      const std::string at = "/resources/" + std::to_string(i);
      if (!r.is_object()) invalid(at, "a resource is {\"title\", \"url\"}");
      auto title = text_member(r, "title", true, at);
      auto url = link_member(r, "url", at);
      if (!url || url->empty()) invalid(at + "/url", "url is required");
      list.push_back({*title, *url});
    }
    e.resources = list;
  }
  return e;
}

Json change_answer(Response& res, const ChangeResult& r, const ChangeContext& ctx, std::optional<std::uint64_t> revision) {
  if (revision && !ctx.dry_run) res.header("ETag", etag_of(*revision));
  return Json::parse(views::change_json(r, ctx, ctx.dry_run).dump());
}

ChangeResult session_change(Site::Impl& site, const std::string& action, const Occurrence& o, const Json& body,
                            const ChangeContext& ctx) {
  Store& store = *site.store;
  const std::string& series = o.series->id;
  if (action == "reschedule") {
    auto to = text_member(body, "to", true);
    auto when = parse_local_minute(*to);
    if (!when) invalid("/to", "to " + quote_value(*to) + " is not a local time (YYYY-MM-DDTHH:MM)");
    std::optional<Seconds> duration;
    if (auto d = text_member(body, "duration")) {
      duration = parse_duration(*d);
      if (!duration || duration->count() <= 0) invalid("/duration", "duration " + quote_value(*d) + " is not a duration (PT1H30M)");
    }
    return store.reschedule(series, o.original, *when, duration, ctx);
  }
  if (action == "cancel") return store.cancel(series, o.original, ctx);
  if (action == "restore") return store.restore(series, o.original, ctx);
  return store.edit(series, o.original, edit_of(body), ctx);
}

Json change_session(Site::Impl& site, const Request& req, Response& res, const std::string& action) {
  const Caller caller = authorize(site, req);
  const Json body = body_of(req);
  const SiteData data = site.data(req);
  const Occurrence o = session_of(data, req, caller);
  const ChangeContext ctx = context_of(caller, body, if_match(req));
  try {
    const ChangeResult r = session_change(site, action, o, body, ctx);
    return change_answer(res, r, ctx, site.store->occurrence_revision(o.series->id, o.original).sequence);
  } catch (const StoreError& e) {
    store_refusal(site, e, o.series->id);
  }
}

Json split_series(Site::Impl& site, const Request& req, Response& res) {
  const Caller caller = authorize(site, req);
  const Json body = body_of(req);
  const SiteData data = site.data(req);
  const auto [c, s] = data.definitions->find_series(req.param("series"));
  if (!s) refuse(404, "Not Found", "There is no series " + quote_value(req.param("series")) + ".");
  require_scope(caller, *c);
  SplitSpec spec;
  auto from = text_member(body, "from", true);
  auto day = parse_date(*from);
  if (!day) invalid("/from", "from " + quote_value(*from) + " is not a date (YYYY-MM-DD)");
  spec.from = *day;
  if (auto t = text_member(body, "time")) {
    auto at = parse_local_minute("2000-01-01T" + *t);
    if (!at) invalid("/time", "time " + quote_value(*t) + " is not a time of day (HH:MM)");
    spec.time_of_day = *at - date::floor<date::days>(*at);
  }
  if (auto d = text_member(body, "duration")) {
    spec.duration = parse_duration(*d);
    if (!spec.duration || spec.duration->count() <= 0) invalid("/duration", "duration " + quote_value(*d) + " is not a duration");
  }
  spec.rrule = text_member(body, "rrule");
  spec.title = text_member(body, "title");
  spec.new_id = text_member(body, "new_id");
  const ChangeContext ctx = context_of(caller, body, if_match(req));
  try {
    const ChangeResult r = site.store->split(s->id, spec, ctx);
    return change_answer(res, r, ctx, site.store->series_revision(s->id).sequence);
  } catch (const StoreError& e) {
    store_refusal(site, e, s->id);
  }
}

// The communities a closure of `calendar` changes must all be the caller's.
void require_calendar_scope(const Caller& caller, const Definitions& d, std::string_view calendar) {
  for (const auto& c : d.communities) {
    bool observes = std::find(c.observes.begin(), c.observes.end(), calendar) != c.observes.end();
    for (const auto& s : c.series)
      observes = observes || std::find(s.observes.begin(), s.observes.end(), calendar) != s.observes.end();
    if (observes) require_scope(caller, c);
  }
}

Json close_or_reopen(Site::Impl& site, const Request& req, Response& res, bool close) {
  const Caller caller = authorize(site, req);
  const Json body = body_of(req);
  const SiteData data = site.data(req);
  const std::string calendar(req.param("calendar"));
  if (!data.definitions->find_calendar(calendar)) refuse(404, "Not Found", "There is no calendar " + quote_value(calendar) + ".");
  require_calendar_scope(caller, *data.definitions, calendar);
  auto from_text = text_member(body, "from", true);
  auto from = parse_date(*from_text);
  if (!from) invalid("/from", "from " + quote_value(*from_text) + " is not a date (YYYY-MM-DD)");
  auto to_text = text_member(body, "to");
  auto to = to_text ? parse_date(*to_text) : from;
  if (!to) invalid("/to", "to " + quote_value(*to_text) + " is not a date (YYYY-MM-DD)");
  const ChangeContext ctx = context_of(caller, body, std::nullopt);
  try {
    if (!close) return change_answer(res, site.store->reopen(calendar, *from, *to, ctx), ctx, std::nullopt);
    auto name = text_member(body, "name", true);
    if (name->empty()) invalid("/name", "name is empty: say what it is (\"Snow day\")");
    return change_answer(res, site.store->close(calendar, Closure{*name, *from, *to}, ctx), ctx, std::nullopt);
  } catch (const StoreError& e) {
    store_refusal(site, e, std::nullopt);
  }
}

// Runs a handler; a Refusal (or anything else) becomes problem+json.
template <class Body>
http::Handler api(Site::Impl& site, Body body) {
  return [&site, body](const Request& req, Response& res) {
    try {
      const Json out = body(site, req, res);
      res.json(200, out).cache("no-store");
    } catch (const Refusal& r) {
      Json extra = Json::object();
      if (!r.pointer.empty()) extra["pointer"] = r.pointer;
      res.problem(r.status, r.title, r.detail, extra).cache("no-store");
      if (r.status == 401) res.header("WWW-Authenticate", "Bearer realm=\"convene\"");
    }
  };
}

}  // namespace

void add_api_routes(Site::Impl& site, http::Router& router) {
  const http::RouteOptions change{.max_body_bytes = kMaxApiBody};
  router.get("/api/v1/communities", api(site, [](Site::Impl& s, const Request& req, Response&) {
    const Caller caller = authorize(s, req);
    Json out = Json::array();
    for (const auto& c : s.data(req).definitions->communities)
      if (caller.may(c.id)) out.push_back(community_json(s, c));
    return Json{{"communities", out}};
  }));
  router.get("/api/v1/communities/{community}", api(site, [](Site::Impl& s, const Request& req, Response&) {
    const Caller caller = authorize(s, req);
    const SiteData data = s.data(req);
    const CommunityDef& c = community_of(*data.definitions, req.param("community"));
    require_scope(caller, c);
    return community_json(s, c);
  }));
  router.get("/api/v1/series/{series}", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    const Caller caller = authorize(s, req);
    const SiteData data = s.data(req);
    const auto [c, series] = data.definitions->find_series(req.param("series"));
    if (!series) refuse(404, "Not Found", "There is no series " + quote_value(req.param("series")) + ".");
    require_scope(caller, *c);
    const std::uint64_t revision = s.store->series_revision(series->id).sequence;
    res.header("ETag", etag_of(revision));
    return series_json(*c, *series, revision);
  }));
  router.post("/api/v1/series/{series}/split", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    return split_series(s, req, res);
  }), change);
  router.get("/api/v1/sessions", api(site, [](Site::Impl& s, const Request& req, Response&) {
    return list_sessions(s, req, authorize(s, req));
  }));
  router.get("/api/v1/sessions/{series}/{occurrence}", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    const Caller caller = authorize(s, req);
    const Occurrence o = session_of(s.data(req), req, caller);
    Json j = session_json(s, o);
    res.header("ETag", etag_of(j["revision"].get<std::uint64_t>()));
    return j;
  }));
  router.patch("/api/v1/sessions/{series}/{occurrence}", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    return change_session(s, req, res, "edit");
  }), change);
  for (const char* action : {"reschedule", "cancel", "restore"}) {
    router.post(std::string("/api/v1/sessions/{series}/{occurrence}/") + action,
                api(site, [action = std::string(action)](Site::Impl& s, const Request& req, Response& res) {
                  return change_session(s, req, res, action);
                }), change);
  }
  router.post("/api/v1/calendars/{calendar}/closures", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    return close_or_reopen(s, req, res, true);
  }), change);
  router.post("/api/v1/calendars/{calendar}/reopen", api(site, [](Site::Impl& s, const Request& req, Response& res) {
    return close_or_reopen(s, req, res, false);
  }), change);
  router.get("/api/v1/history", api(site, [](Site::Impl& s, const Request& req, Response&) {
    return Json{{"changes", history(s, req, authorize(s, req))}};
  }));
  router.get("/api/v1/archive", api(site, [](Site::Impl& s, const Request& req, Response&) {
    return archive(s, req, authorize(s, req));
  }));
}

}  // namespace convene::web::internal
