#include "engine/weights/weight_store.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/error.h"
#include "engine/weights/checkpoint_file.h"
#include "engine/weights/dtype_convert.h"
#include "engine/weights/safetensors_reader.h"
#include "engine/weights/torch_bin_reader.h"

namespace nspbert {

namespace fs = std::filesystem;
using weights::CheckpointFile;
using weights::ElementType;
using weights::RawTensor;

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
  }
  return "?";
}

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t extent : shape) count *= extent;
  return count;
}

namespace {

// The files open_dir looks for, in order of preference.
constexpr const char* kCheckpointNames[] = {"model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                                            "pytorch_model.bin.index.json"};

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

std::string without_json_prefix(const std::string& what) {
  const size_t close = what.find("] ");  // after nlohmann's "[json.exception.parse_error.101]"
  return close == std::string::npos ? what : what.substr(close + 2);
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// TF-era checkpoints call norm parameters gamma/beta; everything downstream sees weight/bias.
std::string canonical_name(const std::string& name) {
  if (ends_with(name, ".gamma")) return name.substr(0, name.size() - 6) + ".weight";
  if (ends_with(name, ".beta")) return name.substr(0, name.size() - 5) + ".bias";
  return name;
}

bool is_torch_file(const fs::path& path) {
  const std::string extension = path.extension().string();
  if (extension == ".bin" || extension == ".pt" || extension == ".pth") return true;
  if (extension == ".safetensors") return false;
  // Unknown extension: sniff for a zip or a legacy pickle.
  std::ifstream in(path, std::ios::binary);
  char head[2] = {};
  in.read(head, 2);
  return (head[0] == 'P' && head[1] == 'K') || static_cast<unsigned char>(head[0]) == 0x80;
}

CheckpointFile read_checkpoint_file(const fs::path& path) {
  return is_torch_file(path) ? weights::read_torch_bin(path) : weights::read_safetensors(path);
}

// A shard named by an index must stay inside the model folder.
bool stays_inside(const fs::path& relative) {
  if (relative.empty() || relative.is_absolute() || relative.has_root_name() || relative.has_root_directory())
    return false;
  for (const fs::path& part : relative)
    if (part == "..") return false;
  return true;
}

// Messages quote names read from files; this keeps each on one line however odd the name.
template <typename Body>
auto with_one_line_errors(Body&& body) {
  try {
    return body();
  } catch (const Error& e) {
    throw Error(e.kind(), weights::one_line(e.what()));
  }
}

}  // namespace

struct WeightStore::Impl {
  std::string source;  // the file or index opened, for "not found" messages
  std::vector<std::string> files;
  std::vector<CheckpointFile> checkpoints;         // keep mappings and copies alive
  std::vector<std::unique_ptr<float[]>> narrowed;  // F64 tensors converted at load
  std::map<std::string, TensorInfo, std::less<>> tensors;
  struct SetAside {
    std::string dtype;
    std::string file;
  };
  std::map<std::string, SetAside, std::less<>> set_aside;  // non-float buffers such as position_ids

  void add_file(CheckpointFile file);
  // model.safetensors.index.json (or pytorch_model.bin.index.json): every shard it names.
  void add_index(const fs::path& file);
  const TensorInfo& require(std::string_view name) const;
};

void WeightStore::Impl::add_file(CheckpointFile file) {
  files.push_back(file.path);
  for (RawTensor& raw : file.tensors) {
    const std::string name = canonical_name(raw.name);
    const std::string stored_as = name == raw.name ? "" : " (stored as '" + raw.name + "')";
    auto clash = [&](const std::string& other_file) {
      fail_model(file.path + ": tensor '" + name + "'" + stored_as + " is also in " +
                 (other_file == file.path ? "this file under another name" : other_file));
    };
    if (const auto it = tensors.find(name); it != tensors.end()) clash(it->second.file);
    if (const auto it = set_aside.find(name); it != set_aside.end()) clash(it->second.file);

    if (!weights::is_float(raw.type)) {
      set_aside.emplace(name, SetAside{weights::element_type_name(raw.type), file.path});
      continue;
    }
    TensorInfo info;
    info.name = name;
    info.shape = raw.shape;
    info.file = file.path;
    info.data = raw.data;
    info.nbytes = raw.nbytes;
    switch (raw.type) {
      case ElementType::F32: info.dtype = DType::F32; break;
      case ElementType::F16: info.dtype = DType::F16; break;
      case ElementType::BF16: info.dtype = DType::BF16; break;
      default: {  // F64: no kernel wants doubles, narrow once here
        const size_t count = raw.nbytes / 8;
        auto values = std::make_unique<float[]>(count);
        weights::narrow_f64(raw.data, count, values.get());
        info.dtype = DType::F32;
        info.data = reinterpret_cast<const std::byte*>(values.get());
        info.nbytes = count * sizeof(float);
        narrowed.push_back(std::move(values));
      }
    }
    tensors.emplace(name, std::move(info));
  }
  checkpoints.push_back(std::move(file));
}

void WeightStore::Impl::add_index(const fs::path& file) {
  const std::string index = file.string();
  nlohmann::json json;
  if (std::error_code ec; fs::is_directory(file, ec)) fail_model(index + ": is a directory, not a shard index");
  try {
    std::ifstream in(file, std::ios::binary);
    if (!in) fail_model(index + ": cannot open");
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail_model(index + ": not valid JSON: " + without_json_prefix(e.what()));
  }
  if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object())
    fail_model(index + ": no \"weight_map\" object");

  // Shard -> tensors the index places there, so each shard is opened once.
  std::map<std::string, std::vector<std::string>> listed;
  for (const auto& [tensor, shard] : json["weight_map"].items()) {
    if (!shard.is_string()) fail_model(index + ": tensor '" + tensor + "' maps to a non-string shard");
    const std::string shard_name = shard.get<std::string>();
    if (!stays_inside(fs::path(shard_name)))
      fail_model(index + ": tensor '" + tensor + "' names shard '" + shard_name + "' outside the model folder");
    listed[shard_name].push_back(tensor);
  }
  if (listed.empty()) fail_model(index + ": weight_map is empty");

  std::error_code error;
  for (const auto& [shard_name, tensors] : listed) {
    const fs::path shard = file.parent_path() / shard_name;
    if (!fs::exists(shard, error))
      fail_model(index + ": shard '" + shard_name + "' (for tensor '" + tensors.front() + "') is missing");
    CheckpointFile checkpoint = read_checkpoint_file(shard);
    std::set<std::string, std::less<>> present;
    for (const RawTensor& raw : checkpoint.tensors) {
      present.insert(raw.name);
      present.insert(canonical_name(raw.name));
    }
    for (const std::string& tensor : tensors)
      if (!present.count(tensor))
        fail_model(checkpoint.path + ": tensor '" + tensor + "' listed in " + file.filename().string() +
                   " is missing from this shard");
    add_file(std::move(checkpoint));
  }
}

const TensorInfo& WeightStore::Impl::require(std::string_view name) const {
  if (const auto it = tensors.find(name); it != tensors.end()) return it->second;
  if (const auto it = set_aside.find(name); it != set_aside.end())
    fail_model(it->second.file + ": tensor '" + std::string(name) + "' is stored as " + it->second.dtype +
               ", not a float weight");
  fail_model(source + ": tensor '" + std::string(name) + "' not found");
}

WeightStore::WeightStore() : impl_(std::make_unique<Impl>()) {}
WeightStore::WeightStore(WeightStore&&) noexcept = default;
WeightStore& WeightStore::operator=(WeightStore&&) noexcept = default;
WeightStore::~WeightStore() = default;

WeightStore WeightStore::open_dir(const fs::path& dir) {
  return with_one_line_errors([&]() -> WeightStore {
    std::error_code error;
    if (!fs::exists(dir, error)) fail_model("model folder '" + dir.string() + "' does not exist");
    if (!fs::is_directory(dir, error)) fail_model("model folder '" + dir.string() + "' is not a folder");
    for (const char* name : kCheckpointNames)
      if (fs::exists(dir / name, error)) return open_file(dir / name);
    std::string looked_for;
    for (const char* name : kCheckpointNames) looked_for += (looked_for.empty() ? "" : ", ") + std::string(name);
    fail_model("model folder '" + dir.string() + "' has no weights (looked for " + looked_for + ")");
  });
}

WeightStore WeightStore::open_file(const fs::path& file) {
  return with_one_line_errors([&]() -> WeightStore {
    std::error_code error;
    if (!fs::exists(file, error)) fail_model(file.string() + ": file not found");
    WeightStore store;
    store.impl_->source = file.string();
    if (ends_with(file.filename().string(), ".index.json"))
      store.impl_->add_index(file);
    else
      store.impl_->add_file(read_checkpoint_file(file));
    return store;
  });
}

const TensorInfo* WeightStore::find(std::string_view name) const {
  const auto it = impl_->tensors.find(name);
  return it == impl_->tensors.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> result;
  result.reserve(impl_->tensors.size());
  for (const auto& entry : impl_->tensors) result.push_back(entry.first);
  return result;
}

size_t WeightStore::size() const { return impl_->tensors.size(); }

std::vector<float> WeightStore::read_f32(std::string_view name, const std::vector<int64_t>& expected_shape) const {
  std::vector<float> values;
  append_f32(name, expected_shape, values);
  return values;
}

void WeightStore::append_f32(std::string_view name, const std::vector<int64_t>& expected_shape,
                             std::vector<float>& out) const {
  const TensorInfo& info = with_one_line_errors([&]() -> const TensorInfo& { return impl_->require(name); });
  if (!expected_shape.empty() && info.shape != expected_shape)
    fail_model(info.file + ": tensor '" + weights::one_line(info.name) + "' has shape " + shape_string(info.shape) +
               ", expected " + shape_string(expected_shape));
  const size_t count = static_cast<size_t>(info.numel());
  if (count == 0) return;
  const size_t start = out.size();
  if (info.dtype == DType::F32 && reinterpret_cast<uintptr_t>(info.data) % alignof(float) == 0) {
    const auto* first = reinterpret_cast<const float*>(info.data);
    out.insert(out.end(), first, first + count);  // one pass: no zero-filling before the copy
  } else {
    out.resize(start + count);
    float* values = out.data() + start;
    switch (info.dtype) {
      case DType::F32: std::memcpy(values, info.data, count * sizeof(float)); break;
      case DType::F16: weights::widen_f16(info.data, count, values); break;
      case DType::BF16: weights::widen_bf16(info.data, count, values); break;
    }
  }
  // Loading reads each tensor once into its packed form: without this, the mapped file stays
  // resident beside that copy and the load peak is twice the weights.
  for (const auto& checkpoint : impl_->checkpoints)
    if (checkpoint.mapping) checkpoint.mapping->release(info.data, info.nbytes);
}

std::string WeightStore::stored_dtypes() const {
  std::set<std::string> kinds;
  for (const auto& entry : impl_->tensors) kinds.insert(dtype_name(entry.second.dtype));
  std::string text;
  for (const std::string& kind : kinds) text += (text.empty() ? "" : "+") + kind;
  return text;
}

std::vector<std::string> WeightStore::files() const { return impl_->files; }

}  // namespace nspbert
