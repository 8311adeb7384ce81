// nspbert._nspbert.compare_norms: `nspbert compare-norms --format json` over a list of texts
// (models/depth_report.h, the code tools/cli/compare_norms.cc runs).
#include <optional>
#include <string>
#include <vector>

#include "engine/analysis/svg_chart.h"
#include "engine/error.h"
#include "models/depth_report.h"
#include "tools/python/src/common.h"

namespace nspbert::python {
namespace {

py::object compare_norms(const std::vector<std::string>& models, const std::vector<std::string>& texts,
                         size_t max_length, const std::string& norm_placement, const std::string& residual_scale,
                         double depth_threshold, int threads, size_t chunk, const std::string& plot) {
  if (models.empty()) fail_usage("compare_norms needs at least one model");
  if (texts.empty()) fail_input("compare_norms needs at least one text");
  if (!norm_placement.empty() && norm_placement != "pre" && norm_placement != "post")
    fail_usage("norm_placement must be 'pre' or 'post', not '" + norm_placement + "'");
  if (chunk == 0) fail_usage("chunk must be at least 1");
  residual_scale_for(residual_scale, 1);  // rejects a bad value before any model loads
  DepthReport report;
  report.input = "<" + std::to_string(texts.size()) + " texts>";
  report.depth_threshold = depth_threshold;
  report.texts = static_cast<int64_t>(texts.size());
  for (const std::string& dir : models) {
    check_signals();
    py::gil_scoped_release release;
    LoadOptions options;
    options.threads = threads;
    const Model model = load_model(dir, options);
    const size_t length = depth_max_length(max_length, model.spec, dir);
    Ablation ablation;
    ablation.swap_norm_placement =
        !norm_placement.empty() && norm_placement != norm_placement_name(model.spec.norm_placement);
    ablation.residual_scale = residual_scale_for(residual_scale, model.spec.layers);
    size_t next = 0;
    const auto next_chunk = [&](std::vector<std::string>& out) {
      if (next >= texts.size()) return false;
      check_signals();
      const size_t end = std::min(texts.size(), next + chunk);
      out.assign(texts.begin() + next, texts.begin() + end);
      next = end;
      return true;
    };
    report.profiles.push_back(
        measure_depth(model, depth_model_label(dir, report.profiles), dir, ablation, {}, length, next_chunk));
    report.max_lengths.push_back(length);
  }
  if (!plot.empty()) {
    report.plot = plot;
    write_text_file(plot, render_svg(depth_chart(report.profiles)));
  }
  return to_python(report.to_json());
}

}  // namespace

void bind_compare_norms(py::module_& m) {
  m.def("_compare_norms", &compare_norms, py::arg("models"), py::arg("texts"), py::arg("max_length"),
        py::arg("norm_placement"), py::arg("residual_scale"), py::arg("depth_threshold"), py::arg("threads"),
        py::arg("chunk"), py::arg("plot"));
}

}  // namespace nspbert::python
