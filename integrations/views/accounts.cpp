// Views of the workspace's accounts: users, password links, API tokens.
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

namespace {

std::string communities_text(const std::vector<std::string>& ids, bool all) {
  if (all) return "every community";
  std::string text;
  for (const auto& id : ids) text += (text.empty() ? "" : ", ") + id;
  return text.empty() ? "no community" : text;
}

std::string password_path(const IssuedSecret& link) { return "/workspace/password/" + link.token; }

}  // namespace

Json user_json(const User& u) {
  Json j;
  j["email"] = u.email;
  j["name"] = u.name;
  j["role"] = std::string(to_string(u.role));
  j["communities"] = u.communities;
  j["password_set"] = u.has_password;
  j["created"] = utc(u.created);
  return j;
}

Json users_json(const std::vector<User>& users) { return array_of(users, user_json); }

std::string users_text(const std::vector<User>& users) {
  std::ostringstream out;
  for (const auto& u : users) {
    out << u.email << "  " << u.name << "  " << to_string(u.role) << "  "
        << communities_text(u.communities, u.role == Role::admin) << (u.has_password ? "" : "  (no password yet)") << "\n";
  }
  if (users.empty()) out << "no users (add one: convene user add EMAIL --name NAME --role admin)\n";
  return out.str();
}

Json password_link_json(const User& u, const IssuedSecret& link, const std::optional<std::string>& base_url) {
  Json j;
  j["user"] = user_json(u);
  j["password_link"] = base_url ? Json(*base_url + password_path(link)) : Json(nullptr);
  j["password_path"] = password_path(link);
  j["expires"] = utc(link.expires);
  return j;
}

std::string password_link_text(const User& u, const IssuedSecret& link, const std::optional<std::string>& base_url,
                               bool added) {
  std::ostringstream out;
  if (added) {
    out << "added " << to_string(u.role) << " " << u.email << " (" << u.name << ")";
    if (u.role == Role::facilitator) out << " for " << communities_text(u.communities, false);
    out << "\n";
  }
  out << "to choose a password, " << u.name << " opens this link once, before " << utc_short(link.expires)
      << " (shown only now; earlier links no longer work):\n";
  if (base_url) {
    out << "  " << *base_url << password_path(link) << "\n";
  } else {
    out << "  " << password_path(link) << "\n"
        << "  (set the public base URL, --base-url or base_url in convene.conf, for the full link)\n";
  }
  return out.str();
}

Json api_token_json(const ApiToken& t) {
  Json j;
  j["name"] = t.name;
  j["communities"] = t.all_communities ? Json("all") : Json(t.communities);
  j["created"] = utc(t.created);
  j["last_used"] = t.last_used ? Json(utc(*t.last_used)) : Json(nullptr);
  return j;
}

Json api_tokens_json(const std::vector<ApiToken>& tokens) { return array_of(tokens, api_token_json); }

std::string api_tokens_text(const std::vector<ApiToken>& tokens) {
  std::ostringstream out;
  for (const auto& t : tokens) {
    out << t.name << "  " << communities_text(t.communities, t.all_communities) << "  created "
        << utc_short(t.created) << "  last used " << (t.last_used ? utc_short(*t.last_used) : std::string("never"))
        << "\n";
  }
  if (tokens.empty()) out << "no API tokens\n";
  return out.str();
}

Json issued_api_token_json(const ApiTokenSpec& spec, const IssuedSecret& issued) {
  Json j;
  j["name"] = spec.name;
  j["communities"] = spec.all_communities ? Json("all") : Json(spec.communities);
  j["token"] = issued.token;
  return j;
}

std::string issued_api_token_text(const ApiTokenSpec& spec, const IssuedSecret& issued) {
  std::ostringstream out;
  out << "added API token " << spec.name << " for " << communities_text(spec.communities, spec.all_communities)
      << "\n(shown only now; keep it secret: send it as \"Authorization: Bearer TOKEN\")\n"
      << "  token: " << issued.token << "\n";
  return out.str();
}

}  // namespace convene::views
