#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace streamarc::metrics {
namespace {

TEST(MetricsTest, RendersCountersAndGaugesExactly) {
  Registry r;
  Counter& c = r.AddCounter("app_requests_total", "Requests answered.");
  Gauge& g = r.AddGauge("app_open_connections", "Open connections.");
  c.Add(3);
  c.Add();
  g.Set(7);
  g.Add(-2);
  EXPECT_EQ(r.Render(),
            "# HELP app_requests_total Requests answered.\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total 4\n"
            "# HELP app_open_connections Open connections.\n"
            "# TYPE app_open_connections gauge\n"
            "app_open_connections 5\n");
}

TEST(MetricsTest, FamiliesRenderInLabelOrderAndEscape) {
  Registry r;
  auto& f = r.AddCounterFamily("app_bytes_total", "Bytes by stream.\nSecond \\ line.",
                               {"stream", "kind"});
  f.Get({"b", "in"})->Add(2);
  f.Get({"a\"q\\\n", "out"})->Add(1);
  f.Get({"b", "in"})->Add(5);  // the same series
  EXPECT_EQ(r.Render(),
            "# HELP app_bytes_total Bytes by stream.\\nSecond \\\\ line.\n"
            "# TYPE app_bytes_total counter\n"
            "app_bytes_total{stream=\"a\\\"q\\\\\\n\",kind=\"out\"} 1\n"
            "app_bytes_total{stream=\"b\",kind=\"in\"} 7\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeAndUpperInclusive) {
  Registry r;
  Histogram& h = r.AddHistogram("app_latency_seconds", "Latency.", {0.125, 0.5, 1});
  // Binary fractions, so that the sum is exact.
  h.Observe(0.0625);
  h.Observe(0.125);  // on the bound: in le="0.125"
  h.Observe(0.25);
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP app_latency_seconds Latency.\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{le=\"0.125\"} 2\n"
            "app_latency_seconds_bucket{le=\"0.5\"} 3\n"
            "app_latency_seconds_bucket{le=\"1\"} 3\n"
            "app_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "app_latency_seconds_sum 7.4375\n"
            "app_latency_seconds_count 4\n");
}

TEST(MetricsTest, HistogramFamilyPutsLeLast) {
  Registry r;
  auto& f = r.AddHistogramFamily("app_size_bytes", "Sizes.", {"stream"}, {10});
  f.Get({"s"})->Observe(20);
  EXPECT_EQ(r.Render(),
            "# HELP app_size_bytes Sizes.\n"
            "# TYPE app_size_bytes histogram\n"
            "app_size_bytes_bucket{stream=\"s\",le=\"10\"} 0\n"
            "app_size_bytes_bucket{stream=\"s\",le=\"+Inf\"} 1\n"
            "app_size_bytes_sum{stream=\"s\"} 20\n"
            "app_size_bytes_count{stream=\"s\"} 1\n");
}

TEST(MetricsTest, CollectorsAreReadAtScrapeTime) {
  Registry r;
  int calls = 0;
  r.AddCollector("app_disk_free_bytes", "Free bytes.", Type::kGauge, {"path"},
                 [&calls](Emitter& e) {
                   ++calls;
                   e.Value({"/b"}, 2);
                   e.Value({"/a"}, 1.5);
                 });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(r.Render(),
            "# HELP app_disk_free_bytes Free bytes.\n"
            "# TYPE app_disk_free_bytes gauge\n"
            "app_disk_free_bytes{path=\"/a\"} 1.5\n"
            "app_disk_free_bytes{path=\"/b\"} 2\n");
  EXPECT_EQ(calls, 1);
}

TEST(MetricsTest, RemoveSeriesForgetsAStreamInEveryFamily) {
  Registry r;
  auto& bytes = r.AddCounterFamily("app_bytes_total", "B.", {"stream"});
  auto& codes = r.AddCounterFamily("app_errors_total", "E.", {"code"});
  auto& lat = r.AddHistogramFamily("app_lat_seconds", "L.", {"stream"}, {1});
  auto held = bytes.Get({"gone"});
  bytes.Get({"kept"})->Add(1);
  lat.Get({"gone"})->Observe(0.5);
  codes.Get({"gone"})->Add(1);  // another label of the same value stays
  r.RemoveSeries("stream", "gone");
  held->Add(10);  // whoever holds it may go on counting; it is just not rendered
  const std::string text = r.Render();
  EXPECT_EQ(text.find("stream=\"gone\""), std::string::npos) << text;
  EXPECT_NE(text.find("app_bytes_total{stream=\"kept\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("app_errors_total{code=\"gone\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e20), "1e+20");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 2, 4), (std::vector<double>{0.001, 0.002, 0.004, 0.008}));
}

// Updates from many threads are all counted (relaxed atomics, no lock on the update path).
TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  auto& f = r.AddCounterFamily("app_n_total", "N.", {"stream"});
  Histogram& h = r.AddHistogram("app_h_seconds", "H.", {0.5});
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&f, &h] {
      auto c = f.Get({"s"});
      for (int i = 0; i < 10000; ++i) {
        c->Add();
        h.Observe(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.Get({"s"})->value(), 40000u);
  EXPECT_EQ(h.snapshot().count, 40000u);
  EXPECT_EQ(h.snapshot().sum, 40000.0);
}

}  // namespace
}  // namespace streamarc::metrics
