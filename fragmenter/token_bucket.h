// A token bucket on a monotonic microsecond clock (private to fragmenter/).
#pragma once

#include <algorithm>
#include <cstdint>

namespace streamarc::fragmenter {

// Holds up to `burst` tokens and refills at `rate` tokens per second. Not thread-safe.
class TokenBucket {
 public:
  // rate <= 0 disables the bucket: every Take succeeds.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Refills up to `now_us`, then takes `amount` tokens. Fails (taking nothing) when fewer
  // than min(amount, burst) tokens are there: a single request larger than the whole burst
  // passes on a full bucket and leaves a debt that the refill pays back before the next.
  bool Take(double amount, int64_t now_us) {
    if (rate_ <= 0) return true;
    if (last_us_ >= 0 && now_us > last_us_) {
      tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_us - last_us_) / 1e6);
    }
    last_us_ = std::max(last_us_, now_us);
    if (tokens_ < std::min(amount, burst_)) return false;
    tokens_ -= amount;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  int64_t last_us_ = -1;
};

}  // namespace streamarc::fragmenter
