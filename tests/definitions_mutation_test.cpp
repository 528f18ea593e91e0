// A seeded mutation test of everything that reads input: thousands of mutants of the
// samples' definitions and ICS files, each given to the real CLI (`convene check` or
// `convene expand` over the 2026-27 season), as issue 7's hostile tester did with about
// 2,200 mutated files (one of which killed check, expand and import with SIGSEGV, others
// took 2 GB or 40 s).
//
// For every mutant it asserts:
//   - no signal (no crash, no abort, no sanitizer report: they end in a signal or exit 1
//     with a report on stderr, which the next checks catch);
//   - the CLI either succeeds (exit 0, output on stdout, only warnings on stderr) or fails
//     with exit 1, nothing on stdout and one report on stderr: every line a diagnostic in
//     the documented form ("error: FILE...", "warning: ...", "convene: error: ..."), at
//     least one error, no line twice, each line at most kMaxLine bytes of UTF-8 without
//     control characters (values are quoted to 80 characters);
//   - the process ends before a deadline (kDeadline: a hang detector, not a speed: the
//     samples take milliseconds; the times are printed, and recorded in docs/fuzzing.md);
//   - its peak memory (wait4's ru_maxrss) stays under 64 MiB plus 32 times the input size.
//
// The mutants are the same on every run (a fixed seed). They are split into kShards
// tests so that ctest runs them side by side; CONVENE_MUTANTS sets how many in all
// (default kDefaultMutants), for the long runs of docs/fuzzing.md.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "convene/validate.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace convene::testing;

namespace {

#ifdef CONVENE_SANITIZED
// Under AddressSanitizer each run costs several times more, and memory means something
// else (shadow memory, red zones, the quarantine of freed blocks): fewer mutants, to find
// memory errors on those paths, and the memory bound with ASan's own overhead on top
// (kSanitizerMemoryFactor times the bound, plus its quarantine). The bound itself is
// asserted by the normal build.
constexpr std::size_t kDefaultMutants = 600;
constexpr long kSanitizerMemoryFactor = 4;
constexpr long kSanitizerQuarantineKiB = 64 * 1024;
#else
constexpr std::size_t kDefaultMutants = 2400;
constexpr long kSanitizerMemoryFactor = 1;
constexpr long kSanitizerQuarantineKiB = 0;
#endif
// No mutant grows past this (a repeated line can make gigabytes): well past the 16 MiB
// input limit, which is what such a file meets.
constexpr std::size_t kMaxMutantSize = 20 << 20;
constexpr int kShards = 12;
constexpr std::chrono::seconds kDeadline{60};
constexpr std::size_t kMaxLine = 4096;
constexpr long kBaseMemoryKiB = 64 * 1024;
constexpr long kMemoryPerInputByte = 32;

std::size_t mutant_count() {
  if (const char* n = std::getenv("CONVENE_MUTANTS"); n && *n) return std::strtoull(n, nullptr, 10);
  return kDefaultMutants;
}

// --- running the CLI -------------------------------------------------------------------

struct Outcome {
  bool signaled = false;
  int signal = 0;
  int exit_code = -1;
  bool timed_out = false;
  std::string out, err;
  long max_rss_kib = 0;
  double seconds = 0;
};

// Runs the CLI with `args`, reading both pipes until the child ends or the deadline
// passes (then it is killed: a hang); wait4 gives its peak memory.
Outcome run_cli_measured(const std::vector<std::string>& args) {
  Outcome o;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return o;
  }
  std::vector<std::string> argv_strings{cli_path().string()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::setenv("CONVENE_TODAY", "2026-10-01", 1);
    ::setenv("CONVENE_DB", "", 1);
#ifdef CONVENE_SANITIZED
    const char* asan = std::getenv("ASAN_OPTIONS");
    ::setenv("ASAN_OPTIONS", (std::string(asan ? asan : "") + ":quarantine_size_mb=64").c_str(), 1);
#endif
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&o.out, &o.err};
  int open = 2;
  const auto deadline = started + kDeadline;
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      o.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  o.max_rss_kib = usage.ru_maxrss;
  o.signaled = WIFSIGNALED(status);
  if (o.signaled) o.signal = WTERMSIG(status);
  if (WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  return o;
}

// --- mutants ---------------------------------------------------------------------------

struct Seed {
  std::string name;
  std::string text;
  bool ics = false;
};

std::vector<Seed> seeds() {
  const fs::path src = source_dir();
  std::vector<Seed> out;
  for (const char* p : {"samples/communities-2026-27.json", "tests/data/definitions/full.json",
                        "tests/data/store/definitions.json", "tests/interop/generated-dst-policies.json"}) {
    out.push_back({p, read_file(src / p), false});
  }
  for (const char* p : {"samples/district-2026-27.ics", "tests/data/ics/district-test.ics",
                        "tests/data/definitions/district.ics"}) {
    out.push_back({p, read_file(src / p), true});
  }
  return out;
}

// Values a hostile tester puts where a value was: each one a reproducer of issue 7 or a
// neighbour of one.
const std::vector<std::string>& hostile_values() {
  static const std::vector<std::string> values = [] {
    std::vector<std::string> v = {
        "\"P10000W\"", "\"PT9223372036854775807S\"", "\"P99999999999999999999D\"", "\"-PT1H\"", "\"PT0S\"",
        "\"2026-09-14T16:00:30\"", "\"0001-01-01T00:00\"", "\"9999-12-31T23:59\"", "\"9999-12-31\"", "\"2026-02-30\"",
        "\"localtime\"", "\"posixrules\"", "\"Factory\"", "\"../../etc/passwd\"", "\"/dev/zero\"", "\"/dev/urandom\"",
        "\"FREQ=SECONDLY\"", "\"FREQ=DAILY;COUNT=4294967298\"", "\"FREQ=YEARLY;INTERVAL=2147483648\"",
        "\"FREQ=MINUTELY;BYSECOND=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20\"",
        "\"https://x\\r\\nEND:VEVENT\\r\\nBEGIN:VEVENT\\r\\nUID:forged@evil\"",
        "\"a@b.org\\r\\nX-INJECTED:1\"", "\"javascript:alert(1)\"", "\"\\u0000\"", "\"\\u001b[2J\"", "\"\\ud800\"",
        "99999999999999999999", "-9223372036854775809", "1e308", "-1", "0", "null", "true", "{}", "[]", "\"\"",
        "[" + std::string(200, '[') + std::string(200, ']') + "]",
        "\"" + std::string(100000, 'x') + "\"",
        "\"FREQ=WEEKLY;BYDAY=" + std::string(20000, 'X') + "\"",
        "\"America/" + std::string(5000, 'Y') + "\"",
    };
    return v;
  }();
  return values;
}

// Byte strings a hostile tester splices into the text anywhere.
const std::vector<std::string>& hostile_bytes() {
  static const std::vector<std::string> bytes = {
      std::string(1000, '['), std::string(1000, '{'), "\xff\xfe", "\xc0\xaf", std::string("\0", 1), "\x1b[31m",
      "/*", "//", "\"", "\\", ",", ":", "}", "]", "\r\nEND:VEVENT\r\n", "\r\nBEGIN:VEVENT\r\n",
      "\r\nBEGIN:VCALENDAR\r\n", "\r\nRRULE:FREQ=DAILY;COUNT=100000\r\n", "\r\nDTSTART;VALUE=DATE:99991231\r\n",
      "\r\nDURATION:P99999999W\r\n", "\r\nEXDATE:00000000\r\n", " ", "\t"};
  return bytes;
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  std::string mutate(std::string text, bool ics) {
    const std::size_t rounds = 1 + below(3);
    for (std::size_t r = 0; r < rounds; ++r) {
      text = once(std::move(text), ics);
      if (text.size() > kMaxMutantSize) text.resize(kMaxMutantSize);
    }
    return text;
  }

 private:
  std::string once(std::string text, bool ics) {
    if (text.empty()) return hostile_bytes()[below(hostile_bytes().size())];
    const std::size_t at = below(text.size());
    switch (below(ics ? 7 : 9)) {
      case 0:  // one byte changed
        text[at] = static_cast<char>(below(256));
        return text;
      case 1: {  // a span deleted
        const std::size_t n = std::min(text.size() - at, 1 + below(64));
        return text.erase(at, n);
      }
      case 2: {  // a span repeated
        const std::size_t n = std::min(text.size() - at, 1 + below(200));
        const std::string span = text.substr(at, n);
        std::string copies;
        for (std::size_t k = 0, times = 1 + below(50); k < times; ++k) copies += span;
        return text.insert(at, copies);
      }
      case 3:  // hostile bytes spliced in
        return text.insert(at, hostile_bytes()[below(hostile_bytes().size())]);
      case 4: {  // the file cut short
        text.resize(at);
        return text;
      }
      case 5: {  // a line repeated many times (an ICS event, a JSON element)
        const std::size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
        const std::size_t end = std::min(text.find('\n', at), text.size());
        const std::string line = text.substr(begin, end - begin) + "\n";
        std::string copies;
        for (std::size_t k = 0, times = 1 + below(2000); k < times; ++k) copies += line;
        return text.insert(begin, copies);
      }
      case 6: {  // two halves swapped
        return text.substr(at) + text.substr(0, at);
      }
      default: {  // JSON: a value (after a ":" or in an array) replaced by a hostile one
        std::size_t colon = text.find(':', at);
        if (colon == std::string::npos) colon = text.find(':');
        if (colon == std::string::npos) return text;
        std::size_t begin = colon + 1;
        while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\n')) ++begin;
        std::size_t end = begin;
        if (end < text.size() && text[end] == '"') {
          for (++end; end < text.size() && text[end] != '"'; ++end)
            if (text[end] == '\\') ++end;
          ++end;
        } else {
          while (end < text.size() && text[end] != ',' && text[end] != '}' && text[end] != ']' && text[end] != '\n') ++end;
        }
        return text.replace(begin, std::min(end, text.size()) - begin, hostile_values()[below(hostile_values().size())]);
      }
    }
  }

  std::mt19937_64 rng_;
};

// A definitions file around a mutated ICS file (district.ics beside it).
std::string definitions_with_ics() {
  return R"({"calendars": {"district": {"ics": "district.ics"}},
  "communities": [{"id": "c", "name": "C", "timezone": "America/New_York", "observes": ["district"],
    "series": [{"id": "s", "title": "T", "start": "2026-09-02T15:00", "duration": "PT1H",
                "rrule": "FREQ=WEEKLY;BYDAY=WE", "on_holiday": "following"}]}]})";
}

// --- what each outcome must be ------------------------------------------------------------

bool diagnostic_line(const std::string& line) {
  return line.rfind("error: ", 0) == 0 || line.rfind("warning: ", 0) == 0 || line.rfind("convene: error: ", 0) == 0 ||
         line.rfind("convene: warning: ", 0) == 0;
}

// Why `err` is not one report in the documented form, or "".
std::string report_problem(const std::string& err, bool failed) {
  if (err.empty()) return failed ? "nothing on stderr" : "";
  if (err.back() != '\n') return "stderr does not end with a line break";
  std::set<std::string> seen;
  bool any_error = false;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > kMaxLine) return "a line of " + std::to_string(line.size()) + " bytes";
    if (!diagnostic_line(line)) return "a line that is no diagnostic: " + convene::quote_value(line, 200);
    for (std::size_t i = 0; i < line.size();) {
      const auto cp = convene::decode_utf8(std::string_view(line).substr(i));
      if (!cp) return "a line that is not UTF-8: " + convene::quote_value(line, 200);
      if (cp->value < 0x20 || cp->value == 0x7F) return "a control character: " + convene::quote_value(line, 200);
      i += cp->length;
    }
    if (!seen.insert(line).second) return "a line twice: " + convene::quote_value(line, 200);
    any_error |= line.find("error: ") != std::string::npos;
  }
  if (failed && !any_error) return "a failure without an error line";
  if (!failed && any_error) return "success with an error line";
  return "";
}

struct Figures {
  std::size_t mutants = 0, failures = 0, crashes = 0, hangs = 0;
  double worst_seconds = 0;
  long worst_rss_kib = 0;
  std::size_t worst_rss_input = 0;
  double worst_rss_ratio = 0;  // peak / bound
};

class DefinitionsMutation : public ::testing::TestWithParam<int> {};

TEST_P(DefinitionsMutation, EveryMutantGetsOneReportWithinBounds) {
  const int shard = GetParam();
  const std::size_t total = mutant_count();
  const auto all_seeds = seeds();
  TempDir dir;
  // Definitions mutants beside the ICS files their seeds name; ICS mutants in a folder of
  // their own, with a definitions file that names them.
  fs::create_directories(dir / "definitions");
  fs::create_directories(dir / "ics");
  fs::copy_file(source_dir() / "samples/district-2026-27.ics", dir / "definitions/district-2026-27.ics");
  fs::copy_file(source_dir() / "tests/data/definitions/district.ics", dir / "definitions/district.ics");
  write_file(dir / "ics/defs.json", definitions_with_ics());
  Figures f;
  for (std::size_t k = static_cast<std::size_t>(shard); k < total; k += kShards) {
    Mutator m(0x6d757461 + k);  // the k-th mutant is the same on every run
    const Seed& seed = all_seeds[m.below(all_seeds.size())];
    const std::string text = m.mutate(seed.text, seed.ics);
    const std::string defs = ((seed.ics ? dir / "ics" : dir / "definitions") / "defs.json").string();
    std::size_t input_size = text.size();
    if (seed.ics) {
      write_file(dir / "ics/district.ics", text);
      input_size += definitions_with_ics().size();
    } else {
      write_file(defs, text);
    }
    const bool expand = m.below(2) == 0;
    const std::vector<std::string> args = expand ? std::vector<std::string>{"expand", defs, "--from", "2026-09-01",
                                                                             "--to", "2027-06-30"}
                                                 : std::vector<std::string>{"check", defs};
    const Outcome o = run_cli_measured(args);
    const std::string what = "mutant " + std::to_string(k) + " of " + seed.name + " (" + args[0] + ", " +
                             std::to_string(input_size) + " bytes)";
    ++f.mutants;
    f.worst_seconds = std::max(f.worst_seconds, o.seconds);
    const long bound_kib =
        (kBaseMemoryKiB + static_cast<long>(kMemoryPerInputByte * input_size / 1024)) * kSanitizerMemoryFactor +
        kSanitizerQuarantineKiB;
    if (o.max_rss_kib > f.worst_rss_kib) {
      f.worst_rss_kib = o.max_rss_kib;
      f.worst_rss_input = input_size;
    }
    f.worst_rss_ratio = std::max(f.worst_rss_ratio, double(o.max_rss_kib) / double(bound_kib));
    if (o.timed_out) {
      ++f.hangs;
      ADD_FAILURE() << what << ": still running after " << kDeadline.count() << " s (a hang); killed";
      continue;
    }
    if (o.signaled) {
      ++f.crashes;
      ADD_FAILURE() << what << ": killed by signal " << o.signal << "\n" << o.err.substr(0, 4000);
      continue;
    }
    EXPECT_LE(o.max_rss_kib, bound_kib) << what << ": peak memory " << o.max_rss_kib << " KiB";
    if (o.exit_code == 0) {
      EXPECT_NE(o.out, "") << what;
      EXPECT_EQ(report_problem(o.err, false), "") << what << "\n" << o.err.substr(0, 2000);
    } else {
      ++f.failures;
      EXPECT_EQ(o.exit_code, 1) << what << "\n" << o.err.substr(0, 2000);
      EXPECT_EQ(o.out, "") << what;
      EXPECT_EQ(report_problem(o.err, true), "") << what << "\n" << o.err.substr(0, 2000);
    }
  }
  // The figures of this shard (docs/fuzzing.md adds them up): printed, not asserted.
  std::cout << "mutation shard " << shard << ": " << f.mutants << " mutants, " << f.failures << " refused, "
            << f.crashes << " crashes, " << f.hangs << " hangs, worst " << f.worst_seconds << " s, worst peak "
            << f.worst_rss_kib << " KiB (input " << f.worst_rss_input << " bytes), worst peak/bound "
            << f.worst_rss_ratio << "\n";
}

INSTANTIATE_TEST_SUITE_P(Shards, DefinitionsMutation, ::testing::Range(0, kShards));

}  // namespace
