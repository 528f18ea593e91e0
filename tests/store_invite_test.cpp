// The store's invitation tables: targets, members' delivery and invitees, the mapping,
// and the outbox (keys deduplicate, states move, a send and its effect commit together).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "convene/store.h"
#include "internal/store_schema.h"
#include "test_support.h"

namespace convene {
namespace {

using testing::TempDir;
using State = OutboxMessage::State;

struct Fixture {
  TempDir dir;
  SimulatedClock clock{Instant{date::sys_days{date::year{2027} / 2 / 1}}};
  std::unique_ptr<Store> store;
  ChangeContext as{"ana", std::nullopt, std::nullopt};
  Fixture() {
    StoreOptions o;
    o.path = (dir / "convene.db").string();
    o.clock = &clock;
    store = Store::open(o);
    auto loaded = load_definitions((testing::source_dir() / "tests/data/store/definitions.json").string());
    store->import_definitions(*loaded.definitions, as);
  }
  void member(const std::string& id, Delivery delivery, const Subscription& to) {
    MemberSpec spec;
    spec.id = id;
    spec.email = id + "@example.org";
    spec.name = "Member " + id;
    store->add_member(spec, as);
    MemberUpdate u;
    u.delivery = delivery;
    store->update_member(id, u, as);
    store->subscribe(id, to, as);
  }
  TargetSpec email_target(const std::string& name = "mail") {
    TargetSpec t;
    t.name = name;
    t.kind = TargetKind::email;
    t.settings = R"({"smtp_url": "smtp://127.0.0.1:2525", "from": "CoP <cop@example.org>"})";
    return t;
  }
};

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const StoreError& e) {
    return e.what();
  }
  return "(no error)";
}

OutboxMessage message(const std::string& key, const std::string& target = "mail") {
  OutboxMessage m;
  m.key = key;
  m.kind = "invitation";
  m.target = target;
  m.member = "rosa";
  m.series = "power-hour";
  m.recipient = "rosa@example.org";
  m.message_id = "<" + key + "@example.org>";
  m.payload = "Subject: " + key + "\r\n\r\nbody\r\n";
  return m;
}

}  // namespace

TEST(StoreInvite, AddsListsAndRemovesTargets) {
  Fixture f;
  f.store->add_target(f.email_target(), f.as);
  TargetSpec dav;
  dav.name = "nurses-dav";
  dav.kind = TargetKind::caldav;
  dav.settings = R"({"url": "https://dav.example.org/cop/nurses/"})";
  dav.communities = std::vector<std::string>{"nurses"};
  f.store->add_target(dav, f.as);
  const auto targets = f.store->targets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].spec.name, "mail");
  EXPECT_FALSE(targets[0].spec.communities);
  EXPECT_EQ(targets[1].spec.kind, TargetKind::caldav);
  EXPECT_EQ(targets[1].spec.communities, std::vector<std::string>{"nurses"});
  EXPECT_EQ(nlohmann::json::parse(targets[1].spec.settings)["url"], "https://dav.example.org/cop/nurses/");
  EXPECT_EQ(f.store->history().back().action, "target add");

  EXPECT_NE(message_of([&] { f.store->add_target(f.email_target(), f.as); }).find("already exists"), std::string::npos);
  dav.name = "other";
  dav.communities = std::vector<std::string>{"nurzes"};
  EXPECT_NE(message_of([&] { f.store->add_target(dav, f.as); }).find("no community \"nurzes\""), std::string::npos);
  dav.name = "bad name!";
  EXPECT_NE(message_of([&] { f.store->add_target(dav, f.as); }).find("may hold only"), std::string::npos);
  auto bad = f.email_target("bad");
  bad.settings = "[1]";
  EXPECT_NE(message_of([&] { f.store->add_target(bad, f.as); }).find("not a JSON object"), std::string::npos);

  f.store->put_remote_records("mail", "power-hour", "rosa@example.org", {{"power-hour", {}, "rosa@example.org", "uid"}});
  f.store->enqueue({message("k1")});
  f.store->remove_target("mail", f.as);
  EXPECT_FALSE(f.store->target("mail"));
  EXPECT_TRUE(f.store->remote_records("mail").empty()) << "its mapping goes with it";
  EXPECT_TRUE(f.store->outbox().empty()) << "its outbox too";
  EXPECT_NE(message_of([&] { f.store->remove_target("mail", f.as); }).find("no target \"mail\""), std::string::npos);
}

TEST(StoreInvite, RecordsEachSyncOutcome) {
  Fixture f;
  f.store->add_target(f.email_target(), f.as);
  f.store->record_sync("mail", f.clock.now(), "cannot connect");
  f.store->record_sync("mail", f.clock.now(), "cannot connect");
  auto t = *f.store->target("mail");
  EXPECT_EQ(t.failures, 2u);
  EXPECT_EQ(t.last_error, "cannot connect");
  EXPECT_FALSE(t.last_success);
  f.store->record_sync("mail", f.clock.now(), "");
  t = *f.store->target("mail");
  EXPECT_EQ(t.failures, 0u);
  EXPECT_EQ(t.last_error, "");
  EXPECT_TRUE(t.last_success);
}

TEST(StoreInvite, InviteesAreInviteMembersFollowingTheSeries) {
  Fixture f;
  f.member("rosa", Delivery::invite, {Subscription::Kind::community, "nurses"});
  f.member("ben", Delivery::invite, {Subscription::Kind::series, "power-hour"});
  f.member("dee", Delivery::feed, {Subscription::Kind::community, "nurses"});
  f.member("eve", Delivery::invite, {Subscription::Kind::community, "dc-bh"});
  EXPECT_EQ(f.store->member("rosa")->delivery, Delivery::invite);
  EXPECT_EQ(f.store->member("dee")->delivery, Delivery::feed);
  const auto ph = f.store->invitees("power-hour");
  ASSERT_EQ(ph.size(), 2u);
  EXPECT_EQ(ph[0], (Invitee{"ben", "ben@example.org", "Member ben"}));
  EXPECT_EQ(ph[1].member, "rosa");
  const auto mm = f.store->invitees("mentoring-monday");
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(mm[0].member, "rosa");
  EXPECT_EQ(f.store->invitees("bh-monthly").size(), 1u);
  // A split's continuation has the invitees of the series it continues.
  SplitSpec split;
  split.from = *parse_date("2027-03-01");
  f.store->split("power-hour", split, f.as);
  const auto continued = f.store->invitees("power-hour-from-2027-03-01");
  ASSERT_EQ(continued.size(), 2u);
  EXPECT_EQ(continued[0].member, "ben");
  EXPECT_EQ(parse_delivery("invite"), Delivery::invite);
  EXPECT_EQ(parse_delivery("email"), std::nullopt);
}

TEST(StoreInvite, KeepsTheMappingPerTargetSeriesAndCopy) {
  Fixture f;
  f.store->add_target(f.email_target(), f.as);
  RemoteRecord series{"power-hour", {}, "rosa@example.org", "power-hour@convene", "", 3, true};
  series.covers = *parse_date("2027-06-30");
  series.invitees = {{"rosa", "rosa@example.org", "Rosa Díaz"}};
  series.generation = 4;
  RemoteRecord session{"power-hour", parse_local_minute("2027-02-10T15:00"), "rosa@example.org",
                       "power-hour@convene", "", 1, false};
  f.store->put_remote_records("mail", "power-hour", "rosa@example.org", {series, session});
  f.store->put_remote_records("mail", "power-hour", "ben@example.org", {{"power-hour", {}, "ben@example.org", "x"}});
  auto records = f.store->remote_records("mail");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].copy, "ben@example.org");
  EXPECT_EQ(records[1], series);
  EXPECT_EQ(records[2], session);
  // Putting a copy's records replaces them all, and leaves other copies alone.
  f.store->put_remote_records("mail", "power-hour", "rosa@example.org", {series});
  records = f.store->remote_records("mail");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1], series);
}

// Attendees' responses (schema 13): one read of a series replaces what that target said
// of it before, other targets' answers stay, and removing a target removes its answers.
TEST(StoreInvite, ResponsesAreReplacedPerTargetAndSeries) {
  Fixture f;
  f.store->add_target(f.email_target("a"), f.as);
  f.store->add_target(f.email_target("b"), f.as);
  const Instant at = f.clock.now();
  const auto session = *parse_local_minute("2027-02-10T15:00");
  f.store->put_responses("a", "s", {{"", "s", std::nullopt, "rosa", "Rosa@Example.org", Answer::accepted, at},
                                    {"", "s", session, "rosa", "rosa@example.org", Answer::declined, at}});
  f.store->put_responses("b", "s", {{"", "s", std::nullopt, "", "kim@example.org", Answer::tentative, at}});
  auto got = f.store->responses("s");
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].email, "kim@example.org");
  EXPECT_EQ(got[1].email, "rosa@example.org") << "addresses are kept in lower case";
  EXPECT_EQ(got[1].answer, Answer::accepted);
  EXPECT_EQ(got[1].target, "a");
  EXPECT_EQ(got[2].occurrence, session);
  EXPECT_EQ(got[2].answer, Answer::declined);
  EXPECT_EQ(got[2].read_at, at);

  f.store->put_responses("a", "s", {{"", "s", std::nullopt, "rosa", "rosa@example.org", Answer::tentative, at}});
  got = f.store->responses("s");
  ASSERT_EQ(got.size(), 2u) << "a's session answer went with its new read";
  EXPECT_EQ(got[1].answer, Answer::tentative);
  f.store->remove_target("b", f.as);
  got = f.store->responses("s");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "a");
  EXPECT_EQ(parse_answer("declined"), Answer::declined);
  EXPECT_FALSE(parse_answer("maybe"));
}

// The reminder worker's marks (issue 13, round 3): a batch is claimed as sending in one
// commit (only what is still wanted: one withdrawn since it was read is not claimed), and
// each outcome is one small UPDATE of the state columns; the payload, in a table of its
// own, is never rewritten. Before, each mark rewrote the row with its payload and a batch
// took one commit per message before the sends.
TEST(StoreInvite, ClaimsABatchAndMarksOnlyTheStateColumns) {
  Fixture f;
  f.store->add_target(f.email_target(), f.as);
  const auto rows = f.store->enqueue({message("a"), message("b"), message("c")});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(f.store->withdraw_outbox("mail", "invitation", {"a", "c"}), 1u);
  const auto claimed = f.store->claim_sending({rows[0].id, rows[1].id, rows[2].id});
  ASSERT_EQ(claimed.size(), 2u) << "b was withdrawn after it was read";
  EXPECT_EQ(claimed.at(rows[0].id), "Subject: a\r\n\r\nbody\r\n");
  EXPECT_EQ(claimed.at(rows[2].id), "Subject: c\r\n\r\nbody\r\n");
  EXPECT_FALSE(claimed.contains(rows[1].id));
  auto all = f.store->outbox();
  EXPECT_EQ(all[0].state, State::sending);
  EXPECT_EQ(all[0].attempts, 0u) << "claimed, not yet tried";
  EXPECT_EQ(all[1].state, State::withdrawn);

  f.clock.advance(std::chrono::seconds{5});
  f.store->mark_tried(rows[0].id, State::sent, "");
  const Instant later = f.clock.now() + std::chrono::minutes{3};
  f.store->mark_tried(rows[2].id, State::planned, "451 try again later", later);
  OutboxQuery q;
  q.with_payload = true;
  all = f.store->outbox(q);
  EXPECT_EQ(all[0].state, State::sent);
  EXPECT_EQ(all[0].attempts, 1u);
  EXPECT_EQ(all[0].updated, f.clock.now());
  EXPECT_EQ(all[0].payload, "Subject: a\r\n\r\nbody\r\n");
  EXPECT_EQ(all[2].state, State::planned);
  EXPECT_EQ(all[2].attempts, 1u);
  EXPECT_EQ(all[2].last_error, "451 try again later");
  EXPECT_EQ(all[2].retry_not_before, later);
  EXPECT_EQ(all[2].payload, "Subject: c\r\n\r\nbody\r\n");
  EXPECT_TRUE(f.store->claim_sending({rows[0].id, rows[1].id}).empty()) << "sent and withdrawn: neither claimed again";
  // A crash after the claim: the claimed message is still due (sending counts as planned).
  EXPECT_EQ(f.store->claim_sending({rows[2].id}).size(), 1u);
  EXPECT_EQ(f.store->claim_sending({rows[2].id}).size(), 1u);
}

// Schema 14 moved the outbox's payloads into a table of their own: a store written at
// 13 keeps every message it had, payload included.
TEST(StoreInvite, PayloadsMoveToTheirOwnTableOnMigration) {
  TempDir dir;
  const std::string path = (dir / "convene.db").string();
  {
    store_internal::Connection db(path, true, false, 1000);
    store_internal::migrate(db, 13);
    db.exec(
        "INSERT INTO outbox (key, kind, target, member, series, recipient, message_id, payload, state, due, created, "
        "updated) VALUES ('reminder/rosa/x', 'reminder', NULL, 'rosa', 'x', 'rosa@example.org', '<r@example.org>', "
        "'Subject: hello', 'planned', 0, 0, 0)");
  }
  StoreOptions o;
  o.path = path;
  auto store = Store::open(o);
  OutboxQuery q;
  q.with_payload = true;
  const auto rows = store->outbox(q);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].payload, "Subject: hello");
  EXPECT_EQ(store->claim_sending({rows[0].id}).at(rows[0].id), "Subject: hello");
}

TEST(StoreInvite, OutboxKeysDeduplicateAndStatesMove) {
  Fixture f;
  f.store->add_target(f.email_target(), f.as);
  auto first = f.store->enqueue({message("a"), message("b")});
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].state, State::planned);
  EXPECT_EQ(first[0].payload, "Subject: a\r\n\r\nbody\r\n");

  f.store->mark_sending(first[0].id);
  // Planning again: "a" keeps its state (sending), "b" stays planned, "c" is new.
  auto second = f.store->enqueue({message("a"), message("b"), message("c")});
  ASSERT_EQ(second.size(), 3u);
  EXPECT_EQ(second[0].id, first[0].id);
  EXPECT_EQ(second[0].state, State::sending);
  EXPECT_EQ(second[0].attempts, 1u);
  EXPECT_EQ(second[2].state, State::planned);
  EXPECT_EQ(f.store->outbox().size(), 3u);

  // Sent, with the copy's records, in one transaction.
  RemoteRecord r{"power-hour", {}, "rosa@example.org", "power-hour@convene", "", 2, true};
  f.store->mark_sent(first[0].id, "power-hour", "rosa@example.org", {r});
  EXPECT_EQ(f.store->remote_records("mail").size(), 1u);
  f.store->mark_sending(second[1].id);
  f.store->mark_unsent(second[1].id, "451 try again later", false);
  f.store->mark_sending(second[2].id);
  f.store->mark_unsent(second[2].id, "550 no such user", true);
  const auto all = f.store->outbox();
  EXPECT_EQ(all[0].state, State::sent);
  EXPECT_EQ(all[1].state, State::planned);
  EXPECT_EQ(all[1].last_error, "451 try again later");
  EXPECT_EQ(all[1].attempts, 1u);
  EXPECT_EQ(all[2].state, State::failed);
  EXPECT_TRUE(all[2].payload.empty()) << "payloads only when asked";

  // Withdraw what a new plan no longer wants: only planned or sending messages.
  EXPECT_EQ(f.store->withdraw_outbox("mail", "invitation", {"c"}), 1u);
  OutboxQuery q;
  q.states = {State::withdrawn};
  const auto withdrawn = f.store->outbox(q);
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].key, "b");
  q.states = {State::sent};
  EXPECT_EQ(f.store->outbox(q).size(), 1u);
}

}  // namespace convene
