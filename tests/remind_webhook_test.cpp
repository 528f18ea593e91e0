// Reminders and notices posted to webhooks (a member's channel "webhook" and a community
// channel), to a real HTTP receiver on loopback (tests/servers/webhook_receiver.py), one
// pass at a time at simulated times (convene/remind.h, convene/webhook.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "convene/invite.h"
#include "convene/remind.h"
#include "convene/secrets.h"
#include "convene/store.h"
#include "convene/webhook.h"
#include "servers.h"
#include "test_support.h"
#include "webhook_receiver.h"

namespace convene {
namespace {

using namespace convene::testing;
using nlohmann::json;

Instant at(const char* text) {
  std::istringstream in(text);
  Instant t;
  in >> date::parse("%Y-%m-%dT%H:%M:%SZ", t);
  return t;
}

// Power Hour, Wednesday 3 February 2027 at 3:00 pm EST (20:00Z): its PT15M reminder.
constexpr const char* kRosaKey = "reminder/rosa/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z";
constexpr const char* kChannelKey = "community/nurses-chat/power-hour/2027-02-03T15:00/PT15M/20270203T2000Z";

class RemindWebhook : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    receiver_ = WebhookReceiver::start(dir_ / "receiver", error, "600");
    ASSERT_TRUE(receiver_) << error;
    StoreOptions o;
    o.path = path_;
    o.clock = &clock_;
    store_ = Store::open(o);
    auto loaded = load_definitions((source_dir() / "tests/data/remind/week.json").string());
    ASSERT_TRUE(loaded.ok());
    store_->import_definitions(*loaded.definitions, as_);
    auto key = SecretKey::open_or_create(key_file_);
    ASSERT_TRUE(key.key) << key.error;
    key_.emplace(*key.key);
    options_.key_file = key_file_;
    options_.webhook.timeout = std::chrono::seconds{1};
  }

  std::string sealed(const std::string& url) const { return key_->seal(Secret(url)); }

  void add_member(const std::string& id, const std::string& path, std::vector<Seconds> offsets = {}) {
    MemberSpec spec;
    spec.id = id;
    spec.name = "Member " + id;
    spec.email = id + "@example.org";
    spec.reminders.channel = "webhook";
    spec.reminders.webhook = sealed(receiver_->url(path));
    spec.reminders.offsets = std::move(offsets);
    store_->add_member(spec, as_);
    store_->subscribe(id, {Subscription::Kind::series, "power-hour"}, as_);
  }

  void add_channel(const std::string& name, const std::string& path) {
    store_->add_channel({name, "nurses", sealed(receiver_->url(path)), {std::chrono::minutes{15}}}, as_);
  }

  remind::PassReport pass(const char* when) {
    clock_.set(at(when));
    return remind::run_once(*store_, clock_, options_);
  }

  // The posts the receiver got to `path`.
  json posts_to(const std::string& path) const {
    json out = json::array();
    for (const auto& p : receiver_->posts())
      if (p["path"] == path) out.push_back(p);
    return out;
  }

  std::map<std::string, std::string> states() const {
    std::map<std::string, std::string> out;
    for (const auto& m : store_->outbox()) out[m.key] = std::string(to_string(m.state));
    return out;
  }

  TempDir dir_;
  std::string path_ = (dir_ / "convene.db").string();
  std::filesystem::path key_file_ = dir_ / "convene.db.key";
  SimulatedClock clock_{at("2027-01-25T09:00:00Z")};
  ChangeContext as_{.actor = "ana"};
  std::unique_ptr<WebhookReceiver> receiver_;
  std::unique_ptr<Store> store_;
  std::optional<SecretKey> key_;
  remind::PassOptions options_;
};

TEST_F(RemindWebhook, AMembersAndACommunitysReminderArriveOnceWithTheirJson) {
  add_member("rosa", "/ok/rosa");
  add_channel("nurses-chat", "/ok/nurses");
  auto r = pass("2027-02-03T19:00:00Z");
  EXPECT_EQ(r.sent, 0u) << remind::report_text(r, false);
  EXPECT_TRUE(receiver_->posts().empty());

  r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 2u) << remind::report_text(r, false);
  EXPECT_EQ(pass("2027-02-03T19:45:30Z").sent, 0u);
  EXPECT_EQ(pass("2027-02-03T19:50:00Z").sent, 0u);

  const json rosa = posts_to("/ok/rosa"), channel = posts_to("/ok/nurses");
  ASSERT_EQ(rosa.size(), 1u) << receiver_->posts().dump();
  ASSERT_EQ(channel.size(), 1u) << receiver_->posts().dump();
  for (const auto& [post, key] : {std::pair{rosa[0], kRosaKey}, std::pair{channel[0], kChannelKey}}) {
    EXPECT_EQ(post["headers"]["content-type"], "application/json; charset=utf-8");
    EXPECT_EQ(post["headers"]["idempotency-key"], webhook::idempotency_key(key));
    const json body = json::parse(post["body"].get<std::string>());
    ASSERT_TRUE(body.is_object());
    EXPECT_EQ(body.size(), 1u) << body.dump();  // {"text": ...}: what Slack and Teams read
    const std::string text = body["text"];
    EXPECT_EQ(text.substr(0, text.find('\n')), "In 15 minutes: Power Hour (3:00 pm EST)") << text;
    EXPECT_NE(text.find("Wednesday 3 February 2027, 3:00 pm EST to 4:00 pm EST"), std::string::npos) << text;
    EXPECT_NE(text.find("Room 204, 1200 First St NE"), std::string::npos) << text;
  }
  EXPECT_EQ(states()[kRosaKey], "sent");
  EXPECT_EQ(states()[kChannelKey], "sent");

  // Next week's Power Hour is cancelled: the member and the channel are told at once, once.
  clock_.set(at("2027-02-04T14:00:00Z"));
  store_->cancel("power-hour", *parse_local_minute("2027-02-10T15:00"), {.actor = "ana", .reason = "Staff training"});
  EXPECT_EQ(pass("2027-02-04T14:00:00Z").sent, 2u);
  EXPECT_EQ(pass("2027-02-04T14:05:00Z").sent, 0u);
  for (const char* path : {"/ok/rosa", "/ok/nurses"}) {
    const json got = posts_to(path);
    ASSERT_EQ(got.size(), 2u) << path;
    const std::string text = json::parse(got[1]["body"].get<std::string>())["text"];
    EXPECT_EQ(text.substr(0, text.find('\n')), "Cancelled: Power Hour on Wednesday 10 February, 3:00 pm EST") << text;
    EXPECT_NE(text.find("Staff training"), std::string::npos) << text;
  }
}

// The bug: a planned message kept the channel it was planned on, so a member who switched
// from the webhook to email still got the webhook post.
TEST_F(RemindWebhook, AChannelSwitchedAfterPlanningTakesThePlannedMessageOffTheOldChannel) {
  add_member("rosa", "/ok/rosa");
  auto r = pass("2027-02-03T19:00:00Z");
  ASSERT_EQ(states()[kRosaKey], "planned") << remind::report_text(r, false);

  clock_.set(at("2027-02-03T19:10:00Z"));
  MemberUpdate to_email;
  to_email.reminder_channel = "email";
  store_->update_member("rosa", to_email, as_);
  r = pass("2027-02-03T19:10:00Z");  // no email target covers the community here: nothing delivers it
  EXPECT_EQ(r.withdrawn, 2u) << remind::report_text(r, false);  // 3 and 10 February's
  for (const auto& m : store_->outbox({.member = std::string("rosa")})) EXPECT_EQ(m.state, OutboxMessage::State::withdrawn) << m.key;
  EXPECT_EQ(states()[kRosaKey], "withdrawn");
  EXPECT_EQ(pass("2027-02-03T19:45:00Z").sent, 0u);
  EXPECT_TRUE(posts_to("/ok/rosa").empty()) << receiver_->posts().dump();
}

TEST_F(RemindWebhook, AReceiverAnswering500IsRetriedThenFailsWhileTheOthersAreDelivered) {
  add_member("rosa", "/fail/rosa", {std::chrono::days{1}});
  add_member("ben", "/ok/ben", {std::chrono::days{1}});
  pass("2027-02-02T19:00:00Z");
  // Due Tuesday 20:00Z; tried again after 1, 2, 4, ... minutes (retry_at), until
  // kMaxAttempts, each pass 40 minutes after the last: well before the session starts.
  Instant now = at("2027-02-02T20:00:00Z");
  std::size_t failed = 0;
  for (std::uint32_t i = 0; i < remind::kMaxAttempts; ++i, now += std::chrono::minutes{40}) {
    clock_.set(now);
    failed += remind::run_once(*store_, clock_, options_).failed;
  }
  EXPECT_EQ(failed, 1u);
  EXPECT_EQ(posts_to("/fail/rosa").size(), remind::kMaxAttempts);
  EXPECT_EQ(posts_to("/ok/ben").size(), 1u);
  const std::string rosa_key = "reminder/rosa/power-hour/2027-02-03T15:00/P1D/20270203T2000Z";
  EXPECT_EQ(states()[rosa_key], "failed");
  EXPECT_EQ(states()["reminder/ben/power-hour/2027-02-03T15:00/P1D/20270203T2000Z"], "sent");

  store_.reset();
  const auto cli = run_cli({"reminders", "--failed", "--format", "json", "--db", path_});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  const json listed = json::parse(cli.out);
  ASSERT_EQ(listed.size(), 1u) << cli.out;
  EXPECT_EQ(listed[0]["key"], rosa_key);
  EXPECT_EQ(listed[0]["channel"], "webhook");
  EXPECT_EQ(listed[0]["recipient"], "member:rosa");
  EXPECT_EQ(listed[0]["attempts"], remind::kMaxAttempts);
  EXPECT_EQ(listed[0]["last_error"],
            "HTTP 500 from http://127.0.0.1:" + std::to_string(receiver_->port()) + "/…: internal error");
}

TEST_F(RemindWebhook, AHangingReceiverTimesOutAndHoldsUpNoOther) {
  add_member("rosa", "/hang/rosa");
  add_member("ben", "/ok/ben");
  add_channel("nurses-chat", "/ok/nurses");
  pass("2027-02-03T19:00:00Z");
  const auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 2u) << remind::report_text(r, false);
  EXPECT_EQ(r.deferred, 1u);
  EXPECT_EQ(posts_to("/ok/ben").size(), 1u);
  EXPECT_EQ(posts_to("/ok/nurses").size(), 1u);
  EXPECT_EQ(posts_to("/hang/rosa").size(), 1u);
  std::vector<OutboxMessage> waiting;
  for (auto& m : store_->outbox({.member = "rosa", .states = {OutboxMessage::State::planned}}))
    if (m.key == kRosaKey) waiting.push_back(std::move(m));  // not next week's
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].attempts, 1u);
  EXPECT_NE(waiting[0].last_error.find("timed out"), std::string::npos) << waiting[0].last_error;
  EXPECT_EQ(waiting[0].last_error.find("/hang/rosa"), std::string::npos) << waiting[0].last_error;
}

// Issue 13, round 3: a Retry-After given as an HTTP-date was counted from the system
// clock (webhook.cpp read system_clock::now()), not from the pass's injected one: on a
// simulated clock in February 2027, a date 10 minutes after the pass's now was more than
// kMaxRetryAfter ahead of the machine's clock, so the message waited the whole hour.
TEST_F(RemindWebhook, ARetryAfterDateCountsFromThePassesClock) {
  std::string error;
  receiver_ = WebhookReceiver::start(dir_ / "receiver-dated", error, "Wed, 03 Feb 2027 19:55:00 GMT");
  ASSERT_TRUE(receiver_) << error;
  add_member("rosa", "/busy/rosa");
  pass("2027-02-03T19:00:00Z");
  const auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.deferred, 1u) << remind::report_text(r, false);
  EXPECT_EQ(r.next_wake, at("2027-02-03T19:55:00Z"));
  const auto waiting = store_->outbox({.member = "rosa", .states = {OutboxMessage::State::planned}});
  const auto it = std::find_if(waiting.begin(), waiting.end(), [](const auto& m) { return m.key == kRosaKey; });
  ASSERT_NE(it, waiting.end());
  EXPECT_EQ(it->retry_not_before, at("2027-02-03T19:55:00Z"));
}

TEST_F(RemindWebhook, RetryAfterIsHonouredAndOther4xxFailAtOnce) {
  add_member("rosa", "/busy/rosa");
  add_member("ben", "/gone/ben");
  pass("2027-02-03T19:00:00Z");
  auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.failed, 1u) << remind::report_text(r, false);  // ben's 404
  EXPECT_EQ(r.deferred, 1u);
  EXPECT_EQ(r.next_wake, at("2027-02-03T19:55:00Z")) << "the receiver's Retry-After: 600";
  EXPECT_EQ(pass("2027-02-03T19:47:00Z").backing_off, 1u) << "the backoff (1 minute) is not enough";
  EXPECT_EQ(posts_to("/busy/rosa").size(), 1u);
  pass("2027-02-03T19:55:00Z");
  EXPECT_EQ(posts_to("/busy/rosa").size(), 2u);
  EXPECT_EQ(posts_to("/gone/ben").size(), 1u);
  const auto failed = store_->outbox({.member = "ben", .states = {OutboxMessage::State::failed}});
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].last_error, "HTTP 404 from http://127.0.0.1:" + std::to_string(receiver_->port()) + "/…: no_service");
}

TEST_F(RemindWebhook, ARemovedChannelsWaitingMessagesAreWithdrawn) {
  add_channel("nurses-chat", "/ok/nurses");
  EXPECT_GT(pass("2027-02-03T19:00:00Z").planned, 0u);
  store_->remove_channel("nurses-chat", as_);
  pass("2027-02-03T19:10:00Z");
  EXPECT_EQ(states()[kChannelKey], "withdrawn");
  EXPECT_TRUE(store_->outbox({.states = {OutboxMessage::State::planned}}).empty());
  pass("2027-02-03T19:45:00Z");
  EXPECT_TRUE(receiver_->posts().empty());
}

// The story: a pass sent the webhooks' posts first and the emails after them, one after
// the other, so a receiver that hangs held every email back by its timeout (15 s a batch
// of posts). Now they go side by side: this receiver answers only once the SMTP sink has
// the email, which a pass that posts and mails one after the other never gets to.
TEST_F(RemindWebhook, EmailsGoOutWhileAWebhookIsWaited) {
  std::string error;
  auto sink = SmtpSink::start(dir_ / "sink", {}, error);
  ASSERT_TRUE(sink) << error;
  receiver_.reset();
  receiver_ = WebhookReceiver::start(dir_ / "receiver2", error, "600", sink->dir());
  ASSERT_TRUE(receiver_) << error;
  TargetSpec t;
  t.name = "mail";
  t.kind = TargetKind::email;
  invite::EmailSettings s;
  s.smtp_url = sink->url();
  s.from = {"School Nurse CoP", "cop@example.org"};
  t.settings = invite::to_json(s).dump();
  store_->add_target(t, as_);
  MemberSpec ben;
  ben.id = "ben";
  ben.email = "ben@example.org";
  store_->add_member(ben, as_);
  store_->subscribe("ben", {Subscription::Kind::series, "power-hour"}, as_);
  add_member("rosa", "/wait/rosa");
  options_.webhook.timeout = std::chrono::seconds{30};  // a safety net: the answer comes once the email is in
  pass("2027-02-03T19:00:00Z");
  const auto r = pass("2027-02-03T19:45:00Z");
  EXPECT_EQ(r.sent, 2u) << remind::report_text(r, false);
  EXPECT_EQ(r.deferred, 0u);
  EXPECT_EQ(sink->messages().size(), 1u);
  EXPECT_EQ(posts_to("/wait/rosa").size(), 1u);
}

// Issue 13, round 3: a webhook URL given with --webhook-url is visible to every user of
// the machine while the command runs (ps, /proc/PID/cmdline). --webhook-url-file reads it
// from a file held to the secret file rule (0600 or 0400, bounded, one line), on
// `member add`, `member set` and `channel add`; a file others may read is refused with
// a message naming the flag and never the URL.
TEST_F(RemindWebhook, TheCliReadsTheUrlFromAPrivateFile) {
  store_.reset();
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-01-25T09:00:00Z"}};
  const auto cli = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--db", path_});
    return run_cli(args, "", env);
  };
  namespace fs = std::filesystem;
  const auto private_file = [&](const std::string& name, const std::string& url) {
    const fs::path file = dir_ / name;
    write_file(file, url + "\n");
    fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    return file.string();
  };
  const std::string rosa_file = private_file("rosa.url", receiver_->url("/ok/rosa-SECRET"));
  const std::string chat_file = private_file("chat.url", receiver_->url("/ok/chat-SECRET"));
  auto r = cli({"member", "add", "rosa", "--email", "rosa@example.org", "--channel", "webhook", "--webhook-url-file", rosa_file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(cli({"subscribe", "rosa", "power-hour"}).exit_code, 0);
  r = cli({"channel", "add", "chat", "--community", "nurses", "--webhook-url-file", chat_file, "--remind", "PT15M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << r.out;

  const fs::path shared = dir_ / "shared.url";
  write_file(shared, receiver_->url("/ok/other-SECRET") + "\n");
  fs::permissions(shared, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  r = cli({"member", "set", "rosa", "--webhook-url-file", shared.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("convene: error: --webhook-url-file " + shared.string(), 0), 0u) << r.err;
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("SECRET"), std::string::npos) << "never the URL: " << r.err;
  const fs::path not_a_url = dir_ / "bad.url";
  write_file(not_a_url, "hooks.example.org/services/SECRET\n");
  fs::permissions(not_a_url, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  r = cli({"channel", "add", "bad", "--community", "nurses", "--webhook-url-file", not_a_url.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("convene: error: --webhook-url-file: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("SECRET"), std::string::npos) << r.err;
  r = cli({"channel", "add", "both", "--community", "nurses", "--webhook-url-file", chat_file, "--webhook-url",
           receiver_->url("/ok/x")});
  EXPECT_NE(r.exit_code, 0) << "one or the other";
  r = cli({"channel", "add", "none", "--community", "nurses"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--webhook-url-file FILE"), std::string::npos) << r.err;

  ASSERT_EQ(run_cli({"remind", "--once", "--db", path_}, "", {{"CONVENE_NOW", "2027-02-03T19:00:00Z"}}).exit_code, 0);
  r = run_cli({"remind", "--once", "--db", path_}, "", {{"CONVENE_NOW", "2027-02-03T19:45:00Z"}});
  EXPECT_NE(r.out.find("sent 2"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(posts_to("/ok/rosa-SECRET").size(), 1u);
  EXPECT_EQ(posts_to("/ok/chat-SECRET").size(), 1u);
  EXPECT_TRUE(posts_to("/ok/other-SECRET").empty());
}

// Through the CLI, as an administrator sets it up: the URL goes in once, and nothing
// shows it again: not the pass's log, not the listings, not the store's file.
TEST_F(RemindWebhook, TheUrlNeverAppearsInTheLogTheListingsOrTheStore) {
  store_.reset();
  const std::string secret = "T0SECRET/B0SECRET/xoxSECRETSECRET";
  const std::string member_url = receiver_->url("/ok/" + secret);
  const std::string failing_url = receiver_->url("/fail/" + secret);
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-01-25T09:00:00Z"}};
  std::vector<RunResult> runs;
  const auto cli = [&](std::vector<std::string> args, const std::map<std::string, std::string>& e) {
    args.insert(args.end(), {"--db", path_});
    runs.push_back(run_cli(args, "", e));
    return runs.back();
  };
  auto added = cli({"member", "add", "rosa", "--email", "rosa@example.org", "--channel", "webhook", "--webhook-url", member_url}, env);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  ASSERT_EQ(cli({"subscribe", "rosa", "power-hour"}, env).exit_code, 0) << runs.back().err;
  ASSERT_EQ(cli({"channel", "add", "nurses-chat", "--community", "nurses", "--webhook-url", failing_url, "--remind", "PT15M"}, env)
                .exit_code, 0) << runs.back().err;
  EXPECT_NE(runs.back().out.find("posting to http://127.0.0.1:" + std::to_string(receiver_->port()) + "/…"), std::string::npos)
      << runs.back().out;
  cli({"remind", "--once", "--format", "json"}, {{"CONVENE_NOW", "2027-02-03T19:00:00Z"}});
  const auto sent = cli({"remind", "--once"}, {{"CONVENE_NOW", "2027-02-03T19:45:00Z"}});
  EXPECT_NE(sent.out.find("sent 1"), std::string::npos) << sent.out << sent.err;
  EXPECT_NE(sent.out.find("deferred " + std::string(kChannelKey) + ": HTTP 500 from http://127.0.0.1:"), std::string::npos)
      << sent.out;
  const auto listing = cli({"reminders"}, env);
  EXPECT_NE(listing.out.find("sent  reminder  rosa  power-hour 2027-02-03T15:00  attempts 1  by webhook"), std::string::npos)
      << listing.out;
  EXPECT_NE(listing.out.find("planned  reminder  channel:nurses-chat  power-hour 2027-02-03T15:00  attempts 1  by webhook"),
            std::string::npos) << listing.out;
  cli({"reminders", "--format", "json"}, env);
  cli({"member", "show", "rosa", "--format", "json"}, env);
  cli({"member", "list"}, env);
  cli({"channel", "list", "--format", "json"}, env);
  cli({"history"}, env);
  EXPECT_EQ(posts_to("/ok/" + secret).size(), 1u);
  for (const auto& r : runs) {
    EXPECT_EQ(r.out.find("SECRET"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("SECRET"), std::string::npos) << r.err;
  }
  for (const auto& file : {path_, path_ + "-wal"})
    if (std::filesystem::exists(file)) EXPECT_EQ(read_file(file).find("SECRET"), std::string::npos) << file;
}

TEST_F(RemindWebhook, ABadWebhookUrlIsRefusedNamingTheFlag) {
  store_.reset();
  const std::map<std::string, std::string> env{{"CONVENE_NOW", "2027-01-25T09:00:00Z"}};
  for (const std::string bad : {"not a url", "ftp://hooks.example.org/services/X", "https://hooks.example.org/a b",
                                " https://hooks.example.org/services/X", "http://hooks.example.org/services/X", ""}) {
    const auto member = run_cli({"member", "add", "rosa", "--email", "rosa@example.org", "--channel", "webhook",
                                 "--webhook-url", bad, "--db", path_}, "", env);
    EXPECT_EQ(member.exit_code, 1) << bad;
    EXPECT_EQ(member.err.rfind("convene: error: --webhook-url: ", 0), 0u) << member.err;
    EXPECT_EQ(std::count(member.err.begin(), member.err.end(), '\n'), 1) << member.err;
    if (!bad.empty()) EXPECT_EQ(member.err.find("hooks.example.org"), std::string::npos) << "a secret: " << member.err;
    const auto channel = run_cli({"channel", "add", "chat", "--community", "nurses", "--webhook-url", bad, "--db", path_}, "", env);
    EXPECT_EQ(channel.exit_code, 1) << bad;
    EXPECT_EQ(channel.err.rfind("convene: error: --webhook-url: ", 0), 0u) << channel.err;
  }
  const auto members = run_cli({"member", "list", "--format", "json", "--db", path_});
  EXPECT_EQ(json::parse(members.out).size(), 0u) << members.out;
  const auto channels = run_cli({"channel", "list", "--format", "json", "--db", path_});
  EXPECT_EQ(json::parse(channels.out).size(), 0u) << channels.out;
  const auto none = run_cli({"member", "add", "rosa", "--email", "rosa@example.org", "--channel", "webhook", "--db", path_}, "", env);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("needs the member's webhook URL (--webhook-url)"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace convene
