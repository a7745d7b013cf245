// A small Prometheus metrics library: counters, gauges and histograms, in families with
// labels, and a registry that renders them in the Prometheus text exposition format (0.0.4).
//
// Hot paths stay cheap: a metric is a few atomics (relaxed adds, no lock), and a labelled
// series is looked up once (under its family's lock) and then held by shared_ptr, as a
// PutMedia session holds its stream's counters for its lifetime. Values that already live
// elsewhere (archive statistics, disk space, open connections) are read at scrape time by a
// collector callback instead of being mirrored.
//
// Thread safety: everything here is thread-safe. Render may run while metrics are updated;
// each value is read once, so a scrape is a consistent-enough snapshot (not atomic across
// series), as in every Prometheus client.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"

namespace streamarc::metrics {

class Counter {
 public:
  void Add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Cumulative buckets with upper bounds (ascending; +Inf is implied), a sum and a count.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// Bounds of `count` buckets from `start`, each `factor` times the last (Prometheus's
// ExponentialBuckets).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

enum class Type { kCounter, kGauge, kHistogram };

// Label values, in the order of the family's label names.
using LabelValues = std::vector<std::string>;

// A family of series of one metric, one per distinct set of label values.
template <typename T>
class Family {
 public:
  // The series for `values` (created on first use). Hold the pointer: the lookup takes the
  // family's lock, updates through it do not. A removed series keeps counting in whatever
  // holds it but is no longer rendered.
  std::shared_ptr<T> Get(const LabelValues& values) {
    MutexLock lock(mu_);
    auto& slot = series_[values];
    if (!slot) slot = make_();
    return slot;
  }
  // Forgets every series whose label `label_index` has `value`.
  void RemoveWhere(size_t label_index, const std::string& value) {
    MutexLock lock(mu_);
    std::erase_if(series_, [&](const auto& kv) { return kv.first.at(label_index) == value; });
  }
  // The series in label order, for rendering.
  std::vector<std::pair<LabelValues, std::shared_ptr<T>>> Series() const {
    MutexLock lock(mu_);
    return {series_.begin(), series_.end()};
  }

 private:
  friend class Registry;
  explicit Family(std::function<std::shared_ptr<T>()> make) : make_(std::move(make)) {}

  const std::function<std::shared_ptr<T>()> make_;
  mutable Mutex mu_;
  std::map<LabelValues, std::shared_ptr<T>> series_ GUARDED_BY(mu_);
};

// What a collector callback emits at scrape time: one value per set of label values.
class Emitter {
 public:
  virtual ~Emitter() = default;
  virtual void Value(const LabelValues& values, double value) = 0;
};

// Owns the metrics and renders them. Register everything before the first scrape (or at any
// time: registration is locked too); names must be unique and follow Prometheus's rules
// ([a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total).
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& AddCounter(std::string name, std::string help);
  Gauge& AddGauge(std::string name, std::string help);
  Family<Counter>& AddCounterFamily(std::string name, std::string help,
                                    std::vector<std::string> labels);
  Family<Gauge>& AddGaugeFamily(std::string name, std::string help,
                                std::vector<std::string> labels);
  Histogram& AddHistogram(std::string name, std::string help, std::vector<double> bounds);
  Family<Histogram>& AddHistogramFamily(std::string name, std::string help,
                                        std::vector<std::string> labels,
                                        std::vector<double> bounds);
  // A counter or gauge whose values `collect` emits at every scrape (on the scraping thread,
  // which may block briefly: scrapes run on the worker pool).
  void AddCollector(std::string name, std::string help, Type type, std::vector<std::string> labels,
                    std::function<void(Emitter&)> collect);

  // Forgets, in every family with a label `label`, the series where it is `value` (a deleted
  // stream's series).
  void RemoveSeries(const std::string& label, const std::string& value);

  // The text exposition format, families in registration order, series in label order.
  std::string Render() const;

 private:
  struct Entry;
  Entry& Add(std::string name, std::string help, Type type, std::vector<std::string> labels);

  mutable Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ GUARDED_BY(mu_);
};

// Escaping of the text format: label values escape \, " and newline; HELP escapes \ and
// newline.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// A sample value as Prometheus writes it: integers without a fraction, +Inf, -Inf, NaN.
std::string FormatValue(double v);

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace streamarc::metrics
