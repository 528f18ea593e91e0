#include "servers.h"

#include <curl/curl.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <stdexcept>

#include "test_support.h"

extern char** environ;

namespace fs = std::filesystem;

namespace convene::testing {

namespace {

using SteadyClock = std::chrono::steady_clock;

int remaining_ms(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? int(left) : 0;
}

}  // namespace

// --- ChildProcess --------------------------------------------------------------------------

std::unique_ptr<ChildProcess> ChildProcess::start(const std::vector<std::string>& argv, const std::string& ready,
                                                  std::string& error, std::chrono::seconds deadline_after) {
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    error = "pipe2 failed";
    return nullptr;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  std::vector<std::string> args = argv;
  std::vector<char*> argp;
  for (auto& a : args) argp.push_back(a.data());
  argp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    error = "cannot run " + argv[0];
    return nullptr;
  }
  std::unique_ptr<ChildProcess> child(new ChildProcess(pid, out[0]));
  const auto deadline = SteadyClock::now() + deadline_after;
  const std::regex pattern(ready);
  std::string log;
  while (true) {
    std::smatch m;
    if (std::regex_search(log, m, pattern)) {
      if (m.size() > 1) child->match_ = m[1];
      break;
    }
    pollfd p{child->fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n == 0) {
      error = argv[0] + " was not ready within " + std::to_string(deadline_after.count()) + " s; its output:\n" + log;
      return nullptr;  // the destructor stops it
    }
    char buf[4096];
    const ssize_t got = ::read(child->fd_, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      error = argv[0] + " exited before it was ready; its output:\n" + log;
      return nullptr;
    }
    log.append(buf, std::size_t(got));
  }
  child->output_ = log;
  child->drain_ = std::thread([c = child.get()] { c->drain(); });
  return child;
}

void ChildProcess::drain() {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    std::lock_guard lock(mutex_);
    output_.append(buf, std::size_t(n));
    if (output_.size() > 256 * 1024) output_.erase(0, output_.size() - 64 * 1024);
  }
}

std::string ChildProcess::output_tail() const {
  std::lock_guard lock(mutex_);
  return output_.size() > 4000 ? output_.substr(output_.size() - 4000) : output_;
}

int ChildProcess::stop() {
  int code = -1;
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const int pidfd = int(::syscall(SYS_pidfd_open, pid_, 0));
    bool exited = false;
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      exited = ::poll(&p, 1, 20000) == 1;
      ::close(pidfd);
    }
    if (!exited) ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }
  if (drain_.joinable()) drain_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return code;
}

int ChildProcess::wait(std::chrono::seconds deadline) {
  if (pid_ <= 0) return -1;
  const int pidfd = int(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) return -1;
  pollfd p{pidfd, POLLIN, 0};
  const bool exited = ::poll(&p, 1, int(std::chrono::milliseconds(deadline).count())) == 1;
  ::close(pidfd);
  if (!exited) return -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (drain_.joinable()) drain_.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

ChildProcess::~ChildProcess() { stop(); }

// --- SmtpSink ------------------------------------------------------------------------------

std::unique_ptr<SmtpSink> SmtpSink::start(const fs::path& dir, const SmtpSinkOptions& options, std::string& error) {
  fs::create_directories(dir);
  std::vector<std::string> argv = {"/usr/bin/python3", (source_dir() / "tests/servers/smtp_sink.py").string(),
                                   "--dir", dir.string()};
  if (!options.user.empty()) argv.insert(argv.end(), {"--user", options.user, "--password", options.password});
  if (!options.tls_dir.empty()) {
    fs::create_directories(options.tls_dir);
    argv.insert(argv.end(), {"--tls-dir", options.tls_dir.string()});
  }
  if (options.starttls) argv.push_back("--starttls");
  if (options.smtps) argv.push_back("--smtps");
  if (!options.reject.empty()) argv.insert(argv.end(), {"--reject", options.reject});
  if (!options.defer.empty()) argv.insert(argv.end(), {"--defer", options.defer});
  if (options.hold > 0) argv.insert(argv.end(), {"--hold", std::to_string(options.hold)});
  auto process = ChildProcess::start(argv, R"(listening (\d+))", error);
  if (!process) return nullptr;
  std::unique_ptr<SmtpSink> sink(new SmtpSink());
  sink->port_ = std::stoi(process->match());
  sink->process_ = std::move(process);
  sink->dir_ = dir;
  sink->options_ = options;
  return sink;
}

std::string SmtpSink::url() const {
  return std::string(options_.smtps ? "smtps" : "smtp") + "://127.0.0.1:" + std::to_string(port_);
}

std::vector<fs::path> SmtpSink::messages() const {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir_))
    if (entry.path().extension() == ".eml") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json SmtpSink::read_new(std::size_t& seen) const {
  const auto all = messages();
  std::vector<std::string> args{(source_dir() / "tests/oracles/read_mail.py").string()};
  for (std::size_t i = seen; i < all.size(); ++i) args.push_back(all[i].string());
  seen = all.size();
  if (args.size() == 1) return nlohmann::json::array();
  const auto r = run_python(args);
  if (r.exit_code != 0) throw std::runtime_error("read_mail.py failed: " + r.err);
  return nlohmann::json::parse(r.out);
}

std::size_t SmtpSink::connections() const {
  const fs::path log = dir_ / "connections.log";
  if (!fs::exists(log)) return 0;
  const std::string text = read_file(log);
  return std::size_t(std::count(text.begin(), text.end(), '\n'));
}

// --- Radicale ------------------------------------------------------------------------------

std::unique_ptr<RadicaleServer> RadicaleServer::start(const fs::path& dir, std::string& error,
                                                      const std::vector<std::pair<std::string, std::string>>& users) {
  fs::create_directories(dir);
  std::string auth = "[auth]\ntype = none\n";
  if (!users.empty()) {
    std::string htpasswd;
    for (const auto& [user, password] : users) htpasswd += user + ":" + password + "\n";
    write_file(dir / "users", htpasswd);
    auth = "[auth]\ntype = htpasswd\nhtpasswd_filename = " + (dir / "users").string() +
           "\nhtpasswd_encryption = plain\ndelay = 0\n";
  }
  write_file(dir / "config", "[server]\nhosts = 127.0.0.1:0\n" + auth +
                                 "[rights]\ntype = owner_only\n"
                                 "[storage]\nfilesystem_folder = " + (dir / "collections").string() + "\n"
                                 "[web]\ntype = none\n"
                                 "[logging]\nlevel = info\n");
  // Radicale fsyncs every item it stores; a test server's collections are thrown away, and the
  // round-trip tests upload thousands of objects. eatmydata (Debian's, .ci/install) turns fsync
  // into a no-op for this process only: 3x faster on a shared disk, the same server otherwise.
  std::vector<std::string> command = {"/usr/bin/python3", "-m", "radicale", "--config", (dir / "config").string()};
  if (::access("/usr/bin/eatmydata", X_OK) == 0) command.insert(command.begin(), "/usr/bin/eatmydata");
  auto process = ChildProcess::start(command,
                                     R"(Listening on '\[?127\.0\.0\.1\]?:(\d+)[\s\S]*Radicale server ready)", error);
  if (!process) return nullptr;
  std::unique_ptr<RadicaleServer> server(new RadicaleServer());
  server->port_ = std::stoi(process->match());
  server->process_ = std::move(process);
  return server;
}

// --- RefusingPort -------------------------------------------------------------------------

RefusingPort::RefusingPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot bind a loopback port");
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

RefusingPort::~RefusingPort() {
  if (fd_ >= 0) ::close(fd_);
}

long RadicaleServer::make_calendar(const std::string& path, const std::string& user,
                                   const std::string& password) const {
  CURL* c = curl_easy_init();
  if (!c) return 0;
  const std::string target = url(path);
  curl_easy_setopt(c, CURLOPT_URL, target.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "MKCALENDAR");
  if (!user.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.c_str());
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
  curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  return status;
}

}  // namespace convene::testing
