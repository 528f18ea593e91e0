// The HTTP engine of the cloud targets (Google, Graph): flows of requests through one
// libcurl multi handle, with a concurrency limit, pacing, retries and a bearer token.
//
// A Flow is one sequence of dependent requests (one series' operations): the engine
// asks it for its next request, runs it (retrying it as the policy says), hands it the
// final response and asks again, until the flow has none. Flows run side by side, at
// most max_connections requests at once, at most requests_per_minute started (evenly
// spaced: a steady rate never exceeds any window of the quota).
//
// Retries: a timeout, a 5xx, a 429, or a response the `throttled` predicate recognises
// (Google's 403 rateLimitExceeded) is tried again after Retry-After when the server sent
// one, else after a random wait in [0, backoff * 2^(attempt-1)] (full jitter, capped at
// 64 s), up to max_attempts. A 401 fetches a new token once and retries. Every write is
// idempotent on our side (our ids, transactionIds), so retrying a write is safe.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "convene/cloud.h"
#include "convene/secrets.h"

namespace convene::cloud {

struct HttpRequest {
  std::string method;  // GET POST PATCH PUT DELETE
  std::string url;
  std::string body;    // JSON (or a form for the token endpoint)
  std::vector<std::string> headers;
  std::string what;    // what it is for, in messages ("insert mentoring-monday")
  std::chrono::milliseconds delay{0};  // wait this long before sending it (polling)
};

struct HttpResponse {
  long status = 0;       // 0: no answer (error says why)
  std::string body;
  std::string error;     // why there was no answer, or a short quote of the server's
  bool timed_out = false;
  std::optional<std::chrono::milliseconds> retry_after;
  int attempts = 0;
  bool throttled = false;  // still throttled when the attempts ran out
};

class Flow {
 public:
  virtual ~Flow() = default;
  virtual std::optional<HttpRequest> next() = 0;
  virtual void done(const HttpResponse& response) = 0;
};

// Gives the Authorization header's value ("Bearer ..."), fetching a token when it has
// none; "" with `error` when the token endpoint refuses.
class Authorizer {
 public:
  virtual ~Authorizer() = default;
  virtual std::string header(std::string& error) = 0;
  virtual void invalidate() = 0;
};

// Runs one request now, on its own (the token endpoint, a check).
HttpResponse perform(const HttpRequest& request, const HttpSettings& settings);

// What a 403/400 answer says when it is a throttle, not a refusal.
using ThrottlePredicate = std::function<bool(const HttpResponse&)>;

// Runs `flows` to the end. Returns "" or why everything stopped: the token was refused,
// the server cannot be reached, or a throttle outlasted the attempts (the flows whose
// requests did not run are left where they were).
std::string run_flows(const std::vector<Flow*>& flows, const HttpSettings& settings, Authorizer& auth,
                      const ThrottlePredicate& throttled, const std::string& service);

// The settings every cloud kind shares, in and out of a target's JSON.
nlohmann::json http_to_json(const HttpSettings& settings);
bool http_from_json(const nlohmann::json& j, HttpSettings& settings, std::string& error);

// "a=b&c=d" with each value percent-encoded (form bodies and query strings).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);
std::string percent_encode(std::string_view text);

}  // namespace convene::cloud
