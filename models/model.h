#pragma once
// A loaded model folder: the typed spec, the encoder with its weights bound, and the tokenizer.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/encoder.h"
#include "engine/encoder_spec.h"
#include "models/config_reader.h"
#include "tokenizer/tokenizer.h"

namespace nspbert {

struct LoadOptions {
  int threads = 0;  // 0: every core
  bool need_tokenizer = true;
  Precision precision = Precision::F32;
  TokenizerOptions tokenizer = {};
};

struct Model {
  std::filesystem::path dir;
  EncoderSpec spec;
  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<Tokenizer> tokenizer;  // null when not requested
  Precision precision = Precision::F32;
  std::string stored_dtype;
  std::vector<std::string> weight_files;
  int64_t parameter_count = 0;  // tensors the encoder uses
  std::vector<std::string> unused_tensors;
};

struct FamilyDefinition;  // models/family.h

// config.json -> EncoderSpec; fails naming the field it cannot run. The second form takes the
// family already resolved (family_for_config), so load_model looks it up once.
EncoderSpec read_encoder_spec(const ConfigReader& config);
EncoderSpec read_encoder_spec(const ConfigReader& config, const FamilyDefinition& family);

Model load_model(const std::filesystem::path& dir, const LoadOptions& options = {});

// Sets the OpenMP (and so oneDNN) thread count; call before building primitives.
void set_thread_count(int threads);
int thread_count();

}  // namespace nspbert
