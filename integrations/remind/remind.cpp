// Reminders and notices: the planner's plan into the outbox, and what is due sent
// (convene/remind.h).
#include "convene/remind.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <span>
#include <sstream>
#include <thread>

#include "convene/fault_points.h"
#include "convene/invite.h"
#include "convene/mail.h"
#include "convene/schedule.h"
#include "convene/views.h"
#include "convene/webhook.h"
#include "webhook_channel.h"

namespace convene::remind {

namespace {

using State = OutboxMessage::State;
using Json = nlohmann::ordered_json;

// Sessions the messages of a pass may name: from before the notice lookback to past the
// widest horizon a community may set.
constexpr auto kTextBefore = std::chrono::days{3};
constexpr auto kTextAfter = std::chrono::days{90};

std::string utc(Instant at) { return date::format("%FT%TZ", at); }

// The outbox rows of one kind (of kOutboxKinds) in `states` (empty: any).
OutboxQuery rows_of(const char* kind, std::vector<OutboxMessage::State> states = {}, bool with_payload = false) {
  OutboxQuery q;
  q.kind = kind;
  q.states = std::move(states);
  q.with_payload = with_payload;
  return q;
}

// An email target and what sending through it needs.
struct Mailer {
  TargetInfo target;
  invite::EmailSettings settings;
  std::optional<Secret> password;
  std::string error;  // why it cannot send ("" when it can)
};

class Pass {
 public:
  Pass(Store& store, const Clock& clock, const PassOptions& options)
      : store_(store),
        clock_(clock),
        options_(options),
        throughput_(options.throughput ? *options.throughput : own_throughput_),
        holder_(options.holder.empty() ? process_holder() : options.holder),
        now_(clock.now()),
        snapshot_(store.snapshot()) {
    if (!snapshot_.definitions.ok())
      throw StoreError(StoreError::Kind::corrupt, store.path() + " holds definitions this convene cannot use");
    defs_ = &*snapshot_.definitions.definitions;
  }

  PassReport run() {
    const ReminderPlanInput input = plan_input(store_, snapshot_, now_);
    report_.plan = plan_reminders(input);
    report_.next_wake = report_.plan.next_wake;
    for (const auto& line : report_.plan.log) report_.log.push_back(line);
    report_.dropped = report_.plan.log.size();  // the planner logs exactly what it drops
    if (options_.dry_run) return std::move(report_);
    Instant held_until{};
    if (!store_.acquire_lease(kLeaseName, holder_, options_.lease, &held_until)) {
      report_.lease_held_until = held_until;
      wake_at(held_until);
      report_.log.push_back("another worker holds the lease until " + utc(held_until) + ": nothing written or sent");
      return std::move(report_);
    }
    struct Release {
      Pass& pass;
      ~Release() {
        try {
          pass.store_.release_lease(kLeaseName, pass.holder_);
        } catch (const std::exception&) {
          // it expires by itself
        }
      }
    } release{*this};
    load_mailers();
    webhooks_.emplace(options_.key_file, store_.channels());
    index_sessions();
    for (const auto& f : input.followers) members_[f.member.id] = f.member;
    for (const auto& r : input.changes) newest_change_ = std::max(newest_change_, r.id);
    write_plan();
    send_due();
    return std::move(report_);
  }

 private:
  void load_mailers() {
    std::optional<SecretKey> key;
    std::string key_error;
    if (!options_.key_file.empty()) {
      auto opened = SecretKey::open(options_.key_file);
      if (opened.key) key.emplace(*opened.key);
      else key_error = opened.error;
    }
    for (const auto& t : store_.targets()) {
      if (t.spec.kind != TargetKind::email) continue;
      Mailer m{t, {}, {}, {}};
      const auto settings = nlohmann::json::parse(t.spec.settings, nullptr, false);
      if (auto s = invite::email_settings(settings, m.error)) {
        m.settings = *s;
        if (s->password) {
          auto r = s->password->resolve(key ? &*key : nullptr);
          if (r.secret) m.password = std::move(r.secret);
          else m.error = "its password (" + s->password->describe() + "): " + (key_error.empty() ? r.error : key_error);
        }
      }
      mailers_.push_back(std::move(m));
    }
  }

  const Mailer* mailer_for(const std::string& community) const {
    for (const auto& m : mailers_) {
      const auto& only = m.target.spec.communities;
      if (!only || std::find(only->begin(), only->end(), community) != only->end()) return &m;
    }
    return nullptr;
  }

  void index_sessions() {
    const auto from = date::floor<date::days>(now_ - kTextBefore), to = date::floor<date::days>(now_ + kTextAfter);
    sessions_ = expand(*defs_, {LocalDay{from.time_since_epoch()}, LocalDay{to.time_since_epoch()}});
    for (const auto& o : sessions_) by_id_[{o.series->id, o.original}] = &o;
  }

  const Occurrence* session(const std::string& series, LocalTime original) const {
    const auto it = by_id_.find({series, original});
    return it == by_id_.end() ? nullptr : it->second;
  }

  void note_once(const std::string& line) {
    if (!rerendering_ && noted_.insert(line).second) report_.log.push_back(line);
  }

  // The words of a planned message, or nullopt when its sessions are out of reach.
  std::optional<views::MessageText> words(const PlannedMessage& m, const Member& member) const {
    if (m.kind == MessageKind::digest)
      return views::digest_text(m, [this](const std::string& series, LocalTime o) { return session(series, o); });
    if (m.kind == MessageKind::reminder) {
      const Occurrence* o = session(m.series, m.occurrence);
      if (!o || !o->live()) return std::nullopt;
      return views::reminder_text(*o, *m.offset, member.zone);
    }
    std::vector<views::NoticeItem> items;
    for (const auto& s : m.sessions)
      if (const Occurrence* o = session(s.shown_series, s.shown_occurrence)) items.push_back({s, o});
    if (items.empty()) return std::nullopt;
    return views::notice_text(m, items, member.zone);
  }

  // A member whose address cannot be written (a store from before addresses were checked
  // where they enter): a failed row per message, with the reason, and one log line.
  OutboxMessage undeliverable(const PlannedMessage& p, const Member& member, const std::string& target,
                              const std::string& why) {
    note_once("member " + member.id + ": " + why + ": their messages fail (convene member set " + member.id +
              " --email ...)");
    OutboxMessage out;
    out.key = p.key;
    out.kind = std::string(to_string(p.kind));
    out.target = target;
    out.member = member.id;
    out.series = p.series;
    out.occurrence = p.occurrence;
    out.recipient = member.email;
    out.state = State::failed;
    out.last_error = why;
    out.due = p.due;
    out.not_after = p.session_start;
    ++report_.failed;
    return out;
  }

  std::optional<OutboxMessage> render(const PlannedMessage& p) {
    if (p.member.empty()) {
      const auto text = words(p, Member{});  // in the community's zone
      if (!text) return std::nullopt;
      return webhook_row(p, channel_recipient(p.channel), *text);
    }
    const auto it = members_.find(p.member);
    if (it == members_.end()) return std::nullopt;
    const Member& member = it->second;
    if (p.kind != MessageKind::digest && member.reminders.channel == kWebhookChannel) {  // a digest goes by email
      const auto text = words(p, member);
      if (!text) return std::nullopt;
      return webhook_row(p, member_recipient(member.id), *text);
    }
    if (p.kind != MessageKind::digest && member.reminders.channel != "email") {  // a digest goes by email
      note_once("member " + member.id + ": channel " + member.reminders.channel + ": nothing delivers it; nothing sent");
      return std::nullopt;
    }
    const Mailer* mailer = mailer_for(p.community);
    if (!mailer) {
      note_once("no email target covers community " + p.community + ": its reminders wait (convene target add NAME --kind email ...)");
      return std::nullopt;
    }
    if (auto why = mail::address_error(member.email)) return undeliverable(p, member, mailer->target.spec.name, *why);
    const auto text = words(p, member);
    if (!text) return std::nullopt;
    mail::Message m;
    m.from = mailer->settings.from;
    m.to = {{member.name, member.email}};
    m.subject = text->subject;
    // Dated when it is due, not when it was planned (up to kReminderLookahead before): a
    // reader sorting by Date shows it among the day's mail, and the same message renders
    // the same bytes at every pass (see write_plan).
    m.date = p.due;
    m.message_id = mail::message_id(p.key, member.email, m.from.domain());
    m.text = text->text;
    std::string unsubscribe;
    if (!options_.base_url.empty()) {
      unsubscribe = unsubscribe_url(options_.base_url, unsubscribe_token(store_, member.id), p.kind == MessageKind::digest);
      m.headers.emplace_back("List-Unsubscribe", "<" + unsubscribe + ">");
      m.headers.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
      m.text += "\n" + std::string(views::unsubscribe_words(p.kind)) + ": " + unsubscribe + "\n";
    } else {
      note_once("no public base URL (--base-url, base_url in the configuration): messages carry no List-Unsubscribe link");
    }
    m.html = views::message_html(*text, unsubscribe, p.kind);
    OutboxMessage out;
    out.key = p.key;
    out.kind = std::string(to_string(p.kind));
    out.target = mailer->target.spec.name;
    out.member = member.id;
    out.series = p.series;
    out.occurrence = p.occurrence;
    out.recipient = member.email;
    out.message_id = m.message_id;
    out.payload = mail::render(m);
    out.due = p.due;
    out.not_after = p.session_start;
    return out;
  }

  // New messages in, planned ones rewritten where the store now says otherwise (an edit of
  // the session, the member's address, zone or channel: rendering is deterministic, so an
  // unchanged message renders the same bytes), unwanted ones withdrawn (one call per
  // target and kind): those the plan no longer wants, and planned ones that nothing
  // delivers now (a member's channel switched to one without a target). What has left
  // `planned` is never rendered again, and what is planned only after a change since the
  // last time (PassOptions::rendered_through).
  void write_plan() {
    std::map<std::string, State> known;
    for (const char* kind : kOutboxKinds)
      for (const auto& m : store_.outbox(rows_of(kind))) known.emplace(m.key, m.state);
    std::optional<std::uint64_t>* const through = options_.rendered_through;
    const bool again_too = !through || !*through || newest_change_ > **through;
    std::vector<OutboxMessage> fresh, again;
    for (const auto& p : report_.plan.messages) {
      const auto it = known.find(p.key);
      if (it != known.end() && (it->second != State::planned || !again_too)) continue;
      rerendering_ = it != known.end();  // its notes were logged when it was planned
      if (auto m = render(p)) (it == known.end() ? fresh : again).push_back(std::move(*m));
      else if (it != known.end()) unwanted_.insert(p.key);  // planned, and nothing delivers it now
    }
    rerendering_ = false;
    report_.planned = static_cast<std::size_t>(
        std::count_if(fresh.begin(), fresh.end(), [](const OutboxMessage& m) { return m.state == State::planned; }));
    if (!fresh.empty()) store_.enqueue(fresh);
    if (!again.empty()) report_.rewritten = store_.refresh_planned(again);
    if (through) *through = newest_change_;
    for (const auto& w : report_.plan.withdrawals) unwanted_.insert(w.key);
    withdraw();
  }

  void withdraw() {
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> keep;
    std::set<std::pair<std::string, std::string>> touched;
    for (const char* kind : kOutboxKinds) {
      for (const auto& m : store_.outbox(rows_of(kind, {State::planned, State::sending}))) {
        if (unwanted_.contains(m.key)) touched.insert({m.target, m.kind});
        else keep[{m.target, m.kind}].push_back(m.key);
      }
    }
    for (const auto& [target, kind] : touched) report_.withdrawn += store_.withdraw_outbox(target, kind, keep[{target, kind}]);
    unwanted_.clear();
  }

  // The messages waiting, and how many of them each target has due at each instant.
  std::vector<OutboxMessage> waiting_rows() {
    std::vector<OutboxMessage> rows;
    for (const char* kind : kOutboxKinds)
      for (auto& m : store_.outbox(rows_of(kind, {State::planned, State::sending}))) rows.push_back(std::move(m));
    for (const auto& m : rows) ++bursts_[{m.target, m.due}];
    return rows;
  }

  // When the burst that `m` is part of starts (convene/remind.h: burst_lead).
  Instant burst_start(const OutboxMessage& m) const {
    return m.due - burst_lead(bursts_.at({m.target, m.due}), throughput_.of(m.target));
  }

  void send_due() {
    std::map<std::string, std::vector<OutboxMessage>> due;  // by target
    for (auto& m : waiting_rows()) {
      const MessageKind k = message_kind(m.kind);
      const Instant not_after = m.not_after.value_or(Instant::max());
      const auto rule = dispatch_rule(k, m.due, not_after, now_);
      if (rule != Dispatch::wait && rule != Dispatch::drop && backing_off(m)) continue;
      switch (rule) {
        case Dispatch::wait:  // not due: sent now when its burst has started (burst_lead)
          if (const Instant start = burst_start(m); start > now_) wake_at(start);
          else if (!backing_off(m)) due[m.target].push_back(std::move(m));
          break;
        case Dispatch::drop:
          report_.log.push_back("dropped " + m.key + ": the session started at " + utc(not_after));
          unwanted_.insert(m.key);
          ++report_.dropped;
          break;
        case Dispatch::send_late:
        case Dispatch::send: due[m.target].push_back(std::move(m)); break;
      }
    }
    if (!unwanted_.empty()) {
      const auto before = report_.withdrawn;
      withdraw();
      report_.withdrawn = before;  // drops are counted as drops
    }
    for (auto& [target, messages] : due)  // in due order (a burst's first ones first)
      std::stable_sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) { return a.due < b.due; });
    setup_ = std::chrono::ceil<Seconds>(std::chrono::steady_clock::now() - started_pass_);
    for (const auto& [target, messages] : due)  // a burst started on the assumed rate is paced once measured
      if (!throughput_.measured(target)) may_pace_.insert(target);
    // The webhooks' posts on a thread of their own, beside the email targets': a receiver
    // that hangs delays no email, and 10,000 emails delay no post. Each side counts into
    // its own report; the store is safe to share (one connection behind a mutex).
    PassReport posted;
    std::exception_ptr failure;
    std::thread webhooks;
    struct Join {  // also when an email target's send throws: never a joinable thread destroyed
      std::thread& thread;
      ~Join() {
        if (thread.joinable()) thread.join();
      }
    } join{webhooks};
    if (const auto it = due.find(""); it != due.end()) {
      webhooks = std::thread([&, &messages = it->second] {
        try {
          send("", messages, posted);
        } catch (...) {
          failure = std::current_exception();
        }
      });
    }
    for (auto& [target, messages] : due)
      if (!target.empty()) send(target, messages, report_);
    if (webhooks.joinable()) webhooks.join();
    merge(posted);
    if (failure) std::rethrow_exception(failure);
  }

  // What the webhooks' thread counted, into the pass's report.
  void merge(PassReport& posted) {
    report_.sent += posted.sent;
    report_.late += posted.late;
    report_.early += posted.early;
    report_.failed += posted.failed;
    report_.deferred += posted.deferred;
    report_.stopped = report_.stopped || posted.stopped;
    report_.commit_windows.insert(report_.commit_windows.end(), posted.commit_windows.begin(), posted.commit_windows.end());
    report_.log.insert(report_.log.end(), posted.log.begin(), posted.log.end());
    if (posted.next_wake) wake_at(report_, *posted.next_wake);
    for (const auto& key : gone_) unwanted_.insert(key);
    report_.withdrawn += gone_.size();
    gone_.clear();
    if (!unwanted_.empty()) {
      const auto counted = report_.withdrawn;
      withdraw();
      report_.withdrawn = counted;
    }
  }

  // A message tried before waits for its retry time (which the next pass wakes for).
  bool backing_off(const OutboxMessage& m) {
    if (m.state != State::planned || m.last_error.empty()) return false;
    const Instant again = std::max(retry_at(m.updated, m.attempts), m.retry_not_before.value_or(Instant{}));
    if (again <= now_) return false;
    wake_at(again);
    ++report_.backing_off;
    return true;
  }

  void wake_at(Instant t) { wake_at(report_, t); }
  static void wake_at(PassReport& out, Instant t) {
    if (!out.next_wake || t < *out.next_wake) out.next_wake = t;
  }

  // True when the store changed since this pass read it (another process: a facilitator's
  // change, a member removed): what is left waits for the next pass, planned again.
  bool store_changed(const std::string& target, std::size_t left, PassReport& out) {
    if (store_.data_version() == snapshot_.data_version) return false;
    out.log.push_back("the store changed while sending: " + std::to_string(left) + " message(s) of target " +
                      (target.empty() ? "webhooks" : target) + " wait for the next pass, planned again");
    out.stopped = true;
    wake_at(out, now_);
    return true;
  }

  // Before each batch of a burst started early on the assumed rate: once the target's
  // throughput is measured, a burst that would now end more than kOnTime before its due
  // time pauses, and resumes (the next pass, which sends to the end) at the lead of what
  // is left, less the time this pass took to start and kOnTime.
  bool paced(const std::string& target, const std::vector<OutboxMessage>& messages, std::size_t from, PassReport& out) {
    const Instant due = messages[from].due;
    if (from == 0 || due <= now_ || !may_pace_.contains(target) || !throughput_.measured(target)) return false;
    const double rate = throughput_.of(target);
    const std::size_t burst = bursts_.at({target, due});
    const auto ends = now_ + std::chrono::duration_cast<Seconds>(std::chrono::duration<double>(double(burst) / rate));
    if (ends + kOnTime >= due) return false;
    const auto left = std::size_t(std::count_if(messages.begin() + std::ptrdiff_t(from), messages.end(),
                                                [&](const OutboxMessage& m) { return m.due == due; }));
    const Instant resume = due - burst_lead(left, rate) - setup_ - kOnTime;
    if (resume <= now_ + kOnTime) return false;  // not worth a pass of its own
    out.log.push_back("paced the burst due " + utc(due) + " on target " + (target.empty() ? "webhooks" : target) + ": " +
                      std::to_string(left) + " message(s) resume at " + utc(resume) + " (" +
                      std::to_string(static_cast<long>(rate)) + " msg/s measured)");
    wake_at(out, resume);
    return true;
  }

  // In batches of kSendBatch, asking options_.may_continue before each; the throughput
  // measured as they go.
  void send(const std::string& target, const std::vector<OutboxMessage>& messages, PassReport& out) {
    const auto began = std::chrono::steady_clock::now();
    for (std::size_t from = 0; from < messages.size(); from += kSendBatch) {
      if (from > 0) throughput_.observe(target, from, std::chrono::steady_clock::now() - began);
      if (!store_.acquire_lease(kLeaseName, holder_, options_.lease)) {
        out.log.push_back("lost the lease: " + std::to_string(messages.size() - from) + " message(s) of target " +
                              target + " left to the worker that took it");
        out.stopped = true;
        return;
      }
      if (options_.may_continue && !options_.may_continue()) {
        out.log.push_back("stopped with " + std::to_string(messages.size() - from) + " message(s) of target " + target +
                              " still to send");
        out.stopped = true;
        return;
      }
      if (store_changed(target, messages.size() - from, out) || paced(target, messages, from, out)) return;
      const auto n = std::min(kSendBatch, messages.size() - from);
      send_batch(target, std::span(messages).subspan(from, n), out);
    }
  }

  void send_batch(const std::string& target, std::span<const OutboxMessage> messages, PassReport& out) {
    if (target.empty()) return send_webhooks(messages, out);
    const Mailer* mailer = nullptr;
    for (const auto& m : mailers_)
      if (m.target.spec.name == target) mailer = &m;
    if (!mailer || !mailer->error.empty()) {
      out.log.push_back("target " + target + ": " + (mailer ? mailer->error : "gone") + "; " +
                            std::to_string(messages.size()) + " message(s) wait");
      out.deferred += messages.size();
      return;
    }
    mail::SmtpConfig c;
    c.url = mailer->settings.smtp_url;
    c.security = mailer->settings.security;
    c.username = mailer->settings.username;
    c.password = mailer->password;
    c.ca_file = mailer->settings.ca_file;
    c.max_connections = mailer->settings.max_connections;
    c.helo_domain = mailer->settings.from.domain();
    const std::vector<Claimed> claimed = claim(messages);
    std::vector<mail::Envelope> envelopes;
    for (const auto& c : claimed) envelopes.push_back({mailer->settings.from.email, c.message->recipient, c.payload});
    if (!client_ || client_target_ != target) {
      client_ = std::make_unique<mail::SmtpClient>(c);  // connections reused from batch to batch
      client_target_ = target;
    }
    mail::SmtpClient& client = *client_;
    std::vector<std::size_t> waiting;
    const auto failure = client.send(
        envelopes, [&](std::size_t) { fault_point("remind.sending"); },
        [&](std::size_t i, const mail::SendResult& r) {
          if (r.status == mail::SendResult::Status::not_attempted) waiting.push_back(i);
          else finished(*claimed[i].message, r, out);
        });
    // A server that is down or refuses the login fails no message: they wait, with the
    // reason, until it is back or their session starts (then they are dropped).
    for (const auto i : waiting) {
      const OutboxMessage& m = *claimed[i].message;
      store_.mark_unsent(m.id, failure ? failure.message : "not attempted", false);
      ++out.deferred;
      wake_at(out, retry_at(now_, m.attempts));
    }
    if (failure) out.log.push_back("target " + target + ": " + failure.message);
  }

  // A message of a batch claimed (Store::claim_sending), with the payload to send.
  struct Claimed {
    const OutboxMessage* message;
    std::string payload;
  };

  // Claims `messages` as sending in one commit: those still wanted, in their order.
  std::vector<Claimed> claim(std::span<const OutboxMessage> messages) {
    std::vector<std::uint64_t> ids;
    for (const auto& m : messages) ids.push_back(m.id);
    auto payloads = store_.claim_sending(ids);
    std::vector<Claimed> out;
    for (const auto& m : messages)
      if (auto it = payloads.find(m.id); it != payloads.end()) out.push_back({&m, std::move(it->second)});
    return out;
  }

  // The webhooks' messages (no target): posted several at once (convene/webhook.h).
  void send_webhooks(std::span<const OutboxMessage> messages, PassReport& out) {
    std::vector<std::string> urls;
    std::vector<OutboxMessage> reachable;
    for (const auto& m : messages) {
      std::string error;
      bool gone = false;
      if (auto url = webhooks_->url(m.recipient, members_, error, gone)) {
        urls.push_back(std::move(*url));
        reachable.push_back(m);
        continue;
      }
      if (gone) {  // a member or channel removed since it was planned: withdrawn after the sends
        out.log.push_back("withdrew " + m.key + ": " + error);
        gone_.push_back(m.key);
        continue;
      }
      store_.mark_unsent(m.id, error, false);  // not an attempt: it waits for its URL or key
      ++out.deferred;
      wake_at(out, retry_at(now_, m.attempts));
      if (std::find(out.log.begin(), out.log.end(), error + ": its messages wait") == out.log.end())
        out.log.push_back(error + ": its messages wait");
    }
    const std::vector<Claimed> claimed = claim(reachable);
    std::vector<webhook::Post> posts;
    for (const auto& c : claimed) {
      const auto at = std::size_t(c.message - reachable.data());
      posts.push_back({std::move(urls[at]), c.payload, c.message->message_id});
    }
    webhook::Options how = options_.webhook;
    how.clock = &clock_;  // a Retry-After date counts from the pass's now
    webhook::post_all(
        posts, how, [&](std::size_t) { fault_point("remind.sending"); },
        [&](std::size_t i, const webhook::Result& r) { finished(*claimed[i].message, r, out); });
  }

  void finished(const OutboxMessage& m, const webhook::Result& r, PassReport& out) {
    using S = webhook::Result::Status;
    if (r.status == S::sent) return record_sent(m, out);
    const bool failed = r.status == S::failed || m.attempts + 1 >= kMaxAttempts;
    std::optional<Instant> not_before;
    if (r.retry_after) not_before = now_ + *r.retry_after;
    store_.mark_tried(m.id, failed ? State::failed : State::planned, r.detail, failed ? std::nullopt : not_before);
    ++(failed ? out.failed : out.deferred);
    if (!failed) wake_at(out, std::max(retry_at(now_, m.attempts + 1), not_before.value_or(Instant{})));
    out.log.push_back((failed ? "failed " : "deferred ") + m.key + ": " + r.detail);
  }

  // The server took it (a 250, a 2xx): sent, with the window to the commit measured.
  void record_sent(const OutboxMessage& m, PassReport& out) {
    const auto accepted = std::chrono::steady_clock::now();
    fault_point("remind.sent");
    store_.mark_tried(m.id, State::sent, "");
    out.commit_windows.push_back(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - accepted));
    ++out.sent;
    if (m.due > now_) ++out.early;
    if (now_ - m.due > kLateAfter) {
      ++out.late;
      out.log.push_back("late " + m.key + ": due " + utc(m.due) + ", sent " + utc(now_));
    }
  }

  void finished(const OutboxMessage& m, const mail::SendResult& r, PassReport& out) {
    using S = mail::SendResult::Status;
    switch (r.status) {
      case S::sent: record_sent(m, out); break;
      case S::rejected:
        store_.mark_tried(m.id, State::failed, r.detail);
        ++out.failed;
        out.log.push_back("failed " + m.key + ": " + r.detail);
        break;
      case S::deferred: {
        const bool out_of_attempts = m.attempts + 1 >= kMaxAttempts;
        store_.mark_tried(m.id, out_of_attempts ? State::failed : State::planned, r.detail);
        ++(out_of_attempts ? out.failed : out.deferred);
        if (!out_of_attempts) wake_at(out, retry_at(now_, m.attempts + 1));
        out.log.push_back((out_of_attempts ? "failed " : "deferred ") + m.key + ": " + r.detail);
        break;
      }
      case S::not_attempted: break;  // send() records these
    }
  }

  Store& store_;
  const Clock& clock_;
  const PassOptions& options_;
  Throughput own_throughput_;
  Throughput& throughput_;
  const std::chrono::steady_clock::time_point started_pass_ = std::chrono::steady_clock::now();
  Seconds setup_{};  // from the pass's start to its first send (planning, reading the outbox)
  std::set<std::string> may_pace_;  // targets whose bursts started on the assumed rate
  std::map<std::pair<std::string, Instant>, std::size_t> bursts_;  // messages waiting per (target, due)
  const std::string holder_;
  const Instant now_;
  const StoreSnapshot snapshot_;
  const Definitions* defs_ = nullptr;
  std::vector<Mailer> mailers_;
  std::vector<Occurrence> sessions_;
  std::map<std::pair<std::string, LocalTime>, const Occurrence*> by_id_;
  std::map<std::string, Member> members_;
  std::set<std::string> noted_;
  std::set<std::string> unwanted_;
  std::uint64_t newest_change_ = 0;  // the newest audit record id the plan read
  bool rerendering_ = false;  // write_plan renders a message planned before: no log notes
  std::vector<std::string> gone_;  // webhook messages whose member or channel is gone
  std::optional<WebhookBook> webhooks_;
  std::unique_ptr<mail::SmtpClient> client_;
  std::string client_target_;
  PassReport report_;
};

}  // namespace

ReminderPlanInput plan_input(const Store& store, const StoreSnapshot& snapshot, Instant now) {
  ReminderPlanInput in;
  in.definitions = &*snapshot.definitions.definitions;
  in.revisions = snapshot.revisions;
  for (auto& m : store.members()) {
    auto series = store.subscribed_series(m.id);
    in.followers.push_back({std::move(m), std::move(series)});
  }
  for (auto& c : store.channels()) in.community_channels.push_back({c.spec.name, c.spec.community, c.spec.offsets});
  for (auto& r : store.history())
    if (r.at >= now - kChangesLookback) in.changes.push_back(std::move(r));
  for (const char* kind : kOutboxKinds) {
    for (const auto& m : store.outbox(rows_of(kind, {OutboxMessage::State::planned}))) {
      in.pending.push_back({m.key, message_kind(m.kind), m.member, m.series,
                            m.occurrence.value_or(LocalTime{}), m.not_after.value_or(Instant::max())});
    }
  }
  in.now = now;
  return in;
}

MessageKind message_kind(std::string_view outbox_kind) {
  if (outbox_kind == "notice") return MessageKind::notice;
  if (outbox_kind == "digest") return MessageKind::digest;
  return MessageKind::reminder;
}

const std::string& process_holder() {
  static const std::string holder = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "localhost");
    unsigned char random[4];
    if (::getrandom(random, sizeof random, 0) != sizeof random) throw std::runtime_error("getrandom failed");
    char tail[16];
    std::snprintf(tail, sizeof tail, "%02x%02x%02x%02x", random[0], random[1], random[2], random[3]);
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + tail;
  }();
  return holder;
}

Instant retry_at(Instant last_try, std::uint32_t attempts) {
  Seconds wait = kRetryBackoff;
  for (std::uint32_t i = 1; i < attempts && wait < kMaxRetryBackoff; ++i) wait *= 2;
  return last_try + std::min(wait, kMaxRetryBackoff);
}

PassReport run_once(Store& store, const Clock& clock, const PassOptions& options) {
  return Pass(store, clock, options).run();
}

// --- what a pass did, and the outbox ---------------------------------------------------

std::optional<CommitWindow> window_of(const PassReport& r) {
  if (r.commit_windows.empty()) return std::nullopt;
  auto w = r.commit_windows;
  std::sort(w.begin(), w.end());
  const auto at = [&](double q) { return w[std::min(w.size() - 1, std::size_t(q * double(w.size())))]; };
  return CommitWindow{at(0.5), at(0.99), w.back()};
}

std::string report_text(const PassReport& r, bool dry_run) {
  std::ostringstream out;
  if (dry_run) {
    out << "Would plan " << r.plan.messages.size() << " message(s) and withdraw " << r.plan.withdrawals.size() << ":\n";
    for (const auto& m : r.plan.messages)
      out << "  " << utc(m.due) << "  " << to_string(m.kind) << "  " << (m.member.empty() ? m.channel : m.member) << "  "
          << m.key << "\n";
    for (const auto& w : r.plan.withdrawals) out << "  withdraw " << w.key << ": " << w.reason << "\n";
  } else {
    out << "planned " << r.planned << ", withdrawn " << r.withdrawn << ", sent " << r.sent << " (" << r.late
        << " late), dropped " << r.dropped << ", failed " << r.failed << ", deferred " << r.deferred;
    if (r.rewritten > 0) out << ", rewritten " << r.rewritten;
    out << "\n";
  }
  if (const auto w = window_of(r)) {
    out << "250-to-commit window: p50 " << w->p50.count() << " us, p99 " << w->p99.count() << " us, max "
        << w->max.count() << " us\n";
  }
  for (const auto& line : r.log) out << line << "\n";
  if (r.next_wake) out << "next: " << utc(*r.next_wake) << "\n";
  return out.str();
}

Json report_json(const PassReport& r, bool dry_run) {
  Json j;
  j["dry_run"] = dry_run;
  j["planned"] = r.planned;
  j["withdrawn"] = r.withdrawn;
  j["rewritten"] = r.rewritten;
  j["sent"] = r.sent;
  j["late"] = r.late;
  j["early"] = r.early;
  j["dropped"] = r.dropped;
  j["failed"] = r.failed;
  j["deferred"] = r.deferred;
  Json plan = Json::array();
  for (const auto& m : r.plan.messages) {
    Json e;
    e["key"] = m.key;
    e["kind"] = std::string(to_string(m.kind));
    e["member"] = m.member.empty() ? Json(nullptr) : Json(m.member);
    e["channel"] = m.channel;
    e["series"] = m.series;
    e["occurrence"] = format_local_minute(m.occurrence);
    e["due"] = utc(m.due);
    e["session_start"] = utc(m.session_start);
    plan.push_back(std::move(e));
  }
  j["plan"] = std::move(plan);
  Json withdrawals = Json::array();
  for (const auto& w : r.plan.withdrawals) withdrawals.push_back({{"key", w.key}, {"reason", w.reason}});
  j["withdrawals"] = std::move(withdrawals);
  j["log"] = r.log;
  if (const auto w = window_of(r))
    j["commit_window_us"] = {{"p50", w->p50.count()}, {"p99", w->p99.count()}, {"max", w->max.count()}};
  else
    j["commit_window_us"] = nullptr;
  j["lease_held_until"] = r.lease_held_until ? Json(utc(*r.lease_held_until)) : Json(nullptr);
  j["next_wake"] = r.next_wake ? Json(utc(*r.next_wake)) : Json(nullptr);
  return j;
}

Json outbox_json(const std::vector<OutboxMessage>& messages) {
  Json out = Json::array();
  for (const auto& m : messages) {
    Json j;
    j["id"] = m.id;
    j["key"] = m.key;
    j["kind"] = m.kind;
    j["member"] = m.member.empty() ? Json(nullptr) : Json(m.member);
    j["series"] = m.series;
    j["occurrence"] = m.occurrence ? Json(format_local_minute(*m.occurrence)) : Json(nullptr);
    j["recipient"] = m.recipient;  // an address, or "member:ID" / "channel:NAME" (a webhook's: never its URL)
    j["channel"] = m.target.empty() ? (m.member.empty() ? "community webhook" : "webhook") : "email";
    j["state"] = std::string(to_string(m.state));
    j["attempts"] = m.attempts;
    j["last_error"] = m.last_error.empty() ? Json(nullptr) : Json(m.last_error);
    j["due"] = utc(m.due);
    j["not_after"] = m.not_after ? Json(utc(*m.not_after)) : Json(nullptr);
    j["updated"] = utc(m.updated);
    out.push_back(std::move(j));
  }
  return out;
}

std::string outbox_text(const std::vector<OutboxMessage>& messages) {
  std::ostringstream out;
  for (const auto& m : messages) {
    out << utc(m.due) << "  " << std::string(to_string(m.state)) << "  " << m.kind << "  "
        << (m.member.empty() ? m.recipient : m.member) << "  " << m.series
        << (m.occurrence ? " " + format_local_minute(*m.occurrence) : "") << "  attempts " << m.attempts;
    if (m.target.empty()) out << "  by webhook";
    if (!m.last_error.empty()) out << "  last error: " << m.last_error;
    out << "\n";
  }
  if (messages.empty()) out << "no reminders or notices\n";
  return out.str();
}

}  // namespace convene::remind
