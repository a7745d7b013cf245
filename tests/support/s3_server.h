// s3rver (npm, tests/s3) started by a test itself through tests/support/s3_server.sh, so that
// it can be stopped and started again (on the same port) while streamarcd runs; and the
// --object-store JSON that points streamarcd at one of its buckets. Header-only: the suites
// that use it (tiers, cluster) are binaries of their own.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tests/support/aws_cli.h"
#include "tests/support/subprocess.h"

namespace streamarc::testing {

inline const AwsKey kS3rverKey{"S3RVER", "S3RVER"};  // s3rver's own credentials

// Not thread-safe. Stops the server (and deletes its data) when destroyed.
class S3Server {
 public:
  // `state`: a directory of the test's for the script's files (pid, endpoint, log).
  explicit S3Server(std::string state) : state_(std::move(state)) {}
  ~S3Server() { Stop(); }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  // On a free loopback port, or on `port`; false (and a gtest failure) when it did not start.
  bool Start(int port = 0) {
    std::string cmd = "cd / && ";
    if (port) cmd += "S3_PORT=" + std::to_string(port) + " ";
    auto r = RunCommand({"/bin/sh", "-c",
                         cmd + "bash " + std::string(STREAMARC_TESTS_DIR) +
                             "/support/s3_server.sh start " + state_});
    if (!r.ok() || r->exit_code != 0) {
      ADD_FAILURE() << (r.ok() ? r->out : r.status().ToString());
      return false;
    }
    endpoint_ = ReadFileOrDie(state_ + "/endpoint");
    while (!endpoint_.empty() && (endpoint_.back() == '\n' || endpoint_.back() == ' ')) {
      endpoint_.pop_back();
    }
    return true;
  }
  void Stop() {
    (void)RunCommand(
        {"bash", std::string(STREAMARC_TESTS_DIR) + "/support/s3_server.sh", "stop", state_});
  }
  // http://127.0.0.1:PORT
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1)); }

  // Creates `bucket` with the AWS CLI; a gtest failure when it cannot.
  void MakeBucket(const std::string& bucket) const {
    CommandOutput r = RunAwsAs(kS3rverKey, endpoint_, {"s3", "mb", "s3://" + bucket});
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }

  // streamarcd's --object-store value for `bucket` on this server.
  std::string ObjectStoreJson(const std::string& bucket) const {
    return nlohmann::json{{"endpoint", endpoint_},
                          {"bucket", bucket},
                          {"region", "us-east-1"},
                          {"access-key-id", kS3rverKey.id},
                          {"secret-access-key", kS3rverKey.secret},
                          {"path-style", true}}
        .dump();
  }

 private:
  std::string state_;
  std::string endpoint_;
};

}  // namespace streamarc::testing
