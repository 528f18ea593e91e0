// Helpers shared by the tests: temporary folders, files, and running a program
// (the convene CLI, /usr/bin/python3, node) with its output captured.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace convene::testing {

// The source tree, the build tree, and the CLI under test.
std::filesystem::path source_dir();
std::filesystem::path binary_dir();
std::filesystem::path cli_path();
// `convene-testing`: the same CLI with the test hooks of convene/fault_points.h
// (CONVENE_TEST_CRASH_AFTER, ...), for the kill -9 and concurrency tests.
std::filesystem::path cli_testing_path();

// A fresh folder under the system temp dir, removed with everything in it at scope end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);

struct RunResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is looked up on PATH when it has no slash), feeding `input` on
// standard input, with `env` added to the environment; waits for it.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              const std::map<std::string, std::string>& env = {});
// Runs the convene CLI with `args`.
RunResult run_cli(const std::vector<std::string>& args, const std::string& input = "",
                  const std::map<std::string, std::string>& env = {});
// Runs convene-testing with `args`.
RunResult run_cli_testing(const std::vector<std::string>& args, const std::string& input = "",
                          const std::map<std::string, std::string>& env = {});
// Runs Debian's /usr/bin/python3 (which has python3-dateutil, -holidays, -icalendar).
RunResult run_python(const std::vector<std::string>& args, const std::string& input = "");

// One GET of `url` (a loopback server the test started) with Python's urllib: the status
// (404 too: an HTTP error is an answer) and the body. status 0 when no answer came.
struct HttpResponse {
  int status = 0;
  std::string body;
  std::string error;  // why there was no answer
};
HttpResponse http_get(const std::string& url);

}  // namespace convene::testing
