#pragma once
// Read-only access to a checkpoint's tensors, whatever file layout they came in:
// model.safetensors (mmapped), sharded safetensors (model.safetensors.index.json),
// or pytorch_model.bin (zip + pickle). Every file is validated completely when opened.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert {

enum class DType { F32, F16, BF16 };
const char* dtype_name(DType dtype);

struct TensorInfo {
  std::string name;  // canonical name (legacy LayerNorm.gamma/beta already renamed weight/bias)
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // points into a mapping or buffer owned by the store
  size_t nbytes = 0;
  std::string file;  // the file it came from, for error messages

  int64_t numel() const;
};

class WeightStore {
 public:
  // Opens the checkpoint in a model folder: model.safetensors, else model.safetensors.index.json,
  // else pytorch_model.bin. Throws nspbert::Error (ErrorKind::Model) naming file and tensor.
  static WeightStore open_dir(const std::filesystem::path& dir);
  // Opens one file (.safetensors or .bin) directly.
  static WeightStore open_file(const std::filesystem::path& file);

  WeightStore(WeightStore&&) noexcept;
  WeightStore& operator=(WeightStore&&) noexcept;
  ~WeightStore();

  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;  // sorted
  size_t size() const;

  // Converts to f32 (F16/BF16 widened). Throws naming the tensor when absent or when
  // `expected_shape` is given and differs.
  std::vector<float> read_f32(std::string_view name, const std::vector<int64_t>& expected_shape = {}) const;
  // The same, appended to `out`: loading reuses one buffer for every layer's weights instead of
  // touching fresh pages for each (a page fault per 4 KB was a third of the load time).
  void append_f32(std::string_view name, const std::vector<int64_t>& expected_shape, std::vector<float>& out) const;

  // "F32", "F16", "BF16", or e.g. "F16+F32" when mixed.
  std::string stored_dtypes() const;
  // Files backing this store, for `inspect`.
  std::vector<std::string> files() const;

 private:
  WeightStore();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nspbert
