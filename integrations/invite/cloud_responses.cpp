// Attendees' responses read back from the cloud targets (invite/internal/cloud_target.h):
// the paged listing flow and the book that turns what was read into the store's rows.
#include <algorithm>
#include <cctype>
#include <sstream>

#include "internal/curl.h"
#include "invite/internal/cloud_target.h"

namespace convene::cloud {

std::optional<HttpRequest> PagedRead::next() {
  if (finished_) return std::nullopt;
  return request_;
}

void PagedRead::done(const HttpResponse& r) {
  ++requests_;
  if (r.status < 200 || r.status >= 300) {
    finished_ = true;
    error_ = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status) + " " + net::shorten(r.error, 160);
    return;
  }
  const nlohmann::json page = nlohmann::json::parse(r.body, nullptr, false);
  if (!page.is_object()) {
    finished_ = true;
    error_ = "the answer is not a JSON object";
    return;
  }
  const std::string next = on_page_(page);
  if (next.empty()) {
    finished_ = complete_ = true;
    return;
  }
  if (next.compare(0, api_url_.size() + 1, api_url_ + "/") != 0) {
    finished_ = true;
    error_ = "the next page is not under " + net::shorten(api_url_, 80) + " (" + net::shorten(next, 80) + ")";
    return;
  }
  request_.url = next;
}

std::optional<Instant> parse_rfc3339(std::string_view text) {
  if (text.size() < 20 || text.size() > 40) return std::nullopt;
  std::string whole(text.substr(0, 19));
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  if (rest == "Z" || rest == "z") {
    whole += "+00:00";
  } else {
    whole += rest;
  }
  std::istringstream in(whole);
  date::sys_seconds at;
  in >> date::parse("%FT%T%Ez", at);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return Instant{at};
}

std::string json_text(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return "";
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

AnswerBook::AnswerBook(const invite::SyncContext& ctx) : ctx_(ctx) {
  for (const auto& r : ctx.remote) {
    if (r.occurrence || !r.copy.empty() || !r.live || (r.remote_id.empty() && r.etag.empty())) continue;
    for (const auto& s : ctx.series) {
      if (s.desired.series != r.series) continue;
      Held h;
      h.remote_id = r.remote_id;
      h.zone = s.community->zone;
      h.invitees = r.invitees;
      if (!r.remote_id.empty()) by_remote_[r.remote_id] = r.series;
      held_[r.series] = std::move(h);
    }
  }
}

const std::string* AnswerBook::series_of(const std::string& remote_id) const {
  const auto it = by_remote_.find(remote_id);
  return it == by_remote_.end() ? nullptr : &it->second;
}

void AnswerBook::add_session_event(const std::string& remote_id, const std::string& series, LocalTime original) {
  if (held_.count(series)) sessions_[remote_id] = {series, original};
}

const std::pair<std::string, LocalTime>* AnswerBook::session_of(const std::string& remote_id) const {
  const auto it = sessions_.find(remote_id);
  return it == sessions_.end() ? nullptr : &it->second;
}

const date::time_zone* AnswerBook::zone_of(const std::string& series) const { return held_.at(series).zone; }

std::vector<std::string> AnswerBook::series() const {
  std::vector<std::string> out;
  for (const auto& [s, h] : held_) out.push_back(s);
  return out;
}

std::string AnswerBook::remote_id(const std::string& series) const { return held_.at(series).remote_id; }

void AnswerBook::series_answer(const std::string& series, const std::string& email, Answer answer) {
  held_.at(series).whole[response_email(email)] = answer;
}

void AnswerBook::session_answer(const std::string& series, LocalTime original, const std::string& email,
                                Answer answer) {
  held_.at(series).sessions[{original, response_email(email)}] = answer;
}

void AnswerBook::unread(const std::string& series, const std::string& why) {
  held_.at(series).unread = true;
  problems_.push_back("series " + series + ": its attendees' responses could not be read: " + why);
}

void AnswerBook::unread_all(const std::string& why) {
  for (auto& [series, h] : held_) h.unread = true;
  problems_.push_back("the attendees' responses could not be read: " + why);
}

void AnswerBook::record(invite::TargetOutcome& outcome, std::size_t requests) const {
  outcome.read_responses = true;
  outcome.read_requests += requests;
  for (const auto& p : problems_) outcome.problems.push_back(p);
  const Instant at = date::floor<Seconds>(ctx_.now);
  for (const auto& entry : held_) {
    // Not a structured binding: clang 14 (the sanitizer build) cannot capture one.
    const std::string& series = entry.first;
    const auto& h = entry.second;
    if (h.unread) continue;
    auto member_of = [&](const std::string& email) {
      for (const auto& i : h.invitees)
        if (response_email(i.email) == email) return i.member;
      return std::string();
    };
    std::vector<AttendeeResponse> rows;
    for (const auto& [email, answer] : h.whole)
      rows.push_back({"", series, std::nullopt, member_of(email), email, answer, at});
    for (const auto& [key, answer] : h.sessions) {
      const auto whole = h.whole.find(key.second);
      if (answer == (whole == h.whole.end() ? Answer::none : whole->second)) continue;
      rows.push_back({"", series, key.first, member_of(key.second), key.second, answer, at});
    }
    ctx_.store.put_responses(ctx_.target.spec.name, series, rows);
    outcome.responses += rows.size();
  }
}

}  // namespace convene::cloud
