#include "tests/support/kvs_curl.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/support/subprocess.h"

namespace streamarc::testing {

using nlohmann::json;

std::string Curl(const std::vector<std::string>& args) {
  std::vector<std::string> cmd = {"curl", "-sS"};
  cmd.insert(cmd.end(), args.begin(), args.end());
  auto r = RunCommand(cmd);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->out : "";
}

std::string CurlGet(const std::string& url, const std::vector<std::string>& extra) {
  std::vector<std::string> args = extra;
  args.push_back(url);
  return Curl(args);
}

CurlReply CurlPost(const std::string& url, const std::string& body,
                   const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"-w", "\n%{http_code}", "-X", "POST", "--data-binary", body};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  std::string out = Curl(args);
  // -w puts the status on a line of its own after the body.
  const size_t nl = out.rfind('\n');
  if (nl == std::string::npos) return {0, out};
  return {std::atoi(out.c_str() + nl + 1), out.substr(0, nl)};
}

void CurlCreateStream(const std::string& server_url, const std::string& name, int hours,
                      const std::vector<std::string>& extra) {
  CurlReply r = CurlPost(server_url + "/createStream",
                         json{{"StreamName", name}, {"DataRetentionInHours", hours}}.dump(), extra);
  ASSERT_NE(r.body.find("StreamARN"), std::string::npos) << r.body;
}

std::string CurlPutMedia(const std::string& server_url, const PutMediaCall& call) {
  std::vector<std::string> args = {"-X", "POST", "-H", "x-amzn-stream-name: " + call.stream};
  if (call.start.empty()) {
    args.insert(args.end(), {"-H", "x-amzn-fragment-timecode-type: ABSOLUTE"});
  } else {
    args.insert(args.end(), {"-H", "x-amzn-fragment-timecode-type: RELATIVE", "-H",
                             "x-amzn-producer-start-timestamp: " + call.start});
  }
  if (call.chunked) args.insert(args.end(), {"-H", "Transfer-Encoding: chunked"});
  args.insert(args.end(), call.extra.begin(), call.extra.end());
  args.insert(args.end(), {"--data-binary", "@" + call.file, server_url + "/putMedia"});
  return Curl(args);
}

std::vector<json> ListAllFragments(const std::string& server_url, const std::string& stream,
                                   int page) {
  std::vector<json> out;
  json req = {{"StreamName", stream},
              {"MaxResults", page},
              {"FragmentSelector",
               {{"FragmentSelectorType", "SERVER_TIMESTAMP"},
                {"TimestampRange", {{"StartTimestamp", 0}, {"EndTimestamp", 4102444800}}}}}};
  for (int guard = 0; guard < 100; ++guard) {
    CurlReply r = CurlPost(server_url + "/listFragments", req.dump(),
                           {"-m", "30", "-H", "Content-Type: application/json"});
    EXPECT_EQ(r.status, 200) << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    if (j.is_discarded()) break;
    for (const json& f : j["Fragments"]) out.push_back(f);
    if (!j.contains("NextToken")) break;
    req = {{"StreamName", stream}, {"MaxResults", page}, {"NextToken", j["NextToken"]}};
  }
  return out;
}

std::vector<json> ParseAckEvents(const std::string& response) {
  std::vector<json> out;
  size_t p = 0;
  while ((p = response.find("{\"EventType\"", p)) != std::string::npos) {
    const size_t end = response.find('}', p);
    json e = json::parse(response.substr(p, end - p + 1), nullptr, false);
    EXPECT_FALSE(e.is_discarded()) << response.substr(p, end - p + 1);
    if (!e.is_discarded()) out.push_back(std::move(e));
    p = end;
  }
  return out;
}

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = 0; (p = text.find(needle, p)) != std::string::npos; p += needle.size()) ++n;
  return n;
}

std::vector<std::string> PlaylistUris(const std::string& playlist_url, const std::string& text) {
  const std::string base = playlist_url.substr(0, playlist_url.rfind('/') + 1);
  std::vector<std::string> out;
  size_t p = 0;
  while (p < text.size()) {
    size_t eol = text.find('\n', p);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(p, eol - p);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] != '#') out.push_back(base + line);
    p = eol + 1;
  }
  return out;
}

}  // namespace streamarc::testing
