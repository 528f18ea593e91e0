// Secrets: 0600 files (anything looser refused, saying so), the environment, and
// secrets sealed under a key file with libsodium's secretbox.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "convene/secrets.h"
#include "test_support.h"

using namespace convene;
using namespace convene::testing;
namespace fs = std::filesystem;

namespace {

fs::path secret_file(const TempDir& dir, const std::string& name, const std::string& content, mode_t mode) {
  const auto path = dir / name;
  write_file(path, content);
  ::chmod(path.c_str(), mode);
  return path;
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

}  // namespace

TEST(SecretFile, ReadsAnOwnerOnlyFileWithoutItsTrailingNewline) {
  TempDir dir;
  auto r = read_secret_file(secret_file(dir, "p", "s3cret pass\n", 0600), "--password-file");
  ASSERT_TRUE(r.secret) << r.error;
  EXPECT_EQ(r.secret->reveal(), "s3cret pass");
  r = read_secret_file(secret_file(dir, "q", "two\nlines\r\n", 0400), "--password-file");
  ASSERT_TRUE(r.secret) << r.error;
  EXPECT_EQ(r.secret->reveal(), "two\nlines");
}

TEST(SecretFile, RefusesAFileOthersCanReadAndSaysSo) {
  TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0666, 0601}) {
    const auto path = secret_file(dir, "p" + std::to_string(mode), "s3cret", mode);
    const auto r = read_secret_file(path, "--password-file");
    EXPECT_FALSE(r.secret) << mode;
    char expected[64];
    std::snprintf(expected, sizeof expected, "has mode %04o", unsigned(mode));
    EXPECT_NE(r.error.find(expected), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("--password-file " + path.string()), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("chmod 600"), std::string::npos) << r.error;
    EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << "never the secret";
  }
}

TEST(SecretFile, RefusesWhatIsNotASmallRegularFile) {
  TempDir dir;
  EXPECT_NE(read_secret_file(dir / "missing", "--password-file").error.find("cannot read --password-file"),
            std::string::npos);
  fs::create_directory(dir / "folder");
  ::chmod((dir / "folder").c_str(), 0700);
  EXPECT_NE(read_secret_file(dir / "folder", "--password-file").error.find("is not a regular file"),
            std::string::npos);
  // A FIFO would block a plain open(); it is refused at once.
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_NE(read_secret_file(dir / "fifo", "--password-file").error.find("is not a regular file"), std::string::npos);
  EXPECT_NE(read_secret_file(secret_file(dir, "empty", "\n", 0600), "--password-file").error.find("is empty"),
            std::string::npos);
  const auto big = secret_file(dir, "big", std::string(kMaxSecretFileBytes + 1, 'x'), 0600);
  EXPECT_NE(read_secret_file(big, "--password-file").error.find("a secret file holds at most"), std::string::npos);
}

TEST(SecretEnv, ReadsAVariableThatIsSet) {
  ::setenv("CONVENE_TEST_SECRET", "from-env", 1);
  auto r = read_secret_env("CONVENE_TEST_SECRET");
  ASSERT_TRUE(r.secret) << r.error;
  EXPECT_EQ(r.secret->reveal(), "from-env");
  ::setenv("CONVENE_TEST_SECRET", "", 1);
  r = read_secret_env("CONVENE_TEST_SECRET");
  EXPECT_FALSE(r.secret);
  EXPECT_EQ(r.error, "the environment variable CONVENE_TEST_SECRET is not set");
  ::unsetenv("CONVENE_TEST_SECRET");
}

TEST(SecretKey, IsCreatedOwnerOnlyFromTheCsprngAndReopened) {
  TempDir dir;
  auto a = SecretKey::open_or_create(dir / "convene.db.key");
  ASSERT_TRUE(a.key) << a.error;
  EXPECT_EQ(mode_of(dir / "convene.db.key"), 0600u);
  const std::string content = read_file(dir / "convene.db.key");
  EXPECT_EQ(content.size(), 65u);
  auto again = SecretKey::open_or_create(dir / "convene.db.key");
  ASSERT_TRUE(again.key) << again.error;
  EXPECT_EQ(again.key->id(), a.key->id()) << "an existing key is kept, not replaced";
  EXPECT_EQ(read_file(dir / "convene.db.key"), content);
  auto b = SecretKey::open_or_create(dir / "other.key");
  ASSERT_TRUE(b.key) << b.error;
  EXPECT_NE(read_file(dir / "other.key"), content) << "two keys from the CSPRNG differ";
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << "no temporary file left";
}

TEST(SecretKey, RefusesAKeyFileOthersCanRead) {
  TempDir dir;
  ASSERT_TRUE(SecretKey::open_or_create(dir / "k").key);
  ::chmod((dir / "k").c_str(), 0644);
  const auto r = SecretKey::open(dir / "k");
  EXPECT_FALSE(r.key);
  EXPECT_NE(r.error.find("the key file " + (dir / "k").string() + " has mode 0644"), std::string::npos) << r.error;
  write_file(dir / "garbage", "not a key\n");
  ::chmod((dir / "garbage").c_str(), 0600);
  EXPECT_NE(SecretKey::open(dir / "garbage").error.find("does not hold a convene key"), std::string::npos);
}

TEST(SecretKey, SealsAndUnsealsAndRefusesAnyOtherKeyOrDamage) {
  TempDir dir;
  const auto key = *SecretKey::open_or_create(dir / "k").key;
  const Secret secret("correct horse battery staple");
  const std::string sealed = key.seal(secret);
  EXPECT_EQ(sealed.find("correct"), std::string::npos);
  EXPECT_EQ(sealed.rfind("k1:" + key.id() + ":", 0), 0u);
  EXPECT_NE(key.seal(secret), sealed) << "a fresh nonce every time";
  auto opened = key.unseal(sealed);
  ASSERT_TRUE(opened.secret) << opened.error;
  EXPECT_EQ(opened.secret->reveal(), secret.reveal());

  const auto other = *SecretKey::open_or_create(dir / "other").key;
  EXPECT_NE(other.unseal(sealed).error.find("sealed with another key"), std::string::npos);
  std::string tampered = sealed;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_NE(key.unseal(tampered).error.find("does not open"), std::string::npos);
  EXPECT_NE(key.unseal("plain text").error.find("not in convene's form"), std::string::npos);
}

TEST(SecretRef, RoundTripsAsJsonAndDescribesWithoutTheSecret) {
  TempDir dir;
  const auto key = *SecretKey::open_or_create(dir / "k").key;
  const auto path = secret_file(dir, "p", "pw-in-file\n", 0600);
  const SecretRef refs[] = {SecretRef::file(path), SecretRef::env("CONVENE_TEST_PW"),
                            SecretRef::sealed(key.seal(Secret("pw-sealed")))};
  ::setenv("CONVENE_TEST_PW", "pw-in-env", 1);
  const char* expected[] = {"pw-in-file", "pw-in-env", "pw-sealed"};
  for (int i = 0; i < 3; ++i) {
    std::string error;
    const auto back = SecretRef::from_json(refs[i].to_json(), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(back->kind(), refs[i].kind());
    const auto r = back->resolve(&key);
    ASSERT_TRUE(r.secret) << r.error;
    EXPECT_EQ(r.secret->reveal(), expected[i]);
    EXPECT_EQ(back->describe().find("pw-"), std::string::npos) << back->describe();
  }
  EXPECT_EQ(refs[0].describe(), "file " + path.string());
  EXPECT_EQ(refs[1].describe(), "environment variable CONVENE_TEST_PW");
  EXPECT_EQ(refs[2].describe(), "sealed in the store");
  EXPECT_NE(refs[2].resolve(nullptr).error.find("no key file"), std::string::npos);
  std::string error;
  EXPECT_FALSE(SecretRef::from_json(nlohmann::json{{"password", "x"}}, error));
  EXPECT_FALSE(error.empty());
  ::unsetenv("CONVENE_TEST_PW");
}
