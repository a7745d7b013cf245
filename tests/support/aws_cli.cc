#include "tests/support/aws_cli.h"

#include <gtest/gtest.h>

namespace streamarc::testing {

CommandOutput RunAws(const std::string& url, const std::vector<std::string>& args,
                     const std::string& region) {
  return RunAwsAs({"AKIDEXAMPLE", "secret"}, url, args, region);
}

CommandOutput RunAwsAs(const AwsKey& key, const std::string& url,
                       const std::vector<std::string>& args, const std::string& region) {
  std::vector<std::string> cmd = {"env",
                                  "AWS_ACCESS_KEY_ID=" + key.id,
                                  "AWS_SECRET_ACCESS_KEY=" + key.secret,
                                  "AWS_DEFAULT_REGION=" + region,
                                  "AWS_PAGER=",
                                  "AWS_CONFIG_FILE=/dev/null",
                                  "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                  "/usr/bin/aws",
                                  "--endpoint-url",
                                  url,
                                  "--output",
                                  "json"};
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = RunCommand(cmd);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return CommandOutput{};
  return *r;
}

}  // namespace streamarc::testing
