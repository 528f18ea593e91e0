// The subscribe page, as a member sees it: `convene serve` on loopback, opened in a real
// headless Chromium (Debian's), and the static page `convene publish` writes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>

#include <gtest/gtest.h>

#include "test_support.h"

extern char** environ;

namespace convene {
namespace {

using testing::TempDir;

const std::string kSample = (testing::source_dir() / "samples/communities-2026-27.json").string();

// `convene serve` on 127.0.0.1 and a free port, stopped (SIGTERM) at scope end.
class Server {
 public:
  explicit Server(const std::string& file) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    std::vector<std::string> argv{testing::cli_path().string(), "serve", file, "--listen",
                                  "127.0.0.1:0", "--access-log", "off"};
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) throw std::runtime_error("cannot start convene serve");
    // Read the banner "... on http://127.0.0.1:PORT/" (with a deadline, no sleeping).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
    std::string text;
    static const std::regex banner(R"(on http://127\.0\.0\.1:(\d+)/)");
    std::smatch m;
    while (!std::regex_search(text, m, banner) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      char chunk[1024];
      const ssize_t n = read(out[0], chunk, sizeof chunk);
      if (n <= 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
    }
    out_fd_ = out[0];
    if (!std::regex_search(text, m, banner)) throw std::runtime_error("no banner: " + text);
    port_ = m[1];
  }
  ~Server() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    close(out_fd_);
  }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + port_ + path; }
  const std::string& port() const { return port_; }

 private:
  pid_t pid_ = 0;
  int out_fd_ = -1;
  std::string port_;
};

// Headless Chromium, with the flags this machine's closed network needs, in a fresh profile.
testing::RunResult chromium(const TempDir& profile, std::vector<std::string> args) {
  std::vector<std::string> argv{"/usr/bin/chromium",
                                "--headless",
                                "--no-sandbox",
                                "--disable-gpu",
                                "--disable-quic",
                                "--no-first-run",
                                "--disable-background-networking",
                                "--disable-component-update",
                                "--disable-sync",
                                "--user-data-dir=" + (profile / "profile").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::run(argv);
}

TEST(SubscribePage, ChromiumRendersEveryFeedWithItsSubscribeLinks) {
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0) << "Debian's chromium is not installed (.ci/install)";
  Server server(kSample);
  TempDir profile;
  auto r = chromium(profile, {"--dump-dom", server.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string& dom = r.out;
  EXPECT_NE(dom.find("<title>convene: subscribe to a calendar</title>"), std::string::npos) << dom;
  const std::string host = "127.0.0.1:" + server.port();
  // Every feed: all communities, each community, each series; each with webcal, Google
  // and Outlook links, as the browser parsed them.
  for (const std::string feed : {"feeds/all.ics", "feeds/communities/school-nurses.ics",
                                 "feeds/communities/dc-sbh-cop.ics",
                                 "feeds/communities/stakeholder-learning.ics",
                                 "feeds/series/mentoring-monday.ics", "feeds/series/power-hour.ics",
                                 "feeds/series/special-topics-cafe.ics",
                                 "feeds/series/equity-collaborative.ics",
                                 "feeds/series/dc-cop-monthly.ics", "feeds/series/dc-cop-webinars.ics",
                                 "feeds/series/slc-biweekly.ics"}) {
    EXPECT_NE(dom.find("href=\"webcal://" + host + "/" + feed + "\""), std::string::npos) << feed;
    std::string encoded = "webcal%3A%2F%2F127.0.0.1%3A" + server.port() + "%2F" + feed;
    for (std::size_t at; (at = encoded.find('/')) != std::string::npos;) encoded.replace(at, 1, "%2F");
    EXPECT_NE(dom.find("https://calendar.google.com/calendar/r?cid=" + encoded), std::string::npos)
        << feed;
    EXPECT_NE(dom.find("https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F127.0.0.1%3A" +
                       server.port()),
              std::string::npos);
  }
  // The page names the communities in words a member recognises.
  EXPECT_NE(dom.find("School Nurse Communities of Practice"), std::string::npos);
  EXPECT_NE(dom.find("Mentoring Monday"), std::string::npos);

  // And it renders: a screenshot of real size.
  auto shot = chromium(profile, {"--screenshot=" + (profile / "page.png").string(),
                                 "--window-size=1000,1400", server.url()});
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  EXPECT_GT(std::filesystem::file_size(profile / "page.png"), 20000u);
}

TEST(SubscribePage, PublishedPageOpensFromAStaticFolder) {
  ASSERT_EQ(access("/usr/bin/chromium", X_OK), 0) << "Debian's chromium is not installed (.ci/install)";
  TempDir out;
  auto published = testing::run_cli({"publish", kSample, "--out", out.path().string(), "--base-url",
                                     "https://cop.example.org/calendars"},
                                    "", {{"CONVENE_TODAY", "2026-09-01"}});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  TempDir profile;
  auto r = chromium(profile, {"--dump-dom", "file://" + (out / "index.html").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("href=\"webcal://cop.example.org/calendars/feeds/all.ics\""), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Stakeholder Learning Community"), std::string::npos);
  // The feeds it links to are there, beside it.
  EXPECT_TRUE(std::filesystem::exists(out / "feeds/all.ics"));
  EXPECT_TRUE(std::filesystem::exists(out / "feeds/series/mentoring-monday.ics"));
}

}  // namespace
}  // namespace convene
