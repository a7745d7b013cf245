#include "server/config.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace streamarc::server {
namespace {

// Sets one setting by its flag name from text. Shared by flags and the config file so the
// two can never disagree.
Status Apply(Config* c, const std::string& key, const std::string& value) {
  auto to_int = [&](int64_t lo, int64_t hi, int64_t* out) -> Status {
    try {
      size_t used = 0;
      long long v = std::stoll(value, &used);
      if (used != value.size() || v < lo || v > hi) throw std::out_of_range(key);
      *out = v;
      return Status::Ok();
    } catch (const std::exception&) {
      return InvalidArgument("--" + key + ": expected a number from " + std::to_string(lo) +
                             " to " + std::to_string(hi) + ", got \"" + value + "\"");
    }
  };
  int64_t n = 0;
  if (key == "host") {
    c->host = value;
  } else if (key == "port") {
    RETURN_IF_ERROR(to_int(0, 65535, &n));
    c->port = static_cast<int>(n);
  } else if (key == "data-dir") {
    c->data_dir = value;
  } else if (key == "region") {
    c->region = value;
  } else if (key == "account") {
    c->account = value;
  } else if (key == "public-url") {
    c->public_url = value;
  } else if (key == "log-level") {
    if (!ParseLogLevel(value, &c->log_level)) {
      return InvalidArgument("--log-level: expected debug, info, warn or error");
    }
  } else if (key == "worker-threads") {
    RETURN_IF_ERROR(to_int(1, 256, &n));
    c->worker_threads = static_cast<int>(n);
  } else if (key == "max-fragment-bytes") {
    RETURN_IF_ERROR(to_int(1024, int64_t{1} << 34, &n));
    c->max_fragment_bytes = static_cast<uint64_t>(n);
  } else if (key == "max-fragment-duration-ms") {
    RETURN_IF_ERROR(to_int(100, 3'600'000, &n));
    c->max_fragment_duration_ms = n;
  } else if (key == "idle-timeout-seconds") {
    RETURN_IF_ERROR(to_int(1, 3600, &n));
    c->idle_timeout_seconds = static_cast<int>(n);
  } else {
    return InvalidArgument("unknown setting \"" + key + "\" (see --help)");
  }
  return Status::Ok();
}

}  // namespace

std::string UsageText() {
  return R"(usage: streamarcd [options]

A self-hosted video ingest and archive server that speaks the Kinesis Video Streams API.

  --host ADDR                  listen address (default 127.0.0.1)
  --port N                     listen port (default 8080; 0 picks a free one)
  --data-dir DIR               where segment files and the index live (default ./data)
  --config FILE                JSON file whose keys are these flag names, e.g.
                               {"port": 9000, "data-dir": "/var/lib/streamarc"}
  --region NAME                region in ARNs (default us-east-1)
  --account ID                 account id in ARNs (default 000000000000)
  --public-url URL             URL GetDataEndpoint returns (default http://HOST:PORT)
  --log-level LEVEL            debug, info, warn or error (default info)
  --worker-threads N           disk/SQLite worker threads (default 2)
  --max-fragment-bytes N       largest fragment accepted (default 52428800)
  --max-fragment-duration-ms N longest fragment accepted (default 20000)
  --idle-timeout-seconds N     drop a request body that stalls this long (default 30)
  --help, --version
)";
}

Status LoadConfigFile(const std::string& path, Config* config) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot read config file " + path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgument("config file " + path + " is not a JSON object");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string value = it->is_string() ? it->get<std::string>() : it->dump();
    Status s = Apply(config, it.key(), value);
    if (!s.ok()) return InvalidArgument(path + ": " + s.message());
  }
  return Status::Ok();
}

Result<CommandLine> ParseCommandLine(const std::vector<std::string>& args) {
  CommandLine cl;
  std::vector<std::pair<std::string, std::string>> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.show_help = true;
      continue;
    }
    if (a == "--version") {
      cl.show_version = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) return InvalidArgument("unexpected argument \"" + a + "\"");
    std::string key = a.substr(2), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else {
      if (i + 1 >= args.size()) return InvalidArgument(a + " needs a value");
      value = args[++i];
    }
    flags.emplace_back(key, value);
  }
  for (const auto& [k, v] : flags) {
    if (k == "config") RETURN_IF_ERROR(LoadConfigFile(v, &cl.config));
  }
  for (const auto& [k, v] : flags) {
    if (k != "config") RETURN_IF_ERROR(Apply(&cl.config, k, v));
  }
  return cl;
}

}  // namespace streamarc::server
