// A certificate authority and a server certificate for 127.0.0.1 and localhost, made with the
// openssl CLI at test time: nothing checked in, nothing in the tree that expires.
#pragma once

#include <string>

namespace streamarc::testing {

struct TestCerts {
  std::string ca;    // the CA's certificate (PEM): what clients are told to trust
  std::string cert;  // the server's certificate (PEM), signed by the CA
  std::string key;   // the server's private key (PEM, unencrypted)
};

// Writes the files into `dir` (which outlives their use). A gtest failure, and empty paths,
// if openssl fails.
TestCerts MakeTestCerts(const std::string& dir);

}  // namespace streamarc::testing
