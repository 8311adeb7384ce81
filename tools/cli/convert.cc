// nspbert convert: any readable checkpoint (pytorch_model.bin, sharded, safetensors) -> one safetensors file.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "engine/error.h"
#include "engine/weights/safetensors_writer.h"
#include "engine/weights/weight_store.h"
#include "tools/cli/command.h"

namespace nspbert::cli {
namespace {

struct ConvertArgs {
  std::string model;
  std::string output;
  std::string dtype;  // empty: keep each tensor's stored type
};

int run(const ConvertArgs& args) {
  std::error_code error;
  WeightStore store = std::filesystem::is_directory(args.model, error) ? WeightStore::open_dir(args.model)
                                                                       : WeightStore::open_file(args.model);
  std::optional<DType> dtype;
  if (args.dtype == "f32") dtype = DType::F32;
  if (args.dtype == "f16") dtype = DType::F16;
  if (args.dtype == "bf16") dtype = DType::BF16;
  const weights::WriteSummary summary = weights::write_safetensors(store, args.output, dtype);
  std::fprintf(stderr, "nspbert: wrote %zu tensors (%s, %.1f MB) to %s\n", summary.tensors,
               dtype ? dtype_name(*dtype) : store.stored_dtypes().c_str(), static_cast<double>(summary.bytes) / 1e6,
               args.output.c_str());
  return 0;
}

const bool registered = register_command(
    {"convert", "Write a checkpoint (pytorch_model.bin, sharded or single safetensors) as one model.safetensors",
     [](CLI::App& app) -> Runner {
       auto args = std::make_shared<ConvertArgs>();
       app.add_option("--model", args->model, "Model folder or checkpoint file")->required();
       app.add_option("--output", args->output, "The safetensors file to write")->required();
       app.add_option("--dtype", args->dtype, "Store every tensor as f32, f16 or bf16 (default: as stored)")
           ->check(CLI::IsMember({"f32", "f16", "bf16"}))
           ->default_str("as stored");
       return [args] { return run(*args); };
     }});

}  // namespace
}  // namespace nspbert::cli
