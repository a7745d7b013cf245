#include "tests/support/ll_playlist.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace streamarc::testing {
namespace {

// The value of ATTR= in an attribute list (quotes removed), or "".
std::string Attr(const std::string& line, const std::string& attr) {
  for (size_t at = line.find(attr + "="); at != std::string::npos;
       at = line.find(attr + "=", at + 1)) {
    if (at > 0 && line[at - 1] != ':' && line[at - 1] != ',') continue;
    size_t from = at + attr.size() + 1;
    if (from < line.size() && line[from] == '"') {
      return line.substr(from + 1, line.find('"', from + 1) - from - 1);
    }
    return line.substr(from, line.find(',', from) - from);
  }
  return "";
}

bool Starts(const std::string& line, const char* tag) { return line.rfind(tag, 0) == 0; }

}  // namespace

LlPlaylist ParseLlPlaylist(const std::string& text) {
  LlPlaylist p;
  std::istringstream in(text);
  std::string line;
  LlSegment seg;
  bool seg_started = false;
  std::string last_tag;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (line[0] != '#') {
      if (last_tag != "EXTINF") p.problems.push_back("a URI without EXTINF: " + line);
      seg.uri = line;
      seg.complete = true;
      seg.msn = p.media_sequence + p.segments.size();
      p.segments.push_back(seg);
      seg = LlSegment();
      seg_started = false;
      last_tag = "URI";
      continue;
    }
    last_tag = line.substr(1, line.find(':') - 1);
    if (Starts(line, "#EXT-X-VERSION:")) {
      p.version = std::atoi(line.c_str() + 15);
    } else if (Starts(line, "#EXT-X-TARGETDURATION:")) {
      p.target_duration_s = std::atof(line.c_str() + 22);
    } else if (Starts(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      p.media_sequence = std::strtoull(line.c_str() + 22, nullptr, 10);
    } else if (Starts(line, "#EXT-X-SERVER-CONTROL:")) {
      p.can_block_reload = Attr(line, "CAN-BLOCK-RELOAD") == "YES";
      p.part_hold_back_s = std::atof(Attr(line, "PART-HOLD-BACK").c_str());
    } else if (Starts(line, "#EXT-X-PART-INF:")) {
      p.part_target_s = std::atof(Attr(line, "PART-TARGET").c_str());
    } else if (Starts(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      seg.program_date_time = line.substr(25);
      seg_started = true;
    } else if (Starts(line, "#EXT-X-PART:")) {
      LlPart part;
      part.duration_s = std::atof(Attr(line, "DURATION").c_str());
      part.uri = Attr(line, "URI");
      part.independent = Attr(line, "INDEPENDENT") == "YES";
      if (part.uri.empty()) p.problems.push_back("EXT-X-PART without URI: " + line);
      seg.parts.push_back(part);
      seg_started = true;
    } else if (Starts(line, "#EXTINF:")) {
      seg.duration_s = std::atof(line.c_str() + 8);
    } else if (Starts(line, "#EXT-X-PRELOAD-HINT:")) {
      if (Attr(line, "TYPE") != "PART") p.problems.push_back("a hint not of a part: " + line);
      p.hint_uri = Attr(line, "URI");
    }
  }
  p.hint_last = last_tag == "EXT-X-PRELOAD-HINT";
  if (seg_started) {  // the segment still arriving: parts only
    seg.msn = p.media_sequence + p.segments.size();
    p.segments.push_back(seg);
  }
  return p;
}

std::vector<std::string> CheckLlRules(const LlPlaylist& p) {
  std::vector<std::string> bad = p.problems;
  auto say = [&bad](const std::string& what) { bad.push_back(what); };
  if (p.part_target_s <= 0) say("no EXT-X-PART-INF:PART-TARGET");
  if (!p.can_block_reload) say("no CAN-BLOCK-RELOAD=YES");
  if (p.part_hold_back_s + 1e-9 < 3 * p.part_target_s) say("PART-HOLD-BACK under 3 part targets");
  if (p.version < 6) say("EXT-X-VERSION under 6");
  if (p.hint_uri.empty()) say("no EXT-X-PRELOAD-HINT");
  if (!p.hint_last) say("the preload hint is not the last tag");
  for (const LlSegment& s : p.segments) {
    const std::string at = "segment " + std::to_string(s.msn) + ": ";
    double sum = 0;
    for (size_t i = 0; i < s.parts.size(); ++i) {
      if (s.parts[i].duration_s > p.part_target_s + 1e-9) {
        say(at + "part " + std::to_string(i) + " is longer than PART-TARGET");
      }
      sum += s.parts[i].duration_s;
    }
    if (!s.parts.empty() && !s.parts[0].independent) say(at + "its first part is not INDEPENDENT");
    if (s.complete) {
      if (std::lround(s.duration_s) > std::lround(p.target_duration_s)) {
        say(at + "EXTINF exceeds the target duration");
      }
      // Each part's duration is written to the millisecond.
      if (!s.parts.empty() && std::fabs(sum - s.duration_s) > 0.001 * (s.parts.size() + 1)) {
        say(at + "parts add up to " + std::to_string(sum) + " s, EXTINF says " +
            std::to_string(s.duration_s));
      }
    } else if (&s != &p.segments.back()) {
      say(at + "a segment without EXTINF before the last one");
    }
  }
  return bad;
}

std::string Resolve(const std::string& base, const std::string& relative) {
  return base.substr(0, base.rfind('/') + 1) + relative;
}

}  // namespace streamarc::testing
