// The CalDAV client: conditional PUT, GET, DELETE and PROPFIND through libcurl.
#include "convene/caldav.h"

#include <cstring>
#include <regex>

#include "internal/curl.h"

namespace convene::caldav {

namespace {

struct Transfer {
  const Request* request = nullptr;
  net::Slist headers;
  Response response;
  bool too_big = false;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response.body.size() + n > kMaxResponseBytes) {
    t->too_big = true;
    return 0;  // aborts the transfer
  }
  t->response.body.append(data, n);
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.size() > 5 && strncasecmp(line.data(), "etag:", 5) == 0) {
    line.remove_prefix(5);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.remove_suffix(1);
    if (line.size() <= 256) t->response.etag = std::string(line);
  }
  return n;
}

const char* method_name(Method m) {
  switch (m) {
    case Method::create:
    case Method::update: return "PUT";
    case Method::get: return "GET";
    case Method::remove: return "DELETE";
  }
  return "GET";
}

}  // namespace

std::optional<std::string> collection_url_error(std::string_view url) {
  const std::string shown = "the CalDAV URL \"" + net::shorten(url, 100) + "\"";
  const auto parts = net::parse_url(url);
  if (!parts) return shown + " is not a URL (https://HOST/path/to/calendar/)";
  if (parts->scheme != "https" && parts->scheme != "http") return shown + " is not http:// or https://";
  if (parts->host.empty()) return shown + " has no host";
  if (!parts->user.empty() || !parts->password.empty())
    return shown + " has a user or password in it: give --username and --password-file instead";
  if (!parts->query.empty() || !parts->fragment.empty()) return shown + " has a query or fragment";
  return std::nullopt;
}

struct Client::Impl {
  Config config;
  net::Multi multi;

  explicit Impl(Config c) : config(std::move(c)), multi(config.max_connections) {
    if (config.collection_url.empty() || config.collection_url.back() != '/') config.collection_url += '/';
  }

  void configure(CURL* easy, Transfer& t, const char* method, const std::string& url) const {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, long(config.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, long(config.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (!config.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, config.ca_file.c_str());
    if (!config.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, long(CURLAUTH_BASIC));
      curl_easy_setopt(easy, CURLOPT_USERNAME, config.username.c_str());
      if (config.password) curl_easy_setopt(easy, CURLOPT_PASSWORD, config.password->reveal().c_str());
    }
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
  }

  void configure(CURL* easy, Transfer& t) const {
    const Request& r = *t.request;
    configure(easy, t, method_name(r.method), r.href);
    if (r.method == Method::create) net::append(t.headers, "If-None-Match: *");
    if ((r.method == Method::update || r.method == Method::remove) && !r.etag.empty())
      net::append(t.headers, "If-Match: " + r.etag);
    if (r.method == Method::create || r.method == Method::update) {
      net::append(t.headers, "Content-Type: text/calendar; charset=utf-8");
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(r.body.size()));
    }
    if (r.method == Method::get) net::append(t.headers, "Accept: text/calendar");
    if (t.headers) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers.get());
  }

  // Fills the response; sets `failure` when the whole batch must stop.
  void finish(Transfer& t, CURL* easy, CURLcode code, Failure& failure) const {
    const std::string where = net::shorten(config.collection_url, 120);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &t.response.status);
    if (code != CURLE_OK) {
      t.response.status = 0;
      if (t.too_big) {
        t.response.error = "the answer is larger than " + std::to_string(kMaxResponseBytes) + " bytes";
        return;
      }
      t.response.error = t.error[0] ? t.error : curl_easy_strerror(code);
      if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_SSL_CONNECT_ERROR ||
          code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
          (code == CURLE_OPERATION_TIMEDOUT && t.response.body.empty()))
        failure.message = "cannot reach the CalDAV server " + where + ": " + t.response.error;
      return;
    }
    if (t.response.status == 401) {
      failure.message = config.username.empty()
                            ? "the CalDAV server " + where + " requires a login: give the target --username and --password-file"
                            : "the CalDAV server " + where + " refused the login of user \"" +
                                  net::shorten(config.username, 60) + "\" (401)";
    }
    if (t.response.status >= 400 && t.response.error.empty())
      t.response.error = "HTTP " + std::to_string(t.response.status) + ": " + net::shorten(t.response.body, 160);
  }
};

Client::Client(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Client::~Client() = default;

const std::string& Client::collection_url() const { return impl_->config.collection_url; }

std::string Client::href_for_uid(std::string_view uid) const {
  static const char hex[] = "0123456789ABCDEF";
  std::string out = impl_->config.collection_url;
  for (char c : uid) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  return out + ".ics";
}

Failure Client::check() {
  Failure failure;
  Transfer t;
  Request propfind{Method::get, impl_->config.collection_url, "", ""};
  t.request = &propfind;
  static const std::string body =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<d:propfind xmlns:d=\"DAV:\"><d:prop><d:resourcetype/></d:prop></d:propfind>\n";
  impl_->multi.run(
      1,
      [&](std::size_t, CURL* easy) {
        impl_->configure(easy, t, "PROPFIND", propfind.href);
        net::append(t.headers, "Depth: 0");
        net::append(t.headers, "Content-Type: application/xml; charset=utf-8");
        curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.headers.get());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.size()));
        return true;
      },
      [&](std::size_t, CURL* easy, CURLcode code) {
        impl_->finish(t, easy, code, failure);
        return true;
      });
  if (failure) return failure;
  const std::string where = net::shorten(impl_->config.collection_url, 120);
  const long status = t.response.status;
  if (status == 0) return {"cannot reach the CalDAV server " + where + ": " + t.response.error};
  if (status == 404) return {"there is no calendar collection at " + where + " (404)"};
  if (status == 403) return {"the CalDAV server " + where + " does not let user \"" +
                             net::shorten(impl_->config.username, 60) + "\" use this calendar (403)"};
  if (status != 207) return {"the CalDAV server " + where + " answered PROPFIND with " + t.response.error};
  // A calendar collection's resourcetype holds <calendar xmlns="urn:ietf:params:xml:ns:caldav"/>.
  static const std::regex calendar_element(R"(<([A-Za-z0-9_]+:)?calendar[\s/>])");
  if (t.response.body.find("urn:ietf:params:xml:ns:caldav") == std::string::npos ||
      !std::regex_search(t.response.body, calendar_element))
    return {where + " is not a calendar collection"};
  return {};
}

Failure Client::run(std::span<const Request> requests, const std::function<void(std::size_t, const Response&)>& done) {
  Failure failure;
  std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
  const std::size_t started = impl_->multi.run(
      requests.size(),
      [&](std::size_t i, CURL* easy) {
        auto& t = transfers[i] = std::make_unique<Transfer>();
        t->request = &requests[i];
        impl_->configure(easy, *t);
        return true;
      },
      [&](std::size_t i, CURL* easy, CURLcode code) {
        Failure stop;
        impl_->finish(*transfers[i], easy, code, stop);
        if (stop && !failure) failure = stop;
        if (done) done(i, transfers[i]->response);
        transfers[i].reset();
        return !stop;
      });
  for (std::size_t i = started; i < requests.size(); ++i) {
    Response r;
    r.error = failure.message;
    if (done) done(i, r);
  }
  return failure;
}

}  // namespace convene::caldav
