// Views of members: the list, one member, the links of a new token.
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

namespace {

std::string reminders_text(const ReminderPreferences& r) {
  std::string text;
  for (auto o : r.offsets) text += (text.empty() ? "" : ",") + format_duration(o);
  return (text.empty() ? "none" : text) + " by " + r.channel;
}

std::string digest_text(const Member& m) { return m.digest ? format_digest_time(*m.digest) : "none"; }

std::string subscription_name(const Subscription& s) {
  return (s.kind == Subscription::Kind::series ? "series:" : "community:") + s.target;
}

}  // namespace

Json member_json(const MemberView& v) {
  const Member& m = v.member;
  Json j;
  j["id"] = m.id;
  j["name"] = m.name;
  j["email"] = m.email;
  j["timezone"] = or_null(m.timezone);
  Json offsets = Json::array();
  for (auto o : m.reminders.offsets) offsets.push_back(format_duration(o));
  j["reminders"] = {{"offsets", std::move(offsets)}, {"channel", m.reminders.channel}};
  j["digest"] = m.digest ? Json(format_digest_time(*m.digest)) : Json(nullptr);
  j["delivery"] = std::string(to_string(m.delivery));
  j["created"] = utc(m.created);
  j["token_issued"] = utc(m.token_created);
  j["subscriptions"] = Json::array();
  for (const auto& s : v.subscriptions) j["subscriptions"].push_back(subscription_name(s));
  j["series"] = v.series;
  return j;
}

Json members_json(const std::vector<MemberView>& members) { return array_of(members, member_json); }

std::string members_text(const std::vector<MemberView>& members) {
  std::ostringstream out;
  for (const auto& v : members) {
    const Member& m = v.member;
    out << m.id << "  " << m.name << " <" << m.email << ">  " << m.timezone.value_or("-") << "  reminders "
        << reminders_text(m.reminders) << "  digest " << digest_text(m) << "  series: ";
    for (std::size_t i = 0; i < v.series.size(); ++i) out << (i ? ", " : "") << v.series[i];
    if (v.series.empty()) out << "(none)";
    out << "\n";
  }
  return out.str();
}

std::string member_text(const MemberView& v) {
  const Member& m = v.member;
  std::ostringstream out;
  out << m.id << ": " << m.name << " <" << m.email << ">\n"
      << "  time zone: " << m.timezone.value_or("(each series' own)") << "\n"
      << "  reminders: " << reminders_text(m.reminders) << "\n"
      << "  weekly digest: " << digest_text(m) << "\n"
      << "  delivery: " << (m.delivery == Delivery::invite ? "invitations (convene sync)" : "feed") << "\n"
      << "  token issued: " << utc_short(m.token_created) << "\n  subscribes to:";
  for (const auto& s : v.subscriptions) out << " " << subscription_name(s);
  if (v.subscriptions.empty()) out << " (nothing)";
  out << "\n  series:";
  for (const auto& s : v.series) out << " " << s;
  out << "\n";
  return out.str();
}

FeedLinks feed_links(std::string_view base_url, const FeedPath& path) {
  const std::string url = std::string(base_url) + "/" + path.to_string();
  const auto scheme_end = url.find("://");
  return {url, "webcal" + url.substr(scheme_end)};
}

Json issued_token_json(const IssuedToken& issued, const std::optional<FeedLinks>& links, bool dry_run) {
  const FeedPath path{FeedPath::Kind::member, issued.token, false};
  const bool shown = !dry_run;
  return {{"member", issued.member.id},
          {"email", issued.member.email},
          {"token", shown ? Json(issued.token) : Json(nullptr)},
          {"feed_path", shown ? Json("/" + path.to_string()) : Json(nullptr)},
          {"url", shown && links ? Json(links->url) : Json(nullptr)},
          {"webcal", shown && links ? Json(links->webcal) : Json(nullptr)},
          {"dry_run", dry_run}};
}

std::string issued_token_text(const IssuedToken& issued, const std::optional<FeedLinks>& links, bool rotated,
                              bool dry_run) {
  const FeedPath path{FeedPath::Kind::member, issued.token, false};
  std::ostringstream out;
  if (dry_run) {
    out << "dry run: would " << (rotated ? "issue a new private feed for " : "add member ") << issued.member.id
        << " <" << issued.member.email << ">; nothing was written (the link is made when it is)\n";
    return out.str();
  }
  if (rotated) {
    out << "new private feed for " << issued.member.id << " <" << issued.member.email
        << "> (shown only now; the old link no longer works)\n";
  } else {
    out << "added member " << issued.member.id << " <" << issued.member.email << ">\n"
        << "private feed (shown only now; keep it secret)\n";
  }
  if (links) {
    out << "  link: " << links->url << "\n"
        << "  webcal: " << links->webcal << "\n";
  } else {
    out << "  path: /" << path.to_string() << "\n"
        << "  (set the public base URL, --base-url or base_url in convene.conf, for the full link)\n";
  }
  out << "  token: " << issued.token << "\n";
  return out.str();
}

}  // namespace convene::views
