// The facilitators' workspace: sign-in and passwords, the sessions of their
// communities and the changes they make (the store's own operations, with the
// signed-in user as the actor and the revision the page showed), closing a day with a
// preview, reopening, splitting a series, and the history of changes.
#include <algorithm>
#include <set>

#include "convene/validate.h"
#include "site.h"

namespace convene::web::internal {

using http::Request;
using http::Response;

namespace {

constexpr std::string_view kSessionCookie = "convene_session";
// The secret a signed-out form (sign-in) is bound to, in a cookie of its own.
constexpr std::string_view kFormCookie = "convene_form";
constexpr std::chrono::hours kFormCookieLifetime{1};
// What the workspace lists.
constexpr std::size_t kWorkspaceUpcoming = 12;
constexpr std::size_t kWorkspaceRecent = 6;
constexpr date::days kWorkspaceLookAhead{200};
constexpr date::days kWorkspaceLookBack{120};
constexpr std::size_t kHistoryShown = 200;
// A closure changes the sessions near it: how far around its days the preview looks.
constexpr date::days kCloseMargin{45};
// The longest closure accepted from the form.
constexpr date::days kMaxClosureDays{366};
constexpr std::string_view kRecordingTitle = "Recording";

struct SignedIn {
  SignInSession session;
  std::string token;
  std::string csrf;
};

std::string cookie_value(const Request& req, std::string_view name) {
  return std::string(req.cookies().get(name).value_or(""));
}

std::optional<SignedIn> signed_in(Site::Impl& site, const Request& req) {
  if (!site.accounts) return std::nullopt;
  const std::string token = cookie_value(req, kSessionCookie);
  if (token.empty()) return std::nullopt;
  auto session = site.accounts->session(token);
  if (!session) return std::nullopt;
  return SignedIn{*session, token, csrf_token(site.csrf_key(), "workspace", token)};
}

void send_workspace(const Request& req, Response& res, int status, const SignedIn& who, std::string title,
                    std::string main) {
  send_page(req, res, status,
            page({.title = std::move(title), .main = std::move(main), .section = "workspace",
                  .signed_in = who.session.user.name, .signout_csrf = who.csrf}));
}

bool available(Site::Impl& site, const Request& req, Response& res) {
  if (site.store && !site.store->read_only()) return true;
  send_message(req, res, 404, "Not available",
               site.store ? "The store is read-only, so nobody can sign in to change it."
                          : "The workspace needs the store (convene import, then convene serve --db).");
  return false;
}

// The signed-in user, or a redirect to /signin (GET) or a refusal (POST) and nullopt.
std::optional<SignedIn> require_user(Site::Impl& site, const Request& req, Response& res) {
  if (!available(site, req, res)) return std::nullopt;
  auto who = signed_in(site, req);
  if (who) return who;
  if (req.method() == http::Method::post) {
    send_message(req, res, 403, "Signed out", "Your session ended. Sign in again and repeat your change.");
  } else {
    res.redirect("/signin");
  }
  return std::nullopt;
}

// The form of a POST with its CSRF token checked, or a 403 and nullopt.
std::optional<http::Params> checked_form(Site::Impl& site, const Request& req, Response& res, const SignedIn& who) {
  auto form = req.form();
  if (!form || !csrf_ok(site.csrf_key(), "workspace", who.token, form->get("csrf").value_or(""))) {
    send_workspace(req, res, 403, who, "Refused",
                   "<h1>Refused</h1><p>This form has expired or did not come from this site. Open the page again and "
                   "repeat your change.</p>");
    return std::nullopt;
  }
  return form;
}

void set_session_cookie(Response& res, const Request& req, const std::string& token, Seconds age) {
  res.cookie({.name = std::string(kSessionCookie), .value = token, .path = "/workspace", .max_age = age,
              .http_only = true, .secure = req.secure(), .same_site = "Lax"});
}

std::string text_field(std::string_view name, std::string_view label, std::string_view value,
                       std::string_view type = "text", std::string_view extra = "") {
  return "<label for=\"" + A(name) + "\">" + T(label) + "</label><input type=\"" + A(type) + "\" id=\"" + A(name) +
         "\" name=\"" + A(name) + "\" value=\"" + A(value) + "\"" + std::string(extra) + ">";
}

std::string hidden(std::string_view name, std::string_view value) {
  return "<input type=\"hidden\" name=\"" + A(name) + "\" value=\"" + A(value) + "\">";
}

// The communities whose sessions a closure of `calendar` changes.
std::vector<const CommunityDef*> observers(const Definitions& d, std::string_view calendar) {
  std::vector<const CommunityDef*> out;
  for (const auto& c : d.communities) {
    bool observes = std::find(c.observes.begin(), c.observes.end(), calendar) != c.observes.end();
    for (const auto& s : c.series)
      observes = observes || std::find(s.observes.begin(), s.observes.end(), calendar) != s.observes.end();
    if (observes) out.push_back(&c);
  }
  return out;
}

std::vector<std::string> observing_series(const Definitions& d, std::string_view calendar) {
  std::vector<std::string> out;
  for (const auto& c : d.communities) {
    const bool all = std::find(c.observes.begin(), c.observes.end(), calendar) != c.observes.end();
    for (const auto& s : c.series)
      if (all || std::find(s.observes.begin(), s.observes.end(), calendar) != s.observes.end()) out.push_back(s.id);
  }
  return out;
}

// The last change that touched a session (for "someone else changed it").
std::optional<AuditRecord> last_change(Store& store, std::string_view series, LocalTime original) {
  HistoryQuery q;
  q.series = std::string(series);
  q.limit = 100;
  auto records = store.history(q);
  for (auto it = records.rbegin(); it != records.rend(); ++it) {
    if (it->occurrence == original) return *it;
    for (const auto& a : it->affected)
      if (a.series == series && a.original == original) return *it;
  }
  return records.empty() ? std::nullopt : std::optional<AuditRecord>(records.back());
}

std::string moment(Instant at, const date::time_zone* zone) {
  const LocalTime t = to_local(at, zone);
  const LocalDay day = date::floor<date::days>(t);
  return format_day_long(day) + " " + std::to_string(static_cast<int>(date::year_month_day{day}.year())) + " at " +
         clock_time(t) + " " + zone_abbreviation(zone);
}

std::string conflict_html(Store& store, std::string_view series, LocalTime original, const date::time_zone* zone) {
  auto r = last_change(store, series, original);
  std::string text = "Someone else changed this session after you opened this page";
  if (r) text += ": " + r->actor + ", " + moment(r->at, zone) + " (" + r->summary + (r->reason ? "; " + *r->reason : "") + ")";
  text += ". Nothing was changed. The page now shows the session as it is; make your change again if it is still needed.";
  return notice_html("error", "Changed meanwhile", text);
}

// --- sign-in, passwords, sign-out ------------------------------------------------------------

// The secret a signed-out form is bound to: the form cookie's, or a new one set now.
std::string form_secret(const Request& req, Response& res) {
  std::string secret = cookie_value(req, kFormCookie);
  if (secret.size() == 43) return secret;
  secret = random_secret();
  res.cookie({.name = std::string(kFormCookie), .value = secret, .path = "/",
              .max_age = std::chrono::duration_cast<Seconds>(kFormCookieLifetime), .http_only = true,
              .secure = req.secure(), .same_site = "Strict"});
  return secret;
}

// A crypto_pwhash_str of nothing anyone chose, checked when the user is unknown, so
// the answer takes as long for an unknown address as for a wrong password.
const std::string& dummy_hash() {
  static const std::string hash = hash_password(random_secret());
  return hash;
}

}  // namespace

std::string signin_html(std::string_view csrf, std::string_view email, std::string_view problem) {
  std::string out = "<h1>Sign in</h1><p class=\"lead\">For facilitators and administrators, to change sessions.</p>";
  if (!problem.empty()) out += notice_html("error", "Not signed in", problem);
  out += "<form method=\"post\" action=\"/signin\">" + csrf_field(csrf) +
         text_field("email", "Email", email, "email", " autocomplete=\"username\" required") +
         text_field("password", "Password", "", "password", " autocomplete=\"current-password\" required") +
         "<p><button class=\"primary\" type=\"submit\">Sign in</button></p></form>"
         "<p class=\"meta\">No password yet, or forgot it? Ask an administrator for a link to set one.</p>";
  return out;
}

std::string password_form_html(std::string_view csrf, const User& user, std::string_view problem) {
  std::string out = "<h1>Choose a password</h1><p class=\"lead\">For " + T(user.name) + " (" + T(user.email) +
                    "). At least " + std::to_string(kMinPasswordLength) + " characters; a few words you will remember "
                    "make a good one.</p>";
  if (!problem.empty()) out += notice_html("error", "Not saved", problem);
  out += "<form method=\"post\">" + csrf_field(csrf) +
         "<input type=\"hidden\" name=\"email\" autocomplete=\"username\" value=\"" + A(user.email) + "\">" +
         text_field("password", "New password", "", "password", " autocomplete=\"new-password\" required") +
         text_field("again", "The same password again", "", "password", " autocomplete=\"new-password\" required") +
         "<p><button class=\"primary\" type=\"submit\">Save and sign in</button></p></form>";
  return out;
}

namespace {

void add_signin_routes(Site::Impl& site, http::Router& router) {
  router.get("/signin", [&site](const Request& req, Response& res) {
    if (!available(site, req, res)) return;
    const std::string secret = form_secret(req, res);
    send_page(req, res, 200, page("Sign in", signin_html(csrf_token(site.csrf_key(), "signin", secret), "", ""),
                                   "workspace"));
  });
  router.post("/signin", [&site](const Request& req, Response& res) {
    if (!available(site, req, res)) return;
    const std::string secret = cookie_value(req, kFormCookie);
    auto form = req.form();
    if (!form || !csrf_ok(site.csrf_key(), "signin", secret, form->get("csrf").value_or(""))) {
      const std::string fresh = form_secret(req, res);
      return send_page(req, res, 403, page("Sign in",
                                            signin_html(csrf_token(site.csrf_key(), "signin", fresh), "",
                                                                "This form has expired. Please sign in again."),
                                            "workspace"));
    }
    const std::string email(http::trim(form->get("email").value_or("")).substr(0, kMaxEmailLength));
    const std::string password(form->get("password").value_or("").substr(0, kMaxPasswordLength));
    auto again = [&](int status, const std::string& problem) {
      send_page(req, res, status, page("Sign in",
                                        signin_html(csrf_token(site.csrf_key(), "signin", secret), email, problem),
                                        "workspace"));
    };
    if (auto until = site.accounts->throttled_until(email, req.client())) {
      const auto wait = std::max<std::int64_t>(1, (*until - site.clock.now()).count());
      again(429, "Too many failed attempts: sign-in is paused for this account or this network. Try again in " +
                     std::to_string((wait + 59) / 60) + " minutes.");
      res.header("Retry-After", std::to_string(wait));
      return;
    }
    const auto hash = site.accounts->password_hash(email);
    const bool ok = verify_password(hash ? *hash : dummy_hash(), password) && hash;
    if (!ok) {
      site.accounts->record_failure(email, req.client());
      return again(401, "That email and password do not match an account.");
    }
    site.accounts->clear_failures(email);
    const IssuedSecret s = site.accounts->start_session(email);
    set_session_cookie(res, req, s.token, std::chrono::duration_cast<Seconds>(kSessionLifetime));
    res.redirect("/workspace");
  }, {.max_body_bytes = 8192});
  router.post("/workspace/signout", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who || !checked_form(site, req, res, *who)) return;
    site.accounts->end_session(who->token);
    set_session_cookie(res, req, "", Seconds{0});
    res.redirect("/signin");
  }, {.max_body_bytes = 4096});
  router.get("/workspace/password/{token}", [&site](const Request& req, Response& res) {
    if (!available(site, req, res)) return;
    const std::string token(req.param("token"));
    auto user = site.accounts->password_link_user(token);
    if (!user) return send_message(req, res, 404, "This link does not work", "It was used already, or it expired. Ask an administrator for a new one (convene user password-link EMAIL).");
    send_page(req, res, 200,
              page("Choose a password", password_form_html(csrf_token(site.csrf_key(), "password", token), *user, ""),
                   "workspace"),
              "no-store", "no-referrer");  // the address is the credential
  });
  router.post("/workspace/password/{token}", [&site](const Request& req, Response& res) {
    if (!available(site, req, res)) return;
    const std::string token(req.param("token"));
    auto user = site.accounts->password_link_user(token);
    if (!user) return send_message(req, res, 404, "This link does not work", "It was used already, or it expired.");
    auto form = req.form();
    const std::string csrf = csrf_token(site.csrf_key(), "password", token);
    if (!form || !csrf_ok(site.csrf_key(), "password", token, form->get("csrf").value_or("")))
      return send_page(req, res, 403, page("Choose a password", password_form_html(csrf, *user, "This form has expired; please try again."), "workspace"));
    const std::string password(form->get("password").value_or(""));
    std::string problem;
    if (auto why = password_problem(password, user->email)) problem = *why;
    else if (password != form->get("again").value_or("")) problem = "The two passwords are not the same.";
    if (!problem.empty())
      return send_page(req, res, 400, page("Choose a password", password_form_html(csrf, *user, problem), "workspace"));
    if (!site.accounts->set_password(token, hash_password(password)))
      return send_message(req, res, 404, "This link does not work", "It was used already, or it expired.");
    const IssuedSecret s = site.accounts->start_session(user->email);
    set_session_cookie(res, req, s.token, std::chrono::duration_cast<Seconds>(kSessionLifetime));
    res.redirect("/workspace");
  }, {.max_body_bytes = 8192});
}

// --- the dashboard -----------------------------------------------------------------------------

std::string role_sentence(const User& u, const Definitions& d) {
  if (u.role == Role::admin) return "Administrator: you may change every community's sessions.";
  std::vector<std::string> names;
  for (const auto& id : u.communities) {
    auto it = std::find_if(d.communities.begin(), d.communities.end(), [&](const CommunityDef& c) { return c.id == id; });
    names.push_back(it == d.communities.end() ? id : it->name);
  }
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) list += (i ? (i + 1 == names.size() ? " and " : ", ") : "") + names[i];
  return "Facilitator of " + list + ".";
}

void add_dashboard_route(Site::Impl& site, http::Router& router) {
  router.get("/workspace", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    const SiteData data = site.data(req);
    const Definitions& d = *data.definitions;
    const User& u = who->session.user;
    std::string main = "<h1>Workspace</h1><p class=\"lead\">Signed in as " + T(u.name) + " (" + T(u.email) + "). " +
                       T(role_sentence(u, d)) + "</p>";
    main += "<div class=\"buttons\"><a class=\"button primary\" href=\"/workspace/close\">Close a day (snow day, "
            "closure)</a><a class=\"button\" href=\"/workspace/reopen\">Reopen a closed day</a><a class=\"button\" "
            "href=\"/workspace/history\">History of changes</a></div>";
    for (const auto& c : d.communities) {
      if (!u.may_change(c.id)) continue;
      const LocalDay today = today_in(data.now, c.zone);
      auto all = sessions_between(d, today - kWorkspaceLookBack, today + kWorkspaceLookAhead, c.id);
      std::vector<Occurrence> next, recent;
      for (auto& o : all) {
        const Instant at = o.start ? *o.start : resolve_local(o.original, o.community->zone);
        if (at >= data.now && next.size() < kWorkspaceUpcoming) next.push_back(o);
      }
      for (auto it = all.rbegin(); it != all.rend() && recent.size() < kWorkspaceRecent; ++it)
        if (it->live() && *it->start < data.now) recent.push_back(*it);
      main += "<section aria-labelledby=\"w-" + A(c.id) + "\"><h2 id=\"w-" + A(c.id) + "\">" + T(c.name) + "</h2>";
      main += "<h3>Series</h3><ul>";
      for (const auto& s : c.series)
        main += "<li><a href=\"" + U("/workspace/series/" + segment(s.id)) + "\">" + T(s.title) + "</a>: " +
                T(meeting_pattern(c, s)) + "</li>";
      main += "</ul><h3>Upcoming sessions: choose one to move, cancel or edit it</h3><ul class=\"sessions\">";
      for (const auto& o : next) main += session_item(o, true);
      main += "</ul><h3>Recent sessions: add materials and the recording</h3><ul class=\"sessions\">";
      for (const auto& o : recent) main += session_item(o, true);
      main += "</ul></section>";
    }
    send_workspace(req, res, 200, *who, "Workspace", main);
  });
}

// --- one session --------------------------------------------------------------------------------

std::string resources_text(const std::vector<Resource>& resources) {
  std::string out;
  for (const auto& r : resources)
    if (r.title != kRecordingTitle) out += r.title + " | " + r.url + "\n";
  return out;
}

std::string recording_of(const std::vector<Resource>& resources) {
  for (const auto& r : resources)
    if (r.title == kRecordingTitle) return r.url;
  return {};
}

std::string minutes_of(Seconds s) { return std::to_string(s.count() / 60); }

std::string session_forms(const Occurrence& o, std::uint64_t revision, const std::string& csrf) {
  const OverrideDef* d = o.override_def;
  const LocalTime start = o.local_start ? *o.local_start : o.original;
  const std::string when = format_local_minute(start);
  const Seconds duration = o.start && o.end ? *o.end - *o.start : o.series->duration;
  const std::string base = "<form method=\"post\">" + csrf_field(csrf) + hidden("revision", std::to_string(revision));
  std::string out;
  out += "<h2>Move this session</h2>" + base + hidden("action", "reschedule") + "<div class=\"grid two\"><div>" +
         text_field("date", "New date", when.substr(0, 10), "date", " required") + "</div><div>" +
         text_field("time", "New start time", when.substr(11, 5), "time", " required") + "</div><div>" +
         text_field("minutes", "Length in minutes", minutes_of(duration), "text", " inputmode=\"numeric\"") + "</div></div>" +
         text_field("reason", "Why (members see this)", "", "text") +
         "<p><button class=\"primary\" type=\"submit\">Move it</button></p></form>";
  if (o.live()) {
    out += "<h2>Cancel this session</h2>" + base + hidden("action", "cancel") +
           text_field("cancel-reason", "Why (members see this)", "", "text", " required") +
           "<p><button class=\"danger\" type=\"submit\">Cancel it</button></p></form>";
  }
  if (o.status == OccurrenceStatus::cancelled || o.status == OccurrenceStatus::moved) {
    out += "<h2>Undo the move or cancellation</h2>" + base + hidden("action", "restore") +
           "<p><button type=\"submit\">Restore it to its schedule</button></p></form>";
  }
  auto value = [&](const std::optional<std::string> OverrideDef::*field) {
    return d && (d->*field) ? *(d->*field) : std::string();
  };
  out += "<h2>Details</h2>" + base + hidden("action", "edit") +
         text_field("title", "Title (empty: the series' title)", value(&OverrideDef::title)) +
         text_field("presenter", "Presenter", value(&OverrideDef::presenter)) +
         "<label for=\"agenda\">Agenda</label><textarea id=\"agenda\" name=\"agenda\">" + T(value(&OverrideDef::agenda)) +
         "</textarea><label for=\"resources\">Resources: one a line, as Title | https://link</label>"
         "<textarea id=\"resources\" name=\"resources\">" + T(d ? resources_text(d->resources) : "") + "</textarea>" +
         text_field("recording", "Recording link", d ? recording_of(d->resources) : "", "url") +
         text_field("join_url", "Join link (empty: the series')", value(&OverrideDef::join_url), "url") +
         text_field("location", "Location (empty: the series')", value(&OverrideDef::location)) +
         "<p><button class=\"primary\" type=\"submit\">Save the details</button></p></form>";
  return out;
}

std::string session_history_html(Store& store, const Occurrence& o) {
  HistoryQuery q;
  q.series = o.series->id;
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : store.history(q)) {
    bool touches = r.occurrence == o.original;
    for (const auto& a : r.affected) touches = touches || (a.series == o.series->id && a.original == o.original);
    if (!touches) continue;
    rows.push_back({T(moment(r.at, o.community->zone)), T(r.actor), T(r.summary), T(r.reason.value_or(""))});
  }
  if (rows.empty()) return "<p>No changes yet.</p>";
  return table_html("Changes to this session", {{"When"}, {"Who"}, {"What"}, {"Why"}}, rows);
}

void send_session(Site::Impl& site, const Request& req, Response& res, const SignedIn& who, int status,
                  const Occurrence& o, const std::string& notice) {
  const std::uint64_t revision = site.store->occurrence_revision(o.series->id, o.original).sequence;
  std::string main = "<p class=\"meta\"><a href=\"/workspace\">Workspace</a> · " + T(o.community->name) + " · " +
                     T(o.series->title) + "</p><h1>" + T(o.title()) + "</h1>" + notice + "<p class=\"lead\">" +
                     when_html(o) + "</p>";
  if (const std::string s = status_html(o); !s.empty()) main += "<p>" + s + "</p>";
  main += "<p><a href=\"" + U(session_path(o.series->id, o.original)) + "\">The public page of this session</a></p>";
  main += session_forms(o, revision, who.csrf);
  main += "<h2>Changes to this session</h2>" + session_history_html(*site.store, o);
  send_workspace(req, res, status, who, o.title() + ", " + session_day(o), main);
}

// The session a workspace address names, with its community's rights checked.
std::optional<Occurrence> workspace_session(const Request& req, Response& res, const SignedIn& who,
                                            const SiteData& data) {
  const auto original = parse_local_minute(req.param("occurrence"));
  auto o = original ? find_session(*data.definitions, req.param("series"), *original) : std::nullopt;
  if (!o) {
    send_workspace(req, res, 404, who, "Not found", "<h1>Not found</h1><p>There is no such session.</p>");
    return std::nullopt;
  }
  if (!who.session.user.may_change(o->community->id)) {
    send_workspace(req, res, 403, who, "Not yours to change",
                   "<h1>Not yours to change</h1><p>" + T(o->community->name) +
                       " is not one of your communities. Ask an administrator if it should be.</p>");
    return std::nullopt;
  }
  return o;
}

std::optional<std::vector<Resource>> read_resources(const http::Params& form, std::string& problem) {
  std::vector<Resource> out;
  std::string_view text = form.get("resources").value_or("");
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = http::trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const auto bar = line.rfind('|');
    Resource r;
    r.url = std::string(http::trim(bar == std::string_view::npos ? line : line.substr(bar + 1)));
    r.title = std::string(http::trim(bar == std::string_view::npos ? line : line.substr(0, bar)));
    if (auto why = url_problem(r.url)) {
      problem = "Resources: " + *why;
      return std::nullopt;
    }
    out.push_back(std::move(r));
  }
  const std::string recording(http::trim(form.get("recording").value_or("")));
  if (!recording.empty()) {
    if (auto why = url_problem(recording)) {
      problem = "Recording link: " + *why;
      return std::nullopt;
    }
    out.push_back({std::string(kRecordingTitle), recording});
  }
  return out;
}

// The edit the details form asks for: only the fields that differ from what is stored.
std::optional<OccurrenceEdit> read_edit(const http::Params& form, const OverrideDef* d, std::string& problem) {
  OccurrenceEdit e;
  auto field = [&](const char* name, std::optional<std::string> OccurrenceEdit::*to,
                   const std::optional<std::string> OverrideDef::*from, bool link) {
    const std::string v(http::trim(form.get(name).value_or("")));
    const std::string current = d && (d->*from) ? *(d->*from) : std::string();
    if (v == current) return true;
    if (link && !v.empty()) {
      if (auto why = url_problem(v)) {
        problem = std::string(name == std::string_view("join_url") ? "Join link" : name) + ": " + *why;
        return false;
      }
    } else if (auto why = text_problem(v)) {
      problem = std::string(name) + ": " + *why;
      return false;
    }
    e.*to = v;
    return true;
  };
  if (!field("title", &OccurrenceEdit::title, &OverrideDef::title, false) ||
      !field("presenter", &OccurrenceEdit::presenter, &OverrideDef::presenter, false) ||
      !field("agenda", &OccurrenceEdit::agenda, &OverrideDef::agenda, false) ||
      !field("join_url", &OccurrenceEdit::join_url, &OverrideDef::join_url, true) ||
      !field("location", &OccurrenceEdit::location, &OverrideDef::location, false))
    return std::nullopt;
  auto resources = read_resources(form, problem);
  if (!resources) return std::nullopt;
  if (*resources != (d ? d->resources : std::vector<Resource>{})) e.resources = *resources;
  return e;
}

std::optional<std::uint64_t> read_revision(const http::Params& form) {
  const std::string v(form.get("revision").value_or(""));
  if (v.empty() || v.size() > 19 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoull(v);
}

// What the session page says after a change. The redirect after the POST carries only
// the code (`?done=moved`), never the text: a link cannot make the page say anything else.
struct DoneNotice {
  std::string_view code, text;
};
constexpr DoneNotice kDoneNotices[] = {
    {"moved", "Moved. Members' calendars show it at their next refresh."},
    {"in-place", "Nothing to change: it is there already."},
    {"cancelled", "Cancelled. Members see it cancelled, with your reason."},
    {"was-cancelled", "It was cancelled already."},
    {"restored", "Restored to its schedule."},
    {"nothing-to-restore", "Nothing to restore."},
    {"saved", "The details are saved."},
    {"unchanged", "Nothing changed."},
};

std::optional<std::string_view> done_text(std::string_view code) {
  for (const auto& n : kDoneNotices)
    if (n.code == code) return n.text;
  return std::nullopt;
}

// Carries out the session form; returns the code of what to tell the user (kDoneNotices).
std::string_view change_session(Site::Impl& site, const SignedIn& who, const Occurrence& o, const http::Params& form) {
  ChangeContext ctx;
  ctx.actor = who.session.user.email;
  ctx.expect_revision = read_revision(form);
  if (!ctx.expect_revision) throw StoreError(StoreError::Kind::invalid, "the form lacks the revision it was made from");
  const std::string action(form.get("action").value_or(""));
  const std::string series = o.series->id;
  auto reason = [&](const char* name) {
    const std::string r(http::trim(form.get(name).value_or("")));
    if (auto why = text_problem(r)) throw StoreError(StoreError::Kind::invalid, "Why: " + *why);
    return r.empty() ? std::optional<std::string>() : std::optional<std::string>(r);
  };
  ChangeResult result;
  if (action == "reschedule") {
    const auto to = parse_local_minute(std::string(form.get("date").value_or("")) + "T" + std::string(form.get("time").value_or("")));
    if (!to) throw StoreError(StoreError::Kind::invalid, "the new date and time are not a date (YYYY-MM-DD) and a time (HH:MM)");
    std::optional<Seconds> duration;
    const std::string minutes(http::trim(form.get("minutes").value_or("")));
    if (!minutes.empty()) {
      if (minutes.size() > 4 || !std::all_of(minutes.begin(), minutes.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(minutes) < 1)
        throw StoreError(StoreError::Kind::invalid, "the length is not a number of minutes from 1 to 9999");
      const Seconds asked{std::stoi(minutes) * 60};
      const Seconds current = o.start && o.end ? *o.end - *o.start : o.series->duration;
      if (asked != current) duration = asked;
    }
    ctx.reason = reason("reason");
    result = site.store->reschedule(series, o.original, *to, duration, ctx);
    return result.changed ? "moved" : "in-place";
  }
  if (action == "cancel") {
    ctx.reason = reason("cancel-reason");
    result = site.store->cancel(series, o.original, ctx);
    return result.changed ? "cancelled" : "was-cancelled";
  }
  if (action == "restore") {
    result = site.store->restore(series, o.original, ctx);
    return result.changed ? "restored" : "nothing-to-restore";
  }
  if (action == "edit") {
    std::string problem;
    auto edit = read_edit(form, o.override_def, problem);
    if (!edit) throw StoreError(StoreError::Kind::invalid, problem);
    result = site.store->edit(series, o.original, *edit, ctx);
    return result.changed ? "saved" : "unchanged";
  }
  throw StoreError(StoreError::Kind::invalid, "that form is not one this page knows");
}

void add_session_routes(Site::Impl& site, http::Router& router) {
  router.get("/workspace/sessions/{series}/{occurrence}", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    const SiteData data = site.data(req);
    auto o = workspace_session(req, res, *who, data);
    if (!o) return;
    std::string notice;
    if (auto q = req.query_params(); q && q->get("done")) {
      if (auto text = done_text(*q->get("done"))) notice = notice_html("ok", std::string(*text), "");
    }
    send_session(site, req, res, *who, 200, *o, notice);
  });
  router.post("/workspace/sessions/{series}/{occurrence}", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    auto form = checked_form(site, req, res, *who);
    if (!form) return;
    const SiteData data = site.data(req);
    auto o = workspace_session(req, res, *who, data);
    if (!o) return;
    try {
      const std::string_view done = change_session(site, *who, *o, *form);
      res.redirect(workspace_session_path(o->series->id, o->original) + "?done=" + std::string(done));
    } catch (const StoreError& e) {
      const SiteData now = site.data(req);
      auto fresh = find_session(*now.definitions, o->series->id, o->original);
      const Occurrence& shown = fresh ? *fresh : *o;
      if (e.kind() == StoreError::Kind::conflict)
        return send_session(site, req, res, *who, 409, shown, conflict_html(*site.store, o->series->id, o->original, o->community->zone));
      send_session(site, req, res, *who, 400, shown, notice_html("error", "Not changed", e.what()));
    }
  }, {.max_body_bytes = kMaxFormBytes});
}

// --- closing a day, with its preview -------------------------------------------------------------

struct CloseForm {
  std::string calendar, from, to, name, reason;
};

struct PlannedChange {
  std::string series, title, community;
  LocalTime original;
  std::string was, becomes;
};

std::string shown(const Occurrence& o) {
  std::string text = session_day(o) + ", " + session_time(o);
  if (!o.live()) text += " (" + std::string(o.status == OccurrenceStatus::cancelled ? "cancelled" : "no session") + ")";
  return text;
}

bool same_session(const Occurrence& a, const Occurrence& b) {
  return a.status == b.status && a.start == b.start && a.end == b.end && a.title() == b.title();
}

// Every session of every series observing `calendar` that the closure would change.
std::vector<PlannedChange> close_preview(const Definitions& before, const std::string& calendar, const Closure& closure) {
  Definitions after = before;
  for (auto& c : after.calendars) {
    if (c.id != calendar) continue;
    c.closures.push_back(closure);
    c.calendar = c.calendar.with_closure(closure);
  }
  const Window window{closure.from - kCloseMargin, closure.to + kCloseMargin};
  std::vector<PlannedChange> out;
  for (const auto& id : observing_series(before, calendar)) {
    ExpandOptions options;
    options.series = id;
    const auto was = expand(before, window, options);
    const auto becomes = expand(after, window, options);
    for (const auto& b : was) {
      auto a = std::find_if(becomes.begin(), becomes.end(), [&](const Occurrence& x) { return x.original == b.original; });
      if (a != becomes.end() && same_session(b, *a)) continue;
      PlannedChange p{b.series->id, b.title(), b.community->name, b.original, shown(b), ""};
      if (a != becomes.end()) {
        p.becomes = shown(*a);
        if (const std::string why = why_words(*a); !why.empty()) p.becomes += ": " + why;
      } else {
        p.becomes = "no longer in the schedule";
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

// The members who follow any of `series`, as "Name (email)".
std::vector<std::string> told(Store& store, const std::set<std::string>& series) {
  std::vector<std::string> out;
  for (const auto& m : store.members()) {
    for (const auto& s : store.subscribed_series(m.id)) {
      if (!series.count(s)) continue;
      out.push_back(m.name + " (" + m.email + ")");
      break;
    }
  }
  return out;
}

std::string calendar_label(const Definitions& d, const CalendarDef& c) {
  std::vector<std::string> names;
  for (const auto* o : observers(d, c.id)) names.push_back(o->name);
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i) list += (i ? ", " : "") + names[i];
  return c.id + (list.empty() ? std::string(" (observed by no community)") : " (observed by " + list + ")");
}

// Whether the user may change every community a closure of `calendar` changes; else why not.
std::optional<std::string> close_refusal(const User& u, const Definitions& d, std::string_view calendar) {
  std::vector<std::string> others;
  for (const auto* c : observers(d, calendar))
    if (!u.may_change(c->id)) others.push_back(c->name);
  if (others.empty()) return std::nullopt;
  std::string list;
  for (std::size_t i = 0; i < others.size(); ++i) list += (i ? ", " : "") + others[i];
  return "The calendar \"" + std::string(calendar) + "\" is also observed by " + list +
         ", which you do not facilitate: closing it would change their sessions too. Ask an administrator.";
}

std::string close_form_html(const Definitions& d, const User& u, const CloseForm& f, const std::string& csrf) {
  std::string options;
  for (const auto& c : d.calendars) {
    if (close_refusal(u, d, c.id)) continue;
    options += "<option value=\"" + A(c.id) + "\"" + (c.id == f.calendar ? " selected" : "") + ">" +
               T(calendar_label(d, c)) + "</option>";
  }
  if (options.empty()) return "<p>None of the calendars is yours alone to close: ask an administrator.</p>";
  return "<form method=\"post\" action=\"/workspace/close\">" + csrf_field(csrf) + hidden("action", "preview") +
         "<label for=\"calendar\">Calendar</label><select id=\"calendar\" name=\"calendar\">" + options + "</select>" +
         "<div class=\"grid two\"><div>" + text_field("from", "First day", f.from, "date", " required") + "</div><div>" +
         text_field("to", "Last day (empty: the first day only)", f.to, "date") + "</div></div>" +
         text_field("name", "What it is (members see this)", f.name.empty() ? "Snow day" : f.name, "text", " required") +
         text_field("reason", "Note for the history (optional)", f.reason) +
         "<p><button class=\"primary\" type=\"submit\">Preview the change</button></p></form>";
}

std::optional<Closure> read_closure(const CloseForm& f, std::string& problem) {
  const auto from = parse_date(f.from);
  const auto to = f.to.empty() ? from : parse_date(f.to);
  if (!from || !to) {
    problem = "Give the days as dates (YYYY-MM-DD).";
    return std::nullopt;
  }
  if (*to < *from) {
    problem = "The last day is before the first.";
    return std::nullopt;
  }
  if (*to - *from >= kMaxClosureDays) {
    problem = "A closure of more than a year is not a closure: edit the series instead.";
    return std::nullopt;
  }
  if (f.name.empty()) {
    problem = "Say what it is (\"Snow day\"): members see it.";
    return std::nullopt;
  }
  if (auto why = text_problem(f.name)) {
    problem = "What it is: " + *why;
    return std::nullopt;
  }
  return Closure{f.name, *from, *to};
}

std::string preview_html(const std::vector<PlannedChange>& changes, const std::vector<std::string>& members) {
  if (changes.empty()) return "<p>No session changes: none of the series observing this calendar meets on these days.</p>";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : changes) {
    rows.push_back({"<a href=\"" + U(session_path(c.series, c.original)) + "\">" + T(c.title) + "</a>", T(c.community),
                    T(c.was), T(c.becomes)});
  }
  std::string out = "<h2>" + T(std::to_string(changes.size()) + (changes.size() == 1 ? " session changes" : " sessions change")) +
                    "</h2>" +
                    table_html("Sessions that change", {{"Session"}, {"Community"}, {"Now"}, {"After the change"}}, rows) +
                    "<h2>Who will be told</h2>";
  if (members.empty()) return out + "<p>No member follows these sessions.</p>";
  out += "<p>" + T(std::to_string(members.size()) + (members.size() == 1 ? " member follows" : " members follow") +
                   " these sessions; their calendar feeds show the change at their next refresh:") + "</p><ul>";
  for (const auto& m : members) out += "<li>" + T(m) + "</li>";
  return out + "</ul>";
}

void add_close_routes(Site::Impl& site, http::Router& router) {
  router.get("/workspace/close", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    const SiteData data = site.data(req);
    send_workspace(req, res, 200, *who, "Close a day",
                   "<p class=\"meta\"><a href=\"/workspace\">Workspace</a></p><h1>Close a day</h1><p class=\"lead\">A snow "
                   "day, a building closure: every series observing the calendar reacts by its own rule (moves or "
                   "skips its session). You see every change before it is made.</p>" +
                       close_form_html(*data.definitions, who->session.user, {}, who->csrf));
  });
  router.post("/workspace/close", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    auto form = checked_form(site, req, res, *who);
    if (!form) return;
    const SiteData data = site.data(req);
    const Definitions& d = *data.definitions;
    auto get = [&](const char* n) { return std::string(http::trim(form->get(n).value_or("")).substr(0, 500)); };
    CloseForm f{get("calendar"), get("from"), get("to"), get("name"), get("reason")};
    const std::string head = "<p class=\"meta\"><a href=\"/workspace\">Workspace</a></p><h1>Close a day</h1>";
    auto again = [&](int status, const std::string& notice) {
      send_workspace(req, res, status, *who, "Close a day", head + notice + close_form_html(d, who->session.user, f, who->csrf));
    };
    if (!d.find_calendar(f.calendar)) return again(400, notice_html("error", "Not closed", "Choose a calendar."));
    if (auto why = close_refusal(who->session.user, d, f.calendar)) return again(403, notice_html("error", "Not yours to close", *why));
    std::string problem;
    auto closure = read_closure(f, problem);
    if (!closure) return again(400, notice_html("error", "Not closed", problem));
    const auto changes = close_preview(d, f.calendar, *closure);
    std::set<std::string> series;
    for (const auto& c : changes) series.insert(c.series);
    const auto members = told(*site.store, series);
    const bool confirm = form->get("action") == "confirm";
    const bool same_data = get("version") == std::to_string(data.version);
    if (!confirm || !same_data) {
      // The store's rehearsal: the refusals the change would meet, before it is offered.
      try {
        ChangeContext rehearsal;
        rehearsal.actor = who->session.user.email;
        rehearsal.dry_run = true;
        site.store->close(f.calendar, *closure, rehearsal);
      } catch (const StoreError& e) {
        return again(400, notice_html("error", "Not closed", e.what()));
      }
      std::string main = head;
      if (confirm) main += notice_html("error", "Changed meanwhile", "The schedule changed since your preview (someone else made a change). Check the preview again.");
      main += "<p class=\"lead\">Closing <strong>" + T(f.calendar) + "</strong> " +
              T(closure->from == closure->to ? "on " + format_day_long(closure->from) : "from " + format_day_long(closure->from) + " to " + format_day_long(closure->to)) +
              " (" + T(closure->name) + "). Nothing has changed yet.</p>" + preview_html(changes, members);
      main += "<form method=\"post\" action=\"/workspace/close\">" + csrf_field(who->csrf) + hidden("action", "confirm") +
              hidden("version", std::to_string(data.version)) + hidden("calendar", f.calendar) + hidden("from", f.from) +
              hidden("to", f.to) + hidden("name", f.name) + hidden("reason", f.reason) +
              "<p><button class=\"primary\" type=\"submit\">Close it and change these sessions</button> "
              "<a class=\"button\" href=\"/workspace/close\">Start again</a></p></form>";
      return send_workspace(req, res, confirm ? 409 : 200, *who, "Close a day: preview", main);
    }
    ChangeContext ctx;
    ctx.actor = who->session.user.email;
    if (!f.reason.empty()) ctx.reason = f.reason;
    try {
      const ChangeResult r = site.store->close(f.calendar, *closure, ctx);
      std::string main = head + notice_html("ok", r.changed ? "Closed" : "Nothing changed", r.summary) +
                         "<p>" + T(std::to_string(changes.size()) + (changes.size() == 1 ? " session changed" : " sessions changed") +
                                   "; members' calendar feeds show it at their next refresh.") + "</p><ul class=\"sessions\">";
      const SiteData after = site.data(req);
      for (const auto& c : changes)
        if (auto o = find_session(*after.definitions, c.series, c.original)) main += session_item(*o, true);
      main += "</ul><p><a href=\"/workspace\">Back to the workspace</a></p>";
      send_workspace(req, res, 200, *who, "Closed", main);
    } catch (const StoreError& e) {
      again(400, notice_html("error", "Not closed", e.what()));
    }
  }, {.max_body_bytes = kMaxFormBytes});
}

// --- reopening ----------------------------------------------------------------------------------

void add_reopen_routes(Site::Impl& site, http::Router& router) {
  auto list = [&site](const Request& req, Response& res, const SignedIn& who, int status, const std::string& notice) {
    const SiteData data = site.data(req);
    const Definitions& d = *data.definitions;
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : d.calendars) {
      if (close_refusal(who.session.user, d, c.id)) continue;
      for (const auto& closure : c.closures) {
        const std::string days = closure.from == closure.to ? format_day_long(closure.from)
                                                            : format_day_long(closure.from) + " to " + format_day_long(closure.to);
        rows.push_back({T(c.id), T(days + " " + std::to_string(static_cast<int>(date::year_month_day{closure.from}.year()))),
                        T(closure.name),
                        "<form method=\"post\" action=\"/workspace/reopen\">" + csrf_field(who.csrf) + hidden("calendar", c.id) +
                            hidden("from", format_date(closure.from)) + hidden("to", format_date(closure.to)) +
                            "<button type=\"submit\">Reopen <span class=\"visually-hidden\">" + T(closure.name + " " + days) +
                            "</span></button></form>"});
      }
    }
    std::string main = "<p class=\"meta\"><a href=\"/workspace\">Workspace</a></p><h1>Reopen a closed day</h1>" + notice +
                       "<p class=\"lead\">We're open after all: the series that reacted to the closure return to their "
                       "schedule.</p>";
    main += rows.empty() ? "<p>No closures you may reopen.</p>"
                         : table_html("Closures", {{"Calendar"}, {"Days"}, {"What"}, {"Reopen", true}}, rows);
    send_workspace(req, res, status, who, "Reopen a closed day", main);
  };
  router.get("/workspace/reopen", [&site, list](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (who) list(req, res, *who, 200, "");
  });
  router.post("/workspace/reopen", [&site, list](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    auto form = checked_form(site, req, res, *who);
    if (!form) return;
    const SiteData data = site.data(req);
    const std::string calendar(form->get("calendar").value_or(""));
    const auto from = parse_date(form->get("from").value_or(""));
    const auto to = parse_date(form->get("to").value_or(""));
    if (!data.definitions->find_calendar(calendar) || !from || !to)
      return list(req, res, *who, 400, notice_html("error", "Not reopened", "That closure is not one of the calendars'."));
    if (auto why = close_refusal(who->session.user, *data.definitions, calendar))
      return list(req, res, *who, 403, notice_html("error", "Not yours to reopen", *why));
    try {
      ChangeContext ctx;
      ctx.actor = who->session.user.email;
      const ChangeResult r = site.store->reopen(calendar, *from, *to, ctx);
      list(req, res, *who, 200, notice_html("ok", "Reopened", r.summary));
    } catch (const StoreError& e) {
      list(req, res, *who, 400, notice_html("error", "Not reopened", e.what()));
    }
  }, {.max_body_bytes = 8192});
}

// --- a series: splitting it -----------------------------------------------------------------------

void add_series_routes(Site::Impl& site, http::Router& router) {
  auto show = [&site](const Request& req, Response& res, const SignedIn& who, int status, const std::string& notice) {
    const SiteData data = site.data(req);
    const auto [c, s] = data.definitions->find_series(req.param("series"));
    if (!s) return send_workspace(req, res, 404, who, "Not found", "<h1>Not found</h1><p>There is no such series.</p>");
    if (!who.session.user.may_change(c->id))
      return send_workspace(req, res, 403, who, "Not yours to change", "<h1>Not yours to change</h1><p>" + T(c->name) + " is not one of your communities.</p>");
    const std::uint64_t revision = site.store->series_revision(s->id).sequence;
    std::string main = "<p class=\"meta\"><a href=\"/workspace\">Workspace</a> · " + T(c->name) + "</p><h1>" + T(s->title) +
                       "</h1>" + notice + "<p class=\"lead\">" + T(meeting_pattern(*c, *s)) + "</p><p><a href=\"" +
                       U(series_path(s->id)) + "\">The public page of this series</a></p>";
    main += "<h2>Change it from a date on</h2><p>Sessions from the day you choose on continue as a new part of the "
            "series, with the time, length, title or rule you give; earlier ones stay as they are. Members who follow the "
            "series keep following it.</p><form method=\"post\">" + csrf_field(who.csrf) +
            hidden("revision", std::to_string(revision)) + "<div class=\"grid two\"><div>" +
            text_field("from", "From", "", "date", " required") + "</div><div>" +
            text_field("time", "New start time (empty: the same)", "", "time") + "</div><div>" +
            text_field("minutes", "New length in minutes (empty: the same)", "", "text", " inputmode=\"numeric\"") + "</div><div>" +
            text_field("title", "New title (empty: the same)", "") + "</div></div>" +
            text_field("rrule", "New rule, as RRULE (empty: the same, e.g. FREQ=MONTHLY;BYDAY=3TU)", "") +
            "<p><button class=\"primary\" type=\"submit\">Change the series from that day</button></p></form>";
    send_workspace(req, res, status, who, s->title, main);
  };
  router.get("/workspace/series/{series}", [&site, show](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (who) show(req, res, *who, 200, "");
  });
  router.post("/workspace/series/{series}", [&site, show](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    auto form = checked_form(site, req, res, *who);
    if (!form) return;
    const SiteData data = site.data(req);
    const auto [c, s] = data.definitions->find_series(req.param("series"));
    if (!s || !who->session.user.may_change(c->id)) return show(req, res, *who, 403, "");
    auto get = [&](const char* n) { return std::string(http::trim(form->get(n).value_or("")).substr(0, 500)); };
    SplitSpec spec;
    const auto from = parse_date(get("from"));
    if (!from) return show(req, res, *who, 400, notice_html("error", "Not changed", "Give the first day as a date."));
    spec.from = *from;
    if (!get("time").empty()) {
      const auto t = parse_local_minute("2000-01-01T" + get("time"));
      if (!t) return show(req, res, *who, 400, notice_html("error", "Not changed", "The new start time is not a time (HH:MM)."));
      spec.time_of_day = *t - date::floor<date::days>(*t);
    }
    if (!get("minutes").empty()) {
      const std::string m = get("minutes");
      if (m.size() > 4 || !std::all_of(m.begin(), m.end(), [](char ch) { return ch >= '0' && ch <= '9'; }) || std::stoi(m) < 1)
        return show(req, res, *who, 400, notice_html("error", "Not changed", "The length is not a number of minutes."));
      spec.duration = Seconds{std::stoi(m) * 60};
    }
    if (!get("title").empty()) spec.title = get("title");
    if (!get("rrule").empty()) spec.rrule = get("rrule");
    ChangeContext ctx;
    ctx.actor = who->session.user.email;
    ctx.expect_revision = read_revision(*form);
    try {
      const ChangeResult r = site.store->split(s->id, spec, ctx);
      show(req, res, *who, 200, notice_html("ok", "Changed", r.summary));
    } catch (const StoreError& e) {
      if (e.kind() == StoreError::Kind::conflict) {
        HistoryQuery q;
        q.series = s->id;
        q.limit = 1;
        auto last = site.store->history(q);
        std::string text = "Someone else changed this series after you opened this page";
        if (!last.empty()) text += ": " + last.back().actor + ", " + moment(last.back().at, c->zone) + " (" + last.back().summary + ")";
        return show(req, res, *who, 409, notice_html("error", "Changed meanwhile", text + ". Nothing was changed."));
      }
      show(req, res, *who, 400, notice_html("error", "Not changed", e.what()));
    }
  }, {.max_body_bytes = 8192});
}

// --- history --------------------------------------------------------------------------------------

void add_history_route(Site::Impl& site, http::Router& router) {
  router.get("/workspace/history", [&site](const Request& req, Response& res) {
    auto who = require_user(site, req, res);
    if (!who) return;
    const SiteData data = site.data(req);
    const Definitions& d = *data.definitions;
    const User& u = who->session.user;
    std::optional<std::string> only;
    if (auto q = req.query_params(); q && q->get("series") && !q->get("series")->empty()) only = std::string(*q->get("series"));
    auto allowed = [&](const std::string& series) {
      const auto [c, s] = d.find_series(series);
      return c && u.may_change(c->id);
    };
    HistoryQuery query;
    query.series = only;
    query.limit = kHistoryShown;
    std::vector<std::vector<std::string>> rows;
    const date::time_zone* zone = d.communities.empty() ? find_zone("UTC") : d.communities.front().zone;
    auto records = site.store->history(query);
    for (auto it = records.rbegin(); it != records.rend(); ++it) {
      const AuditRecord& r = *it;
      bool mine = u.role == Role::admin || (r.series && allowed(*r.series));
      for (const auto& a : r.affected) mine = mine || allowed(a.series);
      if (!mine) continue;
      rows.push_back({T(moment(r.at, zone)), T(r.actor), T(r.summary), T(r.reason.value_or("")),
                      T(std::to_string(r.affected.size()))});
    }
    std::string main = "<p class=\"meta\"><a href=\"/workspace\">Workspace</a></p><h1>History of changes</h1>"
                       "<form method=\"get\" action=\"/workspace/history\"><label for=\"series\">Series</label>"
                       "<select id=\"series\" name=\"series\"><option value=\"\">Every series</option>";
    for (const auto& c : d.communities)
      for (const auto& s : c.series)
        if (u.may_change(c.id))
          main += "<option value=\"" + A(s.id) + "\"" + (only == s.id ? " selected" : "") + ">" + T(s.title) + "</option>";
    main += "</select> <button type=\"submit\">Show</button></form>";
    main += rows.empty() ? "<p>No changes yet.</p>"
                         : table_html("Changes, newest first",
                                      {{"When"}, {"Who"}, {"What"}, {"Why"}, {"Sessions changed"}}, rows);
    send_workspace(req, res, 200, *who, "History of changes", main);
  });
}

}  // namespace

void add_workspace_routes(Site::Impl& site, http::Router& router) {
  add_signin_routes(site, router);
  add_dashboard_route(site, router);
  add_session_routes(site, router);
  add_close_routes(site, router);
  add_reopen_routes(site, router);
  add_series_routes(site, router);
  add_history_route(site, router);
}

}  // namespace convene::web::internal
