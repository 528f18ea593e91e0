// convene::caldav::Client against a real CalDAV server: Debian's Radicale on 127.0.0.1
// with a port the kernel picks and an htpasswd login, started and stopped by the test.
#include <gtest/gtest.h>


#include "convene/caldav.h"
#include "servers.h"
#include "test_support.h"

using namespace convene;
using namespace convene::caldav;
using namespace convene::testing;

namespace {

std::string event(const std::string& uid, const std::string& summary, int sequence = 0) {
  return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//convene//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
         "\r\nDTSTAMP:20270111T143000Z\r\nDTSTART:20270118T210000Z\r\nDTEND:20270118T220000Z\r\nSEQUENCE:" +
         std::to_string(sequence) + "\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
}

class CaldavClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = RadicaleServer::start(dir_ / "radicale", error, {{"cop", "pw"}, {"other", "pw2"}});
    ASSERT_TRUE(server_) << error;
    ASSERT_EQ(server_->make_calendar("/cop/nurses/", "cop", "pw"), 201) << server_->log_tail();
  }

  Config config(const std::string& path = "/cop/nurses/", const std::string& password = "pw") const {
    Config c;
    c.collection_url = server_->url(path);
    c.username = "cop";
    c.password = Secret(password);
    c.max_connections = 3;
    return c;
  }

  // Runs one request and returns its response.
  static Response one(Client& client, Request r) {
    Response out;
    const std::vector<Request> batch{std::move(r)};
    const auto failure = client.run(batch, [&](std::size_t, const Response& resp) { out = resp; });
    EXPECT_FALSE(failure) << failure.message;
    return out;
  }

  TempDir dir_;
  std::unique_ptr<RadicaleServer> server_;
};

}  // namespace

TEST(CaldavUrl, AcceptsHttpAndHttpsCollections) {
  EXPECT_EQ(collection_url_error("https://dav.example.org/cop/nurses/"), std::nullopt);
  EXPECT_EQ(collection_url_error("http://127.0.0.1:5232/cop/nurses"), std::nullopt);
  EXPECT_NE(collection_url_error("ftp://dav.example.org/x/")->find("not http:// or https://"), std::string::npos);
  EXPECT_NE(collection_url_error("https://u:p@dav.example.org/x/")->find("user or password"), std::string::npos);
  EXPECT_NE(collection_url_error("https://dav.example.org/x/?a=1")->find("query or fragment"), std::string::npos);
  EXPECT_NE(collection_url_error("not a url")->find("is not a URL"), std::string::npos);
}

TEST_F(CaldavClientTest, HrefIsTheUidPercentEncodedInTheCollection) {
  Client client(config());
  EXPECT_EQ(client.href_for_uid("mentoring-monday@convene"), server_->url("/cop/nurses/mentoring-monday%40convene.ics"));
  EXPECT_EQ(client.href_for_uid("a/b c"), server_->url("/cop/nurses/a%2Fb%20c.ics"));
  Client no_slash(config("/cop/nurses"));
  EXPECT_EQ(no_slash.href_for_uid("x"), server_->url("/cop/nurses/x.ics"));
}

TEST_F(CaldavClientTest, ChecksTheCollection) {
  Client good(config());
  EXPECT_FALSE(good.check()) << good.check().message;
  Client missing(config("/cop/missing/"));
  EXPECT_NE(missing.check().message.find("there is no calendar collection at"), std::string::npos)
      << missing.check().message;
  Client not_calendar(config("/cop/"));
  EXPECT_NE(not_calendar.check().message.find("is not a calendar collection"), std::string::npos)
      << not_calendar.check().message;
  Client wrong(config("/cop/nurses/", "wrong"));
  const auto refused = wrong.check();
  EXPECT_NE(refused.message.find("refused the login of user \"cop\" (401)"), std::string::npos) << refused.message;
  EXPECT_EQ(refused.message.find("wrong"), std::string::npos) << "never the password";
  Config anonymous = config();
  anonymous.username.clear();
  anonymous.password.reset();
  Client anon(anonymous);
  EXPECT_NE(anon.check().message.find("requires a login"), std::string::npos) << anon.check().message;
}

TEST_F(CaldavClientTest, CreatesOnceUpdatesOnTheETagAndRemoves) {
  Client client(config());
  const std::string href = client.href_for_uid("mentoring-monday@convene");
  auto created = one(client, {Method::create, href, "", event("mentoring-monday@convene", "Mentoring Monday")});
  EXPECT_EQ(created.status, 201) << created.error;
  EXPECT_FALSE(created.etag.empty());

  // A second create (a retry after a lost answer) never overwrites: 412.
  auto again = one(client, {Method::create, href, "", event("mentoring-monday@convene", "Other")});
  EXPECT_EQ(again.status, 412);

  auto read = one(client, {Method::get, href, "", ""});
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.etag, created.etag);
  EXPECT_NE(read.body.find("SUMMARY:Mentoring Monday"), std::string::npos);

  auto updated = one(client, {Method::update, href, created.etag, event("mentoring-monday@convene", "Moved", 1)});
  EXPECT_TRUE(updated.status == 204 || updated.status == 201 || updated.status == 200) << updated.status;
  EXPECT_FALSE(updated.etag.empty());
  EXPECT_NE(updated.etag, created.etag);

  // An update or delete based on an old ETag is refused: someone changed it since.
  EXPECT_EQ(one(client, {Method::update, href, created.etag, event("mentoring-monday@convene", "Stale", 2)}).status, 412);
  EXPECT_EQ(one(client, {Method::remove, href, created.etag, ""}).status, 412);
  EXPECT_NE(one(client, {Method::get, href, "", ""}).body.find("SUMMARY:Moved"), std::string::npos);

  const auto removed = one(client, {Method::remove, href, updated.etag, ""});
  EXPECT_TRUE(removed.status == 200 || removed.status == 204) << removed.status;
  EXPECT_EQ(one(client, {Method::get, href, "", ""}).status, 404);
  EXPECT_EQ(one(client, {Method::remove, href, "", ""}).status, 404);
}

TEST_F(CaldavClientTest, RunsManyRequestsWithinTheLimit) {
  Client client(config());
  std::vector<Request> batch;
  for (int i = 0; i < 30; ++i) {
    const std::string uid = "series-" + std::to_string(i) + "@convene";
    batch.push_back({Method::create, client.href_for_uid(uid), "", event(uid, "Series " + std::to_string(i))});
  }
  std::vector<long> statuses(batch.size(), -1);
  const auto failure = client.run(batch, [&](std::size_t i, const Response& r) { statuses[i] = r.status; });
  EXPECT_FALSE(failure) << failure.message;
  for (long s : statuses) EXPECT_EQ(s, 201);
  std::vector<Request> reads;
  for (const auto& r : batch) reads.push_back({Method::get, r.href, "", ""});
  std::size_t found = 0;
  client.run(reads, [&](std::size_t i, const Response& r) {
    found += r.status == 200 && r.body.find("Series " + std::to_string(i) + "\r\n") != std::string::npos;
  });
  EXPECT_EQ(found, batch.size());
}

TEST_F(CaldavClientTest, ARefusedLoginStopsTheBatch) {
  Client client(config("/cop/nurses/", "wrong"));
  std::vector<Request> batch;
  for (int i = 0; i < 10; ++i) {
    const std::string uid = "s" + std::to_string(i);
    batch.push_back({Method::create, client.href_for_uid(uid), "", event(uid, "x")});
  }
  std::size_t calls = 0;
  const auto failure = client.run(batch, [&](std::size_t, const Response& r) {
    ++calls;
    EXPECT_NE(r.status, 201);
  });
  ASSERT_TRUE(failure);
  EXPECT_NE(failure.message.find("refused the login"), std::string::npos) << failure.message;
  EXPECT_EQ(calls, batch.size());
}

TEST(CaldavClient, AServerThatIsDownStopsTheBatch) {
  RefusingPort down;
  Config c;
  c.collection_url = "http://127.0.0.1:" + std::to_string(down.port()) + "/cop/nurses/";
  Client client(c);
  EXPECT_NE(client.check().message.find("cannot reach the CalDAV server"), std::string::npos);
  const std::vector<Request> batch{{Method::create, client.href_for_uid("a"), "", event("a", "x")},
                                   {Method::create, client.href_for_uid("b"), "", event("b", "x")}};
  std::size_t calls = 0;
  const auto failure = client.run(batch, [&](std::size_t, const Response& r) {
    ++calls;
    EXPECT_EQ(r.status, 0);
  });
  ASSERT_TRUE(failure);
  EXPECT_NE(failure.message.find("cannot reach the CalDAV server http://127.0.0.1:"), std::string::npos)
      << failure.message;
  EXPECT_EQ(calls, 2u);
}
