#include "settings.h"

#include "convene/validate.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

namespace convene::cli {
namespace {

std::string env_value(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  return value ? value : "";
}

// Up to kMaxConfigBytes of a regular file; anything else is refused.
std::string read_config(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw SettingsError(path + ": no such configuration file");
  if (!S_ISREG(st.st_mode)) throw SettingsError(path + ": the configuration file is not a regular file");
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) {
    throw SettingsError(path + ": the configuration file is larger than " +
                        std::to_string(kMaxConfigBytes / 1024) + " KiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SettingsError(path + ": cannot read the configuration file");
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) throw SettingsError(path + ": the configuration file grew while being read");
  return text;
}

const SettingInfo* find_key(std::string_view key) {
  for (const auto& s : setting_table())
    if (s.key == key) return &s;
  return nullptr;
}

std::string known_keys() {
  std::string out;
  for (const auto& s : setting_table()) out += (out.empty() ? "" : ", ") + std::string(s.key);
  return out;
}

// A value as every message shows one (convene/validate.h).
std::string shown(std::string_view value) { return quote_value(value); }

// The base URL is a link like any other (convene/validate.h: an absolute http(s) URL that
// libcurl parses, nothing that could break a line).
void check_value(Setting setting, const std::string& value, const std::string& origin) {
  if (setting != Setting::base_url || value.empty()) return;
  if (auto why = url_problem(value)) throw SettingsError(origin + ": base URL " + *why);
}

}  // namespace

const std::array<SettingInfo, 4>& setting_table() {
  static const std::array<SettingInfo, 4> table{{
      {Setting::db, "db", "CONVENE_DB", "--db", "./convene.db", "the store (SQLite file)"},
      {Setting::listen, "listen", "CONVENE_LISTEN", "--listen", "127.0.0.1:8080",
       "HOST:PORT `convene serve` listens on"},
      {Setting::base_url, "base_url", "CONVENE_BASE_URL", "--base-url", "",
       "the public base URL of the feeds (member links, the subscribe page)"},
      {Setting::access_log, "access_log", "CONVENE_ACCESS_LOG", "--access-log", "-",
       "where `convene serve` writes its access log: a file (reopened on SIGHUP), - for standard output, off for none"},
  }};
  return table;
}

const SettingInfo& info(Setting setting) {
  for (const auto& s : setting_table())
    if (s.setting == setting) return s;
  throw std::logic_error("unknown setting");
}

Settings Settings::load(const std::string& config_flag) {
  Settings settings;
  std::string path = config_flag;
  std::string named_by = "--config";
  if (path.empty()) {
    path = env_value("CONVENE_CONFIG");
    named_by = "CONVENE_CONFIG";
  }
  if (path.empty()) {
    struct stat st {};
    if (::stat(std::string(kDefaultConfigPath).c_str(), &st) != 0) return settings;  // none: defaults
    path = kDefaultConfigPath;
  }
  std::istringstream text(read_config(path));
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML().from_config(text);
  } catch (const std::exception& e) {
    throw SettingsError(path + ": " + e.what());
  }
  for (const auto& item : items) {
    if (item.name == "++" || item.name == "--") {
      throw SettingsError(path + ": sections are not used (" + shown(item.fullname()) +
                          "): write the keys at the top level");
    }
    if (!item.parents.empty()) {
      throw SettingsError(path + ": unknown key " + shown(item.fullname()) + " (known: " + known_keys() + ")");
    }
    const SettingInfo* s = find_key(item.name);
    if (!s) throw SettingsError(path + ": unknown key " + shown(item.name) + " (known: " + known_keys() + ")");
    // CLI11 gathers a repeated key, like a list, into one item with several values.
    if (item.inputs.size() != 1) {
      throw SettingsError(path + ": key " + shown(item.name) + " is given more than once or as a list: give it one value");
    }
    check_value(s->setting, item.inputs.front(), path + ": " + std::string(s->key));
    settings.from_file_[s->setting] = item.inputs.front();
  }
  settings.file_ = path;
  return settings;
}

Resolved Settings::resolve(Setting setting, const std::string& flag) const {
  const SettingInfo& s = info(setting);
  Resolved r;
  if (!flag.empty()) {
    r = {flag, "flag " + std::string(s.flag)};
  } else if (std::string env = env_value(s.env); !env.empty()) {
    r = {env, "environment " + std::string(s.env)};
  } else if (auto it = from_file_.find(setting); it != from_file_.end() && !it->second.empty()) {
    r = {it->second, "file " + file_};
  } else {
    r = {std::string(s.fallback), "default"};
  }
  check_value(setting, r.value, r.origin);
  return r;
}

}  // namespace convene::cli
