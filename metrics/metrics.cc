#include "metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <variant>

namespace streamarc::metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::Observe(double value) {
  // Prometheus's buckets are upper-inclusive: the first bound >= value.
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                       bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  // Read from the buckets, so that +Inf and _count agree within one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> b;
  for (int i = 0; i < count; ++i, start *= factor) b.push_back(start);
  return b;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

struct Registry::Entry {
  std::string name;
  std::string help;
  Type type = Type::kCounter;
  std::vector<std::string> labels;
  // Exactly one of these is set.
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::unique_ptr<Family<Counter>> counters;
  std::unique_ptr<Family<Gauge>> gauges;
  std::unique_ptr<Family<Histogram>> histograms;
  std::function<void(Emitter&)> collect;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::Add(std::string name, std::string help, Type type,
                               std::vector<std::string> labels) {
  auto e = std::make_unique<Entry>();
  e->name = std::move(name);
  e->help = std::move(help);
  e->type = type;
  e->labels = std::move(labels);
  MutexLock lock(mu_);
  entries_.push_back(std::move(e));
  return *entries_.back();
}

Counter& Registry::AddCounter(std::string name, std::string help) {
  Entry& e = Add(std::move(name), std::move(help), Type::kCounter, {});
  e.counter = std::make_unique<Counter>();
  return *e.counter;
}

Gauge& Registry::AddGauge(std::string name, std::string help) {
  Entry& e = Add(std::move(name), std::move(help), Type::kGauge, {});
  e.gauge = std::make_unique<Gauge>();
  return *e.gauge;
}

Family<Counter>& Registry::AddCounterFamily(std::string name, std::string help,
                                            std::vector<std::string> labels) {
  Entry& e = Add(std::move(name), std::move(help), Type::kCounter, std::move(labels));
  e.counters.reset(new Family<Counter>([] { return std::make_shared<Counter>(); }));
  return *e.counters;
}

Family<Gauge>& Registry::AddGaugeFamily(std::string name, std::string help,
                                        std::vector<std::string> labels) {
  Entry& e = Add(std::move(name), std::move(help), Type::kGauge, std::move(labels));
  e.gauges.reset(new Family<Gauge>([] { return std::make_shared<Gauge>(); }));
  return *e.gauges;
}

Histogram& Registry::AddHistogram(std::string name, std::string help, std::vector<double> bounds) {
  Entry& e = Add(std::move(name), std::move(help), Type::kHistogram, {});
  e.histogram = std::make_unique<Histogram>(std::move(bounds));
  return *e.histogram;
}

Family<Histogram>& Registry::AddHistogramFamily(std::string name, std::string help,
                                                std::vector<std::string> labels,
                                                std::vector<double> bounds) {
  Entry& e = Add(std::move(name), std::move(help), Type::kHistogram, std::move(labels));
  e.histograms.reset(new Family<Histogram>(
      [bounds = std::move(bounds)] { return std::make_shared<Histogram>(bounds); }));
  return *e.histograms;
}

void Registry::AddCollector(std::string name, std::string help, Type type,
                            std::vector<std::string> labels,
                            std::function<void(Emitter&)> collect) {
  Entry& e = Add(std::move(name), std::move(help), type, std::move(labels));
  e.collect = std::move(collect);
}

void Registry::RemoveSeries(const std::string& label, const std::string& value) {
  MutexLock lock(mu_);
  for (auto& e : entries_) {
    auto it = std::find(e->labels.begin(), e->labels.end(), label);
    if (it == e->labels.end()) continue;
    const size_t i = static_cast<size_t>(it - e->labels.begin());
    if (e->counters) e->counters->RemoveWhere(i, value);
    if (e->gauges) e->gauges->RemoveWhere(i, value);
    if (e->histograms) e->histograms->RemoveWhere(i, value);
  }
}

namespace {

std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with `extra` last, e.g. le="0.5"), or "" for no labels.
std::string LabelSet(const std::vector<std::string>& names, const LabelValues& values,
                     std::string_view extra = {}) {
  if (names.empty() && extra.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!extra.empty()) {
    if (!names.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

void Sample(std::string& out, std::string_view name, const std::string& labels, double v) {
  out += name;
  out += labels;
  out += ' ';
  out += FormatValue(v);
  out += '\n';
}

void RenderHistogram(std::string& out, const std::string& name,
                     const std::vector<std::string>& labels, const LabelValues& values,
                     const Histogram& h) {
  const Histogram::Snapshot s = h.snapshot();
  for (size_t i = 0; i <= s.bounds.size(); ++i) {
    const std::string le =
        "le=\"" + (i < s.bounds.size() ? FormatValue(s.bounds[i]) : std::string("+Inf")) + "\"";
    Sample(out, name + "_bucket", LabelSet(labels, values, le),
           static_cast<double>(s.cumulative[i]));
  }
  Sample(out, name + "_sum", LabelSet(labels, values), s.sum);
  Sample(out, name + "_count", LabelSet(labels, values), static_cast<double>(s.count));
}

class CollectEmitter final : public Emitter {
 public:
  void Value(const LabelValues& values, double value) override { values_[values] = value; }
  std::map<LabelValues, double> values_;
};

}  // namespace

std::string Registry::Render() const {
  std::string out;
  MutexLock lock(mu_);
  for (const auto& e : entries_) {
    out += "# HELP " + e->name + " " + EscapeHelp(e->help) + "\n";
    out += "# TYPE " + e->name + " " + std::string(TypeName(e->type)) + "\n";
    if (e->counter) Sample(out, e->name, {}, static_cast<double>(e->counter->value()));
    if (e->gauge) Sample(out, e->name, {}, static_cast<double>(e->gauge->value()));
    if (e->histogram) RenderHistogram(out, e->name, {}, {}, *e->histogram);
    if (e->counters) {
      for (const auto& [values, c] : e->counters->Series()) {
        Sample(out, e->name, LabelSet(e->labels, values), static_cast<double>(c->value()));
      }
    }
    if (e->gauges) {
      for (const auto& [values, g] : e->gauges->Series()) {
        Sample(out, e->name, LabelSet(e->labels, values), static_cast<double>(g->value()));
      }
    }
    if (e->histograms) {
      for (const auto& [values, h] : e->histograms->Series()) {
        RenderHistogram(out, e->name, e->labels, values, *h);
      }
    }
    if (e->collect) {
      CollectEmitter emitted;
      e->collect(emitted);
      for (const auto& [values, v] : emitted.values_) {
        Sample(out, e->name, LabelSet(e->labels, values), v);
      }
    }
  }
  return out;
}

}  // namespace streamarc::metrics
