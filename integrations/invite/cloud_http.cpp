// The cloud targets' HTTP engine (invite/internal/cloud_http.h).
#include "invite/internal/cloud_http.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <random>

#include "internal/curl.h"

namespace convene::cloud {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Answers larger than this are refused (an event, a page of instances).
constexpr std::size_t kMaxAnswerBytes = 4 * 1024 * 1024;
// The longest wait between two attempts, whatever the server asks.
constexpr milliseconds kMaxWait{64000};

struct Transfer {
  HttpRequest request;
  HttpResponse response;
  net::Slist headers;
  bool too_big = false;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response.body.size() + n > kMaxAnswerBytes) {
    t->too_big = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

std::optional<milliseconds> parse_retry_after(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  if (value.empty() || value.size() > 64) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 6) return kMaxWait;
    return milliseconds(std::stoll(std::string(value)) * 1000);
  }
  const time_t at = curl_getdate(std::string(value).c_str(), nullptr);  // an HTTP-date
  if (at < 0) return std::nullopt;
  const auto wait = std::chrono::system_clock::from_time_t(at) - std::chrono::system_clock::now();
  return std::clamp(std::chrono::duration_cast<milliseconds>(wait), milliseconds(0), kMaxWait);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.size() > 12 && strncasecmp(line.data(), "retry-after:", 12) == 0)
    t->response.retry_after = parse_retry_after(line.substr(12));
  return n;
}

void configure(CURL* easy, Transfer& t, const HttpSettings& s) {
  curl_easy_setopt(easy, CURLOPT_URL, t.request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, long(std::min<long>(15000, s.timeout.count())));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, long(s.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, t.request.method.c_str());
  if (!s.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, s.ca_file.c_str());
  for (const auto& h : t.request.headers) net::append(t.headers, h);
  if (t.request.method != "GET" && t.request.method != "DELETE") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, t.request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(t.request.body.size()));
  }
  net::append(t.headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
}

// The response's status and error, from a finished transfer. True when the server could
// not be reached at all (the whole run stops).
bool finish(Transfer& t, CURL* easy, CURLcode code) {
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (code == CURLE_OK) {
    if (t.response.status >= 400)
      t.response.error = "HTTP " + std::to_string(t.response.status) + ": " + net::shorten(t.response.body, 200);
    return false;
  }
  t.response.status = 0;
  t.response.error = t.too_big ? "the answer is larger than " + std::to_string(kMaxAnswerBytes) + " bytes"
                               : (t.error[0] ? std::string(t.error) : std::string(curl_easy_strerror(code)));
  t.response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_SSL_CONNECT_ERROR ||
         code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE;
}

bool transient(const HttpResponse& r, const ThrottlePredicate& throttled) {
  return r.timed_out || r.status == 429 || r.status >= 500 || (throttled && throttled(r));
}

// One flow's place in the run.
struct Slot {
  Flow* flow = nullptr;
  std::optional<HttpRequest> request;  // the request it is on (sent, or waiting to be)
  int attempts = 0;
  bool refreshed = false;              // a 401 already fetched a new token for this request
  Clock::time_point due{};             // not before (a retry's wait)
  bool running = false;
  bool finished = false;
};

class Run {
 public:
  Run(const std::vector<Flow*>& flows, const HttpSettings& s, Authorizer& auth, const ThrottlePredicate& throttled,
      std::string service)
      : settings_(s), auth_(auth), throttled_(throttled), service_(std::move(service)), multi_(curl_multi_init()) {
    net::global_init();
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, long(std::max<std::size_t>(1, s.max_connections)));
    for (Flow* f : flows) {
      Slot slot;
      slot.flow = f;
      slots_.push_back(std::move(slot));
    }
    if (s.requests_per_minute > 0)
      interval_ = std::chrono::duration_cast<Clock::duration>(std::chrono::minutes(1)) / long(s.requests_per_minute);
    std::random_device seed;
    random_.seed(seed());
  }
  ~Run() {
    for (auto& [easy, index] : running_) {
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
    }
    curl_multi_cleanup(multi_);
  }

  std::string go() {
    while (failure_.empty()) {
      start_ready();
      if (running_.empty() && !waiting()) break;
      int active = 0;
      curl_multi_perform(multi_, &active);
      collect();
      if (!failure_.empty()) break;
      curl_multi_poll(multi_, nullptr, 0, int(wait_ms()), nullptr);
    }
    // Stop what is running: those requests are left for the next sync.
    return failure_;
  }

 private:
  bool waiting() const {
    return std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.finished && !s.running; });
  }

  // Milliseconds until something may start (bounded, so transfers are polled often).
  // At the concurrency limit nothing may start before a transfer ends, which wakes the
  // poll: waiting for a slot never spins.
  long wait_ms() const {
    const auto now = Clock::now();
    auto until = now + milliseconds(100);
    if (running_.size() >= settings_.max_connections) return 100;
    for (const auto& s : slots_)
      if (!s.finished && !s.running) until = std::min(until, std::max(s.due, next_start_));
    return std::max<long>(0, std::chrono::duration_cast<milliseconds>(until - now).count());
  }

  void start_ready() {
    for (std::size_t i = 0; i < slots_.size() && failure_.empty(); ++i) {
      Slot& s = slots_[i];
      if (s.finished || s.running) continue;
      if (!s.request) {
        s.request = s.flow->next();
        s.attempts = 0;
        s.refreshed = false;
        if (!s.request) {
          s.finished = true;
          continue;
        }
        s.due = Clock::now() + s.request->delay;
      }
      const auto now = Clock::now();
      if (running_.size() >= settings_.max_connections || s.due > now || next_start_ > now) continue;
      start(i);
    }
  }

  void start(std::size_t i) {
    Slot& s = slots_[i];
    std::string error;
    const std::string bearer = auth_.header(error);
    if (bearer.empty()) {
      failure_ = error;
      return;
    }
    auto t = std::make_unique<Transfer>();
    t->request = *s.request;
    t->request.headers.push_back("Authorization: " + bearer);
    CURL* easy = curl_easy_init();
    configure(easy, *t, settings_);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
    curl_multi_add_handle(multi_, easy);
    running_.emplace_back(easy, i);
    transfers_.push_back(std::move(t));
    s.running = true;
    ++s.attempts;
    next_start_ = std::max(next_start_, Clock::now()) + interval_;
  }

  void collect() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* easy = m->easy_handle;
      const CURLcode code = m->data.result;
      const auto it = std::find_if(running_.begin(), running_.end(), [&](const auto& p) { return p.first == easy; });
      const std::size_t index = it->second;
      running_.erase(it);
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      const bool unreachable = finish(*raw, easy, code);
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      const auto owned = std::find_if(transfers_.begin(), transfers_.end(), [&](const auto& p) { return p.get() == raw; });
      std::unique_ptr<Transfer> t = std::move(*owned);
      transfers_.erase(owned);
      Slot& s = slots_[index];
      s.running = false;
      if (unreachable) {
        failure_ = "cannot reach " + service_ + " at " + net::shorten(t->request.url, 100) + ": " + t->response.error;
        continue;
      }
      handle(s, std::move(t->response));
    }
  }

  void handle(Slot& s, HttpResponse r) {
    r.attempts = s.attempts;
    if (r.status == 401 && !s.refreshed) {
      s.refreshed = true;
      auth_.invalidate();  // the token expired or was revoked: fetch another, once
      return;
    }
    if (transient(r, throttled_) && s.attempts < settings_.max_attempts) {
      s.due = Clock::now() + wait_for(s.attempts, r.retry_after);
      return;
    }
    if (transient(r, throttled_) && r.status != 0 && r.status < 500) {
      r.throttled = true;
      failure_ = service_ + " kept refusing requests for its quota (" + net::shorten(r.error, 120) + ") after " +
                 std::to_string(s.attempts) + " attempts; the rest waits for the next sync";
    }
    if (r.status == 401) failure_ = service_ + " refused the access token (401): " + net::shorten(r.error, 120);
    s.request.reset();
    s.flow->done(r);
  }

  Clock::duration wait_for(int attempt, std::optional<milliseconds> retry_after) {
    if (retry_after) return std::min(*retry_after, kMaxWait);
    const auto ceiling = std::min<long long>(kMaxWait.count(), settings_.backoff.count() << std::min(attempt - 1, 16));
    std::uniform_int_distribution<long long> jitter(0, std::max<long long>(0, ceiling));
    return milliseconds(jitter(random_));
  }

  const HttpSettings& settings_;
  Authorizer& auth_;
  const ThrottlePredicate& throttled_;
  std::string service_;
  CURLM* multi_;
  std::vector<Slot> slots_;
  std::vector<std::pair<CURL*, std::size_t>> running_;
  std::deque<std::unique_ptr<Transfer>> transfers_;
  Clock::duration interval_{0};
  Clock::time_point next_start_{};
  std::mt19937_64 random_;
  std::string failure_;
};

}  // namespace

HttpResponse perform(const HttpRequest& request, const HttpSettings& settings) {
  net::global_init();
  net::Easy easy(curl_easy_init());
  Transfer t;
  t.request = request;
  configure(easy.get(), t, settings);
  const CURLcode code = curl_easy_perform(easy.get());
  finish(t, easy.get(), code);
  return t.response;
}

std::string run_flows(const std::vector<Flow*>& flows, const HttpSettings& settings, Authorizer& auth,
                      const ThrottlePredicate& throttled, const std::string& service) {
  Run run(flows, settings, auth, throttled, service);
  return run.go();
}

std::string percent_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out;
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + percent_encode(k) + "=" + percent_encode(v);
  return out;
}

}  // namespace convene::cloud
