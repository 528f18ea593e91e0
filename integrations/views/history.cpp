// Views of the store's record: the audit trail, revisions, and what a change did.
#include <algorithm>
#include <iomanip>
#include <sstream>

#include "convene/views.h"
#include "internal.h"

namespace convene::views {

using namespace internal;

namespace {

// The audit record keeps JSON as text; shown as JSON when it parses.
Json parse_or_text(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const std::exception&) {
    return text;
  }
}

Json affected_json(const std::vector<AffectedOccurrence>& affected) {
  Json list = Json::array();
  for (const auto& a : affected) {
    list.push_back({{"series", a.series}, {"occurrence", format_local_minute(a.original)}, {"revision", a.sequence}});
  }
  return list;
}

// The most sessions a change's text lists one by one.
constexpr std::size_t kAffectedShown = 12;

}  // namespace

Json history_json(const std::vector<AuditRecord>& records) {
  Json array = Json::array();
  for (const auto& r : records) {
    Json j;
    j["id"] = r.id;
    j["at"] = utc(r.at);
    j["actor"] = r.actor;
    j["action"] = r.action;
    j["series"] = or_null(r.series);
    j["occurrence"] = r.occurrence ? Json(format_local_minute(*r.occurrence)) : Json(nullptr);
    j["target"] = or_null(r.target);
    j["summary"] = r.summary;
    j["reason"] = or_null(r.reason);
    j["before"] = parse_or_text(r.before);
    j["after"] = parse_or_text(r.after);
    j["affected"] = affected_json(r.affected);
    array.push_back(std::move(j));
  }
  return array;
}

std::string history_text(const std::vector<AuditRecord>& records, const std::optional<std::string>& series) {
  std::ostringstream out;
  if (records.empty()) {
    out << "No changes recorded" << (series ? " for " + *series : "") << ".\n";
    return out.str();
  }
  std::size_t who = 3, what = 4;
  for (const auto& r : records) {
    who = std::max(who, r.actor.size());
    what = std::max(what, r.action.size());
  }
  const int who_w = static_cast<int>(who), what_w = static_cast<int>(what);
  out << std::left << std::setw(5) << "#" << "  " << std::setw(17) << "When (UTC)" << "  " << std::setw(who_w) << "Who"
      << "  " << std::setw(what_w) << "What" << "  Change · Why\n";
  for (const auto& r : records) {
    out << std::left << std::setw(5) << r.id << "  " << std::setw(17) << utc_short(r.at) << "  " << std::setw(who_w)
        << r.actor << "  " << std::setw(what_w) << r.action << "  " << r.summary;
    if (r.reason) out << " · " << *r.reason;
    if (!r.affected.empty()) out << " [" << count_of(r.affected.size(), "session", "sessions") << "]";
    out << "\n";
  }
  return out.str();
}

Json revision_json(std::string_view series, std::optional<LocalTime> occurrence, const Revision& revision) {
  return {{"series", series},
          {"occurrence", occurrence ? Json(format_local_minute(*occurrence)) : Json(nullptr)},
          {"revision", revision.sequence},
          {"modified", utc(revision.modified)}};
}

std::string revision_text(std::string_view series, std::optional<LocalTime> occurrence, const Revision& revision) {
  return std::string(series) + (occurrence ? " " + format_local_minute(*occurrence) : "") + ": revision " +
         std::to_string(revision.sequence) + ", modified " + utc_short(revision.modified) + "\n";
}

Json change_json(const ChangeResult& r, const ChangeContext& c, bool dry_run) {
  Json j;
  j["dry_run"] = dry_run;
  j["changed"] = r.changed;
  j["change"] = r.changed && !dry_run && r.audit_id ? Json(r.audit_id) : Json(nullptr);
  j["actor"] = c.actor;
  j["summary"] = r.summary;
  j["affected"] = affected_json(r.affected);
  j["series"] = r.series;
  return j;
}

std::string change_text(const ChangeResult& r, const ChangeContext& c, bool dry_run) {
  std::ostringstream out;
  out << (dry_run ? "dry run: would have " : "") << r.summary << "\n";
  if (!r.changed) return out.str();
  if (dry_run) {
    out << "  nothing was written";
  } else {
    out << "  change #" << r.audit_id << " by " << c.actor;
  }
  if (r.affected.empty()) return out.str() + "\n";
  out << "; " << count_of(r.affected.size(), "session", "sessions") << (dry_run ? " would be" : "")
      << " at a new revision:\n";
  std::size_t shown = 0;
  for (const auto& a : r.affected) {
    if (++shown > kAffectedShown) {
      out << "    ... and " << (r.affected.size() - kAffectedShown) << " more\n";
      break;
    }
    out << "    " << a.series << " " << format_local_minute(a.original) << " → revision " << a.sequence << "\n";
  }
  return out.str();
}

}  // namespace convene::views
