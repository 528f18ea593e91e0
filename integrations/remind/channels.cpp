// `convene channel list` (convene/remind.h: channels_json, channels_text).
#include <sstream>

#include "convene/remind.h"

namespace convene::remind {

namespace {
std::string offsets_text(const std::vector<Seconds>& offsets) {
  if (offsets.empty()) return "each series' reminders";
  std::string out;
  for (auto o : offsets) out += (out.empty() ? "" : ", ") + format_duration(o);
  return out;
}
}  // namespace

nlohmann::ordered_json channels_json(const std::vector<ChannelInfo>& channels) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& c : channels) {
    nlohmann::ordered_json j;
    j["name"] = c.spec.name;
    j["community"] = c.spec.community;
    nlohmann::ordered_json offsets = nlohmann::ordered_json::array();
    for (auto o : c.spec.offsets) offsets.push_back(format_duration(o));
    j["offsets"] = std::move(offsets);
    j["webhook"] = "sealed";
    j["created"] = date::format("%FT%TZ", c.created);
    out.push_back(std::move(j));
  }
  return out;
}

std::string channels_text(const std::vector<ChannelInfo>& channels) {
  std::ostringstream out;
  for (const auto& c : channels)
    out << c.spec.name << "  community " << c.spec.community << "  reminders " << offsets_text(c.spec.offsets)
        << "  webhook (sealed)\n";
  if (channels.empty()) out << "no community channels (add one with `convene channel add NAME --community ID --webhook-url URL`)\n";
  return out.str();
}

}  // namespace convene::remind
