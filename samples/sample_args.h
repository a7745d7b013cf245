// What the frame-tap samples share: their command line (--endpoint, --stream, --start,
// --end and each sample's own options) and the consumer and events options it makes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "frametap/frametap.h"

namespace streamarc::samples {

// "2026-11-22T06:00:00Z", with optional fractions of a second ("06:00:00.25Z", up to 9
// digits, kept to the microsecond) and a numeric offset ("+02:00", "-0530") instead of Z.
// Epoch microseconds; kInvalidArgument for anything else, for an impossible date or time
// (2026-02-30, 24:00:00) and before 1970 or after 9999.
Result<int64_t> ParseIso8601(std::string_view text);

struct Args {
  std::string endpoint;
  std::string stream;
  frametap::StartSelector start;  // --start EARLIEST | NOW | ISO-8601 (producer time); NOW
  std::optional<int64_t> end_us;  // --end ISO-8601 (producer time)
  // The sample's own options: "--name value" for a valued one, "" for a flag.
  std::map<std::string, std::string> options;
};

// argv[1..]. `flags` and `valued` name the sample's own options ("--post-events"). Refuses
// (kInvalidArgument, saying why) unknown options, a valued option without its value, a
// missing --endpoint or --stream, a bad --start/--end, and an --end not after a timestamp
// --start.
Result<Args> ParseArgs(const std::vector<std::string>& argv, const std::set<std::string>& flags,
                       const std::set<std::string>& valued);

// The consumer and PutEvents options for `args`, with keys from AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN when set (the AWS CLI's variables).
frametap::ConsumerOptions ConsumerOptionsFor(const Args& args);
frametap::EventsClientOptions EventsOptionsFor(const Args& args);

// A number option, or `fallback` when absent; kInvalidArgument when not a number in
// [min, max].
Result<double> NumberOption(const Args& args, const std::string& name, double fallback, double min,
                            double max);

// Epoch microseconds as JSON seconds with six decimals ("1700000003.040000"), exactly.
std::string EpochSeconds(int64_t us);

}  // namespace streamarc::samples
