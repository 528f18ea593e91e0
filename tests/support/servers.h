// Real servers for the tests, as child processes on 127.0.0.1 with ports the kernel picks:
// the SMTP sink (tests/servers/smtp_sink.py, over Debian's python3-aiosmtpd) and Radicale.
// Each is started by the test and stopped when its object goes away, whatever happened
// (SIGTERM, then SIGKILL after a deadline, watched through a pidfd).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace convene::testing {

class ChildProcess {
 public:
  // Runs `argv` (argv[0] a path) with standard output and error on one pipe, and waits
  // until that output matches `ready` (an ECMAScript regex; its first group, if any, is
  // kept as match()), or the process exits, or `deadline` passes. nullptr on failure,
  // with `error` saying why and quoting the output.
  static std::unique_ptr<ChildProcess> start(const std::vector<std::string>& argv, const std::string& ready,
                                             std::string& error,
                                             std::chrono::seconds deadline = std::chrono::seconds(60));
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& match() const { return match_; }
  std::string output_tail() const;
  pid_t pid() const { return pid_; }
  // SIGTERM, then SIGKILL if it has not exited within 20 s; waits for it. Returns its
  // exit status (128 + the signal when a signal ended it; -1 when already stopped).
  int stop();
  // Waits until it exits by itself (at most `deadline`, then -1) and returns its exit
  // status as stop() does.
  int wait(std::chrono::seconds deadline);

 private:
  ChildProcess(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  void drain();
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string match_;
  std::thread drain_;
  mutable std::mutex mutex_;
  std::string output_;
};

// The SMTP sink, writing each accepted message to `dir` (see tests/servers/smtp_sink.py).
struct SmtpSinkOptions {
  std::string user, password;   // require AUTH
  std::filesystem::path tls_dir;  // with starttls or smtps: the certificate goes there
  bool starttls = false, smtps = false;
  std::string reject, defer;    // regexes of recipients refused with 550 / 451
  int hold = 0;                 // answer the end of data only once this many messages wait
};

class SmtpSink {
 public:
  static std::unique_ptr<SmtpSink> start(const std::filesystem::path& dir, const SmtpSinkOptions& options,
                                         std::string& error);
  int port() const { return port_; }
  // smtp://127.0.0.1:PORT (or smtps://)
  std::string url() const;
  const std::filesystem::path& dir() const { return dir_; }
  // The .eml files received so far, in order of arrival.
  std::vector<std::filesystem::path> messages() const;
  // The messages received after the first `seen` (which it advances), as
  // tests/oracles/read_mail.py reads them: a JSON array. Throws when the reader fails.
  nlohmann::json read_new(std::size_t& seen) const;
  // How many connections it accepted.
  std::size_t connections() const;
  // The certificate clients must trust (with tls_dir).
  std::filesystem::path ca_file() const { return options_.tls_dir / "cert.pem"; }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::filesystem::path dir_;
  SmtpSinkOptions options_;
  int port_ = 0;
};

// Radicale over `dir` (config and storage there), with no authentication, or with the
// given users (an htpasswd file of plain passwords).
class RadicaleServer {
 public:
  static std::unique_ptr<RadicaleServer> start(const std::filesystem::path& dir, std::string& error,
                                               const std::vector<std::pair<std::string, std::string>>& users = {});
  int port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::string log_tail() const { return process_->output_tail(); }
  // MKCALENDAR of the collection at `path` (setting a test up is not the client's job),
  // as `user` (Radicale makes a user's own collection, /USER/, at their first login);
  // returns the HTTP status, 201 when made.
  long make_calendar(const std::string& path, const std::string& user = "", const std::string& password = "") const;

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

// A loopback port that refuses connections for as long as this object lives (bound, not
// listening): "a server that is down", with no race against other suites.
class RefusingPort {
 public:
  RefusingPort();
  ~RefusingPort();
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace convene::testing
