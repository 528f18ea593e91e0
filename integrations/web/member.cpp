// A member's own page, at their private link /me/TOKEN: what they follow, their
// reminders, their display zone, their feed, and a new link.
#include <algorithm>
#include <set>

#include "site.h"

namespace convene::web::internal {

using http::Request;
using http::Response;

namespace {

// The reminder offsets offered as choices (any other is typed as a duration).
struct ReminderChoice {
  Seconds offset;
  const char* label;
};
constexpr ReminderChoice kReminderChoices[] = {
    {Seconds{15 * 60}, "15 minutes before"}, {Seconds{30 * 60}, "30 minutes before"}, {Seconds{3600}, "1 hour before"},
    {Seconds{86400}, "1 day before"},        {Seconds{7 * 86400}, "1 week before"}};
// The display zones offered (any other IANA name may be typed).
constexpr const char* kZoneChoices[] = {"America/New_York", "America/Chicago",  "America/Denver", "America/Phoenix",
                                        "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu",
                                        "America/Puerto_Rico", "Europe/London", "UTC"};
// How many of their sessions a member's page lists, and how far ahead it looks.
constexpr std::size_t kMemberSessions = 10;
constexpr date::days kMemberLookAhead{120};
// The most reminders a member may set.
constexpr std::size_t kMaxMemberReminders = 10;

constexpr std::string_view kPurpose = "member";

std::string channel_label(std::string_view channel) {
  if (channel == "email") return "By email";
  if (channel == "webhook") return "By a webhook (a chat channel: its address was set by an administrator)";
  if (channel == "none") return "No reminders";
  return std::string(channel);
}

bool follows(const std::vector<Subscription>& subs, Subscription::Kind kind, std::string_view id) {
  return std::any_of(subs.begin(), subs.end(), [&](const Subscription& s) { return s.kind == kind && s.target == id; });
}

std::string checkbox(std::string_view name, std::string_view value, std::string_view id, std::string_view label,
                     bool checked, bool nested = false) {
  return std::string("<div class=\"choice") + (nested ? " sub" : "") + "\"><input type=\"checkbox\" name=\"" + A(name) + "\" value=\"" + A(value) + "\" id=\"" +
         A(id) + "\"" + (checked ? " checked" : "") + "><label class=\"inline\" for=\"" + A(id) + "\">" + T(label) +
         "</label></div>";
}

std::string radio(std::string_view name, std::string_view value, std::string_view id, std::string_view label,
                  bool checked) {
  return "<div class=\"choice\"><input type=\"radio\" name=\"" + A(name) + "\" value=\"" + A(value) + "\" id=\"" +
         A(id) + "\"" + (checked ? " checked" : "") + "><label class=\"inline\" for=\"" + A(id) + "\">" + T(label) +
         "</label></div>";
}

std::string form_open(const MemberData& m, std::string_view action) {
  return "<form method=\"post\" action=\"" + U("/me/" + m.token) + "\">" + csrf_field(m.csrf) +
         "<input type=\"hidden\" name=\"action\" value=\"" + A(action) + "\">";
}

std::string follow_form(const Definitions& d, const MemberData& m) {
  std::string out = form_open(m, "follow") + "<fieldset><legend>What you follow</legend>";
  for (const auto& c : d.communities) {
    out += checkbox("community", c.id, "c-" + c.id, "All of " + c.name,
                    follows(m.subscriptions, Subscription::Kind::community, c.id));
    for (const auto& s : c.series) {
      if (s.continues) continue;  // a split's continuation follows its series
      out += checkbox("series", s.id, "s-" + s.id, s.title + " (" + meeting_pattern(c, s) + ")",
                      follows(m.subscriptions, Subscription::Kind::series, s.id), true);
    }
  }
  return out + "</fieldset><button class=\"primary\" type=\"submit\">Save what I follow</button></form>";
}

std::string reminders_form(const MemberData& m) {
  const auto& offsets = m.member.reminders.offsets;
  std::string out = form_open(m, "reminders") + "<fieldset><legend>Remind me</legend>";
  std::vector<Seconds> others;
  for (auto o : offsets)
    if (std::none_of(std::begin(kReminderChoices), std::end(kReminderChoices), [&](const ReminderChoice& c) { return c.offset == o; }))
      others.push_back(o);
  for (const auto& c : kReminderChoices) {
    const std::string value = format_duration(c.offset);
    out += checkbox("offset", value, "r-" + value, c.label, std::find(offsets.begin(), offsets.end(), c.offset) != offsets.end());
  }
  std::string other;
  for (auto o : others) other += (other.empty() ? "" : ", ") + format_duration(o);
  out += "<label for=\"r-other\">Other times before the start (durations such as PT2H or P2D, separated by commas)</label>"
         "<input type=\"text\" id=\"r-other\" name=\"other\" value=\"" + A(other) + "\">";
  out += "</fieldset><fieldset><legend>How</legend>";
  for (auto c : kReminderChannels)
    // A webhook's URL is set with the CLI (a secret, never shown here): offered once there is one.
    if (c != "webhook" || !m.member.reminders.webhook.empty())
      out += radio("channel", c, "ch-" + std::string(c), channel_label(c), m.member.reminders.channel == c);
  return out + "</fieldset><button class=\"primary\" type=\"submit\">Save my reminders</button></form>";
}

// The weekly digest: a day (or none) and a time on their clock (DigestTime).
constexpr std::pair<const char*, const char*> kDigestDays[] = {{"MO", "Monday"},   {"TU", "Tuesday"}, {"WE", "Wednesday"},
                                                               {"TH", "Thursday"}, {"FR", "Friday"},  {"SA", "Saturday"},
                                                               {"SU", "Sunday"}};
constexpr const char* kDefaultDigestTime = "07:00";

std::string digest_form(const MemberData& m) {
  const std::string current = m.member.digest ? format_digest_time(*m.member.digest) : "";
  const std::string day = current.substr(0, 2), time = current.empty() ? kDefaultDigestTime : current.substr(3);
  std::string out = form_open(m, "digest") + "<fieldset><legend>A weekly email of your coming week and what changed</legend>"
                    "<label for=\"digest-day\">Send it on</label><select id=\"digest-day\" name=\"day\">";
  out += "<option value=\"\"" + std::string(current.empty() ? " selected" : "") + ">No digest</option>";
  for (const auto& [code, name] : kDigestDays)
    out += "<option value=\"" + A(code) + "\"" + (day == code ? " selected" : "") + ">" + T(name) + "</option>";
  out += "</select> <label for=\"digest-time\">at</label><input type=\"time\" id=\"digest-time\" name=\"time\" value=\"" +
         A(time) + "\"> <span>(your time zone)</span></fieldset>";
  return out + "<button class=\"primary\" type=\"submit\">Save my digest</button></form>";
}

// Feed or invitations: how sessions reach their calendar (never both).
std::string delivery_form(const MemberData& m) {
  const bool invite = m.member.delivery == Delivery::invite;
  return form_open(m, "delivery") + "<fieldset><legend>How sessions reach your calendar</legend>" +
         radio("delivery", "feed", "d-feed", "By the calendar link above: your calendar checks it by itself", !invite) +
         radio("delivery", "invite", "d-invite", "By invitations to " + m.member.email + ": accept each one", invite) +
         "</fieldset><button class=\"primary\" type=\"submit\">Save how I get sessions</button></form>";
}

std::string zone_form(const MemberData& m) {
  std::string out = form_open(m, "zone") + "<label for=\"zone\">Show times in</label><select id=\"zone\" name=\"timezone\">";
  const std::string current = m.member.timezone.value_or("");
  out += "<option value=\"\"" + std::string(current.empty() ? " selected" : "") + ">Each community's own time zone</option>";
  bool listed = current.empty();
  for (const char* z : kZoneChoices) {
    listed = listed || current == z;
    out += "<option value=\"" + A(z) + "\"" + (current == z ? " selected" : "") + ">" +
           T(zone_long_name(find_zone(z)) + " (" + z + ")") + "</option>";
  }
  if (!listed) out += "<option value=\"" + A(current) + "\" selected>" + T(current) + "</option>";
  return out + "</select> <button type=\"submit\">Save</button></form>";
}

}  // namespace

Rendered member_page(const SiteData& data, const MemberData& m) {
  const Definitions& d = *data.definitions;
  Rendered r;
  std::string main = "<h1>" + T(m.member.name) + "'s sessions</h1><p class=\"lead\">This page is yours alone: anyone with "
                     "its address can see and change your choices, so keep it private.</p>";
  if (m.saved) main += notice_html("ok", *m.saved, "");
  for (const auto& p : m.problems) main += notice_html("error", "Not saved", p);
  // Upcoming sessions they follow, in their zone.
  const date::time_zone* viewer = m.member.zone;
  std::vector<Occurrence> next;
  if (!m.series.empty()) {
    const LocalDay today = today_in(data.now, viewer);
    for (auto& o : sessions_between(d, today - date::days{1}, today + kMemberLookAhead, std::nullopt, m.series)) {
      const Instant at = o.start ? *o.start : resolve_local(o.original, o.community->zone);
      if (at < data.now) continue;
      r.valid_until = std::min(r.valid_until, at);
      next.push_back(std::move(o));
      if (next.size() == kMemberSessions) break;
    }
  }
  main += "<h2>Your next sessions</h2>";
  if (next.empty()) {
    main += "<p>" + T(m.series.empty() ? "You follow nothing yet: choose below." : "No upcoming sessions.") + "</p>";
  } else {
    main += "<ul class=\"sessions\">";
    for (const auto& o : next) main += session_item(o, false, viewer);
    main += "</ul>";
  }
  main += subscribe_html(m.feed_url, "your sessions", "me");
  main += "<h2>Follow and unfollow</h2>" + follow_form(d, m);
  main += "<h2>Feed or invitations</h2>" + delivery_form(m);
  main += "<h2>Reminders</h2>" + reminders_form(m);
  main += "<h2>Weekly digest</h2>" + digest_form(m);
  main += "<h2>Time zone</h2>" + zone_form(m);
  main += "<h2>A new private link</h2><p>If this page's address reached someone else, make a new one: this address and "
          "your current calendar link stop working at once, and you add your calendar again with the new link.</p>" +
          form_open(m, "rotate") + "<button class=\"danger\" type=\"submit\">Make a new private link</button></form>";
  r.html = page(m.member.name + "'s sessions", main, "me");
  return r;
}

namespace {

MemberData member_data(Site::Impl& site, const SiteData& data, const Member& member, const std::string& token) {
  MemberData m;
  m.member = member;
  m.subscriptions = site.store->subscriptions(member.id);
  m.series = site.store->subscribed_series(member.id);
  m.token = token;
  m.csrf = csrf_token(site.csrf_key(), kPurpose, token);
  m.feed_url = data.base_url + "/feeds/members/" + token + ".ics";
  return m;
}

void send_member_page(const Request& req, Response& res, int status, const SiteData& data, const MemberData& m) {
  Rendered r = member_page(data, m);
  send_page(req, res, status, std::move(r.html), "no-store", "no-referrer");  // the address is the credential
}

std::optional<std::vector<Seconds>> read_offsets(const http::Params& form, std::vector<std::string>& problems) {
  std::vector<Seconds> out;
  auto add = [&](std::string_view text) {
    const auto d = parse_duration(http::trim(text));
    if (!d || d->count() < 0) {
      problems.push_back("\"" + std::string(text.substr(0, 40)) + "\" is not a duration before the start (PT15M, PT2H, P1D).");
      return;
    }
    if (std::find(out.begin(), out.end(), *d) == out.end()) out.push_back(*d);
  };
  for (auto v : form.all("offset")) add(v);
  std::string_view other = form.get("other").value_or("");
  while (!http::trim(other).empty()) {
    const auto comma = other.find(',');
    add(other.substr(0, comma));
    if (comma == std::string_view::npos) break;
    other.remove_prefix(comma + 1);
  }
  if (out.size() > kMaxMemberReminders) problems.push_back("At most " + std::to_string(kMaxMemberReminders) + " reminders.");
  if (!problems.empty()) return std::nullopt;
  std::sort(out.begin(), out.end());
  return out;
}

// Applies one form; returns what was saved, or nullopt with `problems` set.
std::optional<std::string> apply(Site::Impl& site, const SiteData& data, const Member& member, const http::Params& form,
                                 std::vector<std::string>& problems, std::string& new_token) {
  Store& store = *site.store;
  ChangeContext as;
  as.actor = "member " + member.id + " (their link)";
  const std::string action(form.get("action").value_or(""));
  if (action == "follow") {
    const Definitions& d = *data.definitions;
    std::vector<Subscription> wanted;
    for (auto c : form.all("community")) wanted.push_back({Subscription::Kind::community, std::string(c)});
    for (auto s : form.all("series")) wanted.push_back({Subscription::Kind::series, std::string(s)});
    for (const auto& w : wanted) {
      const bool known = w.kind == Subscription::Kind::series
                             ? d.find_series(w.target).second != nullptr
                             : std::any_of(d.communities.begin(), d.communities.end(), [&](const CommunityDef& c) { return c.id == w.target; });
      if (!known) problems.push_back("There is no " + std::string(w.kind == Subscription::Kind::series ? "series" : "community") + " \"" + w.target.substr(0, 64) + "\".");
    }
    if (!problems.empty()) return std::nullopt;
    for (const auto& s : store.subscriptions(member.id))
      if (std::find(wanted.begin(), wanted.end(), s) == wanted.end()) store.unsubscribe(member.id, s, as);
    for (const auto& w : wanted) store.subscribe(member.id, w, as);
    return "What you follow is saved; your calendar shows it at its next refresh.";
  }
  if (action == "reminders") {
    auto offsets = read_offsets(form, problems);
    const std::string channel(form.get("channel").value_or(member.reminders.channel));
    if (!offsets) return std::nullopt;
    MemberUpdate u;
    u.reminder_offsets = *offsets;
    u.reminder_channel = channel;
    store.update_member(member.id, u, as);
    return "Your reminders are saved.";
  }
  if (action == "digest") {
    const std::string day(form.get("day").value_or(""));
    MemberUpdate u;
    u.digest = std::optional<DigestTime>{};
    if (!day.empty()) {
      u.digest = parse_digest_time(day + " " + std::string(http::trim(form.get("time").value_or(""))));
      if (!*u.digest) {
        problems.push_back("Choose a day and a time such as 07:00 for your digest.");
        return std::nullopt;
      }
    }
    store.update_member(member.id, u, as);
    return *u.digest ? "Your weekly digest is saved." : "You get no weekly digest.";
  }
  if (action == "delivery") {
    const auto delivery = parse_delivery(form.get("delivery").value_or(""));
    if (!delivery) {
      problems.push_back("Choose the calendar link or invitations.");
      return std::nullopt;
    }
    MemberUpdate u;
    u.delivery = *delivery;
    store.update_member(member.id, u, as);
    return "How sessions reach you is saved.";
  }
  if (action == "zone") {
    const std::string zone(form.get("timezone").value_or(""));
    MemberUpdate u;
    u.timezone = zone.empty() ? std::optional<std::string>() : std::optional<std::string>(zone);
    store.update_member(member.id, u, as);
    return "Your time zone is saved.";
  }
  if (action == "rotate") {
    new_token = store.rotate_token(member.id, as).token;
    return "This is your new private link: bookmark it. The old one no longer works; add your calendar again with the "
           "link below.";
  }
  problems.push_back("That form is not one this page knows.");
  return std::nullopt;
}

}  // namespace

void add_member_routes(Site::Impl& site, http::Router& router) {
  router.get("/me/{token}", [&site](const Request& req, Response& res) {
    if (!site.store) return send_message(req, res, 404, "Not available", "Members' pages need the store (convene serve --db).");
    const std::string token(req.param("token"));
    auto member = site.store->find_member_by_token(token);
    if (!member) return send_message(req, res, 404, "Not found", "This private link does not work (any more). Ask the facilitators for a new one.");
    const SiteData data = site.data(req);
    MemberData m = member_data(site, data, *member, token);
    if (auto q = req.query_params(); q && q->get("saved")) {
      const std::string what(*q->get("saved"));
      if (what == "rotated") m.saved = "This is your new private link: bookmark it. The old one no longer works; add your calendar again with the link below.";
      else m.saved = "Saved.";
    }
    send_member_page(req, res, 200, data, m);
  });
  router.post("/me/{token}", [&site](const Request& req, Response& res) {
    if (!site.store) return send_message(req, res, 404, "Not available", "Members' pages need the store.");
    const std::string token(req.param("token"));
    auto member = site.store->find_member_by_token(token);
    if (!member) return send_message(req, res, 404, "Not found", "This private link does not work (any more).");
    auto form = req.form();
    if (!form || !csrf_ok(site.csrf_key(), kPurpose, token, form->get("csrf").value_or("")))
      return send_message(req, res, 403, "Refused", "This form has expired or did not come from this page. Open the page again and repeat your change.");
    SiteData data = site.data(req);
    std::vector<std::string> problems;
    std::string new_token;
    std::optional<std::string> saved;
    try {
      saved = apply(site, data, *member, *form, problems, new_token);
    } catch (const StoreError& e) {
      problems.push_back(e.what());
    }
    if (saved) {
      const std::string to = new_token.empty() ? token : new_token;
      return void(res.redirect("/me/" + to + "?saved=" + (new_token.empty() ? "1" : "rotated")).header("Referrer-Policy", "no-referrer"));
    }
    data = site.data(req);
    MemberData m = member_data(site, data, *site.store->find_member_by_token(token), token);
    m.problems = problems;
    send_member_page(req, res, 400, data, m);
  }, {.max_body_bytes = kMaxFormBytes});
}

}  // namespace convene::web::internal
