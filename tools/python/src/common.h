#pragma once
// Shared by the binding's translation units: the loaded model as Python holds it, conversions
// between nlohmann JSON and Python objects, zero-copy NumPy arrays, and signal checks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/attention_options.h"
#include "models/model.h"

namespace nspbert::python {

namespace py = pybind11;

// A model folder loaded once, plus the per-model settings every method uses. Methods are const
// and take no lock: the encoder keeps its working buffers per thread (engine/encoder.cc), so two
// threads may run one model at the same time.
struct PyModel {
  Model model;
  int threads = 0;  // 0: every core
  AttentionOptions attention;
  // The cascade's f32 copy (rescore_top=): loaded by the first call that asks, then kept.
  mutable std::mutex f32_mutex;
  mutable std::shared_ptr<const Model> f32_copy;

  // omp_set_num_threads sets the *calling* thread's team size, so every call re-applies it: a
  // Python thread other than the one that loaded the model would otherwise use every core.
  void enter() const { set_thread_count(threads); }
};

// JSON <-> Python through the json module: exactly the values a reader of the CLI's output gets.
py::object to_python(const nlohmann::ordered_json& value);
py::object to_python(const nlohmann::json& value);
nlohmann::json from_python(py::handle value, const std::string& what);

// Raises KeyboardInterrupt (or whatever a signal handler raised) if a signal arrived; takes the GIL.
void check_signals();

// A float32/float64 array that owns `values` (moved, never copied) for as long as Python holds it.
template <typename T>
py::array_t<T> owning_array(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), owned->data(), owner);
}

void bind_model(py::module_& m);
void bind_compare_norms(py::module_& m);

}  // namespace nspbert::python
