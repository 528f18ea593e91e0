// The SMTP client: libcurl's smtp/smtps, one recipient per message, many messages per
// connection, several connections at once, each on a thread of its own (net::Workers:
// libcurl's SMTP blocks for the reply to the end of the data, even in a multi handle).
#include <cctype>
#include <cstdlib>
#include <cstring>

#include "convene/mail.h"
#include "internal/curl.h"

namespace convene::mail {

namespace {

// What one transfer saw: the server's last reply line and the last command verb sent
// (only the verb: AUTH arguments and the message never reach this record).
struct Transfer {
  const Envelope* envelope = nullptr;
  std::size_t offset = 0;
  net::Slist recipients;
  std::string reply;    // the last reply line: "250 OK"
  std::string command;  // the last verb sent: "MAIL", "RCPT", "DATA", "AUTH", "EHLO", "STARTTLS"
  // The first refusal (a 4xx or 5xx reply) and the verb it answered: libcurl sends QUIT
  // after one, so the last reply would be "221 Bye".
  std::string refusal;  // "550 5.1.1 <x@example.org>: no such user"
  std::string refused;  // "RCPT"
  bool data_sent = false;
  char error[CURL_ERROR_SIZE] = {};
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string& data = t->envelope->data;
  const std::size_t n = std::min(size * count, data.size() - t->offset);
  std::memcpy(buffer, data.data() + t->offset, n);
  t->offset += n;
  return n;
}

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (type == CURLINFO_HEADER_IN) {
    std::string_view line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    // The last line of a multi-line reply ("250 OK" after "250-..."), and any error line.
    if (line.size() >= 3) {
      t->reply = net::shorten(line, 200);
      if (t->refusal.empty() && (line[0] == '4' || line[0] == '5') && line.size() >= 4 &&
          (line[3] == ' ' || line[3] == '-')) {
        t->refusal = t->reply;
        t->refused = t->command;
      }
    }
  } else if (type == CURLINFO_HEADER_OUT) {
    std::string_view line(data, size);
    static const char* const verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "QUIT", "RSET"};
    for (const char* verb : verbs) {
      const std::size_t n = std::strlen(verb);
      if (line.size() >= n && line.substr(0, n) == verb && (line.size() == n || line[n] == ' ' || line[n] == '\r')) {
        t->command = verb;
        if (t->command == "DATA") t->data_sent = true;
      }
    }
  }
  return 0;
}

// The code of the first refusal, else of the last reply (libcurl's count), else 0.
int reply_code(const Transfer& t, CURL* easy) {
  if (!t.refusal.empty()) return int(std::strtol(t.refusal.substr(0, 3).c_str(), nullptr, 10));
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  return int(code);
}

}  // namespace

std::optional<std::string> smtp_url_error(std::string_view url) {
  const std::string shown = "the SMTP URL \"" + net::shorten(url, 80) + "\"";
  const auto parts = net::parse_url(url);
  if (!parts) return shown + " is not a URL (smtp://HOST:PORT or smtps://HOST:PORT)";
  if (parts->scheme != "smtp" && parts->scheme != "smtps")
    return shown + " is not smtp:// or smtps://";
  if (parts->host.empty()) return shown + " has no host";
  if (!parts->user.empty() || !parts->password.empty())
    return shown + " has a user or password in it: give --username and --password-file instead";
  if (!(parts->path.empty() || parts->path == "/") || !parts->query.empty() || !parts->fragment.empty())
    return shown + " has a path, query or fragment (only smtp://HOST:PORT)";
  return std::nullopt;
}

struct SmtpClient::Impl {
  SmtpConfig config;
  net::Workers workers;
  std::string url;  // with the EHLO domain as its path
  std::size_t connections = 0;

  explicit Impl(SmtpConfig c)
      : config(std::move(c)), workers(config.max_connections) {
    std::string base = config.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    url = base + "/" + (config.helo_domain.empty() ? std::string("localhost") : config.helo_domain);
  }

  void configure(CURL* easy, Transfer& t) const {
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, long(config.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, long(config.timeout.count()));
    if (config.security == SmtpSecurity::starttls) curl_easy_setopt(easy, CURLOPT_USE_SSL, long(CURLUSESSL_ALL));
    if (!config.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, config.ca_file.c_str());
    if (!config.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_USERNAME, config.username.c_str());
      if (config.password) curl_easy_setopt(easy, CURLOPT_PASSWORD, config.password->reveal().c_str());
    }
    const std::string from = "<" + t.envelope->from + ">";
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, from.c_str());  // libcurl copies strings
    net::append(t.recipients, "<" + t.envelope->to + ">");
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, t.recipients.get());
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(t.envelope->data.size()));
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(easy, CURLOPT_READDATA, &t);
    curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);  // for the reply lines, through on_debug only
    curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &t);
  }

  // The outcome of one transfer, and whether it stops the batch (with why).
  SendResult classify(const Transfer& t, CURL* easy, CURLcode code, SmtpFailure& failure) const {
    SendResult r;
    r.code = reply_code(t, easy);
    const std::string where = net::shorten(config.url, 100);
    const std::string said = !t.refusal.empty() ? t.refusal : t.reply.empty() ? std::string(t.error) : t.reply;
    const std::string& verb = t.refusal.empty() ? t.command : t.refused;
    const std::string to = "<" + t.envelope->to + ">";
    if (code == CURLE_OK) {
      r.status = SendResult::Status::sent;
      r.code = r.code ? r.code : 250;
      r.detail = t.reply;
      return r;
    }
    r.status = SendResult::Status::deferred;
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        failure.message = "cannot connect to the SMTP server " + where + ": " + t.error;
        r.status = SendResult::Status::not_attempted;
        break;
      case CURLE_LOGIN_DENIED:
        failure.message = "the SMTP server " + where + " refused the login of user \"" +
                          net::shorten(config.username, 60) + "\": " + said;
        r.status = SendResult::Status::not_attempted;
        break;
      case CURLE_USE_SSL_FAILED:
        failure.message = "the SMTP server " + where + " does not offer STARTTLS, which this target requires";
        r.status = SendResult::Status::not_attempted;
        break;
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CERTPROBLEM:
        failure.message = "TLS with the SMTP server " + where + " failed: " + t.error;
        r.status = SendResult::Status::not_attempted;
        break;
      case CURLE_OPERATION_TIMEDOUT:
        if (r.code == 0) {
          failure.message = "the SMTP server " + where + " did not answer within " +
                            std::to_string(config.timeout.count()) + " s";
          r.status = SendResult::Status::not_attempted;
        }
        r.detail = "timed out";
        break;
      default:
        break;
    }
    if (!failure) {
      const bool permanent = r.code >= 500 && r.code < 600;
      if (r.code == 421 || (verb == "MAIL" && (permanent || r.code == 0)) || r.code == 530) {
        // The server closes, or refuses the sender or an unauthenticated session: the
        // same answer awaits every other message.
        failure.message = r.code == 530 ? "the SMTP server " + where + " requires a login (" + said +
                                              "): give the target --username and --password-file"
                                        : "the SMTP server " + where + " refused the sender <" +
                                              t.envelope->from + ">: " + said;
        if (r.code == 421) failure.message = "the SMTP server " + where + " is not available: " + said;
        r.status = t.data_sent ? SendResult::Status::deferred : SendResult::Status::not_attempted;
      } else if (verb == "RCPT") {
        r.status = permanent ? SendResult::Status::rejected : SendResult::Status::deferred;
        r.detail = "RCPT TO " + to + " refused: " + said;
      } else if (t.data_sent) {
        r.status = permanent ? SendResult::Status::rejected : SendResult::Status::deferred;
        r.detail = "the message to " + to + " was refused: " + said;
      } else if (r.detail.empty()) {
        r.detail = "sending to " + to + " failed: " + (said.empty() ? curl_easy_strerror(code) : said);
      }
    }
    if (r.detail.empty()) r.detail = failure.message;
    return r;
  }
};

SmtpClient::SmtpClient(SmtpConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
SmtpClient::~SmtpClient() = default;

std::size_t SmtpClient::connections_opened() const { return impl_->connections; }

SmtpFailure SmtpClient::send(std::span<const Envelope> envelopes, const std::function<void(std::size_t)>& starting,
                             const std::function<void(std::size_t, const SendResult&)>& done) {
  SmtpFailure failure;
  std::vector<std::unique_ptr<Transfer>> transfers(envelopes.size());
  const std::size_t started = impl_->workers.run(
      envelopes.size(),
      [&](std::size_t i, CURL* easy) {
        auto& t = transfers[i] = std::make_unique<Transfer>();
        t->envelope = &envelopes[i];
        impl_->configure(easy, *t);
        if (starting) starting(i);
        return true;
      },
      [&](std::size_t i, CURL* easy, CURLcode code) {
        long opened = 0;
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &opened);
        impl_->connections += std::size_t(opened);
        SmtpFailure stop;
        const SendResult result = impl_->classify(*transfers[i], easy, code, stop);
        transfers[i].reset();
        if (stop && !failure) failure = stop;
        if (done) done(i, result);
        return !stop;
      });
  for (std::size_t i = started; i < envelopes.size(); ++i) {
    SendResult r;
    r.detail = failure.message;
    if (done) done(i, r);
  }
  return failure;
}

}  // namespace convene::mail
