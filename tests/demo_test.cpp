// The README's two commands, .ci/demo and .ci/test, as a new user runs them. The demo
// prints only its own output: what installing and building print goes to build/demo.log,
// shown (and the demo fails) only when a step fails. Both build in the same folder with
// the same build type, so the second reuses what the first compiled instead of
// rebuilding everything (the story: each used its own build type in build/, and the
// second command rebuilt the whole tree, 18 minutes on a small machine).
//
// The scripts run for real, each in a copy of the repository's layout whose
// .ci/install, CMakeLists.txt and convene are stand-ins that print noise (and fail on
// demand), so that the test takes seconds and installs nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "test_support.h"

namespace convene {
namespace {

using testing::RunResult;
using testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kInstallNoise = "Reading package lists... (install noise)";
constexpr const char* kBuildNoise = "warning: unused variable (build noise)";

// A tree with the real .ci/demo and .ci/test and stand-ins for everything they call.
class Tree {
 public:
  Tree() {
    fs::create_directories(dir_ / ".ci");
    for (const char* script : {".ci/demo", ".ci/test"}) fs::copy_file(testing::source_dir() / script, dir_ / script);
    // Fails when the tree holds a file named install-fails.
    write(".ci/install", std::string("echo '") + kInstallNoise + "'\necho 'install noise on stderr' >&2\n" +
                             "if [ -e install-fails ]; then echo 'E: Unable to locate package' >&2; exit 100; fi\n");
    // The build: prints noise on both streams and makes build/convene, a program that
    // says how it was called.
    write("fake-convene", "#!/bin/sh\necho \"convene $*\"\n");
    fs::permissions(dir_ / "fake-convene", fs::perms::owner_all);
    write("CMakeLists.txt",
          "cmake_minimum_required(VERSION 3.16)\n"
          "project(stand_in NONE)\n"
          "message(STATUS \"configure noise\")\n"
          "add_custom_target(convene ALL\n"
          "  COMMAND sh -c \"echo '" + std::string(kBuildNoise) + "' >&2\"\n"
          "  COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_SOURCE_DIR}/fake-convene ${CMAKE_BINARY_DIR}/convene\n"
          "  VERBATIM)\n");
  }
  RunResult run(const std::string& script) const {
    // A reader's shell: PATH and HOME, no CONVENE_* of this machine.
    return testing::run({"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "HOME=" + dir_.path().string(), "LANG=C.UTF-8",
                         "/bin/bash", (dir_ / script).string()});
  }
  void write(const std::string& name, const std::string& text) const { testing::write_file(dir_ / name, text); }
  std::string log() const { return testing::read_file(dir_ / "build/demo.log"); }
  // The build type the build folder is configured with.
  std::string build_type() const {
    std::smatch m;
    const std::string cache = testing::read_file(dir_ / "build/CMakeCache.txt");
    return std::regex_search(cache, m, std::regex("\nCMAKE_BUILD_TYPE:[A-Z]*=([^\n]*)")) ? m[1].str() : "(none)";
  }
  const fs::path& path() const { return dir_.path(); }

 private:
  TempDir dir_;
};

bool has(const std::string& text, const std::string& piece) { return text.find(piece) != std::string::npos; }

TEST(Demo, PrintsOnlyItsOwnOutput) {
  Tree tree;
  auto r = tree.run(".ci/demo");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  for (const char* noise : {kInstallNoise, kBuildNoise, "configure noise", "install noise on stderr"}) {
    EXPECT_FALSE(has(r.out, noise)) << noise << " in the demo's output:\n" << r.out;
    EXPECT_TRUE(has(tree.log(), noise)) << noise << " not in build/demo.log:\n" << tree.log();
  }
  // What it shows: one line saying it builds, then convene's own output, ending with the server.
  EXPECT_EQ(r.out.rfind("Installing what is missing and building convene", 0), 0u) << r.out;
  EXPECT_TRUE(has(r.out, "\nconvene check samples/communities-2026-27.json\n")) << r.out;
  EXPECT_TRUE(has(r.out, "\nconvene preview samples/communities-2026-27.json ")) << r.out;
  EXPECT_TRUE(has(r.out, "\nconvene serve samples/communities-2026-27.json --listen 127.0.0.1:8080\n")) << r.out;
}

TEST(Demo, AFailingStepShowsItsLogAndFails) {
  Tree tree;
  tree.write("install-fails", "");
  auto r = tree.run(".ci/demo");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(has(r.err, "E: Unable to locate package")) << r.err;
  EXPECT_TRUE(has(r.err, kInstallNoise)) << "the log is shown on failure:\n" << r.err;
  EXPECT_TRUE(has(r.err, "bash .ci/install")) << "the failed step is named:\n" << r.err;
  EXPECT_FALSE(has(r.out, "convene check")) << "nothing runs after a failed step:\n" << r.out;
  EXPECT_FALSE(fs::exists(tree.path() / "build/convene"));
}

TEST(Demo, SharesTheBuildFolderAndTypeWithTheTests) {
  Tree tree;
  ASSERT_EQ(tree.run(".ci/demo").exit_code, 0);
  const std::string after_demo = tree.build_type();
  EXPECT_NE(after_demo, "") << "the demo builds with an explicit build type";
  fs::remove(tree.path() / "build/convene");
  auto tests = tree.run(".ci/test");
  ASSERT_EQ(tests.exit_code, 0) << tests.out << tests.err;
  // The second command built in the same folder, configured with the same type: with the
  // real tree, nothing to rebuild.
  EXPECT_TRUE(fs::exists(tree.path() / "build/convene")) << "the tests built elsewhere";
  EXPECT_EQ(tree.build_type(), after_demo);
}

}  // namespace
}  // namespace convene
