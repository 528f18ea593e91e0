// Google's side of the cloud targets: settings, the event id, the service account and
// its JWT (RS256 through OpenSSL's EVP interface).
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

#include "convene/cloud.h"
#include "internal/curl.h"

namespace convene::cloud {

namespace {

using nlohmann::json;

std::string base64url(std::string_view bytes) {
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += table[v >> 6 & 63];
    out += table[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += table[v >> 18 & 63];
    out += table[v >> 12 & 63];
    out += table[v >> 6 & 63];
  }
  return out;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::optional<std::string> string_of(const json& j, const char* name, std::string& error, bool required) {
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

bool number_of(const json& j, const char* name, long long low, long long high, long long& out, std::string& error) {
  const auto it = j.find(name);
  if (it == j.end()) return true;
  if (!it->is_number_integer() || it->get<long long>() < low || it->get<long long>() > high) {
    error = "the settings' \"" + std::string(name) + "\" is not a number from " + std::to_string(low) + " to " +
            std::to_string(high);
    return false;
  }
  out = it->get<long long>();
  return true;
}

}  // namespace

std::optional<std::string> api_url_error(std::string_view url, std::string_view flag) {
  const std::string shown = std::string(flag) + " \"" + net::shorten(url, 100) + "\"";
  const auto parts = net::parse_url(url);
  if (!parts) return shown + " is not a URL";
  if (parts->scheme != "https" && parts->scheme != "http") return shown + " is not http:// or https://";
  if (parts->host.empty()) return shown + " has no host";
  if (!parts->user.empty() || !parts->password.empty()) return shown + " has a user or password in it";
  if (!parts->query.empty() || !parts->fragment.empty()) return shown + " has a query or fragment";
  return std::nullopt;
}

json http_to_json(const HttpSettings& s) {
  json j = {{"api_url", s.api_url}, {"token_url", s.token_url}};
  if (!s.ca_file.empty()) j["ca_file"] = s.ca_file;
  j["max_connections"] = s.max_connections;
  j["requests_per_minute"] = s.requests_per_minute;
  j["timeout_ms"] = s.timeout.count();
  j["backoff_ms"] = s.backoff.count();
  j["max_attempts"] = s.max_attempts;
  return j;
}

bool http_from_json(const json& j, HttpSettings& s, std::string& error) {
  if (auto v = string_of(j, "api_url", error, false)) s.api_url = *v;
  if (auto v = string_of(j, "token_url", error, false)) s.token_url = *v;
  if (auto v = string_of(j, "ca_file", error, false)) s.ca_file = *v;
  if (!error.empty()) return false;
  if (auto e = api_url_error(s.api_url, "the API URL")) return error = *e, false;
  if (auto e = api_url_error(s.token_url, "the token URL")) return error = *e, false;
  while (!s.api_url.empty() && s.api_url.back() == '/') s.api_url.pop_back();
  long long connections = (long long)s.max_connections, rpm = (long long)s.requests_per_minute,
            timeout = s.timeout.count(), backoff = s.backoff.count(), attempts = s.max_attempts;
  if (!number_of(j, "max_connections", 1, 64, connections, error) ||
      !number_of(j, "requests_per_minute", 0, 1000000, rpm, error) ||
      !number_of(j, "timeout_ms", 10, 600000, timeout, error) || !number_of(j, "backoff_ms", 0, 64000, backoff, error) ||
      !number_of(j, "max_attempts", 1, 20, attempts, error))
    return false;
  s.max_connections = std::size_t(connections);
  s.requests_per_minute = std::size_t(rpm);
  s.timeout = std::chrono::milliseconds(timeout);
  s.backoff = std::chrono::milliseconds(backoff);
  s.max_attempts = int(attempts);
  return true;
}

json to_json(const GoogleSettings& s) {
  json j = http_to_json(s.http);
  j["calendar_id"] = s.calendar_id;
  j["credentials"] = s.credentials.to_json();
  if (!s.subject.empty()) j["subject"] = s.subject;
  if (s.meet) j["meet"] = true;
  return j;
}

std::optional<GoogleSettings> google_settings(const json& j, std::string& error) {
  if (!j.is_object()) {
    error = "the settings are not a JSON object";
    return std::nullopt;
  }
  GoogleSettings s;
  s.http.api_url = kGoogleApiUrl;
  s.http.token_url = kGoogleTokenUrl;
  s.http.requests_per_minute = kGoogleRequestsPerMinute;
  const auto calendar = string_of(j, "calendar_id", error, true);
  if (!calendar) return std::nullopt;
  if (calendar->empty() || calendar->size() > 1024) {
    error = "the settings' \"calendar_id\" is empty or longer than 1024 characters";
    return std::nullopt;
  }
  s.calendar_id = *calendar;
  const auto creds = j.find("credentials");
  if (creds == j.end()) {
    error = "the settings have no \"credentials\"";
    return std::nullopt;
  }
  auto ref = SecretRef::from_json(*creds, error);
  if (!ref) {
    error = "the settings' \"credentials\": " + error;
    return std::nullopt;
  }
  s.credentials = *ref;
  if (auto v = string_of(j, "subject", error, false)) s.subject = *v;
  if (!error.empty()) return std::nullopt;
  if (const auto m = j.find("meet"); m != j.end()) {
    if (!m->is_boolean()) {
      error = "the settings' \"meet\" is not true or false";
      return std::nullopt;
    }
    s.meet = m->get<bool>();
  }
  if (!http_from_json(j, s.http, error)) return std::nullopt;
  return s;
}

std::string google_event_id(std::string_view uid) {
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuv";  // base32hex, RFC 4648 §7
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : uid) {
    buffer = buffer << 8 | (unsigned char)c;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[buffer >> (bits - 5) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[buffer << (5 - bits) & 31];
  return out;
}

std::optional<ServiceAccount> parse_service_account(std::string_view text, std::string_view where,
                                                    std::string& error) {
  const json j = json::parse(text, nullptr, false);
  const std::string file = "the service-account file " + std::string(where);
  if (j.is_discarded() || !j.is_object()) {
    error = file + " is not a JSON object (download the key again: IAM > Service accounts > Keys)";
    return std::nullopt;
  }
  auto field = [&](const char* name, bool required) -> std::optional<std::string> {
    const auto it = j.find(name);
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      if (required) error = file + " has no \"" + std::string(name) + "\" (a string)";
      return std::nullopt;
    }
    return it->get<std::string>();
  };
  const auto type = field("type", true);
  if (!type) return std::nullopt;
  if (*type != "service_account") {
    error = file + "'s \"type\" is \"" + net::shorten(*type, 40) + "\", not \"service_account\"";
    return std::nullopt;
  }
  ServiceAccount a;
  auto email = field("client_email", true);
  if (!email) return std::nullopt;
  auto key = field("private_key", true);
  if (!key) return std::nullopt;
  a.client_email = *email;
  a.private_key = *key;
  a.private_key_id = field("private_key_id", false).value_or("");
  a.token_uri = field("token_uri", false).value_or(kGoogleTokenUrl);
  std::string sign_error;
  if (sign_jwt({"x", "x", "x", "", Instant{}, std::chrono::seconds(60)}, a.private_key, "", sign_error).empty()) {
    error = file + "'s \"private_key\" " + sign_error;
    return std::nullopt;
  }
  return a;
}

std::string sign_jwt(const JwtClaims& claims, const std::string& pem_key, const std::string& key_id,
                     std::string& error) {
  if (claims.lifetime <= std::chrono::seconds(0) || claims.lifetime > std::chrono::hours(1)) {
    error = "a token request may last at most an hour";
    return "";
  }
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem_key.data(), int(pem_key.size())));
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                                : nullptr);
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    error = "is not an RSA private key in PEM form";
    return "";
  }
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key_id.empty()) header["kid"] = key_id;
  const long long iat = claims.iat.time_since_epoch().count();
  json body = {{"iss", claims.iss}, {"scope", claims.scope}, {"aud", claims.aud}, {"iat", iat},
               {"exp", iat + claims.lifetime.count()}};
  if (!claims.sub.empty()) body["sub"] = claims.sub;
  const std::string input = base64url(header.dump()) + "." + base64url(body.dump());
  std::unique_ptr<EVP_MD_CTX, MdDeleter> md(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSignUpdate(md.get(), input.data(), input.size()) != 1 ||
      EVP_DigestSignFinal(md.get(), nullptr, &length) != 1) {
    error = "cannot sign with this key (OpenSSL)";
    return "";
  }
  std::string signature(length, '\0');
  if (EVP_DigestSignFinal(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &length) != 1) {
    error = "cannot sign with this key (OpenSSL)";
    return "";
  }
  signature.resize(length);
  return input + "." + base64url(signature);
}

}  // namespace convene::cloud
