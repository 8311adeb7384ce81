// compare-norms through the built nspbert binary: the norms fixtures reproduced (the project's copy
// of conformance.py --only norms), the SVG checked with a small XML reader written here, ablations
// labelled everywhere, bounded-memory chunking equal to one pass, every error path; and the
// effective-depth summary and the XML escaping against hand-computed values.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/analysis/depth_usage.h"
#include "engine/analysis/svg_chart.h"
#include "tests/cli_test_support.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const fs::path kData = NSPBERT_TEST_DATA;
const std::vector<std::string> kModels = {"bert-zh-tiny", "bert-en-tiny", "megatron-zh-tiny", "roformer-zh-tiny",
                                          "roformer-v2-zh-tiny"};

std::string model_dir(const std::string& name) { return (kData / "fixtures/models" / name).string(); }

using nspbert::test_support::CliResult;
using nspbert::test_support::quote;
using nspbert::test_support::slurp;
using nspbert::test_support::write_file;

std::string texts_jsonl(const json& texts) {
  std::string out;
  for (const json& t : texts) out += json{{"text", t}}.dump() + "\n";
  return out;
}

// A deliberately small XML reader: elements, attributes, text and the five predefined entities plus
// character references. Anything else (mismatched tags, stray '<' or '&', unquoted attributes) fails.
struct XmlNode {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::vector<std::unique_ptr<XmlNode>> children;
  std::string text;

  std::string attr(const std::string& key) const {
    const auto it = attributes.find(key);
    return it == attributes.end() ? "" : it->second;
  }
  void collect(const std::string& tag, const std::string& cls, std::vector<const XmlNode*>& out) const {
    if (name == tag && (cls.empty() || attr("class") == cls)) out.push_back(this);
    for (const auto& c : children) c->collect(tag, cls, out);
  }
  std::vector<const XmlNode*> all(const std::string& tag, const std::string& cls = "") const {
    std::vector<const XmlNode*> out;
    collect(tag, cls, out);
    return out;
  }
  std::string all_text() const {
    std::string t = text;
    for (const auto& c : children) t += c->all_text();
    return t;
  }
};

class XmlReader {
 public:
  explicit XmlReader(std::string s) : s_(std::move(s)) {}

  std::unique_ptr<XmlNode> document() {
    skip_space();
    if (s_.compare(i_, 5, "<?xml") == 0) {
      const size_t end = s_.find("?>", i_);
      if (end == std::string::npos) throw std::runtime_error("unterminated XML declaration");
      i_ = end + 2;
    }
    skip_space();
    auto root = element();
    skip_space();
    if (i_ != s_.size()) throw std::runtime_error("content after the root element");
    return root;
  }

 private:
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.';
  }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  void expect(char c) {
    if (i_ >= s_.size() || s_[i_] != c)
      throw std::runtime_error(std::string("expected '") + c + "' at " + std::to_string(i_));
    ++i_;
  }
  std::string name() {
    const size_t start = i_;
    while (i_ < s_.size() && name_char(s_[i_])) ++i_;
    if (i_ == start) throw std::runtime_error("expected a name at " + std::to_string(i_));
    return s_.substr(start, i_ - start);
  }
  std::string decode(const std::string& raw) {
    std::string out;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '<') throw std::runtime_error("raw '<' in text or attribute");
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      const size_t semi = raw.find(';', k);
      if (semi == std::string::npos) throw std::runtime_error("unterminated entity");
      const std::string entity = raw.substr(k + 1, semi - k - 1);
      static const std::map<std::string, std::string> known = {
          {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
      if (known.count(entity))
        out += known.at(entity);
      else if (entity.size() > 1 && entity[0] == '#')
        out += '?';
      else
        throw std::runtime_error("unknown entity &" + entity + ";");
      k = semi;
    }
    return out;
  }
  std::unique_ptr<XmlNode> element() {
    auto node = std::make_unique<XmlNode>();
    expect('<');
    node->name = name();
    for (;;) {
      skip_space();
      if (i_ >= s_.size()) throw std::runtime_error("unterminated start tag");
      if (s_[i_] == '/') {
        ++i_;
        expect('>');
        return node;
      }
      if (s_[i_] == '>') {
        ++i_;
        break;
      }
      const std::string key = name();
      skip_space();
      expect('=');
      skip_space();
      const char q = i_ < s_.size() ? s_[i_] : 0;
      if (q != '"' && q != '\'') throw std::runtime_error("unquoted attribute " + key);
      const size_t end = s_.find(q, i_ + 1);
      if (end == std::string::npos) throw std::runtime_error("unterminated attribute " + key);
      if (node->attributes.count(key)) throw std::runtime_error("duplicate attribute " + key);
      node->attributes[key] = decode(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
    }
    for (;;) {
      const size_t lt = s_.find('<', i_);
      if (lt == std::string::npos) throw std::runtime_error("unclosed <" + node->name + ">");
      node->text += decode(s_.substr(i_, lt - i_));
      i_ = lt;
      if (s_.compare(i_, 2, "</") == 0) {
        i_ += 2;
        const std::string closing = name();
        if (closing != node->name) throw std::runtime_error("</" + closing + "> closes <" + node->name + ">");
        skip_space();
        expect('>');
        return node;
      }
      node->children.push_back(element());
    }
  }

  std::string s_;
  size_t i_ = 0;
};

std::unique_ptr<XmlNode> parse_svg(const std::string& text) {
  auto root = XmlReader(text).document();
  if (root->name != "svg") throw std::runtime_error("root element is <" + root->name + ">, not <svg>");
  return root;
}

size_t point_count(const XmlNode& polyline) {
  const std::string points = polyline.attr("points");
  return points.empty() ? 0 : static_cast<size_t>(std::count(points.begin(), points.end(), ' ')) + 1;
}

class CompareNormsCli : public nspbert::test_support::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    const json fx = json::parse(slurp(kData / "fixtures/norms/bert-zh-tiny.json"));
    write_file(path("texts.jsonl"), texts_jsonl(fx["texts"]));
  }

  CliResult norms(const std::string& args) const {
    return nspbert::test_support::run_cli(dir_, "compare-norms " + args);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string texts() const { return quote(path("texts.jsonl")); }
};

bool one_error_line(const CliResult& r) {
  return r.err.rfind("nspbert: ", 0) == 0 && std::count(r.err.begin(), r.err.end(), '\n') == 1;
}

double max_abs_diff(const json& got, const json& want) {
  if (!got.is_array() || got.size() != want.size()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < want.size(); ++i) d = std::max(d, std::fabs(got[i].get<double>() - want[i].get<double>()));
  return d;
}

}  // namespace

TEST_F(CompareNormsCli, ReproducesEveryNormsFixture) {
  int fixtures = 0;
  for (const auto& entry : fs::directory_iterator(kData / "fixtures/norms")) {
    const json fx = json::parse(slurp(entry.path()));
    SCOPED_TRACE(entry.path().filename().string());
    write_file(path("fx.jsonl"), texts_jsonl(fx["texts"]));
    const std::string svg = path("fx.svg");
    const CliResult r = norms("--model " + quote((kData / "fixtures" / fx["model"].get<std::string>()).string()) +
                              " --input " + quote(path("fx.jsonl")) + " --max-length " +
                              std::to_string(fx["maxlen"].get<int>()) + " --format json --plot " + quote(svg));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json got = json::parse(r.out)["models"][0];
    for (const auto& [key, want] : fx["expect"].items())
      EXPECT_LE(max_abs_diff(got["stream_stats"][key], want), 1e-3) << key;
    EXPECT_EQ(got["texts"], fx["texts"].size());
    EXPECT_TRUE(got["ablation"].is_null());
    EXPECT_NO_THROW(parse_svg(slurp(svg)));
    ++fixtures;
  }
  EXPECT_EQ(fixtures, 5);
}

TEST_F(CompareNormsCli, OneRunComparesAllModelsInOrder) {
  std::string args;
  for (const std::string& m : kModels) args += " --model " + quote(model_dir(m));
  const CliResult r =
      norms(args + " --input " + texts() + " --max-length 64 --format json --plot " + quote(path("all.svg")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  ASSERT_EQ(out["models"].size(), kModels.size());
  EXPECT_FALSE(out["ablation"].get<bool>());
  EXPECT_EQ(out["skipped_lines"], 0);
  for (size_t i = 0; i < kModels.size(); ++i) {
    const json& m = out["models"][i];
    EXPECT_EQ(m["model"], kModels[i]);
    EXPECT_EQ(m["norm_placement"], kModels[i] == "megatron-zh-tiny" ? "pre" : "post");
    const int64_t layers = m["layers"];
    EXPECT_EQ(m["stream_stats"]["norm"].size(), layers + 1);
    for (const char* key : {"relative_update", "cosine_next", "attention_entropy"})
      EXPECT_EQ(m["stream_stats"][key].size(), layers) << key;
    // Attention entropy lies in [0, log n]; n is at most the max length.
    for (const json& e : m["stream_stats"]["attention_entropy"]) {
      EXPECT_GE(e.get<double>(), 0.0);
      EXPECT_LE(e.get<double>(), std::log(64.0) + 1e-9);
    }
    // The summary in the output agrees with a plain count over the printed cosines.
    int64_t below = 0;
    for (const json& c : m["stream_stats"]["cosine_next"]) below += c.get<double>() < 0.9;
    EXPECT_EQ(m["effective_depth"]["effective_layers"], below);
    EXPECT_EQ(m["effective_depth"]["layers"], layers);
  }
  // A model's numbers do not depend on who else is in the run (texts.jsonl holds this fixture's texts).
  const json fx = json::parse(slurp(kData / "fixtures/norms/bert-zh-tiny.json"));
  for (const auto& [key, want] : fx["expect"].items())
    EXPECT_LE(max_abs_diff(out["models"][0]["stream_stats"][key], want), 1e-3) << key;

  const auto svg = parse_svg(slurp(path("all.svg")));
  const auto panels = svg->all("g", "panel");
  ASSERT_EQ(panels.size(), 3u);
  for (const XmlNode* panel : panels) {
    const auto lines = panel->all("polyline", "series");
    ASSERT_EQ(lines.size(), kModels.size()) << panel->attr("id");
    for (size_t i = 0; i < kModels.size(); ++i) {
      const size_t layers = out["models"][i]["layers"];
      EXPECT_EQ(point_count(*lines[i]), panel->attr("id") == "panel-norm" ? layers + 1 : layers);
    }
    EXPECT_FALSE(panel->all("text", "x-label").empty());
    EXPECT_FALSE(panel->all("text", "y-label").empty());
  }
  const auto legend = svg->all("g", "legend-entry");
  ASSERT_EQ(legend.size(), kModels.size());
  for (size_t i = 0; i < kModels.size(); ++i) EXPECT_NE(legend[i]->all_text().find(kModels[i]), std::string::npos);
  EXPECT_EQ(svg->all("text", "chart-title")[0]->all_text().find("ABLATION"), std::string::npos);
}

TEST_F(CompareNormsCli, TableShowsEveryLayerAndTheSummary) {
  const CliResult r = norms("--model " + quote(model_dir("megatron-zh-tiny")) + " --input " + texts());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("megatron-zh-tiny"), std::string::npos);
  EXPECT_NE(r.out.find("pre-norm"), std::string::npos);
  EXPECT_NE(r.out.find("0 (emb)"), std::string::npos);
  EXPECT_NE(r.out.find("\n  3 "), std::string::npos);  // megatron-zh-tiny has 3 layers
  EXPECT_NE(r.out.find("effective depth"), std::string::npos);
  EXPECT_EQ(r.out.find("ABLATION"), std::string::npos);
}

TEST_F(CompareNormsCli, AblationsAreLabelledInEveryOutput) {
  const std::string both =
      "--model " + quote(model_dir("bert-zh-tiny")) + " --model " + quote(model_dir("megatron-zh-tiny"));
  const CliResult plain = norms(both + " --input " + texts() + " --format json");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const json base = json::parse(plain.out);

  // Asking every model to be pre-norm changes only the post-norm one.
  const CliResult r =
      norms(both + " --input " + texts() + " --norm-placement pre --format json --plot " + quote(path("a.svg")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_TRUE(out["ablation"].get<bool>());
  const json& bert = out["models"][0];
  const json& megatron = out["models"][1];
  ASSERT_TRUE(bert["ablation"].is_object());
  EXPECT_EQ(bert["norm_placement"], "pre");
  EXPECT_EQ(bert["checkpoint_norm_placement"], "post");
  EXPECT_NE(bert["ablation"]["description"].get<std::string>().find("ABLATION"), std::string::npos);
  EXPECT_GT(max_abs_diff(bert["stream_stats"]["norm"], base["models"][0]["stream_stats"]["norm"]), 1e-2);
  EXPECT_TRUE(megatron["ablation"].is_null());
  EXPECT_LE(max_abs_diff(megatron["stream_stats"]["norm"], base["models"][1]["stream_stats"]["norm"]), 1e-9);
  // As pre-norm, nothing renormalises the stream between layers, so it grows.
  const json& n = bert["stream_stats"]["norm"];
  EXPECT_GT(n.back().get<double>(), n.front().get<double>());

  const auto svg = parse_svg(slurp(path("a.svg")));
  EXPECT_NE(svg->all("text", "chart-title")[0]->all_text().find("ABLATION"), std::string::npos);
  EXPECT_NE(svg->all("title")[0]->all_text().find("ABLATION"), std::string::npos);
  const auto legend = svg->all("g", "legend-entry");
  ASSERT_EQ(legend.size(), 2u);
  EXPECT_NE(legend[0]->all_text().find("ablation"), std::string::npos);
  EXPECT_EQ(legend[1]->all_text().find("ablation"), std::string::npos);

  const CliResult table = norms(both + " --input " + texts() + " --residual-scale 2");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("ABLATION", 0), 0u);
  size_t labelled = 0;
  for (size_t at = 0; (at = table.out.find("  ABLATION: ", at)) != std::string::npos; ++at) ++labelled;
  EXPECT_EQ(labelled, 2u);
  EXPECT_NE(table.out.find("alpha = 2.0000"), std::string::npos);

  // DeepNorm's alpha for an N-layer encoder: (2N)^(1/4).
  const CliResult deep = norms(both + " --input " + texts() + " --residual-scale deepnorm --format json");
  ASSERT_EQ(deep.exit_code, 0) << deep.err;
  const json d = json::parse(deep.out);
  EXPECT_NEAR(d["models"][0]["ablation"]["residual_scale"].get<double>(), std::pow(4.0, 0.25), 1e-6);
  EXPECT_NEAR(d["models"][1]["ablation"]["residual_scale"].get<double>(), std::pow(6.0, 0.25), 1e-6);

  // The native placement asked for explicitly is no ablation.
  const CliResult native = norms("--model " + quote(model_dir("bert-zh-tiny")) + " --input " + texts() +
                                 " --norm-placement post --format json");
  ASSERT_EQ(native.exit_code, 0);
  EXPECT_FALSE(json::parse(native.out)["ablation"].get<bool>());
}

TEST_F(CompareNormsCli, ChunkedRunEqualsOnePass) {
  const std::string args = "--model " + quote(model_dir("roformer-zh-tiny")) + " --input " + texts() + " --format json";
  const CliResult one = norms(args + " --chunk 1000");
  const CliResult small = norms(args + " --chunk 1");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(small.exit_code, 0) << small.err;
  const json a = json::parse(one.out)["models"][0], b = json::parse(small.out)["models"][0];
  EXPECT_EQ(a["tokens"], b["tokens"]);
  for (const char* key : {"norm", "relative_update", "cosine_next", "attention_entropy"})
    EXPECT_LE(max_abs_diff(a["stream_stats"][key], b["stream_stats"][key]), 1e-6) << key;
}

TEST_F(CompareNormsCli, InvalidLinesAreSkippedReportedAndCounted) {
  const json fx = json::parse(slurp(kData / "fixtures/norms/bert-zh-tiny.json"));
  std::string mixed = "not json\n";
  mixed += json{{"text", fx["texts"][0]}}.dump() + "\n\n";
  mixed += "[1, 2]\n{\"txt\": \"x\"}\n{\"text\": 5}\n";
  for (size_t i = 1; i < fx["texts"].size(); ++i) mixed += json{{"text", fx["texts"][i]}}.dump() + "\n";
  write_file(path("mixed.jsonl"), mixed);

  const std::string model = "--model " + quote(model_dir("bert-zh-tiny"));
  const CliResult r = norms(model + " --input " + quote(path("mixed.jsonl")) + " --max-length 64 --format json");
  EXPECT_EQ(r.exit_code, 1);
  for (const char* line : {"line 1 ", "line 4 ", "line 5 ", "line 6 "})
    EXPECT_NE(r.err.find(line), std::string::npos) << line;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 4);
  const json out = json::parse(r.out);
  EXPECT_EQ(out["skipped_lines"], 4);
  ASSERT_EQ(out["errors"].size(), 4u);
  EXPECT_EQ(out["errors"][0]["line"], 1);
  EXPECT_EQ(out["models"][0]["texts"], fx["texts"].size());
  // The statistics are those of the valid lines alone.
  for (const auto& [key, want] : fx["expect"].items())
    EXPECT_LE(max_abs_diff(out["models"][0]["stream_stats"][key], want), 1e-3) << key;
}

TEST_F(CompareNormsCli, BadInputsFailWithOneLine) {
  const std::string model = "--model " + quote(model_dir("bert-zh-tiny"));
  struct Case {
    std::string args;
    int exit_code;
  };
  write_file(path("empty.jsonl"), "\n  \n");
  write_file(path("all_bad.jsonl"), "{\"text\": 1}\n");
  const std::vector<Case> cases = {
      {model, 2},                 // no --input
      {"--input " + texts(), 2},  // no --model
      {model + " --input " + quote(path("missing.jsonl")), 3},
      {model + " --input " + quote(path("empty.jsonl")), 3},
      {"--model " + quote(path("no-model")) + " --input " + texts(), 3},
      {model + " --input " + texts() + " --residual-scale abc", 2},
      {model + " --input " + texts() + " --residual-scale 0", 2},
      {model + " --input " + texts() + " --residual-scale -1", 2},
      {model + " --input " + texts() + " --residual-scale nan", 2},
      {model + " --input " + texts() + " --residual-scale 1.5x", 2},
      {model + " --input " + texts() + " --norm-placement sandwich", 2},
      {model + " --input " + texts() + " --format xml", 2},
      {model + " --input " + texts() + " --max-length 1", 2},
      {model + " --input " + texts() + " --max-length 100000", 2},  // past the 512-row position table
      {model + " --input " + texts() + " --plot " + quote(path("no/such/dir/p.svg")), 3},
  };
  for (const Case& c : cases) {
    const CliResult r = norms(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.err;
    EXPECT_TRUE(one_error_line(r)) << c.args << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
  }
  // Every line invalid: each reported, then one error that there was nothing to measure.
  const CliResult r = norms(model + " --input " + quote(path("all_bad.jsonl")));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("line 1 "), std::string::npos);
  EXPECT_NE(r.err.find("no usable text"), std::string::npos);
}

TEST(EffectiveDepth, CountsLayersBelowTheThreshold) {
  // cos = 0.5 (60 degrees), 0.95, -1 (180 degrees), exactly the threshold, 1 (0 degrees).
  const std::vector<double> cosine = {0.5, 0.95, -1.0, 0.9, 1.0};
  const nspbert::EffectiveDepth d = nspbert::effective_depth(cosine, 0.9);
  EXPECT_EQ(d.layers, 5);
  EXPECT_EQ(d.effective_layers, 2);
  EXPECT_EQ(d.near_identity, (std::vector<int64_t>{2, 4, 5}));
  const double degrees = 60.0 + std::acos(0.95) * 180 / M_PI + 180.0 + std::acos(0.9) * 180 / M_PI + 0.0;
  EXPECT_NEAR(d.turning_degrees, degrees, 1e-9);
  const std::string summary = nspbert::effective_depth_summary(d);
  EXPECT_NE(summary.find("2 of 5 layers"), std::string::npos) << summary;
  EXPECT_NE(summary.find("near-identity layers: 2,4,5"), std::string::npos) << summary;

  const nspbert::EffectiveDepth all = nspbert::effective_depth({0.1, 0.2}, 0.9);
  EXPECT_EQ(all.effective_layers, 2);
  EXPECT_TRUE(all.near_identity.empty());
  EXPECT_NE(nspbert::effective_depth_summary(all).find("near-identity layers: none"), std::string::npos);
  EXPECT_EQ(nspbert::effective_depth({}, 0.9).layers, 0);
}

TEST(SvgChart, EscapesHostileLabelsIntoWellFormedXml) {
  EXPECT_EQ(nspbert::xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(nspbert::xml_escape("\xff"), "\xef\xbf\xbd");                  // invalid byte -> U+FFFD
  EXPECT_EQ(nspbert::xml_escape("\x01"), "\xef\xbf\xbd");                  // control character XML forbids
  EXPECT_EQ(nspbert::xml_escape("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
  EXPECT_EQ(nspbert::xml_escape("层 \t"), "层 \t");

  nspbert::Chart chart;
  chart.title = "</svg> & \xff";
  chart.legend = {{"a<b", false}, {"\"quoted\" & 模型", true}};
  nspbert::ChartPanel panel{"p", "t<", "x&", "y>", {}, true, true};
  panel.series.push_back({{0, 1, 2}, {1.0, NAN, 3.0}});
  panel.series.push_back({{0, 1}, {2.0, 2.0}});
  chart.panels = {panel, panel, panel};
  const auto svg = parse_svg(nspbert::render_svg(chart));
  EXPECT_EQ(svg->all("g", "panel").size(), 3u);
  const auto lines = svg->all("polyline", "series");
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(point_count(*lines[0]), 2u);  // the NaN point is left out
  EXPECT_NE(lines[1]->attr("stroke-dasharray"), "");
  EXPECT_NE(svg->all("text", "chart-title")[0]->all_text().find("</svg> &"), std::string::npos);

  // Positive values over more than a factor 20 get a log axis when the panel allows one; a zero among
  // them (which a log axis cannot show) keeps the axis linear.
  nspbert::Chart wide;
  wide.legend = {{"w", false}};
  nspbert::ChartPanel log_panel{"w", "wide", "x", "y", {}, false, true, true};
  log_panel.series.push_back({{1, 2, 3}, {0.05, 12.0, 0.3}});
  wide.panels = {log_panel};
  const auto title_of = [](const nspbert::Chart& c) {
    return parse_svg(nspbert::render_svg(c))->all("text", "panel-title")[0]->all_text();
  };
  EXPECT_NE(title_of(wide).find("log scale"), std::string::npos);
  EXPECT_EQ(point_count(*parse_svg(nspbert::render_svg(wide))->all("polyline", "series")[0]), 3u);
  wide.panels[0].y_log_when_wide = false;
  EXPECT_EQ(title_of(wide).find("log"), std::string::npos);
  wide.panels[0].y_log_when_wide = true;
  wide.panels[0].series[0] = {{1, 2, 3, 4}, {0.05, 12.0, 0.0, 0.3}};
  EXPECT_EQ(title_of(wide).find("log"), std::string::npos);
  wide.panels[0].series[0] = {{1, 2}, {0.5, 0.6}};  // narrow range: linear
  EXPECT_EQ(title_of(wide).find("log"), std::string::npos);

  nspbert::Chart empty;  // no data at all still draws valid axes
  empty.panels = {nspbert::ChartPanel{"e", "", "", "", {{}}, false, true}};
  EXPECT_NO_THROW(parse_svg(nspbert::render_svg(empty)));
}
