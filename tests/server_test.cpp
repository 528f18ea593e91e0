// `convene serve`, tested as a client sees it: the real binary on 127.0.0.1 (a free port,
// --listen 127.0.0.1:0), spoken to with libcurl and, for what curl will not send
// (malformed, slow, half-sent requests), raw sockets. No sleeps: every wait is a poll()
// with a deadline far beyond what a working server needs.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convene/feed_catalog.h"
#include "convene/feed_routes.h"
#include "convene/http.h"
#include "internal/http_exchange.h"
#include "test_support.h"

extern char** environ;

namespace convene {
namespace {

using testing::TempDir;
using Steady = std::chrono::steady_clock;

// Far beyond what any of these waits takes on a working server; a broken one fails here.
constexpr auto kPatience = std::chrono::seconds(30);

const std::string kToday = "2027-02-01";
const std::map<std::string, std::string> kEnv{{"CONVENE_TODAY", kToday},
                                              {"CONVENE_NOW", "2027-02-01T09:00:00Z"},
                                              {"CONVENE_DB", ""}};

std::string definitions_file() { return (testing::source_dir() / "tests/data/store/definitions.json").string(); }

int remaining_ms(Steady::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
  return left < 0 ? 0 : int(left);
}

// --- the server process ------------------------------------------------------------

class ServeProcess {
 public:
  // Starts `convene serve ARGS --listen 127.0.0.1:0 --access-log LOG` (or `--access-log -`
  // with log_to_stdout, LOG then only names the standard error file) and waits for the
  // banner that names the bound port.
  ServeProcess(std::vector<std::string> args, const std::filesystem::path& log, bool log_to_stdout = false)
      : log_(log) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    out_fd_ = out[0];
    std::vector<std::string> argv{testing::cli_path().string(), "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* a : {"--listen", "127.0.0.1:0", "--access-log"}) argv.push_back(a);
    argv.push_back(log_to_stdout ? "-" : log.string());
    std::vector<char*> argp;
    for (auto& a : argv) argp.push_back(a.data());
    argp.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      const std::string entry(*e);
      if (!kEnv.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : kEnv) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, (log.string() + ".stderr").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int rc = posix_spawn(&pid_, argp[0], &actions, nullptr, argp.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) throw std::runtime_error("posix_spawn failed");
    // "convene: serving ... on http://127.0.0.1:PORT/"
    static const std::regex banner(R"(on http://127\.0\.0\.1:(\d+)/)");
    std::smatch m;
    read_stdout_until([&] { return std::regex_search(out_, m, banner); });
    if (!std::regex_search(out_, m, banner))
      throw std::runtime_error("convene serve printed no banner: " + out_ + testing::read_file(log.string() + ".stderr"));
    port_ = static_cast<unsigned short>(std::stoi(m[1]));
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  unsigned short port() const { return port_; }
  const std::string& out() const { return out_; }

  // Reads standard output until `done()` or end of file (or the deadline).
  template <typename F>
  bool read_stdout_until(F done) {
    const auto deadline = Steady::now() + kPatience;
    while (!done()) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      char chunk[4096];
      const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) return done();
      out_.append(chunk, std::size_t(n));
    }
    return true;
  }
  bool wait_for_stdout(const std::string& text) {
    return read_stdout_until([&] { return out_.find(text) != std::string::npos; });
  }

  void signal(int sig) { ::kill(pid_, sig); }
  // Waits for the process to end (its standard output closes first); the exit status,
  // 128 + the signal when killed, -1 when it did not end in time (then it is killed).
  int wait_exit() {
    const auto deadline = Steady::now() + kPatience;
    bool eof = false;
    while (!eof) {
      pollfd p{out_fd_, POLLIN, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
      char chunk[4096];
      const ssize_t n = ::read(out_fd_, chunk, sizeof chunk);
      if (n <= 0) eof = true;
      else out_.append(chunk, std::size_t(n));
    }
    if (!eof) ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!eof) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string access_log() const { return testing::read_file(log_); }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string out_;
  unsigned short port_ = 0;
};

// --- libcurl ---------------------------------------------------------------------------

struct HttpResponse {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct Request {
  std::string method = "GET";
  std::vector<std::string> headers;   // "If-None-Match: ..."
  bool decode_gzip = false;           // Accept-Encoding: gzip, decoded by curl
};

class Http {
 public:
  explicit Http(unsigned short port) : port_(port), curl_(curl_easy_init()) {}
  ~Http() { curl_easy_cleanup(curl_); }
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  HttpResponse fetch(const std::string& path, const Request& request = {}) {
    HttpResponse r;
    CURL* c = curl_;
    curl_easy_reset(c);
    const std::string url = "http://127.0.0.1:" + std::to_string(port_) + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (request.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (request.method != "GET") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.decode_gzip) curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    else curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    curl_slist* list = nullptr;
    for (const auto& h : request.headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char* p, size_t s, size_t n, void* out) {
      static_cast<std::string*>(out)->append(p, s * n);
      return s * n;
    });
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, +[](char* p, size_t s, size_t n, void* out) {
      std::string line(p, s * n);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        std::string value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
        (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
      }
      return s * n;
    });
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r.headers);
    r.code = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(list);
    return r;
  }
  // Connections opened by the last fetch (0: it reused one).
  long new_connections() {
    long n = -1;
    curl_easy_getinfo(curl_, CURLINFO_NUM_CONNECTS, &n);
    return n;
  }

 private:
  unsigned short port_;
  CURL* curl_;
};

// --- raw sockets ---------------------------------------------------------------------------

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

class Conn {
 public:
  explicit Conn(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool connected() const { return connected_; }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(std::size_t(n));
    }
    return true;
  }
  // Waits until the server's kernel has acknowledged every byte sent (they are in its
  // socket then, whether or not the server has read them): what a test needs before it
  // acts on "the server has received half a request". Loopback delivery can lag behind
  // send() on a loaded machine.
  bool delivered() {
    const auto deadline = Steady::now() + kPatience;
    int unacknowledged = 0;
    while (::ioctl(fd_, SIOCOUTQ, &unacknowledged) == 0 && unacknowledged > 0) {
      if (Steady::now() > deadline) return false;
      sched_yield();
    }
    return unacknowledged == 0;
  }
  // Reads more bytes into the buffer; false at end of stream, error or the deadline.
  bool fill(Steady::time_point deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      timed_out_ = true;
      return false;
    }
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, std::size_t(n));
    return true;
  }
  // Everything until the server closes the connection.
  std::string read_to_close() {
    const auto deadline = Steady::now() + kPatience;
    while (fill(deadline)) {
    }
    return std::exchange(buffer_, {});
  }
  // True when the server closed the connection (within the deadline).
  bool closed_by_server() {
    const auto deadline = Steady::now() + kPatience;
    while (fill(deadline)) {
    }
    return !timed_out_;
  }
  // One response (its body by Content-Length; none for HEAD and 304).
  std::optional<RawResponse> read_response(bool head_request = false) {
    const auto deadline = Steady::now() + kPatience;
    std::size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
      if (!fill(deadline)) return std::nullopt;
    RawResponse r;
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    r.status = std::stoi(head.substr(9, 3));
    std::size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const auto next = head.find("\r\n", pos + 2);
      const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        for (char& ch : name) ch = char(std::tolower(static_cast<unsigned char>(ch)));
        r.headers[name] = line.substr(colon + 2);
      }
      pos = next;
    }
    std::size_t length = 0;
    if (!head_request && r.status != 304 && r.headers.count("content-length"))
      length = std::stoul(r.headers["content-length"]);
    while (buffer_.size() < length)
      if (!fill(deadline)) return std::nullopt;
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool timed_out_ = false;
  std::string buffer_;
};

std::string get_request(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// --- fixtures ----------------------------------------------------------------------------

// A definitions file served directly, and the same feeds written by `convene publish`.
struct FileServer {
  TempDir dir;
  std::filesystem::path published = dir / "published";
  std::unique_ptr<ServeProcess> server;
  explicit FileServer(std::vector<std::string> extra = {}) {
    auto r = testing::run_cli({"publish", definitions_file(), "--out", published.string()}, "", kEnv);
    if (r.exit_code != 0) throw std::runtime_error("publish failed: " + r.err);
    std::vector<std::string> args{definitions_file()};
    args.insert(args.end(), extra.begin(), extra.end());
    server = std::make_unique<ServeProcess>(args, dir / "access.log");
  }
  unsigned short port() const { return server->port(); }
  std::string published_feed(const std::string& rel) const { return testing::read_file(published / rel); }
};

// A store (imported from the same definitions, with one member) served with --store.
struct StoreServer {
  TempDir dir;
  std::string db = (dir / "convene.db").string();
  std::string token;
  std::unique_ptr<ServeProcess> server;
  StoreServer() {
    cli({"import", definitions_file(), "--as", "ana"});
    auto added = cli({"member", "add", "rosa", "--email", "rosa@example.org", "--name", "Rosa"});
    static const std::regex token_re(R"(token[^:]*: ([A-Za-z0-9_-]{43}))");
    std::smatch m;
    if (!std::regex_search(added.out, m, token_re)) throw std::runtime_error("no token in: " + added.out);
    token = m[1];
    cli({"subscribe", "rosa", "power-hour"});
    server = std::make_unique<ServeProcess>(std::vector<std::string>{"--store", db}, dir / "access.log");
  }
  testing::RunResult cli(std::vector<std::string> args) const {
    args.push_back("--db");
    args.push_back(db);
    auto r = testing::run_cli(args, "", kEnv);
    if (r.exit_code != 0) throw std::runtime_error("convene " + args[0] + " failed: " + r.err);
    return r;
  }
  unsigned short port() const { return server->port(); }
};

nlohmann::json healthz(Http& http) {
  auto r = http.fetch("/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  return nlohmann::json::parse(r.body);
}

const std::vector<std::string> kFeeds{"feeds/all.ics", "feeds/communities/nurses.ics",
                                      "feeds/series/power-hour.ics", "feeds/expanded/series/mentoring-monday.ics",
                                      "feeds/expanded/all.ics"};

// --- tests ------------------------------------------------------------------------------------

TEST(Server, GetAndHeadServeWhatPublishWrites) {
  FileServer fs;
  Http http(fs.port());
  for (const auto& feed : kFeeds) {
    SCOPED_TRACE(feed);
    auto get = http.fetch("/" + feed);
    ASSERT_EQ(get.code, CURLE_OK);
    EXPECT_EQ(get.status, 200);
    EXPECT_EQ(get.header("content-type"), "text/calendar; charset=utf-8");
    EXPECT_EQ(get.body, fs.published_feed(feed));
    EXPECT_EQ(get.header("content-length"), std::to_string(get.body.size()));
    EXPECT_EQ(get.header("content-encoding"), "");
    auto head = http.fetch("/" + feed, {.method = "HEAD"});
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(head.header("content-type"), "text/calendar; charset=utf-8");
    EXPECT_EQ(head.header("content-length"), get.header("content-length"));
    EXPECT_EQ(head.header("etag"), get.header("etag"));
    EXPECT_EQ(head.header("last-modified"), get.header("last-modified"));
  }
}

TEST(Server, StrongEtagAndIfNoneMatchGive304) {
  FileServer fs;
  Http http(fs.port());
  const std::string path = "/feeds/series/power-hour.ics";
  auto first = http.fetch(path);
  const std::string etag = first.header("etag");
  EXPECT_TRUE(std::regex_match(etag, std::regex(R"("[0-9a-f]{16}")"))) << etag;
  EXPECT_EQ(etag, strong_etag(first.body));
  for (const std::string& inm : {etag, "W/" + etag, "\"0000000000000000\", " + etag, std::string("*"),
                                 "\"nope\",W/" + etag}) {
    SCOPED_TRACE(inm);
    auto r = http.fetch(path, {.headers = {"If-None-Match: " + inm}});
    EXPECT_EQ(r.status, 304);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.header("etag"), etag);
    EXPECT_EQ(r.header("content-length"), "");
  }
  for (const std::string& inm : {std::string("\"0000000000000000\""), etag.substr(0, etag.size() - 1) + "x\""}) {
    SCOPED_TRACE(inm);
    auto r = http.fetch(path, {.headers = {"If-None-Match: " + inm}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, first.body);
  }
  // Another feed's ETag is not this one's.
  EXPECT_NE(http.fetch("/feeds/all.ics").header("etag"), etag);
}

TEST(Server, LastModifiedAndIfModifiedSince) {
  FileServer fs;
  Http http(fs.port());
  const std::string path = "/feeds/communities/nurses.ics";
  auto first = http.fetch(path);
  const std::string last_modified = first.header("last-modified");
  auto at = parse_http_date(last_modified);
  ASSERT_TRUE(at) << last_modified;
  EXPECT_EQ(http_date(*at), last_modified);
  auto same = http.fetch(path, {.headers = {"If-Modified-Since: " + last_modified}});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.body, "");
  auto later = http.fetch(path, {.headers = {"If-Modified-Since: " + http_date(*at + std::chrono::hours{24})}});
  EXPECT_EQ(later.status, 304);
  auto earlier = http.fetch(path, {.headers = {"If-Modified-Since: " + http_date(*at - std::chrono::seconds{1})}});
  EXPECT_EQ(earlier.status, 200);
  EXPECT_EQ(earlier.body, first.body);
  auto garbage = http.fetch(path, {.headers = {"If-Modified-Since: yesterday"}});
  EXPECT_EQ(garbage.status, 200);
  // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
  auto both = http.fetch(path, {.headers = {"If-None-Match: \"0000000000000000\"", "If-Modified-Since: " + last_modified}});
  EXPECT_EQ(both.status, 200);
}

TEST(Server, GzipOnlyWhenAccepted) {
  FileServer fs;
  Http http(fs.port());
  const std::string path = "/feeds/all.ics";
  const std::string plain = fs.published_feed("feeds/all.ics");
  auto decoded = http.fetch(path, {.decode_gzip = true});
  ASSERT_EQ(decoded.code, CURLE_OK);
  EXPECT_EQ(decoded.header("content-encoding"), "gzip");
  EXPECT_EQ(decoded.header("vary"), "Accept-Encoding");
  EXPECT_EQ(decoded.body, plain);
  const std::string gz_etag = decoded.header("etag");
  EXPECT_TRUE(std::regex_match(gz_etag, std::regex(R"("[0-9a-f]{16}-gz")"))) << gz_etag;

  auto raw = http.fetch(path, {.headers = {"Accept-Encoding: br, gzip;q=0.8"}});
  EXPECT_EQ(raw.header("content-encoding"), "gzip");
  EXPECT_EQ(raw.body, gzip_compress(plain));
  EXPECT_LT(raw.body.size(), plain.size());
  EXPECT_EQ(raw.header("content-length"), std::to_string(raw.body.size()));

  for (const std::string& refused : {"", "identity", "gzip;q=0", "br", "*;q=0", "gzip;q=0, *"}) {
    SCOPED_TRACE(refused);
    Request request;
    if (!refused.empty()) request.headers = {"Accept-Encoding: " + refused};
    auto r = http.fetch(path, request);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-encoding"), "");
    EXPECT_EQ(r.body, plain);
    EXPECT_EQ(r.header("etag"), strong_etag(plain));
  }
  auto star = http.fetch(path, {.headers = {"Accept-Encoding: *"}});
  EXPECT_EQ(star.header("content-encoding"), "gzip");
  auto revalidated = http.fetch(path, {.headers = {"Accept-Encoding: gzip", "If-None-Match: " + gz_etag}});
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_EQ(revalidated.header("etag"), gz_etag);
}

TEST(Server, KeepAliveServesRequestsOnOneConnection) {
  FileServer fs;
  Conn conn(fs.port());
  ASSERT_TRUE(conn.connected());
  const std::string expected = fs.published_feed("feeds/series/power-hour.ics");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(conn.send(get_request("/feeds/series/power-hour.ics")));
    auto r = conn.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, expected);
    EXPECT_EQ(r->headers.count("connection"), 0u);
  }
  // Two requests sent at once (pipelined) are answered in order.
  ASSERT_TRUE(conn.send(get_request("/healthz") + get_request("/feeds/series/power-hour.ics", "Connection: close\r\n")));
  auto a = conn.read_response();
  auto b = conn.read_response();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(b->body, expected);
  EXPECT_EQ(b->headers["connection"], "close");
  EXPECT_TRUE(conn.closed_by_server());

  Http http(fs.port());
  EXPECT_EQ(http.fetch("/feeds/all.ics").status, 200);
  EXPECT_EQ(http.new_connections(), 1);
  EXPECT_EQ(http.fetch("/feeds/all.ics").status, 200);
  EXPECT_EQ(http.new_connections(), 0);
}

TEST(Server, SubscribePageAndHealthz) {
  FileServer fs;
  Http http(fs.port());
  auto page = http.fetch("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  const std::string host = "127.0.0.1:" + std::to_string(fs.port());
  EXPECT_NE(page.body.find("webcal://" + host + "/feeds/series/power-hour.ics"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("http://" + host + "/feeds/communities/nurses.ics"), std::string::npos);
  EXPECT_NE(page.body.find("Mentoring Monday"), std::string::npos);
  // A Host header that is not a host name is refused, never echoed into the page.
  auto odd = http.fetch("/", {.headers = {"Host: <script>"}});
  EXPECT_EQ(odd.status, 400);
  EXPECT_EQ(odd.body.find("<script>"), std::string::npos);
  auto health = healthz(http);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_GE(health["requests"].get<int>(), 2);
  EXPECT_EQ(http.fetch("/healthz", {.method = "HEAD"}).body, "");
}

TEST(Server, UnknownPathsAre404WithShortBodies) {
  FileServer fs;
  Http http(fs.port());
  const std::string not_found = http.fetch("/nothing-here").body;
  EXPECT_EQ(not_found, "Not Found\n");
  for (const std::string path : {"/secret-word", "/feeds/series/secret-word.ics", "/feeds/communities/secret-word.ics",
                                 "/feeds/secret-word.ics", "/feeds/series/power-hour.ical", "/feeds/all.ics/secret-word",
                                 "/healthz/secret-word", "/feeds/members/secret-word.ics", "/index.htm"}) {
    SCOPED_TRACE(path);
    auto r = http.fetch(path);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, not_found);
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8");
    for (const auto& [name, value] : r.headers) EXPECT_EQ(value.find("secret"), std::string::npos) << name;
  }
  // A file source has no members: every token is unknown.
  EXPECT_EQ(http.fetch("/feeds/members/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics").status, 404);
}

TEST(Server, OtherMethodsAre405WithAllow) {
  FileServer fs;
  Http http(fs.port());
  for (const std::string method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    for (const std::string path : {"/feeds/all.ics", "/", "/feeds/secret-word"}) {
      SCOPED_TRACE(method + " " + path);
      auto r = http.fetch(path, {.method = method});
      EXPECT_EQ(r.status, 405);
      EXPECT_EQ(r.header("allow"), "GET, HEAD");
      EXPECT_EQ(r.body, "Method Not Allowed\n");
    }
    // A path no route serves is 404 whatever the method.
    auto r = http.fetch("/secret-word", {.method = method});
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "Not Found\n");
  }
  // A body is never read: the answer is 405 and the connection closes.
  Conn conn(fs.port());
  ASSERT_TRUE(conn.send("POST /feeds/all.ics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(conn.closed_by_server());
  // And a GET with a body is refused likewise (400: RFC 9112 gives GET no body).
  Conn get_with_body(fs.port());
  ASSERT_TRUE(get_with_body.send("GET /feeds/all.ics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"));
  auto g = get_with_body.read_response();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 400);
  EXPECT_TRUE(get_with_body.closed_by_server());
}

TEST(Server, NoPathLeavesTheFeedNamespace) {
  FileServer fs;
  // What each of these would name if it were decoded and normalised, the server refuses.
  const std::vector<std::string> targets{
      "/feeds/../feeds/all.ics", "/feeds/series/../../etc/passwd", "/../feeds/all.ics",
      "/feeds/%2e%2e/feeds/all.ics", "/feeds/series/%2e%2e%2fall.ics", "/feeds/series/%2E%2E%2Fall.ics",
      "/feeds/%252e%252e/feeds/all.ics", "/feeds/series/%252e%252e%252fall.ics",
      "/feeds\\series\\power-hour.ics", "/feeds/series/..\\..\\x.ics", "/feeds/series/%5c..%5cx.ics",
      "/feeds/series/power-hour.ics%00", "/feeds/series/power-hour%00.ics", "/feeds/all.ics%00.html",
      "http://127.0.0.1/feeds/all.ics", "http://evil.example/feeds/all.ics", "//feeds/all.ics",
      "/feeds//all.ics", "/feeds/./all.ics", "/feeds/series/.ics", "/feeds/series/..ics", "/feeds/%2fall.ics",
      "/feeds/series/%", "/feeds/series/%zz.ics", "*", "/etc/passwd", "/feeds/../../../../etc/passwd"};
  for (const auto& target : targets) {
    SCOPED_TRACE(target);
    Conn conn(fs.port());
    ASSERT_TRUE(conn.send(get_request(target, "Connection: close\r\n")));
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->status == 404 || r->status == 400) << r->status;
    EXPECT_LT(r->body.size(), 32u);
    EXPECT_EQ(r->body.find("VCALENDAR"), std::string::npos);
    EXPECT_EQ(r->body.find("root"), std::string::npos);
  }
  // Escapes that decode to the same path are that path (decoded once).
  Conn conn(fs.port());
  ASSERT_TRUE(conn.send(get_request("/feeds/series/power%2Dhour.ics")));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, fs.published_feed("feeds/series/power-hour.ics"));
}

TEST(Server, OversizedHeadersAre431) {
  FileServer fs({"--max-header-bytes", "4096"});
  Conn conn(fs.port());
  ASSERT_TRUE(conn.connected());
  conn.send(get_request("/feeds/all.ics", "X-Filler: " + std::string(8000, 'a') + "\r\n"));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(conn.closed_by_server());
  // Many small headers count too.
  Conn many(fs.port());
  std::string extra;
  for (int i = 0; i < 600; ++i) extra += "X-H" + std::to_string(i) + ": v\r\n";
  many.send(get_request("/feeds/all.ics", extra));
  auto m = many.read_response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 431);
  // Just under the limit is served.
  Conn fits(fs.port());
  fits.send(get_request("/feeds/all.ics", "X-Filler: " + std::string(3000, 'a') + "\r\n"));
  auto f = fits.read_response();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->status, 200);
}

TEST(Server, SlowClientsAreCutOffAfterTheRequestTimeout) {
  FileServer fs({"--request-timeout-ms", "300"});
  // Half a request, then nothing: 408 and the connection closes.
  Conn slow(fs.port());
  ASSERT_TRUE(slow.send("GET /feeds/all.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  const std::string answer = slow.read_to_close();
  EXPECT_EQ(answer.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << answer;
  // A connection that never sends anything is closed.
  Conn silent(fs.port());
  EXPECT_TRUE(silent.closed_by_server());
  // A keep-alive connection idle after its response is closed.
  Conn idle(fs.port());
  ASSERT_TRUE(idle.send(get_request("/healthz")));
  auto r = idle.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(idle.closed_by_server());
  // The server is still serving.
  Http http(fs.port());
  EXPECT_EQ(http.fetch("/feeds/all.ics").status, 200);
}

// Regression (issue 7): with --max-connections reached, idle keep-alive connections held
// every slot until their timeout (10 s), and each new client was answered 503 meanwhile.
// Now the connection idle the longest is closed to make room.
TEST(Server, AtTheConnectionLimitTheLongestIdleConnectionMakesRoom) {
  FileServer fs({"--max-connections", "2"});
  Conn a(fs.port()), b(fs.port());
  for (Conn* c : {&a, &b}) {
    ASSERT_TRUE(c->send(get_request("/healthz")));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // Both slots are held by idle keep-alive connections; a new client is served.
  Conn c(fs.port());
  ASSERT_TRUE(c.send(get_request("/feeds/all.ics")));
  auto served = c.read_response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(served->body, fs.published_feed("feeds/all.ics"));
  // `a` was idle the longest: it was closed; `b` still serves.
  EXPECT_TRUE(a.closed_by_server());
  ASSERT_TRUE(b.send(get_request("/healthz")));
  auto still = b.read_response();
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);
}

// Regression: a connection refused with 400 (say, for smuggling) stays open up to a
// second while the server drains what its client still sends, so the client reads the
// 400 rather than a reset. Those connections held their slots and were never evicted:
// a burst of bad requests got 95 of the next 100 clients a 503. They go first now.
TEST(Server, ConnectionsDrainingAfterARefusalMakeRoomFirst) {
  FileServer fs({"--max-connections", "2"});
  Conn a(fs.port()), b(fs.port());
  for (Conn* c : {&a, &b}) {
    ASSERT_TRUE(c->send("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
  }
  Conn c(fs.port());
  ASSERT_TRUE(c.send(get_request("/healthz")));
  auto served = c.read_response();
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

TEST(Server, ConnectionLimitAnswers503WhenEveryConnectionIsBusy) {
  FileServer fs({"--max-connections", "2"});
  Conn a(fs.port()), b(fs.port());
  for (Conn* c : {&a, &b}) {
    ASSERT_TRUE(c->send(get_request("/healthz")));
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    // Half of a next request: this connection is busy, not idle.
    ASSERT_TRUE(c->send("GET /feeds/all.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    ASSERT_TRUE(c->delivered());
  }
  Conn c(fs.port());
  const std::string refused = c.read_to_close();
  EXPECT_EQ(refused.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << refused;
  // The busy ones finish their requests; once one closes, a new connection is served.
  ASSERT_TRUE(b.send("\r\n"));
  auto finished = b.read_response();
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->status, 200);
  ASSERT_TRUE(a.send("Connection: close\r\n\r\n"));
  ASSERT_TRUE(a.read_response());
  EXPECT_TRUE(a.closed_by_server());
  const auto deadline = Steady::now() + kPatience;
  int status = 0;
  while (status != 200 && Steady::now() < deadline) {
    Conn d(fs.port());
    d.send(get_request("/healthz", "Connection: close\r\n"));
    auto r = d.read_response();
    status = r ? r->status : 0;
  }
  EXPECT_EQ(status, 200);
}

TEST(Server, MemberFeedByTokenAndAnAccessLogWithoutIt) {
  StoreServer ss;
  Http http(ss.port());
  auto member = http.fetch("/feeds/members/" + ss.token + ".ics");
  EXPECT_EQ(member.status, 200);
  EXPECT_EQ(member.header("cache-control"), "private, max-age=300");
  EXPECT_NE(member.body.find("Power Hour"), std::string::npos);
  EXPECT_EQ(member.body.find("Mentoring Monday"), std::string::npos);
  EXPECT_EQ(http.fetch("/feeds/expanded/members/" + ss.token + ".ics").status, 200);
  // A wrong token (one character off, or another length) is the same 404 as any unknown path.
  std::string wrong = ss.token;
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  const auto unknown = http.fetch("/feeds/series/nope.ics");
  for (const std::string& bad : {wrong, ss.token.substr(0, 42), ss.token + "A"}) {
    auto r = http.fetch("/feeds/members/" + bad + ".ics");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, unknown.body);
    EXPECT_EQ(r.header("content-length"), unknown.header("content-length"));
  }
  // Percent-encoding the path does not put the token in the log either.
  EXPECT_EQ(http.fetch("/feeds/%6dembers/" + ss.token + ".ics").status, 200);
  EXPECT_EQ(http.fetch("/feeds/series/power-hour.ics").status, 200);

  ss.server->signal(SIGTERM);
  ASSERT_EQ(ss.server->wait_exit(), 0);
  const std::string log = ss.server->access_log();
  EXPECT_EQ(log.find(ss.token), std::string::npos) << log;
  EXPECT_EQ(log.find(ss.token.substr(0, 20)), std::string::npos) << log;
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 8u) << log;
  static const std::regex clf(
      R"(127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(GET|HEAD) \S+ HTTP/1\.1" \d{3} \d+ \d+\.\dms)");
  for (const auto& line : lines) EXPECT_TRUE(std::regex_match(line, clf)) << line;
  EXPECT_NE(lines[0].find("\"GET /feeds/members/<token>.ics HTTP/1.1\" 200 "), std::string::npos) << lines[0];
  EXPECT_NE(lines[3].find("\"GET /feeds/members/<token>.ics HTTP/1.1\" 404 10 "), std::string::npos) << lines[3];
  EXPECT_NE(lines[6].find("\"GET /feeds/%6dembers/<token>.ics HTTP/1.1\" 200 "), std::string::npos) << lines[6];
  EXPECT_NE(lines[7].find("\"GET /feeds/series/power-hour.ics HTTP/1.1\" 200 "), std::string::npos) << lines[7];
}

TEST(Server, StoreChangeIsVisibleInTheNextRequestAndUntouchedFeedsAreNotRerendered) {
  StoreServer ss;
  Http http(ss.port());
  const std::string changed = "/feeds/series/power-hour.ics", untouched = "/feeds/series/mentoring-monday.ics";
  auto before = http.fetch(changed);
  auto other = http.fetch(untouched);
  ASSERT_EQ(before.status, 200);
  ASSERT_EQ(other.status, 200);
  // Served again from the cache: no render.
  const auto renders = healthz(http)["renders"].get<int>();
  EXPECT_EQ(http.fetch(changed).header("etag"), before.header("etag"));
  EXPECT_EQ(http.fetch(untouched, {.headers = {"If-None-Match: " + other.header("etag")}}).status, 304);
  EXPECT_EQ(healthz(http)["renders"].get<int>(), renders);

  ss.cli({"cancel", "power-hour", "2027-03-03", "--reason", "Testing week"});
  auto after = http.fetch(changed, {.headers = {"If-None-Match: " + before.header("etag")}});
  EXPECT_EQ(after.status, 200);
  EXPECT_NE(after.header("etag"), before.header("etag"));
  EXPECT_NE(after.body, before.body);
  // The cancelled session stays, as cancelled (docs/cancellations.md).
  EXPECT_NE(after.body.find("X-CONVENE-STATUS:cancelled"), std::string::npos);
  EXPECT_EQ(before.body.find("X-CONVENE-STATUS:cancelled"), std::string::npos);
  // What publish writes from the changed store, byte for byte; with no FILE and no
  // --db, publish (like every verb) reads the store that $CONVENE_DB names.
  TempDir out;
  auto env = kEnv;
  env["CONVENE_DB"] = ss.db;
  auto published = testing::run_cli({"publish", "--out", out.path().string()}, "", env);
  ASSERT_EQ(published.exit_code, 0) << published.err;
  EXPECT_EQ(after.body, testing::read_file(out / "feeds/series/power-hour.ics"));
  // The other series: same bytes, same ETag, still 304, and not rendered again.
  auto still = http.fetch(untouched, {.headers = {"If-None-Match: " + other.header("etag")}});
  EXPECT_EQ(still.status, 304);
  EXPECT_EQ(http.fetch(untouched).body, other.body);
  EXPECT_EQ(healthz(http)["renders"].get<int>(), renders + 1);
  // The member's feed (Power Hour) changed too.
  EXPECT_NE(http.fetch("/feeds/members/" + ss.token + ".ics").body.find("X-CONVENE-STATUS:cancelled"),
            std::string::npos);
}

TEST(Server, SigtermFinishesTheRequestInFlightAndExitsZero) {
  FileServer fs;
  Conn idle(fs.port()), busy(fs.port());
  ASSERT_TRUE(idle.send(get_request("/healthz")));
  ASSERT_TRUE(idle.read_response());
  ASSERT_TRUE(busy.send(get_request("/healthz")));
  ASSERT_TRUE(busy.read_response());
  // Half of a request is in flight when SIGTERM arrives.
  ASSERT_TRUE(busy.send("GET /feeds/all.ics HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
  ASSERT_TRUE(busy.delivered());
  fs.server->signal(SIGTERM);
  ASSERT_TRUE(fs.server->wait_for_stdout("stopping")) << fs.server->out();
  // The idle connection is closed; the one in flight gets its whole response.
  EXPECT_TRUE(idle.closed_by_server());
  ASSERT_TRUE(busy.send("Accept-Encoding: identity\r\n\r\n"));
  auto r = busy.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, fs.published_feed("feeds/all.ics"));
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(busy.closed_by_server());
  EXPECT_EQ(fs.server->wait_exit(), 0);
  EXPECT_NE(fs.server->out().find("stopped after 3 requests"), std::string::npos) << fs.server->out();
  // Nothing listens any more.
  Conn after(fs.port());
  EXPECT_FALSE(after.connected());
}

// --- strict framing (issue 7: RFC 9112 §3.2, §5.2, §6.1, §6.3) -------------------------------

// How many responses `bytes` holds (each starts with a status line).
std::size_t responses_in(const std::string& bytes) {
  std::size_t n = 0;
  for (auto at = bytes.find("HTTP/1.1 "); at != std::string::npos; at = bytes.find("HTTP/1.1 ", at + 1)) ++n;
  return n;
}

// Sends `request` followed by a pipelined GET /healthz on one connection, and expects
// exactly one response, `status`, with Connection: close, then the server's close: the
// bytes after the refused request are never read as a request.
void expect_refused_alone(unsigned short port, const std::string& request, int status = 400) {
  SCOPED_TRACE(request);
  Conn conn(port);
  ASSERT_TRUE(conn.connected());
  ASSERT_TRUE(conn.send(request + get_request("/healthz")));
  const std::string answer = conn.read_to_close();
  EXPECT_EQ(answer.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0), 0u) << answer;
  EXPECT_EQ(responses_in(answer), 1u) << answer;
  EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos) << answer;
  EXPECT_EQ(answer.find("\"status\":\"ok\""), std::string::npos) << answer;
}

// Regression (issue 7): `Transfer-Encoding: gzip`, `xchunked` or `chunked, identity` on a
// GET was answered 200 on a kept-alive connection, and the bytes after the header were
// served as the next request: a smuggled `GET /healthz` got its 200. Beast reads a body
// only when "chunked" is the last coding and ignores the field otherwise; a proxy in
// front may read the same bytes as a body. RFC 9112 §6.3 requires 400 and closing.
TEST(Server, SmuggledTransferEncodingIsRefusedAndTheConnectionClosed) {
  FileServer fs;
  for (const std::string coding : {"gzip", "xchunked", "chunked, identity", "identity", "gzip, chunked", "chunked",
                                   "chunked, chunked", "CHUNKED", ""}) {
    expect_refused_alone(fs.port(), "GET /feeds/all.ics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                        "\r\n\r\n" + (coding.find("chunked") != std::string::npos ? "0\r\n\r\n" : ""));
    expect_refused_alone(fs.port(), "HEAD /feeds/all.ics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                        "\r\n\r\n");
  }
  // The field twice.
  expect_refused_alone(fs.port(),
                       "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  // On methods that may have a body, only "chunked" is a coding the server understands;
  // others are 400 before the method is looked at (405), and HTTP/1.0 has no codings.
  for (const std::string coding : {"gzip", "xchunked", "chunked, identity", "gzip, chunked"})
    expect_refused_alone(fs.port(), "POST /feeds/all.ics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                        "\r\n\r\n0\r\n\r\n");
  expect_refused_alone(fs.port(), "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  // "chunked" on a POST is understood framing: the method is what is refused (405).
  expect_refused_alone(fs.port(), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 405);
}

// Regression (issue 7): conflicting framing. Content-Length with Transfer-Encoding (either
// order), Content-Length values that differ or are not a number, and any body on GET or
// HEAD are each 400 and the connection closes. (A POST with a sound Content-Length is a
// 405 here: no route takes a body.)
TEST(Server, ConflictingFramingIsRefusedAndTheConnectionClosed) {
  FileServer fs;
  const std::vector<std::string> conflicting{
      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
      "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n",    "Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
      "Content-Length: 5\r\nContent-Length: 6\r\n",          "Content-Length: 5, 6\r\n",
      "Content-Length: -1\r\n",                              "Content-Length: 0x5\r\n",
      "Content-Length: +5\r\n",                              "Content-Length: 5 5\r\n",
      "Content-Length: 99999999999999999999999\r\n"};
  for (const auto& fields : conflicting)
    for (const std::string method : {"GET", "HEAD", "POST"})
      expect_refused_alone(fs.port(), method + " /feeds/all.ics HTTP/1.1\r\nHost: x\r\n" + fields + "\r\nhello");
  for (const std::string fields : {"Content-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 5\r\n"}) {
    expect_refused_alone(fs.port(), "GET /feeds/all.ics HTTP/1.1\r\nHost: x\r\n" + fields + "\r\nhello");
    expect_refused_alone(fs.port(), "HEAD /feeds/all.ics HTTP/1.1\r\nHost: x\r\n" + fields + "\r\nhello");
    expect_refused_alone(fs.port(), "POST /feeds/all.ics HTTP/1.1\r\nHost: x\r\n" + fields + "\r\nhello", 405);
  }
  // A zero Content-Length is no body: served, and the connection stays open.
  Conn conn(fs.port());
  ASSERT_TRUE(conn.send(get_request("/healthz", "Content-Length: 0\r\n")));
  auto r = conn.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_TRUE(conn.send(get_request("/healthz")));
  ASSERT_TRUE(conn.read_response());
}

// Regression (issue 7): a request without Host, or with two, was served. RFC 9112 §3.2:
// 400 for an HTTP/1.1 request without Host, with more than one, or with an invalid one.
TEST(Server, HostMustBeThereOnceAndValid) {
  FileServer fs;
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n");
  for (const std::string host : {"a b", "<script>", "a\"b", "a/b", "a@b", "a\\b"})
    expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
  // HTTP/1.0 needs none; an empty Host is allowed (RFC 9110 §7.2); host:port and IPv6.
  for (const std::string request :
       {"GET /healthz HTTP/1.0\r\n\r\n", "GET /healthz HTTP/1.1\r\nHost:\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: convene.example.org:8443\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"}) {
    SCOPED_TRACE(request);
    Conn conn(fs.port());
    ASSERT_TRUE(conn.send(request));
    auto r = conn.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

// Regression (issue 7): obs-fold (a header line continued on the next line by leading
// whitespace) was accepted, and folded into the value. RFC 9112 §5.2 lets a server
// refuse it with 400, and §2.2 whitespace before the first header line; a field name
// with whitespace before its colon must be refused (§5.1).
TEST(Server, ObsFoldAndStrayWhitespaceAreRefused) {
  FileServer fs;
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nX-A: a\r\n Host: x\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n");
  expect_refused_alone(fs.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n chunked\r\n\r\n");
}

// --- the access log -----------------------------------------------------------------------

std::string percent_encode_all(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) out += std::string("%") + hex[c >> 4] + hex[c & 15];
  return out;
}

// Regression (issue 7): a member token was written to the access log when the path had a
// double slash or a prefix (`//feeds/members/TOKEN.ics`, `/feeds//members/...`,
// `/x/feeds/members/...`): easy to get from a base URL that ends in "/". Only exact
// prefixes were masked. Every shape a token can take in a target is masked now.
TEST(Server, AccessLogNeverHoldsATokenWhateverThePath) {
  StoreServer ss;
  const std::string& t = ss.token;
  const std::string half = t.substr(0, 21), other_half = t.substr(21);
  const std::vector<std::string> targets{
      "/feeds/members/" + t + ".ics", "//feeds/members/" + t + ".ics", "/feeds//members/" + t + ".ics",
      "/x/feeds/members/" + t + ".ics", "/feeds/expanded//members/" + t + ".ics", "/feeds/members/" + t,
      "/feeds/members/" + t + ".ics?x=1", "/feeds/members/" + t + ".ics/", "/feeds/members/" + t + ".ics/extra",
      "/feeds/members/" + t + ".ics?token=" + t, "/?token=" + t, "/me/" + t, "/" + t, "/a/" + t + "/b",
      "/feeds/members/" + percent_encode_all(t) + ".ics", "/feeds/members/%" + t + ".ics",
      "/feeds/members/" + t.substr(0, 10) + percent_encode_all(t.substr(10, 1)) + t.substr(11) + ".ics",
      "/feeds/members/" + percent_encode_all(percent_encode_all(t)) + ".ics", "/feeds/%6dembers/" + t + ".ics",
      "/feeds/members/" + half + ".ics", "/feeds/members/" + half + "%2F" + other_half + ".ics",
      "/feeds/members/" + half + "%2E" + other_half + ".ics", "/feeds/members/" + t + "%00.ics",
      "/feeds/members/" + t + "\xff.ics", "/feeds/members/" + t + ".ics#frag", "/feeds/members/" + t + ";x=y",
      "/" + std::string(300, 'a') + t, "/feeds/members/" + t + "." + t};
  for (const auto& target : targets) {
    Conn conn(ss.port());
    ASSERT_TRUE(conn.send(get_request(target, "Connection: close\r\n")));
    EXPECT_TRUE(conn.read_response()) << target;
  }
  // A method is any token too, and one sent as the method was logged as it came: a
  // method the server does not know is masked like a path.
  for (const std::string request : {t + " / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                                    t + " /feeds/members/" + t + ".ics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}) {
    Conn conn(ss.port());
    ASSERT_TRUE(conn.send(request));
    EXPECT_TRUE(conn.read_response()) << request;
  }
  Http http(ss.port());
  EXPECT_EQ(http.fetch("/feeds/series/power-hour.ics").status, 200);
  ss.server->signal(SIGTERM);
  ASSERT_EQ(ss.server->wait_exit(), 0);
  const std::string log = ss.server->access_log();
  std::size_t lines = 0;
  for (char c : log) lines += c == '\n';
  EXPECT_EQ(lines, targets.size() + 3) << log;
  // Neither the token nor any 20 characters of it, in any encoding we sent.
  for (std::size_t at = 0; at + 20 <= t.size(); ++at) {
    const std::string piece = t.substr(at, 20);
    EXPECT_EQ(log.find(piece), std::string::npos) << piece << "\n" << log;
    EXPECT_EQ(log.find(percent_encode_all(piece)), std::string::npos) << log;
    EXPECT_EQ(log.find(percent_encode_all(percent_encode_all(piece))), std::string::npos) << log;
  }
  EXPECT_NE(log.find("\"GET //feeds/members/<token>.ics HTTP/1.1\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /x/feeds/members/<token>.ics HTTP/1.1\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"GET /feeds/members/<token>.ics?token=<token> HTTP/1.1\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"<token> /feeds/members/<token>.ics HTTP/1.1\""), std::string::npos) << log;
  // What is not a token stays readable.
  EXPECT_NE(log.find("\"GET /feeds/series/power-hour.ics HTTP/1.1\" 200 "), std::string::npos) << log;
}

// Regression (issue 7): the access log grew forever (162 MB after 1.8 M requests) with no
// way to reopen it. logrotate renames the file and sends SIGHUP; the server then writes
// to a new file of that name, and no line is lost.
TEST(Server, SighupReopensTheAccessLog) {
  FileServer fs;
  const auto log = fs.dir / "access.log";
  Http http(fs.port());
  ASSERT_EQ(http.fetch("/feeds/all.ics").status, 200);
  std::filesystem::rename(log, fs.dir / "access.log.1");
  fs.server->signal(SIGHUP);
  // Until the reopened file shows a request (each fetch is one more line, in one file).
  int fetched = 1;
  const auto deadline = Steady::now() + kPatience;
  while (Steady::now() < deadline) {
    ASSERT_EQ(http.fetch("/healthz").status, 200);
    ++fetched;
    if (std::filesystem::exists(log) && testing::read_file(log).find("/healthz") != std::string::npos) break;
  }
  ASSERT_TRUE(std::filesystem::exists(log));
  ASSERT_EQ(http.fetch("/feeds/series/power-hour.ics").status, 200);
  ++fetched;
  fs.server->signal(SIGTERM);
  ASSERT_EQ(fs.server->wait_exit(), 0);
  const std::string old_lines = testing::read_file(fs.dir / "access.log.1");
  const std::string new_lines = testing::read_file(log);
  EXPECT_NE(old_lines.find("\"GET /feeds/all.ics HTTP/1.1\" 200 "), std::string::npos) << old_lines;
  EXPECT_NE(new_lines.find("\"GET /feeds/series/power-hour.ics HTTP/1.1\" 200 "), std::string::npos) << new_lines;
  EXPECT_EQ(new_lines.find("/feeds/all.ics"), std::string::npos) << new_lines;
  std::size_t lines = 0;
  for (char c : old_lines + new_lines) lines += c == '\n';
  EXPECT_EQ(lines, std::size_t(fetched));
  EXPECT_EQ(std::filesystem::status(log).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST(Server, AccessLogToStandardOutputForTheJournal) {
  TempDir dir;
  ServeProcess server({definitions_file()}, dir / "stderr-only", true);
  Http http(server.port());
  ASSERT_EQ(http.fetch("/feeds/series/power-hour.ics").status, 200);
  EXPECT_TRUE(server.wait_for_stdout("\"GET /feeds/series/power-hour.ics HTTP/1.1\" 200 ")) << server.out();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 0);
}

// --- the request path without sockets (what the fuzzer drives) ------------------------------

// Without the Date line, which moves with the clock.
std::string without_dates(const std::string& bytes) {
  static const std::regex date("Date: [^\r]*\r\n");
  return std::regex_replace(bytes, date, "");
}

TEST(Server, ServeBytesAnswersTheSameHoweverTheBytesArrive) {
  FeedCatalog catalog(FeedSource::file(definitions_file()), {});
  http::Router router;
  add_feed_routes(router, catalog);
  http::ServerOptions options;
  options.max_header_bytes = 1024;
  const std::string pipelined = get_request("/feeds/series/power-hour.ics") +
                                "HEAD /feeds/all.ics HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n" +
                                get_request("/nothing") + get_request("/", "Connection: close\r\n") +
                                get_request("/feeds/all.ics");
  const std::string whole = without_dates(http::internal::serve_bytes(router, options, pipelined));
  EXPECT_EQ(responses_in(whole), 4u) << whole;
  EXPECT_NE(whole.find("HTTP/1.1 304 Not Modified"), std::string::npos);
  EXPECT_NE(whole.find("HTTP/1.1 404 Not Found"), std::string::npos);
  EXPECT_NE(whole.find("BEGIN:VCALENDAR"), std::string::npos);
  for (std::size_t chunk : {1, 2, 3, 5, 7, 64, 1000}) {
    SCOPED_TRACE(chunk);
    EXPECT_EQ(without_dates(http::internal::serve_bytes(router, options, pipelined, chunk)), whole);
  }
  // The header limit counts the whole block, however many reads it took (Beast 1.74
  // counts per read: 600 small fields arriving 4 KiB at a time slipped past 4096).
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  for (std::size_t chunk : {1, 100, 1000, 0}) {
    const auto answer = http::internal::serve_bytes(router, options, many, chunk);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << chunk << answer;
    EXPECT_EQ(responses_in(answer), 1u);
  }
  // A smuggled request after a refused one is never answered, however it arrives.
  const std::string smuggle = "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + get_request("/healthz");
  for (std::size_t chunk : {1, 10, 0}) {
    const auto answer = http::internal::serve_bytes(router, options, smuggle, chunk);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400 ", 0), 0u) << answer;
    EXPECT_EQ(responses_in(answer), 1u) << answer;
  }
}

// --- behind a reverse proxy, and bad options -----------------------------------------------

TEST(Server, BehindATrustedProxyThePageAndTheLogUseTheForwardedFields) {
  FileServer fs({"--trusted-proxy", "127.0.0.1"});
  Http http(fs.port());
  const std::vector<std::string> forwarded{"X-Forwarded-Proto: https", "X-Forwarded-Host: cop.example.org",
                                           "X-Forwarded-For: 203.0.113.7"};
  auto page = http.fetch("/", {.headers = forwarded});
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("webcal://cop.example.org/feeds/series/power-hour.ics"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("https://cop.example.org/feeds/communities/nurses.ics"), std::string::npos);
  EXPECT_EQ(page.body.find("127.0.0.1"), std::string::npos);
  fs.server->signal(SIGTERM);
  ASSERT_EQ(fs.server->wait_exit(), 0);
  EXPECT_EQ(fs.server->access_log().rfind("203.0.113.7 - - [", 0), 0u) << fs.server->access_log();
}

TEST(Server, ForwardedFieldsFromAnyoneElseAreIgnored) {
  FileServer fs({"--trusted-proxy", "10.0.0.0/8"});
  Http http(fs.port());
  auto page = http.fetch("/", {.headers = {"X-Forwarded-Proto: https", "X-Forwarded-Host: evil.example",
                                           "X-Forwarded-For: 203.0.113.7"}});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body.find("evil.example"), std::string::npos);
  EXPECT_NE(page.body.find("http://127.0.0.1:" + std::to_string(fs.port()) + "/feeds/all.ics"), std::string::npos);
  fs.server->signal(SIGTERM);
  ASSERT_EQ(fs.server->wait_exit(), 0);
  EXPECT_EQ(fs.server->access_log().rfind("127.0.0.1 - - [", 0), 0u) << fs.server->access_log();
}

TEST(Server, BadServeOptionsAreOneClearMessage) {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"--trusted-proxy", "10.0.0/8"},
       "convene: error: trusted proxy \"10.0.0/8\" is not an address or a network (ADDRESS/BITS)\n"},
      {{"--trusted-proxy", "127.0.0.1/33"},
       "convene: error: trusted proxy \"127.0.0.1/33\" is not an address or a network (ADDRESS/BITS)\n"},
      {{"--access-log", (dir / "missing" / "access.log").string()},
       "convene: error: access log " + (dir / "missing" / "access.log").string() +
           ": cannot open for appending: No such file or directory\n"}};
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args{"serve", definitions_file(), "--listen", "127.0.0.1:0"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = testing::run_cli(args, "", kEnv);
    EXPECT_EQ(r.exit_code, 1) << flags[1];
    EXPECT_EQ(r.err, message);
    EXPECT_EQ(r.out, "");
  }
}

}  // namespace
}  // namespace convene
