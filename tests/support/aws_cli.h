// Running Debian's AWS CLI (its awscli package, as /usr/bin/aws runs it) against a streamarcd
// under test. The commands run in long-lived Python processes (support/aws_cli_worker.py),
// each command with a fresh CLI driver and session: the same code path as `aws`, without
// paying Python's start and botocore's import on every call.
#pragma once

#include <string>
#include <vector>

#include "tests/support/subprocess.h"

namespace streamarc::testing {

// Runs `aws --endpoint-url <url> --output json <args...>` with dummy credentials
// (AKIDEXAMPLE; a loopback streamarcd without configured keys accepts any), the given
// region, no pager and no user config. A command that could not be started is a gtest
// failure and comes back with exit_code -1. An `--output` in `args` overrides the json.
CommandOutput RunAws(const std::string& url, const std::vector<std::string>& args,
                     const std::string& region = "us-east-1");

// As above, signed with this access key and secret.
struct AwsKey {
  std::string id;
  std::string secret;
};
CommandOutput RunAwsAs(const AwsKey& key, const std::string& url,
                       const std::vector<std::string>& args,
                       const std::string& region = "us-east-1");

}  // namespace streamarc::testing
