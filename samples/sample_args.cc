#include "samples/sample_args.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace streamarc::samples {

namespace {

// `n` decimal digits at `pos`, advancing it; -1 when they are not there.
int Digits(std::string_view s, size_t& pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool Expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Result<int64_t> ParseIso8601(std::string_view s) {
  auto bad = [&] {
    return InvalidArgument("not an ISO 8601 UTC time like 2026-11-22T06:00:00Z: \"" +
                           std::string(s.substr(0, 64)) + "\"");
  };
  size_t p = 0;
  int year = Digits(s, p, 4);
  if (year < 0 || !Expect(s, p, '-')) return bad();
  int month = Digits(s, p, 2);
  if (month < 0 || !Expect(s, p, '-')) return bad();
  int day = Digits(s, p, 2);
  if (day < 0 || !Expect(s, p, 'T')) return bad();
  int hour = Digits(s, p, 2);
  if (hour < 0 || !Expect(s, p, ':')) return bad();
  int minute = Digits(s, p, 2);
  if (minute < 0 || !Expect(s, p, ':')) return bad();
  int second = Digits(s, p, 2);
  if (second < 0) return bad();
  int64_t micros = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int64_t scale = 100'000;
    size_t digits = 0;
    for (; p < s.size() && s[p] >= '0' && s[p] <= '9'; ++p, ++digits) {
      micros += (s[p] - '0') * scale;
      scale /= 10;
    }
    if (digits == 0 || digits > 9) return bad();
  }
  int64_t offset_s = 0;
  if (p < s.size() && s[p] == 'Z') {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    int sign = s[p] == '-' ? -1 : 1;
    ++p;
    int oh = Digits(s, p, 2);
    if (p < s.size() && s[p] == ':') ++p;
    int om = Digits(s, p, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return bad();
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  if (p != s.size()) return bad();
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                     std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return bad();
  int64_t days = sys_days(ymd).time_since_epoch().count();
  int64_t seconds = days * 86'400 + hour * 3600 + minute * 60 + second - offset_s;
  if (seconds < 0 || year > 9999) {
    return InvalidArgument("time out of range (1970 to 9999): \"" + std::string(s) + "\"");
  }
  return seconds * 1'000'000 + micros;
}

Result<Args> ParseArgs(const std::vector<std::string>& argv, const std::set<std::string>& flags,
                       const std::set<std::string>& valued) {
  Args args;
  std::string start = "NOW", end;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (flags.count(a)) {
      args.options[a] = "";
      continue;
    }
    const bool common = a == "--endpoint" || a == "--stream" || a == "--start" || a == "--end";
    if (!common && !valued.count(a)) return InvalidArgument("unknown option \"" + a + "\"");
    if (i + 1 >= argv.size()) return InvalidArgument(a + " needs a value");
    const std::string& v = argv[++i];
    if (a == "--endpoint") {
      args.endpoint = v;
    } else if (a == "--stream") {
      args.stream = v;
    } else if (a == "--start") {
      start = v;
    } else if (a == "--end") {
      end = v;
    } else {
      args.options[a] = v;
    }
  }
  if (args.endpoint.empty()) return InvalidArgument("--endpoint URL is required");
  if (args.stream.empty()) return InvalidArgument("--stream NAME is required");
  if (start == "NOW") {
    args.start.type = frametap::StartType::kNow;
  } else if (start == "EARLIEST") {
    args.start.type = frametap::StartType::kEarliest;
  } else {
    auto t = ParseIso8601(start);
    if (!t.ok()) return InvalidArgument("--start: EARLIEST, NOW or " + t.status().message());
    args.start.type = frametap::StartType::kProducerTimestamp;
    args.start.timestamp_us = *t;
  }
  if (!end.empty()) {
    auto t = ParseIso8601(end);
    if (!t.ok()) return InvalidArgument("--end: " + t.status().message());
    if (args.start.type == frametap::StartType::kProducerTimestamp &&
        *t <= args.start.timestamp_us) {
      return InvalidArgument("--end must be after --start");
    }
    args.end_us = *t;
  }
  return args;
}

frametap::ConsumerOptions ConsumerOptionsFor(const Args& args) {
  frametap::ConsumerOptions o;
  o.endpoint = args.endpoint;
  o.stream_name = args.stream;
  o.start = args.start;
  o.end_producer_us = args.end_us;
  o.access_key = Env("AWS_ACCESS_KEY_ID");
  o.secret_key = Env("AWS_SECRET_ACCESS_KEY");
  o.session_token = Env("AWS_SESSION_TOKEN");
  if (!Env("AWS_REGION").empty()) o.region = Env("AWS_REGION");
  return o;
}

frametap::EventsClientOptions EventsOptionsFor(const Args& args) {
  frametap::EventsClientOptions o;
  o.endpoint = args.endpoint;
  o.stream_name = args.stream;
  o.access_key = Env("AWS_ACCESS_KEY_ID");
  o.secret_key = Env("AWS_SECRET_ACCESS_KEY");
  if (!Env("AWS_REGION").empty()) o.region = Env("AWS_REGION");
  return o;
}

Result<double> NumberOption(const Args& args, const std::string& name, double fallback, double min,
                            double max) {
  auto it = args.options.find(name);
  if (it == args.options.end()) return fallback;
  double v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !(v >= min && v <= max)) {
    return InvalidArgument(name + " must be a number from " + std::to_string(min) + " to " +
                           std::to_string(max) + ": \"" + s + "\"");
  }
  return v;
}

std::string EpochSeconds(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1'000'000),
                static_cast<long long>(us % 1'000'000));
  return buf;
}

}  // namespace streamarc::samples
