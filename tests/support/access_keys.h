// streamarcd's access keys for tests that run it with keys: the "access-keys" list of a
// --config file, written from the keys the test then signs with (AwsKey).
#pragma once

#include <string>
#include <vector>

#include "tests/support/aws_cli.h"

namespace streamarc::testing {

// One configured key: what it signs with, and what it may do. Empty lists are left out of
// the file, which the server reads as every stream and every action.
struct AccessKeyGrant {
  AwsKey key;
  std::vector<std::string> streams;  // names or shell patterns
  std::vector<std::string> actions;  // "read", "write", "admin"
};

// {"access-keys": [...]}, the text of a config file.
std::string AccessKeysConfig(const std::vector<AccessKeyGrant>& grants);

}  // namespace streamarc::testing
