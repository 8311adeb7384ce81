#include "engine/weights/safetensors_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/weights/dtype_convert.h"

namespace nspbert::weights {

namespace {

size_t dtype_size(DType dtype) { return dtype == DType::F32 ? 4 : 2; }

// The tensor's bytes in `target`: a straight copy when it is already stored that way.
std::vector<std::byte> encode(const WeightStore& store, const TensorInfo& info, DType target) {
  std::vector<std::byte> out(static_cast<size_t>(info.numel()) * dtype_size(target));
  if (info.dtype == target) {
    if (!out.empty()) std::memcpy(out.data(), info.data, out.size());
    return out;
  }
  const std::vector<float> values = store.read_f32(info.name);
  for (size_t i = 0; i < values.size(); ++i) {
    if (target == DType::F32) {
      std::memcpy(out.data() + 4 * i, &values[i], 4);
      continue;
    }
    const uint16_t half = target == DType::F16 ? f32_to_f16(values[i]) : f32_to_bf16(values[i]);
    std::memcpy(out.data() + 2 * i, &half, 2);
  }
  return out;
}

}  // namespace

WriteSummary write_safetensors(const WeightStore& store, const std::filesystem::path& output,
                               std::optional<DType> dtype, const std::map<std::string, std::string>& metadata) {
  struct Planned {
    const TensorInfo* info;
    DType dtype;
  };
  std::vector<Planned> plan;
  for (const std::string& name : store.names()) {
    const TensorInfo* info = store.find(name);
    plan.push_back({info, dtype.value_or(info->dtype)});
  }
  std::stable_sort(plan.begin(), plan.end(),
                   [](const Planned& a, const Planned& b) { return dtype_size(a.dtype) > dtype_size(b.dtype); });

  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const Planned& p : plan) {
    const uint64_t bytes = static_cast<uint64_t>(p.info->numel()) * dtype_size(p.dtype);
    header[p.info->name] = {
        {"dtype", dtype_name(p.dtype)}, {"shape", p.info->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  const std::filesystem::path temporary = output.string() + ".partial";
  std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
  if (!out) fail_model(output.string() + ": cannot write: " + std::strerror(errno));
  const uint64_t header_length = header_text.size();
  out.write(reinterpret_cast<const char*>(&header_length), 8);
  out.write(header_text.data(), static_cast<std::streamsize>(header_text.size()));
  for (const Planned& p : plan) {
    const std::vector<std::byte> bytes = encode(store, *p.info, p.dtype);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  out.close();
  std::error_code error;
  if (!out) {
    std::filesystem::remove(temporary, error);
    fail_model(output.string() + ": write failed (disk full?)");
  }
  std::filesystem::rename(temporary, output, error);
  if (error) {
    std::filesystem::remove(temporary, error);
    fail_model(output.string() + ": cannot move the written file into place: " + error.message());
  }
  return {plan.size(), 8 + header_length + offset};
}

}  // namespace nspbert::weights
