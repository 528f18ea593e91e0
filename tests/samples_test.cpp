// The samples are checked: each command of the README's walkthrough, run on
// samples/communities-2026-27.json, prints exactly the golden output kept in
// samples/expected/ (reviewed by hand: every holiday shift of the 2026–27 season).
// After an intended change, regenerate with CONVENE_UPDATE_GOLDEN=1 and review the diff.
#include <cstdlib>

#include <gtest/gtest.h>

#include "test_support.h"

namespace convene {
namespace {

using testing::read_file;
using testing::run_cli;
using testing::source_dir;

const std::string kSample = (source_dir() / "samples/communities-2026-27.json").string();

void expect_golden(const std::vector<std::string>& args, const std::string& golden) {
  auto r = run_cli(args, "", {{"CONVENE_TODAY", "2026-09-01"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto path = source_dir() / "samples/expected" / golden;
  if (std::getenv("CONVENE_UPDATE_GOLDEN")) testing::write_file(path, r.out);
  EXPECT_EQ(r.out, read_file(path)) << "differs from " << path;
}

TEST(Samples, CheckIsClean) {
  auto r = run_cli({"check", kSample});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "the samples should have no warnings";
  EXPECT_NE(r.out.find("ok: 3 calendars, 3 communities, 7 series, 3 overrides"), std::string::npos) << r.out;
}

TEST(Samples, PreviewOfTheSeason) {
  expect_golden({"preview", kSample, "--from", "2026-08-01", "--to", "2027-07-31"},
                "preview-2026-27.txt");
}

TEST(Samples, ExpandAsJson) {
  expect_golden({"expand", kSample, "--from", "2026-08-01", "--to", "2027-07-31"},
                "expand-2026-27.json");
}

TEST(Samples, ExpandAsCsv) {
  expect_golden({"expand", kSample, "--from", "2026-08-01", "--to", "2027-07-31", "--format", "csv"},
                "expand-2026-27.csv");
}

TEST(Samples, PreviewOfOneSeries) {
  expect_golden({"preview", kSample, "--series", "mentoring-monday"}, "preview-mentoring-monday.txt");
}

}  // namespace
}  // namespace convene
