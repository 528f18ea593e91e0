// The email target: iMIP messages through the outbox and the SMTP client.
#include <map>
#include <set>

#include "convene/change_detector.h"
#include "convene/fault_points.h"
#include "invite/internal/itip.h"
#include "invite/internal/targets.h"

namespace convene::invite {

namespace {

using internal::ComposeInput;
using internal::SeriesSessions;
using State = OutboxMessage::State;

// A deferred message is tried at this many syncs before it counts as failed.
constexpr std::uint32_t kMaxAttempts = 8;
constexpr const char* kKind = "invitation";

// One message of the plan: which operation, for which copy.
struct Planned {
  const Operation* op = nullptr;
  Invitee member;
  std::string key;
  OutboxMessage message;
};

class EmailTarget final : public Target {
 public:
  EmailTarget(EmailSettings settings, std::optional<Secret> password)
      : settings_(std::move(settings)), password_(std::move(password)) {}

  TargetKind kind() const override { return TargetKind::email; }
  std::string remote_id_for(const std::string& uid) const override { return uid; }
  // Sending is the only test of an SMTP server that costs nothing to repeat: a server
  // that is down or refuses the login stops the batch with its reason.
  std::string check() override { return {}; }

  TargetOutcome execute(const SyncContext& ctx, const TargetPlan& plan) override {
    TargetOutcome outcome;
    std::map<std::string, SeriesSessions> sessions = sessions_of(ctx);
    std::map<std::pair<std::string, std::string>, std::vector<RemoteRecord>> copies;
    for (const auto& r : ctx.remote) copies[{r.series, r.copy}].push_back(r);

    // 1. Every message of the plan, rendered once, into the outbox under its key.
    std::vector<Planned> planned;
    for (const auto& op : plan.operations) {
      const auto composed = compose(ctx, op, sessions, copies);
      for (std::size_t i = 0; i < op.members.size(); ++i) {
        const Invitee& member = op.members[i];
        if (auto why = mail::address_error(member.email)) {
          ++outcome.failed;
          outcome.problems.push_back("member " + member.member + ": " + *why + "; nothing sent");
          continue;
        }
        Planned p{&op, member, "invite/" + ctx.target.spec.name + "/" + op.keys[i], {}};
        p.message = render(ctx, p, composed);
        planned.push_back(std::move(p));
      }
    }
    std::vector<std::string> keys;
    std::vector<OutboxMessage> messages;
    for (const auto& p : planned) {
      keys.push_back(p.key);
      messages.push_back(p.message);
    }
    ctx.store.withdraw_outbox(ctx.target.spec.name, kKind, keys);
    const auto stored = ctx.store.enqueue(messages);

    // 2. Send what is not sent yet; each "sent" commits with the copy's new records.
    std::vector<std::size_t> to_send;
    std::vector<mail::Envelope> envelopes;
    for (std::size_t i = 0; i < stored.size(); ++i) {
      const auto& m = stored[i];
      if (m.state == State::planned || m.state == State::sending) {
        to_send.push_back(i);
        envelopes.push_back({settings_.from.email, m.recipient, m.payload});
      } else if (m.state == State::sent) {
        // Sent by an earlier run whose records were written with it: nothing to do.
        ++outcome.done;
      } else if (m.state == State::failed) {
        ++outcome.failed;
        outcome.problems.push_back(m.recipient + ": " + m.last_error);
      }
    }
    mail::SmtpClient client(config());
    std::set<std::size_t> started;
    std::size_t finished = 0;
    const auto failure = client.send(
        envelopes,
        [&](std::size_t i) {
          ctx.store.mark_sending(stored[to_send[i]].id);
          fault_point("mail.sending");
          started.insert(i);
        },
        [&](std::size_t i, const mail::SendResult& result) {
          const auto& m = stored[to_send[i]];
          const Planned& p = planned[to_send[i]];
          switch (result.status) {
            case mail::SendResult::Status::sent: {
              fault_point("mail.sent");  // the window: the server has it, the outbox does not know yet
              auto& current = copies[{p.op->series, p.member.email}];
              const auto* desired = desired_of(ctx, p.op->series);
              current = records_after(desired, *p.op, p.member.email, current, remote_id_for(p.op->series + "@" + ctx.uid_domain), "");
              ctx.store.mark_sent(m.id, p.op->series, p.member.email, current);
              ++outcome.done;
              break;
            }
            case mail::SendResult::Status::rejected:
              ctx.store.mark_unsent(m.id, result.detail, true);
              ++outcome.failed;
              outcome.problems.push_back(m.recipient + ": " + result.detail);
              break;
            case mail::SendResult::Status::deferred:
              ctx.store.mark_unsent(m.id, result.detail, m.attempts + 1 >= kMaxAttempts);
              ++outcome.pending;
              outcome.problems.push_back(m.recipient + ": " + result.detail + " (tried again at the next sync)");
              break;
            case mail::SendResult::Status::not_attempted:
              if (started.count(i)) ctx.store.mark_unsent(m.id, result.detail, false);
              ++outcome.pending;
              break;
          }
          if (ctx.progress) ctx.progress(++finished, envelopes.size(), m.recipient);
        });
    outcome.failure = failure.message;
    return outcome;
  }

 private:
  mail::SmtpConfig config() const {
    mail::SmtpConfig c;
    c.url = settings_.smtp_url;
    c.security = settings_.security;
    c.username = settings_.username;
    c.password = password_;
    c.ca_file = settings_.ca_file;
    c.max_connections = settings_.max_connections;
    c.helo_domain = settings_.from.domain();
    return c;
  }

  static const DesiredSeries* desired_of(const SyncContext& ctx, const std::string& series) {
    for (const auto& s : ctx.series)
      if (s.desired.series == series) return &s.desired;
    return nullptr;
  }

  static std::map<std::string, SeriesSessions> sessions_of(const SyncContext& ctx) {
    std::map<std::string, SeriesSessions> out;
    for (const auto& s : ctx.series) {
      const RenderSpan span = render_span(ctx.definitions, *s.series, ctx.horizon);
      out[s.desired.series] = {&s, rendered_occurrences(ctx.definitions, *s.community, *s.series, span.last)};
    }
    return out;
  }

  internal::Composed compose(const SyncContext& ctx, const Operation& op,
                             const std::map<std::string, SeriesSessions>& sessions,
                             const std::map<std::pair<std::string, std::string>, std::vector<RemoteRecord>>& copies) const {
    ComposeInput in;
    in.ctx = &ctx;
    in.op = &op;
    in.from = settings_.from;
    if (auto it = sessions.find(op.series); it != sessions.end()) in.sessions = &it->second;
    for (const auto& member : op.members)
      if (auto it = copies.find({op.series, member.email}); it != copies.end())
        for (const auto& r : it->second)
          if (!r.occurrence) in.record = &r;
    return internal::compose(in);
  }

  OutboxMessage render(const SyncContext& ctx, const Planned& p, const internal::Composed& composed) const {
    mail::Message m;
    m.from = settings_.from;
    m.to = {{p.member.name, p.member.email}};
    if (composed.organizer.email != settings_.from.email) m.reply_to = mail::Address{composed.organizer.name, composed.organizer.email};
    m.subject = composed.subject;
    m.date = ctx.now;
    m.message_id = mail::message_id(p.key, p.member.email, settings_.from.domain());
    m.text = composed.text;
    m.html = composed.html;
    m.calendar = mail::CalendarPart{composed.method, composed.ics_for(p.member)};

    OutboxMessage out;
    out.key = p.key;
    out.kind = kKind;
    out.target = ctx.target.spec.name;
    out.member = p.member.member;
    out.series = p.op->series;
    if (p.op->kind == OperationKind::cancel_session) out.occurrence = p.op->sessions.front();
    out.recipient = p.member.email;
    out.message_id = m.message_id;
    out.payload = mail::render(m);
    out.due = ctx.now;
    return out;
  }

  EmailSettings settings_;
  std::optional<Secret> password_;
};

}  // namespace

std::unique_ptr<Target> make_email_target(const EmailSettings& settings, std::optional<Secret> password) {
  return std::make_unique<EmailTarget>(settings, std::move(password));
}

}  // namespace convene::invite
