#include "tests/support/test_certs.h"

#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace streamarc::testing {
namespace {

bool Openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv);
  EXPECT_TRUE(r.ok() && r->exit_code == 0) << (r.ok() ? r->out : r.status().ToString());
  return r.ok() && r->exit_code == 0;
}

}  // namespace

TestCerts MakeTestCerts(const std::string& dir) {
  TestCerts c{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const std::string ca_key = dir + "/ca.key", csr = dir + "/server.csr", ext = dir + "/server.ext";
  // What clients check: an IP SAN for 127.0.0.1 and a DNS one for localhost (the CN is not
  // looked at), usable for server authentication, with key ids that chain it to the CA.
  WriteFileOrDie(ext,
                 "basicConstraints=critical,CA:FALSE\n"
                 "keyUsage=critical,digitalSignature,keyEncipherment\n"
                 "extendedKeyUsage=serverAuth\n"
                 "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                 "subjectKeyIdentifier=hash\n"
                 "authorityKeyIdentifier=keyid\n");
  const bool ok = Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                           "-nodes", "-keyout", ca_key, "-out", c.ca, "-days", "2", "-subj",
                           "/CN=streamarc test CA", "-addext", "basicConstraints=critical,CA:TRUE",
                           "-addext", "keyUsage=critical,keyCertSign,cRLSign"}) &&
                  Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                           "-keyout", c.key, "-out", csr, "-subj", "/CN=localhost"}) &&
                  Openssl({"x509", "-req", "-in", csr, "-CA", c.ca, "-CAkey", ca_key, "-set_serial",
                           "2", "-days", "2", "-extfile", ext, "-out", c.cert});
  if (!ok) return {};
  return c;
}

}  // namespace streamarc::testing
