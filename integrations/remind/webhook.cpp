// Webhook posts (convene/webhook.h): {"text": ...} through libcurl's multi interface,
// several at once, each with its timeouts, the URL never in a message.
#include "convene/webhook.h"

#include <sodium.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "internal/curl.h"

namespace convene::webhook {

namespace {

// What one post received.
struct Exchange {
  std::string response;      // the body, at most kMaxResponseBytes
  std::string retry_after;   // the Retry-After header's value
  char error[CURL_ERROR_SIZE] = {};
  net::Slist headers;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& e = *static_cast<Exchange*>(user);
  const std::size_t n = size * count;
  if (e.response.size() < kMaxResponseBytes) e.response.append(data, std::min(n, kMaxResponseBytes - e.response.size()));
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& e = *static_cast<Exchange*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view name = "retry-after:";
  if (line.size() > name.size() &&
      std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    std::string_view value = line.substr(name.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
    e.retry_after = std::string(value.substr(0, 64));
  }
  return size * count;
}

// `text` with every occurrence of `url` (and of its path, which libcurl's messages may
// show alone) replaced by its mask.
std::string scrub(std::string text, const std::string& url) {
  const std::string shown = mask(url);
  std::vector<std::string> secrets{url};
  if (auto parts = net::parse_url(url); parts && parts->path.size() > 1) secrets.push_back(parts->path);
  for (const auto& secret : secrets) {
    for (auto at = text.find(secret); !secret.empty() && at != std::string::npos; at = text.find(secret, at + shown.size())) {
      text.replace(at, secret.size(), shown);
    }
  }
  return text;
}

Result classify(const Post& post, CURL* easy, CURLcode code, const Exchange& e, Instant now) {
  Result r;
  const std::string where = mask(post.url);
  if (code != CURLE_OK) {
    r.status = Result::Status::retry;
    const std::string why = e.error[0] ? std::string(e.error) : std::string(curl_easy_strerror(code));
    r.detail = scrub("no answer from " + where + ": " + net::shorten(why), post.url);
    return r;
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  r.http_status = status;
  if (status >= 200 && status < 300) {
    r.status = Result::Status::sent;
    return r;
  }
  r.status = status == 429 || status >= 500 ? Result::Status::retry : Result::Status::failed;
  r.detail = "HTTP " + std::to_string(status) + " from " + where;
  if (status >= 300 && status < 400) r.detail += " (a redirect: webhooks are not followed to another URL)";
  if (!e.response.empty()) r.detail += ": " + scrub(net::shorten(e.response, 120), post.url);
  if (r.status == Result::Status::retry && !e.retry_after.empty()) r.retry_after = parse_retry_after(e.retry_after, now);
  return r;
}

std::string escape_markup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string mask(std::string_view url) {
  const auto parts = net::parse_url(url);
  if (!parts || parts->scheme.empty() || parts->host.empty()) return "a webhook";
  std::string out = parts->scheme + "://" + parts->host;
  if (!parts->port.empty()) out += ":" + parts->port;
  return out + "/…";
}

std::string body(std::string_view subject, std::string_view text) {
  std::string all(subject);
  if (!text.empty()) all += "\n\n" + std::string(text);
  while (!all.empty() && all.back() == '\n') all.pop_back();
  return nlohmann::json{{"text", escape_markup(all)}}.dump();
}

std::string idempotency_key(std::string_view key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::optional<Seconds> parse_retry_after(std::string_view value, Instant now) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return kMaxRetryAfter;
    long long seconds = 0;
    std::from_chars(value.data(), value.data() + value.size(), seconds);
    return std::min(Seconds{seconds}, kMaxRetryAfter);
  }
  const std::string copy(value);
  const time_t when = curl_getdate(copy.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const Seconds wait = Instant{Seconds{when}} - now;
  return std::clamp(wait, Seconds{0}, kMaxRetryAfter);
}

void post_all(std::span<const Post> posts, const Options& options, const std::function<void(std::size_t)>& starting,
              const std::function<void(std::size_t, const Result&)>& done) {
  if (posts.empty()) return;
  net::global_init();
  std::vector<Exchange> exchanges(posts.size());
  net::Multi multi(std::max<std::size_t>(1, options.in_flight));
  const Instant now = options.clock ? options.clock->now() : Clock::real().now();
  const auto setup = [&](std::size_t i, CURL* easy) {
    const Post& p = posts[i];
    Exchange& e = exchanges[i];
    net::append(e.headers, "Content-Type: application/json; charset=utf-8");
    net::append(e.headers, "Idempotency-Key: " + p.idempotency_key);
    net::append(e.headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(easy, CURLOPT_URL, p.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, e.error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, long(options.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, long(options.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, e.headers.get());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, p.body.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(p.body.size()));
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "convene");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &e);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &e);
    if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
    starting(i);
    return true;
  };
  const auto finished = [&](std::size_t i, CURL* easy, CURLcode code) {
    done(i, classify(posts[i], easy, code, exchanges[i], now));
    return true;
  };
  multi.run(posts.size(), setup, finished);
}

}  // namespace convene::webhook
