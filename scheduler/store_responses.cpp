// Attendees' responses in the store (schema 13): what each cloud target said, at its
// last read, of who accepted, declined or has not answered, per series and session.
#include <algorithm>
#include <array>
#include <cctype>

#include "convene/store.h"
#include "internal/store_impl.h"

namespace convene {

using store_internal::Transaction;

namespace {

constexpr std::array<std::pair<Answer, std::string_view>, 4> kAnswers{{{Answer::none, "none"},
                                                                        {Answer::accepted, "accepted"},
                                                                        {Answer::tentative, "tentative"},
                                                                        {Answer::declined, "declined"}}};

}  // namespace

std::string response_email(std::string_view email) {
  std::string out(email);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view to_string(Answer answer) {
  for (const auto& [a, name] : kAnswers)
    if (a == answer) return name;
  return "none";
}

std::optional<Answer> parse_answer(std::string_view text) {
  for (const auto& [a, name] : kAnswers)
    if (name == text) return a;
  return std::nullopt;
}

void Store::put_responses(std::string_view target, std::string_view series,
                          const std::vector<AttendeeResponse>& responses) {
  std::lock_guard lock(impl_->mutex);
  Impl& impl = *impl_;
  impl.check_writable("record the responses target " + std::string(target) + " reports");
  Transaction tx(*impl.db, Transaction::Mode::write);
  impl.db->query("DELETE FROM attendee_responses WHERE target = ?1 AND series = ?2")
      ->bind(1, target)
      .bind(2, series)
      .run();
  auto q = impl.db->query(
      "INSERT OR REPLACE INTO attendee_responses (target, series, occurrence, email, member, answer, read_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  for (const auto& r : responses) {
    q->bind(1, target).bind(2, series).bind(3, r.occurrence ? format_local_minute(*r.occurrence) : std::string());
    q->bind(4, response_email(r.email)).bind(5, r.member).bind(6, to_string(r.answer));
    q->bind(7, static_cast<std::int64_t>(r.read_at.time_since_epoch().count()));
    q->run();
    q->reset();
  }
  tx.commit();
}

std::vector<AttendeeResponse> Store::responses(std::string_view series) const {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(*impl_->db, Transaction::Mode::read);
  std::vector<AttendeeResponse> out;
  auto q = impl_->db->query(
      "SELECT target, series, occurrence, email, member, answer, read_at FROM attendee_responses "
      "WHERE series = ?1 ORDER BY occurrence, email, target");
  q->bind(1, series);
  while (q->step()) {
    AttendeeResponse r;
    r.target = q->text(0);
    r.series = q->text(1);
    if (const auto o = q->text(2); !o.empty()) r.occurrence = parse_local_minute(o);
    r.email = q->text(3);
    r.member = q->text(4);
    r.answer = parse_answer(q->text(5)).value_or(Answer::none);
    r.read_at = Instant{Seconds{q->int64(6)}};
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace convene
