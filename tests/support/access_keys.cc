#include "tests/support/access_keys.h"

#include <nlohmann/json.hpp>

namespace streamarc::testing {

std::string AccessKeysConfig(const std::vector<AccessKeyGrant>& grants) {
  nlohmann::json keys = nlohmann::json::array();
  for (const AccessKeyGrant& g : grants) {
    nlohmann::json k = {{"access-key-id", g.key.id}, {"secret-access-key", g.key.secret}};
    if (!g.streams.empty()) k["streams"] = g.streams;
    if (!g.actions.empty()) k["actions"] = g.actions;
    keys.push_back(std::move(k));
  }
  return nlohmann::json{{"access-keys", std::move(keys)}}.dump(2);
}

}  // namespace streamarc::testing
