// The web's accounts in the store (convene/accounts.h): users and roles, one-time
// password links, sign-in sessions, throttling, API tokens and keys, on a real SQLite
// file with a simulated clock.
#include "convene/accounts.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}

struct Fixture {
  TempDir dir;
  SimulatedClock clock{at("2027-02-01T09:00:00Z")};
  std::string path = (dir / "convene.db").string();
  std::unique_ptr<Store> store;
  std::unique_ptr<Accounts> accounts;
  Fixture() {
    store = Store::open({.path = path, .clock = &clock});
    auto loaded = load_definitions((testing::source_dir() / "samples/communities-2026-27.json").string());
    store->import_definitions(*loaded.definitions, {.actor = "admin"});
    accounts = std::make_unique<Accounts>(*store);
  }
  IssuedSecret add_ana() {
    return accounts->add_user({.email = "Ana@District.example", .name = "Ana Rivera", .role = Role::facilitator,
                               .communities = {"school-nurses"}},
                              {.actor = "admin"});
  }
};

// Every value of column 0 of `sql`, as text.
std::vector<std::string> sql_column(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  std::vector<std::string> out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
    while (sqlite3_step(s) == SQLITE_ROW) {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(s, 0));
      out.emplace_back(p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, 0))) : "");
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

StoreError::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no StoreError";
  return StoreError::Kind::io;
}

TEST(Accounts, UserIsAddedLowerCasedWithTheirCommunitiesAndAnAuditRecord) {
  Fixture f;
  auto link = f.add_ana();
  EXPECT_EQ(link.token.size(), 43u);
  EXPECT_EQ(link.expires, f.clock.now() + kPasswordLinkLifetime);
  auto ana = f.accounts->user("ana@district.example");
  ASSERT_TRUE(ana);
  EXPECT_EQ(ana->email, "ana@district.example");
  EXPECT_EQ(ana->name, "Ana Rivera");
  EXPECT_EQ(ana->communities, std::vector<std::string>{"school-nurses"});
  EXPECT_FALSE(ana->has_password);
  EXPECT_TRUE(ana->may_change("school-nurses"));
  EXPECT_FALSE(ana->may_change("dc-sbh-cop"));
  auto history = f.store->history();
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.back().action, "user add");
  EXPECT_EQ(history.back().actor, "admin");
  EXPECT_EQ(history.back().target, "ana@district.example");
}

TEST(Accounts, RefusesWhatARoleCannotBe) {
  Fixture f;
  using K = StoreError::Kind;
  EXPECT_EQ(kind_of([&] { f.accounts->add_user({.email = "x@y.example", .name = "X"}, {}); }), K::invalid)
      << "a facilitator of no community";
  EXPECT_EQ(kind_of([&] {
              f.accounts->add_user({.email = "x@y.example", .name = "X", .role = Role::admin, .communities = {"school-nurses"}}, {});
            }),
            K::invalid);
  EXPECT_EQ(kind_of([&] {
              f.accounts->add_user({.email = "x@y.example", .name = "X", .communities = {"nurses"}}, {});
            }),
            K::invalid)
      << "an unknown community";
  EXPECT_EQ(kind_of([&] {
              f.accounts->add_user({.email = "x@y.example, z@y.example", .name = "X", .communities = {"school-nurses"}}, {});
            }),
            K::invalid);
  EXPECT_EQ(kind_of([&] {
              f.accounts->add_user({.email = "x@y.example", .name = "X\r\nBcc: z", .communities = {"school-nurses"}}, {});
            }),
            K::invalid);
  f.add_ana();
  EXPECT_EQ(kind_of([&] { f.add_ana(); }), K::invalid) << "twice";
  try {
    f.accounts->add_user({.email = "x@y.example", .name = "X", .communities = {"nurses"}}, {});
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("school-nurses"), std::string::npos) << e.what();
  }
}

TEST(Accounts, PasswordLinkIsSpentOnceAndOnlyItsHashIsStored) {
  Fixture f;
  auto link = f.add_ana();
  EXPECT_EQ(f.accounts->password_link_user(link.token)->email, "ana@district.example");
  auto stored = sql_column(f.path, "SELECT hash FROM user_secrets");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].size(), 32u);
  EXPECT_EQ(stored[0].find(link.token), std::string::npos);
  auto session = f.accounts->start_session("ana@district.example");
  ASSERT_TRUE(f.accounts->session(session.token));

  auto user = f.accounts->set_password(link.token, "$argon2id$v=19$m=65536,t=2,p=1$x$y");
  ASSERT_TRUE(user);
  EXPECT_TRUE(user->has_password);
  EXPECT_EQ(*f.accounts->password_hash("ANA@district.example"), "$argon2id$v=19$m=65536,t=2,p=1$x$y");
  EXPECT_FALSE(f.accounts->set_password(link.token, "other")) << "a spent link";
  EXPECT_FALSE(f.accounts->password_link_user(link.token));
  EXPECT_FALSE(f.accounts->session(session.token)) << "setting a password signs the other sessions out";
}

TEST(Accounts, PasswordLinkExpires) {
  Fixture f;
  auto link = f.add_ana();
  f.clock.advance(kPasswordLinkLifetime + Seconds{1});
  EXPECT_FALSE(f.accounts->password_link_user(link.token));
  EXPECT_FALSE(f.accounts->set_password(link.token, "h"));
  auto again = f.accounts->issue_password_link("ana@district.example", {.actor = "admin"});
  EXPECT_TRUE(f.accounts->set_password(again.token, "h"));
}

TEST(Accounts, NewPasswordLinkRevokesTheEarlierOne) {
  Fixture f;
  auto first = f.add_ana();
  auto second = f.accounts->issue_password_link("ana@district.example", {.actor = "admin"});
  EXPECT_FALSE(f.accounts->password_link_user(first.token));
  EXPECT_TRUE(f.accounts->password_link_user(second.token));
}

TEST(Accounts, SessionLastsItsLifetimeAndEnds) {
  Fixture f;
  f.add_ana();
  auto s = f.accounts->start_session("ana@district.example");
  auto live = f.accounts->session(s.token);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->user.email, "ana@district.example");
  EXPECT_EQ(live->expires, f.clock.now() + kSessionLifetime);
  EXPECT_FALSE(f.accounts->session(s.token.substr(0, 42) + (s.token[42] == 'A' ? "B" : "A")));
  f.clock.advance(kSessionLifetime - Seconds{1});
  EXPECT_TRUE(f.accounts->session(s.token));
  f.clock.advance(Seconds{1});
  EXPECT_FALSE(f.accounts->session(s.token));

  auto t = f.accounts->start_session("ana@district.example");
  f.accounts->end_session(t.token);
  EXPECT_FALSE(f.accounts->session(t.token));
}

TEST(Accounts, SessionsDoNotMoveTheDataVersion) {
  Fixture f;
  f.add_ana();
  const auto version = f.store->data_version();
  auto s = f.accounts->start_session("ana@district.example");
  f.accounts->record_failure("ana@district.example", "127.0.0.1");
  f.accounts->end_session(s.token);
  EXPECT_EQ(f.store->data_version(), version);
}

TEST(Accounts, ThrottlesAnAccountAfterItsFailuresUntilTheWindowPasses) {
  Fixture f;
  f.add_ana();
  for (int i = 0; i < kMaxSignInFailures - 1; ++i) {
    f.accounts->record_failure("ana@district.example", "10.0.0." + std::to_string(i));
    f.clock.advance(Seconds{10});
  }
  EXPECT_FALSE(f.accounts->throttled_until("ana@district.example", "10.0.0.99"));
  const Instant fifth = f.clock.now();
  f.accounts->record_failure("ANA@district.example", "10.0.0.50");
  const Instant first = fifth - Seconds{10 * (kMaxSignInFailures - 1)};
  auto until = f.accounts->throttled_until("ana@district.example", "10.0.0.99");
  ASSERT_TRUE(until) << "from any address";
  EXPECT_EQ(*until, first + kSignInWindow);
  EXPECT_FALSE(f.accounts->throttled_until("bo@district.example", "10.0.0.99")) << "other accounts";
  f.clock.set(*until);
  EXPECT_FALSE(f.accounts->throttled_until("ana@district.example", "10.0.0.99"));
  f.accounts->record_failure("ana@district.example", "10.0.0.1");
  EXPECT_TRUE(f.accounts->throttled_until("ana@district.example", "10.0.0.99"));
  f.accounts->clear_failures("ana@district.example");
  EXPECT_FALSE(f.accounts->throttled_until("ana@district.example", "10.0.0.99"));
}

TEST(Accounts, ThrottlesAClientTryingManyAccounts) {
  Fixture f;
  for (int i = 0; i < kMaxClientFailures; ++i) f.accounts->record_failure("user" + std::to_string(i) + "@x.example", "192.0.2.7");
  EXPECT_TRUE(f.accounts->throttled_until("new@x.example", "192.0.2.7"));
  EXPECT_FALSE(f.accounts->throttled_until("new@x.example", "192.0.2.8"));
}

TEST(Accounts, RemovingAUserEndsTheirSessions) {
  Fixture f;
  f.add_ana();
  auto s = f.accounts->start_session("ana@district.example");
  f.accounts->remove_user("ana@district.example", {.actor = "admin"});
  EXPECT_FALSE(f.accounts->session(s.token));
  EXPECT_FALSE(f.accounts->user("ana@district.example"));
  EXPECT_TRUE(sql_column(f.path, "SELECT hash FROM user_secrets").empty());
}

TEST(Accounts, UpdateChangesRoleAndCommunities) {
  Fixture f;
  f.add_ana();
  auto u = f.accounts->update_user("ana@district.example", Role::facilitator, {"school-nurses", "dc-sbh-cop"},
                                   {.actor = "admin"});
  EXPECT_TRUE(u.may_change("dc-sbh-cop"));
  u = f.accounts->update_user("ana@district.example", Role::admin, {}, {.actor = "admin"});
  EXPECT_TRUE(u.may_change("stakeholder-learning"));
  EXPECT_EQ(f.store->history().back().action, "user set");
}

TEST(Accounts, ApiTokenIsScopedStoredHashedAndRevoked) {
  Fixture f;
  auto issued = f.accounts->add_api_token({.name = "district-site", .communities = {"dc-sbh-cop"}}, {.actor = "admin"});
  EXPECT_EQ(issued.token.size(), 43u);
  auto stored = sql_column(f.path, "SELECT hash FROM api_tokens");
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].size(), 32u);
  auto t = f.accounts->find_api_token(issued.token);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "district-site");
  EXPECT_TRUE(t->may_change("dc-sbh-cop"));
  EXPECT_FALSE(t->may_change("school-nurses"));
  EXPECT_EQ(t->last_used, f.clock.now());
  EXPECT_FALSE(f.accounts->find_api_token(issued.token + "x"));
  EXPECT_EQ(kind_of([&] { f.accounts->add_api_token({.name = "district-site", .all_communities = true}, {}); }),
            StoreError::Kind::invalid);
  EXPECT_EQ(kind_of([&] { f.accounts->add_api_token({.name = "bad name", .all_communities = true}, {}); }),
            StoreError::Kind::invalid);
  EXPECT_EQ(kind_of([&] { f.accounts->add_api_token({.name = "none"}, {}); }), StoreError::Kind::invalid);
  f.accounts->revoke_api_token("district-site", {.actor = "admin"});
  EXPECT_FALSE(f.accounts->find_api_token(issued.token));
  EXPECT_EQ(kind_of([&] { f.accounts->revoke_api_token("district-site", {}); }), StoreError::Kind::invalid);
}

TEST(Accounts, KeyIsMadeOnceAndKeptAcrossOpens) {
  Fixture f;
  const std::string k = f.accounts->key("csrf");
  EXPECT_EQ(k.size(), 32u);
  EXPECT_EQ(f.accounts->key("csrf"), k);
  EXPECT_NE(f.accounts->key("other"), k);
  auto again = Store::open({.path = f.path, .clock = &f.clock});
  EXPECT_EQ(Accounts(*again).key("csrf"), k);
}

TEST(Accounts, ReadOnlyStoreRefusesChangesButStillReads) {
  Fixture f;
  f.add_ana();
  f.store.reset();
  f.accounts.reset();
  chmod(f.path.c_str(), 0400);
  auto ro = Store::open({.path = f.path, .clock = &f.clock, .create = false});
  Accounts accounts(*ro);
  EXPECT_TRUE(accounts.user("ana@district.example"));
  EXPECT_EQ(kind_of([&] { accounts.start_session("ana@district.example"); }), StoreError::Kind::read_only);
  // A read-only store cannot keep a new key: one is made for this process, and every later
  // call gives that same key (a new one per call would void every session cookie signed).
  const auto first = accounts.key("fresh");
  EXPECT_EQ(first.size(), 32u) << "a key for this process";
  EXPECT_EQ(accounts.key("fresh"), first) << "the same key on the next call";
  chmod(f.path.c_str(), 0600);
}

}  // namespace
}  // namespace convene
