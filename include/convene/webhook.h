// convene/webhook.h: reminders and notices posted to a webhook, as Slack and Microsoft
// Teams incoming webhooks take them.
//
// A webhook is a URL that accepts a JSON POST: {"text": "..."} is what Slack's incoming
// webhooks and Teams' (the Office 365 connector and the Workflows "post to a channel
// when a webhook request is received" template) both read. A member's channel "webhook"
// (convene member add/set --channel webhook --webhook-url URL) and a community channel
// (convene channel add NAME --community ID --webhook-url URL) use it.
//
// The URL is a secret: whoever has a Slack or Teams webhook URL can post to the channel.
// So it is validated where it enters (convene/validate.h: webhook_url_problem), kept in
// the store sealed (convene/secrets.h) and unsealed only to post; every log line and
// error shows mask(url) ("https://hooks.slack.com/…"), never the URL.
//
// post_all() sends several posts at once (at most Options::in_flight, in one libcurl
// multi handle on the calling thread), each with connect and total timeouts, so a
// receiver that hangs costs its own posts their timeout and never holds up the others.
// Each post carries `Idempotency-Key: <key>` (idempotency_key(): the SHA-256 of the
// outbox key, hex), so a receiver that keeps keys can drop the copy a crash between its
// 2xx and the outbox's commit sends again. Outcomes: a 2xx is sent; 429, 5xx and a
// transport failure (refused, reset, timed out) are to be retried, after the server's
// Retry-After if it gave one; any other status (3xx: redirects are not followed; 4xx)
// fails for good, with the status.
//
// How to use:
//   std::vector<webhook::Post> posts{{url, webhook::body(subject, text), webhook::idempotency_key(key)}};
//   webhook::post_all(posts, {}, [&](std::size_t i) { /* mark sending */ },
//                     [&](std::size_t i, const webhook::Result& r) { /* record */ });
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "convene/clock.h"
#include "convene/time.h"

namespace convene::webhook {

// How long a post may take to connect, and in all (a receiver that hangs is given up
// then, and retried later).
inline constexpr Seconds kConnectTimeout = std::chrono::seconds{5};
inline constexpr Seconds kTimeout = std::chrono::seconds{15};
// Posts in flight at once.
inline constexpr std::size_t kInFlight = 8;
// The most of a response body kept (for the error message of a refused post).
inline constexpr std::size_t kMaxResponseBytes = 4096;
// The longest Retry-After honoured; a longer one waits this long.
inline constexpr Seconds kMaxRetryAfter = std::chrono::hours{1};

// "https://hooks.slack.com/…": the scheme, host and port of `url`, never its path or
// query (where Slack and Teams keep the secret). "a webhook" when it cannot be read.
std::string mask(std::string_view url);

// The JSON body: {"text": TEXT} where TEXT is the subject, a blank line and the text, with
// & < > written as &amp; &lt; &gt; (Slack reads them as markup otherwise; Teams shows
// the entities as the characters). Built with nlohmann/json: any text is valid JSON.
std::string body(std::string_view subject, std::string_view text);

// The Idempotency-Key header's value for the outbox key `key`: SHA-256, lowercase hex.
std::string idempotency_key(std::string_view key);

// A Retry-After value (delta-seconds or an HTTP-date, RFC 9110 §10.2.3) as the time to
// wait from `now`, at most kMaxRetryAfter; nullopt when it is neither.
std::optional<Seconds> parse_retry_after(std::string_view value, Instant now);

struct Post {
  std::string url;
  std::string body;
  std::string idempotency_key;
};

struct Result {
  enum class Status {
    sent,    // a 2xx
    retry,   // 429, 5xx, or no answer (refused, timed out): try again later
    failed,  // any other answer: refused for good
  };
  Status status = Status::retry;
  long http_status = 0;                // 0 when no answer came
  std::string detail;                  // "HTTP 500 from https://host/… (\"...\")"; the URL masked
  std::optional<Seconds> retry_after;  // the server's Retry-After
};

struct Options {
  Seconds connect_timeout = kConnectTimeout;
  Seconds timeout = kTimeout;
  std::size_t in_flight = kInFlight;
  std::string ca_file;  // trust these instead of the system's (empty: the system's)
  // "Now" for a Retry-After given as an HTTP-date (unset: the system clock); a pass gives
  // its own (injected) clock, so that the wait is counted from the pass's now.
  const Clock* clock = nullptr;
};

// Posts each of `posts`: `starting(i)` just before post i is handed to libcurl, `done(i,
// result)` when its outcome is known, both on the calling thread, at most
// options.in_flight at once. Returns when every post has its outcome.
void post_all(std::span<const Post> posts, const Options& options, const std::function<void(std::size_t)>& starting,
              const std::function<void(std::size_t, const Result&)>& done);

}  // namespace convene::webhook
