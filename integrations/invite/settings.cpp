// Target settings: the JSON a target's row keeps, read back with every field checked.
#include "convene/caldav.h"
#include "convene/invite.h"

namespace convene::invite {

namespace {

using nlohmann::json;

std::optional<std::string> string_field(const json& j, const char* name, std::string& error, bool required) {
  const auto it = j.find(name);
  if (it == j.end()) {
    if (required) error = "the settings have no \"" + std::string(name) + "\"";
    return std::nullopt;
  }
  if (!it->is_string()) {
    error = "the settings' \"" + std::string(name) + "\" is not a string";
    return std::nullopt;
  }
  return it->get<std::string>();
}

bool read_connections(const json& j, std::size_t& out, std::string& error) {
  const auto it = j.find("max_connections");
  if (it == j.end()) return true;
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > 64) {
    error = "the settings' \"max_connections\" is not a number from 1 to 64";
    return false;
  }
  out = std::size_t(it->get<std::uint64_t>());
  return true;
}

bool read_login(const json& j, std::string& username, std::optional<SecretRef>& password, std::string& ca_file,
                std::string& error) {
  if (auto u = string_field(j, "username", error, false)) username = *u;
  if (auto c = string_field(j, "ca_file", error, false)) ca_file = *c;
  if (!error.empty()) return false;
  if (const auto it = j.find("password"); it != j.end()) {
    password = SecretRef::from_json(*it, error);
    if (!password) {
      error = "the settings' \"password\": " + error;
      return false;
    }
  }
  if (password && username.empty()) {
    error = "the settings have a password but no \"username\"";
    return false;
  }
  return true;
}

void write_login(json& j, const std::string& username, const std::optional<SecretRef>& password,
                 const std::string& ca_file, std::size_t connections) {
  if (!username.empty()) j["username"] = username;
  if (password) j["password"] = password->to_json();
  if (!ca_file.empty()) j["ca_file"] = ca_file;
  if (connections != kDefaultConnections) j["max_connections"] = connections;
}

std::string address_text(const mail::Address& a) { return a.name.empty() ? a.email : a.name + " <" + a.email + ">"; }

const char* security_name(mail::SmtpSecurity s) {
  switch (s) {
    case mail::SmtpSecurity::starttls: return "starttls";
    case mail::SmtpSecurity::tls: return "tls";
    case mail::SmtpSecurity::none: break;
  }
  return "none";
}

}  // namespace

json to_json(const EmailSettings& s) {
  json j = {{"smtp_url", s.smtp_url}, {"security", security_name(s.security)}, {"from", address_text(s.from)}};
  write_login(j, s.username, s.password, s.ca_file, s.max_connections);
  return j;
}

json to_json(const CaldavSettings& s) {
  json j = {{"url", s.url}};
  if (s.organizer) j["organizer"] = address_text(*s.organizer);
  write_login(j, s.username, s.password, s.ca_file, s.max_connections);
  return j;
}

std::optional<EmailSettings> email_settings(const json& j, std::string& error) {
  EmailSettings s;
  const auto url = string_field(j, "smtp_url", error, true);
  if (!url) return std::nullopt;
  if (auto e = mail::smtp_url_error(*url)) {
    error = *e;
    return std::nullopt;
  }
  s.smtp_url = *url;
  const auto security = string_field(j, "security", error, false).value_or(url->rfind("smtps:", 0) == 0 ? "tls" : "none");
  if (!error.empty()) return std::nullopt;
  if (security == "starttls") s.security = mail::SmtpSecurity::starttls;
  else if (security == "tls") s.security = mail::SmtpSecurity::tls;
  else if (security != "none") {
    error = "the settings' \"security\" is not none, starttls or tls";
    return std::nullopt;
  }
  if ((s.security == mail::SmtpSecurity::tls) != (url->rfind("smtps:", 0) == 0)) {
    error = s.security == mail::SmtpSecurity::tls ? "implicit TLS needs an smtps:// URL"
                                                  : "an smtps:// URL is always TLS (not --starttls)";
    return std::nullopt;
  }
  const auto from = string_field(j, "from", error, true);
  if (!from) return std::nullopt;
  const auto parsed = mail::parse_address(*from);
  if (!parsed.address) {
    error = "the sender: " + parsed.error;
    return std::nullopt;
  }
  s.from = *parsed.address;
  if (!read_login(j, s.username, s.password, s.ca_file, error) || !read_connections(j, s.max_connections, error))
    return std::nullopt;
  return s;
}

std::optional<CaldavSettings> caldav_settings(const json& j, std::string& error) {
  CaldavSettings s;
  const auto url = string_field(j, "url", error, true);
  if (!url) return std::nullopt;
  if (auto e = caldav::collection_url_error(*url)) {
    error = *e;
    return std::nullopt;
  }
  s.url = *url;
  if (auto o = string_field(j, "organizer", error, false)) {
    const auto parsed = mail::parse_address(*o);
    if (!parsed.address) {
      error = "the organizer: " + parsed.error;
      return std::nullopt;
    }
    s.organizer = *parsed.address;
  }
  if (!error.empty()) return std::nullopt;
  if (!read_login(j, s.username, s.password, s.ca_file, error) || !read_connections(j, s.max_connections, error))
    return std::nullopt;
  return s;
}

}  // namespace convene::invite
