// `convene-testing`: the convene CLI with the test hooks of convene/fault_points.h
// installed from the environment. Only the tests run it (CONVENE_CLI_TESTING); the
// binary users run, `convene` (integrations/cli/main.cpp), has none of this.
//
//   CONVENE_TEST_CRASH_AFTER=N       SIGKILL at the N-th fault point passed (any name)
//   CONVENE_TEST_CRASH_AT=NAME[:K]   SIGKILL at the K-th passage of the point NAME
//   CONVENE_TEST_STEPS_FILE=PATH     at exit, the number of fault points passed
//   CONVENE_TEST_PAUSE_BEFORE_WRITE=FIFO
//                                    at "store.before-write", wait for one byte on FIFO
// With any of the first three, SQLite's file operations go through the crash VFS shim
// (crash_vfs.h), so they count (and can crash) too.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../commands.h"
#include "convene/fault_points.h"
#include "crash_vfs.h"

namespace {

std::atomic<long> g_passed{0};
long g_crash_after = 0;      // 0: never
std::string g_crash_at;      // "": never
long g_crash_at_count = 1;
std::atomic<long> g_named{0};
std::string g_pause_fifo;
std::string g_steps_file;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Blocks until one byte can be read from the FIFO (a test writes it when ready).
void wait_on_fifo(const std::string& fifo) {
  const int fd = ::open(fifo.c_str(), O_RDONLY);
  if (fd < 0) return;
  char byte;
  while (::read(fd, &byte, 1) < 0) {
  }
  ::close(fd);
}

void hook(std::string_view point) {
  const long n = g_passed.fetch_add(1) + 1;
  if (g_crash_after > 0 && n >= g_crash_after) ::kill(::getpid(), SIGKILL);
  if (!g_crash_at.empty() && point == g_crash_at && g_named.fetch_add(1) + 1 >= g_crash_at_count) {
    ::kill(::getpid(), SIGKILL);
  }
  if (!g_pause_fifo.empty() && point == "store.before-write") wait_on_fifo(g_pause_fifo);
}

void write_steps() {
  if (FILE* f = std::fopen(g_steps_file.c_str(), "w")) {
    std::fprintf(f, "%ld\n", g_passed.load());
    std::fclose(f);
  }
}

void install_hooks_from_environment() {
  g_crash_after = std::strtol(env("CONVENE_TEST_CRASH_AFTER").c_str(), nullptr, 10);
  if (std::string at = env("CONVENE_TEST_CRASH_AT"); !at.empty()) {
    const auto colon = at.rfind(':');
    g_crash_at = at.substr(0, colon);
    if (colon != std::string::npos) g_crash_at_count = std::max(1L, std::strtol(at.c_str() + colon + 1, nullptr, 10));
  }
  g_pause_fifo = env("CONVENE_TEST_PAUSE_BEFORE_WRITE");
  g_steps_file = env("CONVENE_TEST_STEPS_FILE");
  const bool counting = g_crash_after > 0 || !g_crash_at.empty() || !g_steps_file.empty();
  if (counting) convene::testing_build::install_crash_vfs();
  if (!g_steps_file.empty()) std::atexit(write_steps);
  if (counting || !g_pause_fifo.empty()) convene::set_fault_hook(hook);
}

}  // namespace

int main(int argc, char** argv) {
  install_hooks_from_environment();
  return convene::cli::run(argc, argv);
}
