// The invitation planner: operations from (desired, mapping), and convergence: once every
// operation of a plan has been applied (records_after), planning again finds nothing.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "convene/invitation_plan.h"

using namespace convene;

namespace {

LocalTime t(const char* text) { return *parse_local_minute(text); }
LocalDay day(const char* text) { return *parse_date(text); }

Invitee rosa{"rosa", "rosa@example.org", "Rosa Díaz"};
Invitee ben{"ben", "ben@example.org", "Ben Ode"};
Invitee ana{"ana", "ana@example.org", "Ana Li"};

DesiredSeries series(const std::string& id, std::vector<Invitee> invitees, std::uint64_t sequence = 0,
                     std::vector<SessionState> sessions = {}) {
  DesiredSeries d;
  d.series = id;
  d.title = "Title of " + id;
  d.sequence = sequence;
  d.covers = day("2027-06-30");
  d.sessions = std::move(sessions);
  d.invitees = std::move(invitees);
  return d;
}

// Applies every operation of `plan` to `remote`, as a runner that succeeds at all would.
std::vector<RemoteRecord> apply(const std::vector<DesiredSeries>& desired, std::vector<RemoteRecord> remote,
                                const TargetPlan& plan, Holding holding) {
  for (const auto& op : plan.operations) {
    const DesiredSeries* d = nullptr;
    for (const auto& s : desired)
      if (s.series == op.series) d = &s;
    std::vector<std::string> copies;
    if (holding == Holding::shared) {
      copies = {""};
    } else {
      for (const auto& m : op.members) copies.push_back(m.email);
    }
    for (const auto& copy : copies) {
      std::vector<RemoteRecord> mine, rest;
      for (auto& r : remote) (r.series == op.series && r.copy == copy ? mine : rest).push_back(r);
      const auto after = records_after(d, op, copy, mine, "id-" + op.series, "etag");
      rest.insert(rest.end(), after.begin(), after.end());
      remote = std::move(rest);
    }
  }
  return remote;
}

std::vector<OperationKind> kinds(const TargetPlan& plan) {
  std::vector<OperationKind> out;
  for (const auto& op : plan.operations) out.push_back(op.kind);
  return out;
}

}  // namespace

TEST(InvitationPlan, NamesKindsAndHoldings) {
  EXPECT_EQ(parse_target_kind("caldav"), TargetKind::caldav);
  EXPECT_EQ(parse_target_kind("smtp"), std::nullopt);
  EXPECT_EQ(holding_of(TargetKind::email), Holding::per_member);
  for (auto k : {TargetKind::caldav, TargetKind::google, TargetKind::graph}) EXPECT_EQ(holding_of(k), Holding::shared);
  EXPECT_EQ(to_string(OperationKind::cancel_session), "cancel-session");
}

TEST(InvitationPlan, SharedNewSeriesIsCreatedWithItsAttendees) {
  const std::vector<DesiredSeries> desired{series("mentoring-monday", {ben, rosa})};
  const auto plan = plan_target(desired, {}, Holding::shared);
  ASSERT_EQ(plan.operations.size(), 1u);
  EXPECT_EQ(plan.operations[0].kind, OperationKind::create);
  EXPECT_EQ(plan.operations[0].members, (std::vector<Invitee>{ben, rosa}));
  EXPECT_EQ(plan.operations[0].key, "mentoring-monday/create/g0/s0");
  const auto remote = apply(desired, {}, plan, Holding::shared);
  EXPECT_TRUE(plan_target(desired, remote, Holding::shared).empty());
}

TEST(InvitationPlan, SharedChangesBecomeUpdatesCancelsAndAttendeeChanges) {
  std::vector<DesiredSeries> desired{series("power-hour", {ben, rosa})};
  auto remote = apply(desired, {}, plan_target(desired, {}, Holding::shared), Holding::shared);

  // A move (revision 1, live), a cancel (revision 1, not live), a new member, one gone.
  desired[0].sessions = {{t("2027-02-10T15:00"), 1, true}, {t("2027-03-10T15:00"), 1, false}};
  desired[0].invitees = {ana, rosa};
  auto plan = plan_target(desired, remote, Holding::shared);
  EXPECT_EQ(kinds(plan), (std::vector<OperationKind>{OperationKind::remove_attendee, OperationKind::update,
                                                     OperationKind::cancel_session, OperationKind::add_attendee}));
  EXPECT_EQ(plan.operations[0].members, std::vector<Invitee>{ben});
  EXPECT_FALSE(plan.operations[1].master);
  EXPECT_EQ(plan.operations[1].sessions, std::vector<LocalTime>{t("2027-02-10T15:00")});
  EXPECT_EQ(plan.operations[2].sessions, std::vector<LocalTime>{t("2027-03-10T15:00")});
  EXPECT_EQ(plan.operations[2].key, "power-hour/cancel/g0/20270310T1500.1");
  EXPECT_EQ(plan.operations[3].members, std::vector<Invitee>{ana});
  remote = apply(desired, remote, plan, Holding::shared);
  EXPECT_TRUE(plan_target(desired, remote, Holding::shared).empty());

  // The series' own revision rises (a title edit): an update of the master only.
  desired[0].sequence = 2;
  plan = plan_target(desired, remote, Holding::shared);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::update});
  EXPECT_TRUE(plan.operations[0].master);
  EXPECT_TRUE(plan.operations[0].sessions.empty());
  remote = apply(desired, remote, plan, Holding::shared);

  // An open-ended series' rule runs further as the horizon moves: the master again.
  desired[0].covers = day("2029-01-31");
  plan = plan_target(desired, remote, Holding::shared);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::update});
  EXPECT_TRUE(plan.operations[0].master);
  remote = apply(desired, remote, plan, Holding::shared);

  // A restored session (live again, revision 2) is an update of that session.
  desired[0].sessions[1] = {t("2027-03-10T15:00"), 2, true};
  plan = plan_target(desired, remote, Holding::shared);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::update});
  EXPECT_EQ(plan.operations[0].sessions, std::vector<LocalTime>{t("2027-03-10T15:00")});
  remote = apply(desired, remote, plan, Holding::shared);

  // A member's new address is a new attendee, the old one leaves.
  desired[0].invitees[1].email = "rosa.diaz@example.org";
  plan = plan_target(desired, remote, Holding::shared);
  EXPECT_EQ(kinds(plan), (std::vector<OperationKind>{OperationKind::remove_attendee, OperationKind::add_attendee}));

  // The series leaves the target: cancelled once, then nothing (its tombstone stays).
  remote = apply(desired, remote, plan, Holding::shared);
  plan = plan_target({}, remote, Holding::shared);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::cancel_series});
  remote = apply({}, remote, plan, Holding::shared);
  EXPECT_TRUE(plan_target({}, remote, Holding::shared).empty());
  // Back again (a re-import), it is created anew under a new generation.
  plan = plan_target(desired, remote, Holding::shared);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::create});
  EXPECT_EQ(plan.operations[0].key, "power-hour/create/g1/s2") << "not the first creation's key";
}

TEST(InvitationPlan, PerMemberCopiesAreInvitedUpdatedAndCancelledEachTheirOwn) {
  std::vector<DesiredSeries> desired{series("mentoring-monday", {ben, rosa})};
  auto plan = plan_target(desired, {}, Holding::per_member);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::create});
  EXPECT_EQ(plan.operations[0].members, (std::vector<Invitee>{ben, rosa}));
  EXPECT_EQ(plan.operations[0].keys,
            (std::vector<std::string>{"mentoring-monday/create/ben@example.org/g0/s0",
                                      "mentoring-monday/create/rosa@example.org/g0/s0"}));
  auto remote = apply(desired, {}, plan, Holding::per_member);
  EXPECT_TRUE(plan_target(desired, remote, Holding::per_member).empty());

  // Ana joins (a REQUEST to her alone), Ben leaves (a CANCEL to him alone), a session
  // is cancelled for everyone still invited.
  desired[0].invitees = {ana, rosa};
  desired[0].sessions = {{t("2027-01-18T16:00"), 1, false}};
  plan = plan_target(desired, remote, Holding::per_member);
  ASSERT_EQ(kinds(plan), (std::vector<OperationKind>{OperationKind::remove_attendee, OperationKind::cancel_session,
                                                     OperationKind::add_attendee}));
  EXPECT_EQ(plan.operations[0].members, std::vector<Invitee>{ben});
  EXPECT_EQ(plan.operations[1].members, std::vector<Invitee>{rosa}) << "Ana's REQUEST already has it";
  EXPECT_EQ(plan.operations[2].members, std::vector<Invitee>{ana});
  remote = apply(desired, remote, plan, Holding::per_member);
  EXPECT_TRUE(plan_target(desired, remote, Holding::per_member).empty());

  // A copy that is behind (its last message failed) gets what it misses; the others
  // nothing more.
  std::vector<RemoteRecord> behind;
  for (auto r : remote) {
    if (r.copy == "rosa@example.org" && r.occurrence) continue;  // Rosa never got the cancel
    behind.push_back(r);
  }
  plan = plan_target(desired, behind, Holding::per_member);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::cancel_session});
  EXPECT_EQ(plan.operations[0].members, std::vector<Invitee>{rosa});

  // The series is removed: a CANCEL of the series to every copy.
  plan = plan_target({}, remote, Holding::per_member);
  ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::cancel_series});
  EXPECT_EQ(plan.operations[0].members, (std::vector<Invitee>{ana, rosa}));
}

// Unsubscribe, subscribe again, unsubscribe again: each message is a new one (a new key),
// while planning the same change twice gives the same keys (a retry dedupes).
TEST(InvitationPlan, KeysRepeatForRetriesAndChangeForRepeatedChanges) {
  std::vector<DesiredSeries> desired{series("power-hour", {rosa})};
  auto remote = apply(desired, {}, plan_target(desired, {}, Holding::per_member), Holding::per_member);
  std::set<std::string> keys;
  for (int round = 0; round < 3; ++round) {
    desired[0].invitees = {};
    auto plan = plan_target(desired, remote, Holding::per_member);
    ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::remove_attendee});
    EXPECT_EQ(plan.operations[0].keys, plan_target(desired, remote, Holding::per_member).operations[0].keys);
    EXPECT_TRUE(keys.insert(plan.operations[0].keys[0]).second) << plan.operations[0].keys[0];
    remote = apply(desired, remote, plan, Holding::per_member);
    desired[0].invitees = {rosa};
    plan = plan_target(desired, remote, Holding::per_member);
    ASSERT_EQ(kinds(plan), std::vector<OperationKind>{OperationKind::add_attendee});
    EXPECT_TRUE(keys.insert(plan.operations[0].keys[0]).second) << plan.operations[0].keys[0];
    remote = apply(desired, remote, plan, Holding::per_member);
  }
}

// Regression (found by sync_crash_test): a sync killed after Ben's invitation to a new
// series was recorded, but while Rosa's was still unconfirmed, planned Rosa's copy as an
// "add-attendee" the next time (Ben's copy made the series present), under a key of its
// own: Rosa got the same invitation twice with two Message-IDs. Her key is now the same
// whichever way the plan names her REQUEST.
TEST(InvitationPlan, AMembersKeyDoesNotDependOnTheOtherMembersCopies) {
  std::vector<DesiredSeries> desired{series("mentoring-monday", {ben, rosa})};
  const auto first = plan_target(desired, {}, Holding::per_member);
  ASSERT_EQ(first.operations.size(), 1u);
  const std::string rosa_key = first.operations[0].keys[1];
  auto only_ben = first;
  only_ben.operations[0].members = {ben};
  only_ben.operations[0].keys = {first.operations[0].keys[0]};
  const auto remote = apply(desired, {}, only_ben, Holding::per_member);
  const auto again = plan_target(desired, remote, Holding::per_member);
  ASSERT_EQ(kinds(again), std::vector<OperationKind>{OperationKind::add_attendee});
  EXPECT_EQ(again.operations[0].members, std::vector<Invitee>{rosa});
  EXPECT_EQ(again.operations[0].keys, std::vector<std::string>{rosa_key});
}

// Random desired states and random partial applications: whatever the mapping holds,
// applying the plan converges in one step, on both holdings.
TEST(InvitationPlan, ConvergesFromAnyMapping) {
  std::mt19937 rng(20270118);
  const std::vector<Invitee> people{ana, ben, rosa, {"dee", "dee@example.org", "Dee"}};
  const std::vector<LocalTime> sessions{t("2027-01-18T16:00"), t("2027-02-15T16:00"), t("2027-03-15T16:00"),
                                        t("2027-04-19T16:00")};
  auto random_state = [&] {
    std::vector<DesiredSeries> out;
    for (const char* id : {"a", "b", "c"}) {
      if (rng() % 4 == 0) continue;
      DesiredSeries d = series(id, {}, rng() % 3);
      for (const auto& p : people)
        if (rng() % 2) d.invitees.push_back(p);
      for (auto s : sessions)
        if (rng() % 2) d.sessions.push_back({s, 1 + rng() % 3, rng() % 2 == 0});
      out.push_back(std::move(d));
    }
    return out;
  };
  for (Holding holding : {Holding::shared, Holding::per_member}) {
    std::vector<RemoteRecord> remote;
    for (int step = 0; step < 300; ++step) {
      const auto desired = random_state();
      auto plan = plan_target(desired, remote, holding);
      // Sometimes only part of the plan succeeds (a crash, a failing member).
      if (rng() % 3 == 0 && !plan.operations.empty()) plan.operations.resize(rng() % plan.operations.size());
      remote = apply(desired, remote, plan, holding);
      const auto rest = plan_target(desired, remote, holding);
      remote = apply(desired, remote, rest, holding);
      ASSERT_TRUE(plan_target(desired, remote, holding).empty()) << "step " << step;
    }
  }
}
