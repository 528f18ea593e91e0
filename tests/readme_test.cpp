// The README is tested: every ```console block's commands run, in the README's order,
// in one bash session started in a copy of the repository's samples (with build/convene
// the CLI under test), and each must print exactly the lines the README shows under it
// (standard output and standard error as one stream, as a terminal shows them).
//
// The README's rules, so that this test can hold it to its word:
//   - ```console blocks are run: a line "$ COMMAND" is a command, the lines after it, up to
//     the next command or the end of the block, are all it prints; `<TOKEN>` stands for a
//     member's feed token (43 characters of base64url, random by design).
//   - ```sh blocks are not run (installing, building, serving: what a test cannot do).
//   - The walkthrough pins the date and the clock (CONVENE_TODAY, CONVENE_NOW) in its first
//     command, so a reader sees what the README shows, to the minute.
// After an intended change, CONVENE_UPDATE_GOLDEN=1 rewrites the outputs in README.md;
// review the diff.
//
// The story: the README's preview showed 3 rows where the real output had 10 and a fourth
// shift (Washington's Birthday), and its golden file used another window, so nothing
// checked the README itself.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "test_support.h"

namespace convene {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

struct Step {
  std::size_t line = 0;         // of the command in README.md (1-based)
  std::string command;
  std::vector<std::string> expected;
  std::size_t first_output = 0, end_output = 0;  // README line indexes (0-based) of the output
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::vector<Step> console_steps(const std::vector<std::string>& readme) {
  std::vector<Step> steps;
  bool in_console = false;
  for (std::size_t i = 0; i < readme.size(); ++i) {
    const std::string& line = readme[i];
    if (!in_console) {
      in_console = line == "```console";
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      in_console = false;
      continue;
    }
    if (line.rfind("$ ", 0) == 0) {
      steps.push_back({i + 1, line.substr(2), {}, i + 1, i + 1});
    } else if (!steps.empty()) {
      steps.back().expected.push_back(line);
      steps.back().end_output = i + 1;
    }
  }
  return steps;
}

constexpr std::string_view kToken = "<TOKEN>";
constexpr std::size_t kTokenLength = 43;

bool token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// `actual` equals `expected` with each <TOKEN> standing for one 43-character token.
bool matches(const std::string& expected, const std::string& actual) {
  std::size_t e = 0, a = 0;
  while (true) {
    const std::size_t hole = expected.find(kToken, e);
    const std::string piece = expected.substr(e, hole == std::string::npos ? std::string::npos : hole - e);
    if (actual.compare(a, piece.size(), piece) != 0) return false;
    a += piece.size();
    if (hole == std::string::npos) return a == actual.size();
    for (std::size_t k = 0; k < kTokenLength; ++k, ++a)
      if (a >= actual.size() || !token_char(actual[a])) return false;
    e = hole + kToken.size();
  }
}

// For CONVENE_UPDATE_GOLDEN: the output with every 43-character token as <TOKEN>.
std::string with_placeholders(const std::string& actual) {
  std::string out;
  for (std::size_t i = 0; i < actual.size();) {
    std::size_t j = i;
    while (j < actual.size() && token_char(actual[j])) ++j;
    if (j - i == kTokenLength && (i == 0 || !token_char(actual[i - 1]))) {
      out += kToken;
    } else {
      out.append(actual, i, j - i);
    }
    if (j == i) out += actual[j++];
    i = j;
  }
  return out;
}

// The repository as a reader has it after building: samples/ (without what a walkthrough
// left there) and build/convene.
void lay_out(const fs::path& root) {
  fs::create_directories(root / "build");
  fs::create_symlink(testing::cli_path(), root / "build" / "convene");
  const fs::path samples = testing::source_dir() / "samples";
  for (const auto& entry : fs::recursive_directory_iterator(samples)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("convene.db", 0) == 0 || name == "exported.json" || name == "site") continue;
    const fs::path to = root / "samples" / fs::relative(entry.path(), samples);
    if (entry.is_directory()) {
      fs::create_directories(to);
    } else if (entry.is_regular_file() && to.string().find("/site/") == std::string::npos) {
      fs::create_directories(to.parent_path());
      fs::copy_file(entry.path(), to);
    }
  }
}

// Runs every step in one bash session; returns each step's output.
std::vector<std::string> run_steps(const std::vector<Step>& steps, const fs::path& root) {
  std::string script = "cd " + root.string() + "\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    script += "printf '\\n\\036%d\\036\\n' " + std::to_string(i) + "\n" + steps[i].command + "\n";
  }
  script += "printf '\\n\\036end\\036\\n'\n";
  testing::write_file(root / "readme.sh", script);
  // A reader's shell, not this machine's: no CONVENE_* or TZ from the environment.
  auto r = testing::run({"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + root.string(), "LANG=C.UTF-8",
                         "/bin/bash", "--noprofile", "--norc", "-c", "exec 2>&1; . " + (root / "readme.sh").string()});
  std::vector<std::string> out;
  std::size_t at = r.out.find("\036" "0\036\n");
  for (std::size_t i = 0; i < steps.size() && at != std::string::npos; ++i) {
    const std::size_t start = r.out.find('\n', at) + 1;
    const std::string next = "\n\036" + (i + 1 < steps.size() ? std::to_string(i + 1) : std::string("end")) + "\036\n";
    const std::size_t end = r.out.find(next, start);
    out.push_back(r.out.substr(start, end == std::string::npos ? std::string::npos : end - start));
    at = end == std::string::npos ? end : end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The files the walkthrough wrote into samples/ (its store, its export, its site).
std::vector<std::string> left_in_samples(const fs::path& root) {
  std::vector<std::string> out;
  const fs::path samples = root / "samples";
  for (const auto& entry : fs::recursive_directory_iterator(samples)) {
    if (!entry.is_regular_file()) continue;
    const fs::path rel = fs::relative(entry.path(), root);
    if (!fs::exists(testing::source_dir() / rel) || entry.path().filename().string().rfind("convene.db", 0) == 0)
      out.push_back(rel.string());
  }
  return out;
}

TEST(Readme, EveryExampleCommandPrintsWhatTheReadmeShows) {
  const fs::path readme_path = testing::source_dir() / "README.md";
  auto readme = lines_of(testing::read_file(readme_path));
  const auto steps = console_steps(readme);
  // The README's walkthrough has this many commands at least; fewer means the blocks
  // were not found (and nothing would be checked).
  ASSERT_GE(steps.size(), 20u);
  TempDir dir;
  lay_out(dir.path());
  const auto outputs = run_steps(steps, dir.path());
  ASSERT_EQ(outputs.size(), steps.size()) << "the session stopped early";
  // What the walkthrough leaves in a clone is ignored by git (.gitignore), so a reader's
  // `git status` stays clean.
  const auto left = left_in_samples(dir.path());
  EXPECT_FALSE(left.empty()) << "the walkthrough writes its store in samples/";
  for (const auto& path : left) {
    auto r = testing::run({"git", "-C", testing::source_dir().string(), "check-ignore", "-q", "--no-index", path});
    EXPECT_EQ(r.exit_code, 0) << path << " is not in .gitignore";
  }
  const bool update = std::getenv("CONVENE_UPDATE_GOLDEN") != nullptr;
  for (std::size_t i = steps.size(); i-- > 0;) {
    const Step& s = steps[i];
    const std::string expected = joined(s.expected);
    if (update && !matches(expected, outputs[i])) {
      auto fresh = lines_of(with_placeholders(outputs[i]));
      readme.erase(readme.begin() + static_cast<long>(s.first_output), readme.begin() + static_cast<long>(s.end_output));
      readme.insert(readme.begin() + static_cast<long>(s.first_output), fresh.begin(), fresh.end());
      continue;
    }
    EXPECT_TRUE(matches(expected, outputs[i])) << "README.md:" << s.line << ": $ " << s.command
                                               << "\n--- the README shows:\n" << expected << "--- it prints:\n"
                                               << outputs[i];
  }
  if (update) testing::write_file(readme_path, joined(readme));
}

TEST(Readme, TokensAreMatchedByTheirShapeOnly) {
  const std::string token(43, 'a');
  EXPECT_TRUE(matches("token: <TOKEN>\n", "token: " + token + "\n"));
  EXPECT_FALSE(matches("token: <TOKEN>\n", "token: " + token.substr(1) + "\n"));
  EXPECT_FALSE(matches("token: <TOKEN>\n", "token: " + token + "b\n"));
  EXPECT_FALSE(matches("token: <TOKEN>\n", "token: " + token.substr(2) + "!!\n"));
  EXPECT_FALSE(matches("a\n", "b\n"));
  EXPECT_EQ(with_placeholders("x " + token + " y\n"), "x <TOKEN> y\n");
  EXPECT_EQ(with_placeholders("x " + token + "b y\n"), "x " + token + "b y\n");
}

TEST(Readme, ConsoleBlocksAreReadAsCommandsAndOutput) {
  const auto steps = console_steps(lines_of("text\n```console\n$ a\none\ntwo\n$ b\n```\n```sh\n$ c\n```\n"));
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].command, "a");
  EXPECT_EQ(steps[0].expected, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(steps[0].line, 3u);
  EXPECT_EQ(steps[1].command, "b");
  EXPECT_TRUE(steps[1].expected.empty());
}

}  // namespace
}  // namespace convene
