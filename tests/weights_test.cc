// Checkpoint readers: safetensors (single and sharded), pytorch_model.bin, and `nspbert convert`.
// Valid safetensors are generated here with a tiny writer; the .bin files come from
// tests/data/weights/make_torch_bin.py (real torch.save output).
#include <gtest/gtest.h>
#include <immintrin.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/weights/dtype_convert.h"
#include "engine/weights/state_dict_pickle.h"
#include "engine/weights/weight_store.h"

namespace nspbert {
namespace {

namespace fs = std::filesystem;

const fs::path kWeightData = fs::path(NSPBERT_TEST_DATA) / "weights";

class TempDir {
 public:
  // The corruption sweeps write thousands of files: tmpfs keeps them fast where it exists.
  explicit TempDir(bool in_memory = false) {
    std::error_code error;
    const fs::path base =
        in_memory && fs::is_directory("/dev/shm", error) ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "nspbert-weights-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    fs::remove_all(path_, error);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
std::string bytes_of(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

std::string u64_le(uint64_t value) {
  std::string bytes(8, '\0');
  std::memcpy(bytes.data(), &value, 8);
  return bytes;
}

// A header and data section as given, with no padding: the data usually starts misaligned,
// which is what the readers must cope with.
std::string raw_safetensors(const std::string& header, const std::string& data = "") {
  return u64_le(header.size()) + header + data;
}

struct StTensor {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string safetensors(const std::vector<StTensor>& tensors) {
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}}};
  std::string data;
  for (const StTensor& t : tensors) {
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  return raw_safetensors(header.dump(), data);
}

std::vector<float> f32_ramp(size_t count, float scale, float shift) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = static_cast<float>(i) * scale + shift;
  return values;
}

// Runs `open` and checks it fails with one model error line holding every fragment.
void expect_model_error(const std::function<void()>& open, const std::vector<std::string>& fragments) {
  try {
    open();
    ADD_FAILURE() << "no error; expected one mentioning " << fragments.front();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::Model) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "multi-line message: " << message;
    for (const std::string& fragment : fragments)
      EXPECT_NE(message.find(fragment), std::string::npos) << "'" << fragment << "' missing from: " << message;
  }
}

// Reference widening written from the format definitions, independent of dtype_convert.h.
float reference_f16(uint16_t bits) {
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  if (exponent == 0x1f) return mantissa ? std::numeric_limits<float>::quiet_NaN() : sign * INFINITY;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 1024.0f, exponent - 15);
}

float reference_bf16(uint16_t bits) {
  const int exponent = (bits >> 7) & 0xff;
  const int mantissa = bits & 0x7f;
  const float sign = (bits & 0x8000) ? -1.0f : 1.0f;
  if (exponent == 0xff) return mantissa ? std::numeric_limits<float>::quiet_NaN() : sign * INFINITY;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -133);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 128.0f, exponent - 127);
}

void expect_same_float(float actual, float expected, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what;
  } else {
    EXPECT_EQ(std::bit_cast<uint32_t>(actual), std::bit_cast<uint32_t>(expected))
        << what << ": " << actual << " vs " << expected;
  }
}

std::vector<uint16_t> all_16_bit_patterns() {
  std::vector<uint16_t> bits(65536);
  for (size_t i = 0; i < bits.size(); ++i) bits[i] = static_cast<uint16_t>(i);
  return bits;
}

// safetensors: valid files

TEST(SafetensorsReader, ReadsF32WithMisalignedData) {
  TempDir dir;
  const std::vector<float> values = f32_ramp(12, 0.5f, -3.0f);
  write_file(dir / "model.safetensors", safetensors({{"bert.pooler.dense.weight", "F32", {3, 4}, bytes_of(values)}}));

  const WeightStore store = WeightStore::open_dir(dir.path());
  ASSERT_EQ(store.size(), 1u);
  const TensorInfo* info = store.find("bert.pooler.dense.weight");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->dtype, DType::F32);
  EXPECT_EQ(info->shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(info->numel(), 12);
  EXPECT_EQ(info->nbytes, 48u);
  EXPECT_EQ(info->file, (dir / "model.safetensors").string());
  EXPECT_EQ(store.read_f32("bert.pooler.dense.weight", {3, 4}), values);
  EXPECT_EQ(store.stored_dtypes(), "F32");
  EXPECT_EQ(store.files(), std::vector<std::string>{(dir / "model.safetensors").string()});
}

TEST(SafetensorsReader, WidensEveryF16AndBF16BitPattern) {
  TempDir dir;
  const std::vector<uint16_t> bits = all_16_bit_patterns();
  // A 1-byte tensor first puts both 16-bit tensors at odd addresses.
  write_file(dir / "all.safetensors", safetensors({{"pad", "U8", {1}, std::string(1, '\x7f')},
                                                   {"halves", "F16", {256, 256}, bytes_of(bits)},
                                                   {"brains", "BF16", {65536}, bytes_of(bits)}}));
  const WeightStore store = WeightStore::open_file(dir / "all.safetensors");
  EXPECT_EQ(store.stored_dtypes(), "BF16+F16");
  const std::vector<float> halves = store.read_f32("halves", {256, 256});
  const std::vector<float> brains = store.read_f32("brains");
  ASSERT_EQ(halves.size(), 65536u);
  ASSERT_EQ(brains.size(), 65536u);
  for (size_t i = 0; i < bits.size(); ++i) {
    expect_same_float(halves[i], reference_f16(bits[i]), "F16 bits " + std::to_string(i));
    expect_same_float(brains[i], reference_bf16(bits[i]), "BF16 bits " + std::to_string(i));
  }
}

TEST(SafetensorsReader, KeepsMixedDtypesAndSetsAsideIntegerBuffers) {
  TempDir dir;
  const std::vector<double> doubles = {1.0 / 3.0, -2.5, 1e300};
  const std::vector<int64_t> positions = {0, 1, 2, 3};
  const std::vector<uint16_t> half_ones = {0x3c00, 0x3c00};
  write_file(dir / "model.safetensors",
             safetensors({{"a", "F32", {2}, bytes_of(std::vector<float>{1.0f, 2.0f})},
                          {"b", "F16", {2}, bytes_of(half_ones)},
                          {"c", "F64", {3}, bytes_of(doubles)},
                          {"bert.embeddings.position_ids", "I64", {1, 4}, bytes_of(positions)},
                          {"zero", "F32", {0, 5}, ""}}));
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.names(), (std::vector<std::string>{"a", "b", "c", "zero"}));
  EXPECT_EQ(store.stored_dtypes(), "F16+F32");
  EXPECT_EQ(store.read_f32("b"), (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(store.find("c")->dtype, DType::F32);  // F64 narrowed at load
  const std::vector<float> c = store.read_f32("c");
  EXPECT_EQ(c[0], static_cast<float>(1.0 / 3.0));
  EXPECT_EQ(c[1], -2.5f);
  EXPECT_TRUE(std::isinf(c[2]));
  EXPECT_TRUE(store.read_f32("zero", {0, 5}).empty());
  EXPECT_FALSE(store.contains("bert.embeddings.position_ids"));
  expect_model_error([&] { store.read_f32("bert.embeddings.position_ids"); },
                     {"model.safetensors", "'bert.embeddings.position_ids'", "I64", "not a float weight"});
}

TEST(SafetensorsReader, ReportsAbsentTensorAndShapeMismatch) {
  TempDir dir;
  write_file(dir / "model.safetensors", safetensors({{"w", "F32", {2, 3}, bytes_of(f32_ramp(6, 1, 0))}}));
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.find("nope"), nullptr);
  expect_model_error([&] { store.read_f32("nope"); }, {"model.safetensors", "'nope'", "not found"});
  expect_model_error([&] { store.read_f32("w", {3, 2}); }, {"model.safetensors", "'w'", "[2, 3]", "expected [3, 2]"});
}

TEST(SafetensorsReader, RenamesLegacyGammaBeta) {
  TempDir dir;
  write_file(
      dir / "model.safetensors",
      safetensors({{"bert.embeddings.LayerNorm.gamma", "F32", {2}, bytes_of(std::vector<float>{1, 2})},
                   {"bert.embeddings.LayerNorm.beta", "F32", {2}, bytes_of(std::vector<float>{3, 4})},
                   {"cls.predictions.transform.LayerNorm.weight", "F32", {1}, bytes_of(std::vector<float>{5})}}));
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.names(),
            (std::vector<std::string>{"bert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.weight",
                                      "cls.predictions.transform.LayerNorm.weight"}));
  EXPECT_EQ(store.find("bert.embeddings.LayerNorm.gamma"), nullptr);
  EXPECT_EQ(store.find("bert.embeddings.LayerNorm.weight")->name, "bert.embeddings.LayerNorm.weight");
  EXPECT_EQ(store.read_f32("bert.embeddings.LayerNorm.weight"), (std::vector<float>{1, 2}));
  EXPECT_EQ(store.read_f32("bert.embeddings.LayerNorm.bias"), (std::vector<float>{3, 4}));
}

TEST(SafetensorsReader, RejectsGammaNextToWeight) {
  TempDir dir;
  write_file(dir / "model.safetensors",
             safetensors({{"x.LayerNorm.gamma", "F32", {1}, bytes_of(std::vector<float>{1})},
                          {"x.LayerNorm.weight", "F32", {1}, bytes_of(std::vector<float>{1})}}));
  expect_model_error([&] { WeightStore::open_dir(dir.path()); }, {"model.safetensors", "'x.LayerNorm.weight'"});
}

// safetensors: every malformed header

struct MalformedCase {
  std::string label;
  std::string bytes;
  std::vector<std::string> fragments;  // besides the file name
};

std::vector<MalformedCase> malformed_safetensors() {
  const std::string four_floats = bytes_of(f32_ramp(4, 1, 0));
  auto one = [](const std::string& entry) { return "{\"bert.pooler.dense.weight\":" + entry + "}"; };
  std::vector<MalformedCase> cases = {
      {"empty file", "", {"empty"}},
      {"7-byte file", std::string(7, '\0'), {"7 bytes"}},
      {"header length past EOF", u64_le(64) + "{}", {"header length 64", "past the end"}},
      {"huge header length", u64_le(uint64_t{1} << 62) + "{}", {"exceeds the 100 MB limit"}},
      {"non-JSON header", raw_safetensors("{\"a\": [1, 2"), {"not valid JSON"}},
      {"header not an object", raw_safetensors("[1, 2, 3]"), {"not a JSON object", "array"}},
      {"entry not an object", raw_safetensors(one("[1]")), {"'bert.pooler.dense.weight'", "not a JSON object"}},
      {"unknown dtype",
       raw_safetensors(one(R"({"dtype":"Q4","shape":[4],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "dtype 'Q4'"}},
      {"missing dtype",
       raw_safetensors(one(R"({"shape":[4],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "dtype"}},
      {"negative shape",
       raw_safetensors(one(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "[-4]", "non-negative integers"}},
      {"non-integer shape",
       raw_safetensors(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "non-negative integers"}},
      {"shape not an array",
       raw_safetensors(one(R"({"dtype":"F32","shape":"4","data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "shape"}},
      {"shape product overflows",
       raw_safetensors(one(R"({"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "more than 2^64"}},
      {"offsets past the end",
       raw_safetensors(one(R"({"dtype":"F32","shape":[25],"data_offsets":[0,100]})"), four_floats),
       {"'bert.pooler.dense.weight'", "data_offsets [0, 100] end past the data section (16 bytes)"}},
      {"begin after end",
       raw_safetensors(one(R"({"dtype":"F32","shape":[1],"data_offsets":[12,8]})"), four_floats),
       {"'bert.pooler.dense.weight'", "[12, 8]", "begin after end"}},
      {"offsets not two integers",
       raw_safetensors(one(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})"), four_floats),
       {"'bert.pooler.dense.weight'", "data_offsets"}},
      {"negative offset",
       raw_safetensors(one(R"({"dtype":"F32","shape":[4],"data_offsets":[-4,12]})"), four_floats),
       {"'bert.pooler.dense.weight'", "data_offsets"}},
      {"shape and byte size disagree",
       raw_safetensors(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "needs 12 bytes", "span 16"}},
      {"dtype and byte size disagree",
       raw_safetensors(one(R"({"dtype":"F16","shape":[4],"data_offsets":[0,16]})"), four_floats),
       {"'bert.pooler.dense.weight'", "needs 8 bytes"}},
      {"overlapping tensors",
       raw_safetensors(R"({"a.weight":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                       R"("bert.pooler.dense.weight":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                       four_floats),
       {"'bert.pooler.dense.weight'", "overlap", "'a.weight'"}},
      {"duplicate tensor",
       raw_safetensors(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                       four_floats),
       {"'w'", "twice"}},
      {"control characters in a name",
       raw_safetensors(R"({"bad\nname":{"dtype":"Q4","shape":[],"data_offsets":[0,0]}})"),
       {"'bad\\x0aname'", "dtype 'Q4'"}},
      {"metadata not strings", raw_safetensors(R"({"__metadata__":{"format":3}})"), {"__metadata__", "'format'"}},
      {"metadata not an object", raw_safetensors(R"({"__metadata__":[1]})"), {"__metadata__"}},
  };
  return cases;
}

TEST(SafetensorsReader, RejectsEveryMalformedHeaderWithOneLine) {
  TempDir dir;
  for (const MalformedCase& c : malformed_safetensors()) {
    SCOPED_TRACE(c.label);
    const fs::path file = dir / "model.safetensors";
    write_file(file, c.bytes);
    std::vector<std::string> fragments = c.fragments;
    fragments.push_back(file.string());
    expect_model_error([&] { WeightStore::open_file(file); }, fragments);
    expect_model_error([&] { WeightStore::open_dir(dir.path()); }, fragments);
  }
}

TEST(SafetensorsReader, EveryTruncationIsAnError) {
  TempDir dir(/*in_memory=*/true);
  const std::string full = safetensors({{"a", "F32", {3}, bytes_of(f32_ramp(3, 1, 0))},
                                        {"b", "BF16", {2}, bytes_of(std::vector<uint16_t>{0x3f80, 0x4000})}});
  for (size_t length = 0; length < full.size(); ++length) {
    write_file(dir / "cut.safetensors", full.substr(0, length));
    EXPECT_THROW(WeightStore::open_file(dir / "cut.safetensors"), Error) << "length " << length;
  }
  write_file(dir / "cut.safetensors", full);
  EXPECT_EQ(WeightStore::open_file(dir / "cut.safetensors").size(), 2u);
}

// model folders and sharded checkpoints

TEST(WeightStoreOpenDir, ReportsMissingFolderAndMissingWeights) {
  TempDir dir;
  expect_model_error([&] { WeightStore::open_dir(dir / "absent"); }, {(dir / "absent").string(), "does not exist"});
  write_file(dir / "config.json", "{}");
  expect_model_error([&] { WeightStore::open_dir(dir.path()); },
                     {dir.path().string(), "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"});
  expect_model_error([&] { WeightStore::open_file(dir / "nothing.safetensors"); },
                     {"nothing.safetensors", "not found"});
}

TEST(WeightStoreOpenDir, PrefersSafetensorsOverPytorchBin) {
  TempDir dir;
  write_file(dir / "model.safetensors", safetensors({{"w", "F32", {1}, bytes_of(std::vector<float>{7})}}));
  write_file(dir / "pytorch_model.bin", "garbage");
  EXPECT_EQ(WeightStore::open_dir(dir.path()).read_f32("w"), std::vector<float>{7});
}

void write_two_shards(const TempDir& dir) {
  write_file(
      dir / "model-00001-of-00002.safetensors",
      safetensors({{"bert.embeddings.word_embeddings.weight", "F32", {2, 2}, bytes_of(f32_ramp(4, 1, 0))},
                   {"bert.embeddings.LayerNorm.gamma", "F16", {2}, bytes_of(std::vector<uint16_t>{0x3c00, 0x4000})}}));
  write_file(
      dir / "model-00002-of-00002.safetensors",
      safetensors({{"cls.seq_relationship.weight", "BF16", {2, 1}, bytes_of(std::vector<uint16_t>{0x3f80, 0xbf80})}}));
}

std::string index_json(const std::map<std::string, std::string>& weight_map) {
  return nlohmann::json{{"metadata", {{"total_size", 28}}}, {"weight_map", weight_map}}.dump();
}

const std::map<std::string, std::string> kTwoShardMap = {
    {"bert.embeddings.word_embeddings.weight", "model-00001-of-00002.safetensors"},
    {"bert.embeddings.LayerNorm.gamma", "model-00001-of-00002.safetensors"},
    {"cls.seq_relationship.weight", "model-00002-of-00002.safetensors"}};

TEST(ShardedSafetensors, ReadsTwoShards) {
  TempDir dir;
  write_two_shards(dir);
  write_file(dir / "model.safetensors.index.json", index_json(kTwoShardMap));
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.names(),
            (std::vector<std::string>{"bert.embeddings.LayerNorm.weight", "bert.embeddings.word_embeddings.weight",
                                      "cls.seq_relationship.weight"}));
  EXPECT_EQ(store.files().size(), 2u);
  EXPECT_EQ(store.stored_dtypes(), "BF16+F16+F32");
  EXPECT_EQ(store.read_f32("bert.embeddings.word_embeddings.weight", {2, 2}), f32_ramp(4, 1, 0));
  EXPECT_EQ(store.read_f32("bert.embeddings.LayerNorm.weight"), (std::vector<float>{1, 2}));
  EXPECT_EQ(store.read_f32("cls.seq_relationship.weight", {2, 1}), (std::vector<float>{1, -1}));
  EXPECT_EQ(store.find("cls.seq_relationship.weight")->file, (dir / "model-00002-of-00002.safetensors").string());
}

TEST(ShardedSafetensors, RejectsBrokenIndexes) {
  TempDir dir;
  write_two_shards(dir);
  const fs::path index = dir / "model.safetensors.index.json";
  auto open = [&] { WeightStore::open_dir(dir.path()); };

  auto with = [&](const std::string& tensor, const std::string& shard) {
    auto map = kTwoShardMap;
    map[tensor] = shard;
    return index_json(map);
  };
  write_file(index, with("cls.seq_relationship.weight", "model-00003-of-00003.safetensors"));
  expect_model_error(
      open, {index.string(), "'model-00003-of-00003.safetensors'", "'cls.seq_relationship.weight'", "missing"});

  write_file(index, with("cls.seq_relationship.bias", "model-00002-of-00002.safetensors"));
  expect_model_error(open,
                     {"model-00002-of-00002.safetensors", "'cls.seq_relationship.bias'", "missing from this shard"});

  write_file(index, with("cls.seq_relationship.weight", "../model-00002-of-00002.safetensors"));
  expect_model_error(open, {index.string(), "'cls.seq_relationship.weight'", "outside the model folder"});

  write_file(index, with("cls.seq_relationship.weight", "/etc/passwd"));
  expect_model_error(open, {index.string(), "'/etc/passwd'", "outside the model folder"});

  write_file(index, with("cls.seq_relationship.weight", "shards/../../x.safetensors"));
  expect_model_error(open, {"outside the model folder"});

  write_file(index, "{\"weight_map\": ");
  expect_model_error(open, {index.string(), "not valid JSON"});

  write_file(index, "{\"metadata\": {}}");
  expect_model_error(open, {index.string(), "weight_map"});

  // The same tensor in both shards.
  write_file(dir / "model-00002-of-00002.safetensors",
             safetensors({{"cls.seq_relationship.weight", "BF16", {1}, bytes_of(std::vector<uint16_t>{0x3f80})},
                          {"bert.embeddings.word_embeddings.weight", "F32", {1}, bytes_of(std::vector<float>{1})}}));
  write_file(index, index_json(kTwoShardMap));
  expect_model_error(open, {"'bert.embeddings.word_embeddings.weight'", "model-00001-of-00002.safetensors",
                            "model-00002-of-00002.safetensors"});

  // A malformed shard is reported by its own name.
  write_file(dir / "model-00002-of-00002.safetensors", "1234567");
  expect_model_error(open, {"model-00002-of-00002.safetensors", "7 bytes"});
}

// pytorch_model.bin

const fs::path kTinyBin = kWeightData / "tiny_state_dict.bin";

TEST(TorchBinReader, ReadsEveryTensorOfARealTorchSave) {
  const WeightStore store = WeightStore::open_file(kTinyBin);
  EXPECT_EQ(store.names(),
            (std::vector<std::string>{
                "bert.embeddings.LayerNorm.bias", "bert.embeddings.LayerNorm.weight",
                "bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.query.bias",
                "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.0.output.dense.bias",
                "bert.encoder.layer.0.output.dense.weight", "bert.pooler.dense.weight",
                "cls.predictions.decoder.weight", "double.weight", "empty", "scalar", "special.bf16", "special.f16"}));
  EXPECT_EQ(store.stored_dtypes(), "BF16+F16+F32");

  // The exact values make_torch_bin.py wrote.
  const std::vector<float> word = f32_ramp(24, 0.25f, -2.0f);
  EXPECT_EQ(store.read_f32("bert.embeddings.word_embeddings.weight", {6, 4}), word);
  EXPECT_EQ(store.read_f32("cls.predictions.decoder.weight", {6, 4}), word);
  // Tied weights share one storage, and the store points into it rather than copying.
  EXPECT_EQ(store.find("cls.predictions.decoder.weight")->data,
            store.find("bert.embeddings.word_embeddings.weight")->data);
  EXPECT_EQ(store.read_f32("bert.embeddings.LayerNorm.weight", {4}), f32_ramp(4, 0.25f, 1.0f));
  EXPECT_EQ(store.read_f32("bert.embeddings.LayerNorm.bias", {4}), f32_ramp(4, -0.5f, 0.0f));
  EXPECT_EQ(store.find("bert.encoder.layer.0.attention.self.query.weight")->dtype, DType::F16);
  EXPECT_EQ(store.read_f32("bert.encoder.layer.0.attention.self.query.weight", {3, 4}), f32_ramp(12, 0.125f, -0.75f));
  EXPECT_EQ(store.find("bert.encoder.layer.0.attention.self.query.bias")->dtype, DType::BF16);
  EXPECT_EQ(store.read_f32("bert.encoder.layer.0.attention.self.query.bias", {3}), f32_ramp(3, 0.5f, -0.5f));

  // base = arange(12).reshape(3, 4) + 100; the weight is base.t(), the bias base[2].
  std::vector<float> transposed;
  for (int row = 0; row < 4; ++row)
    for (int col = 0; col < 3; ++col) transposed.push_back(100.0f + static_cast<float>(col * 4 + row));
  EXPECT_EQ(store.read_f32("bert.encoder.layer.0.output.dense.weight", {4, 3}), transposed);
  EXPECT_EQ(store.read_f32("bert.encoder.layer.0.output.dense.bias", {4}), f32_ramp(4, 1.0f, 108.0f));

  EXPECT_EQ(store.read_f32("bert.pooler.dense.weight", {5}), f32_ramp(5, 2.0f, 0.0f));  // an nn.Parameter
  std::vector<float> thirds;
  for (int i = 0; i < 3; ++i) thirds.push_back(static_cast<float>(i / 3.0));
  EXPECT_EQ(store.read_f32("double.weight", {3}), thirds);
  EXPECT_TRUE(store.find("scalar")->shape.empty());
  EXPECT_EQ(store.read_f32("scalar"), std::vector<float>{3.5f});
  EXPECT_EQ(store.find("empty")->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(store.read_f32("empty").empty());

  const std::vector<float> f16 = store.read_f32("special.f16", {10});
  const std::vector<float> f16_expected = {0.0f,     -0.0f,    1.0f,     -2.0f,     65504.0f,
                                           0x1p-24f, 0x1p-14f, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < f16.size(); ++i)
    expect_same_float(f16[i], f16_expected[i], "special.f16[" + std::to_string(i) + "]");
  const std::vector<float> bf16 = store.read_f32("special.bf16", {9});
  const std::vector<float> bf16_expected = {
      0.0f, -0.0f, 1.0f, std::bit_cast<float>(0x7f7f0000u), 0x1p-133f, 0x1p-127f, INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < bf16.size(); ++i)
    expect_same_float(bf16[i], bf16_expected[i], "special.bf16[" + std::to_string(i) + "]");

  EXPECT_FALSE(store.contains("bert.embeddings.position_ids"));
  expect_model_error([&] { store.read_f32("bert.embeddings.position_ids"); }, {"tiny_state_dict.bin", "I64"});
}

TEST(TorchBinReader, ReadsProtocol4AndLongMemoIndexes) {
  const WeightStore protocol4 = WeightStore::open_file(kWeightData / "protocol4.bin");
  EXPECT_EQ(protocol4.read_f32("a.weight", {4}), f32_ramp(4, 1.0f, 0.0f));
  std::vector<float> transposed;  // (arange(6) - 3).reshape(2, 3).t()
  for (int row = 0; row < 3; ++row)
    for (int col = 0; col < 2; ++col) transposed.push_back(static_cast<float>(col * 3 + row - 3));
  EXPECT_EQ(protocol4.read_f32("b.weight", {3, 2}), transposed);

  const WeightStore many = WeightStore::open_file(kWeightData / "many_tensors.bin");
  ASSERT_EQ(many.size(), 40u);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(many.read_f32("layer." + std::to_string(i) + ".weight", {1}), std::vector<float>{i * 0.5f});
}

TEST(TorchBinReader, OpenDirFindsPytorchModelBin) {
  TempDir dir;
  fs::copy_file(kTinyBin, dir / "pytorch_model.bin");
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.size(), 14u);
  EXPECT_EQ(store.files(), std::vector<std::string>{(dir / "pytorch_model.bin").string()});
}

TEST(TorchBinReader, RejectsWhatTorchSaveOfAStateDictNeverWrites) {
  expect_model_error([] { WeightStore::open_file(kWeightData / "legacy_format.bin"); },
                     {"legacy_format.bin", "legacy torch format not supported, re-save with"});
  expect_model_error([] { WeightStore::open_file(kWeightData / "deflated.bin"); },
                     {"deflated.bin", "data.pkl", "compressed"});
  expect_model_error([] { WeightStore::open_file(kWeightData / "training_checkpoint.bin"); },
                     {"training_checkpoint.bin", "entry 'model'", "not a tensor"});
  expect_model_error([] { WeightStore::open_file(kWeightData / "whole_module.bin"); },
                     {"whole_module.bin", "unsupported pickle global 'torch.nn.modules.linear.Linear'"});
}

TEST(TorchBinReader, RejectsEmptyAndGarbageFiles) {
  TempDir dir;
  write_file(dir / "pytorch_model.bin", "");
  expect_model_error([&] { WeightStore::open_dir(dir.path()); }, {"pytorch_model.bin", "empty"});
  write_file(dir / "pytorch_model.bin", "this is not a checkpoint at all");
  expect_model_error([&] { WeightStore::open_dir(dir.path()); }, {"pytorch_model.bin", "not a torch.save zip archive"});
  write_file(dir / "pytorch_model.bin", "PK\x03\x04 and then nothing that a zip archive would hold");
  expect_model_error([&] { WeightStore::open_dir(dir.path()); }, {"pytorch_model.bin", "end-of-central-directory"});
}

TEST(TorchBinReader, NamesTheUnsupportedOpcode) {
  TempDir dir;
  std::string bytes = read_file(kTinyBin);
  const size_t pickle = bytes.find(
      "\x80\x02"
      "ccollections\nOrderedDict\n");
  ASSERT_NE(pickle, std::string::npos);
  bytes[pickle + 2] = 'i';  // GLOBAL -> INST, which can construct arbitrary objects
  write_file(dir / "patched.bin", bytes);
  expect_model_error([&] { WeightStore::open_file(dir / "patched.bin"); },
                     {"patched.bin", "data.pkl", "unsupported pickle opcode INST (0x69)"});
}

TEST(TorchBinReader, EveryTruncationIsAnError) {
  TempDir dir(/*in_memory=*/true);
  const std::string full = read_file(kTinyBin);
  ASSERT_GT(full.size(), 1000u);
  for (size_t length = 0; length < full.size(); ++length) {
    write_file(dir / "cut.bin", full.substr(0, length));
    EXPECT_THROW(WeightStore::open_file(dir / "cut.bin"), Error) << "length " << length;
  }
}

TEST(TorchBinReader, CorruptedBytesNeverCrash) {
  TempDir dir(/*in_memory=*/true);
  const std::string full = read_file(kTinyBin);
  size_t failures = 0;
  for (size_t position = 0; position < full.size(); ++position) {
    for (const char flip : {'\xff', '\x01'}) {
      std::string bytes = full;
      bytes[position] = static_cast<char>(bytes[position] ^ flip);
      write_file(dir / "flipped.bin", bytes);
      try {
        const WeightStore store = WeightStore::open_file(dir / "flipped.bin");
        for (const std::string& name : store.names()) store.read_f32(name);
      } catch (const Error& e) {
        ++failures;
        EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      }
    }
  }
  EXPECT_GT(failures, 0u);
}

// the pickle interpreter on hand-written programs

class Pickle {
 public:
  Pickle() { bytes_ = "\x80\x02"; }
  Pickle& op(char code) {
    bytes_ += code;
    return *this;
  }
  Pickle& raw(const std::string& text) {
    bytes_ += text;
    return *this;
  }
  Pickle& str(const std::string& text) {
    uint32_t length = static_cast<uint32_t>(text.size());
    bytes_ += 'X';
    bytes_.append(reinterpret_cast<const char*>(&length), 4);
    bytes_ += text;
    return *this;
  }
  Pickle& int1(uint8_t value) {
    bytes_ += 'K';
    bytes_ += static_cast<char>(value);
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    bytes_ += "c" + module + "\n" + name + "\n";
    return *this;
  }
  // _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), offset, (size,), (1,), False, OrderedDict())
  Pickle& tensor(const std::string& key, uint8_t numel, uint8_t offset, uint8_t size) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").int1(numel).op('t').op('Q');
    int1(offset).int1(size).op('\x85').int1(1).op('\x85').op('\x89');
    global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

weights::PickledStateDict unpickle(const Pickle& pickle) {
  const std::string& bytes = pickle.bytes();
  return weights::unpickle_state_dict({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()},
                                      "test.bin: data.pkl");
}

TEST(StateDictPickle, ReadsAMinimalStateDict) {
  Pickle pickle;
  pickle.global("collections", "OrderedDict").op(')').op('R').op('q').raw(std::string(1, '\0'));
  pickle.op('(').str("a").tensor("0", 8, 2, 6).str("b").tensor("0", 8, 0, 2).op('u').op('.');
  const weights::PickledStateDict state = unpickle(pickle);
  ASSERT_EQ(state.storages.size(), 1u);  // one storage, shared
  EXPECT_EQ(state.storages[0].key, "0");
  EXPECT_EQ(state.storages[0].numel, 8u);
  ASSERT_EQ(state.tensors.size(), 2u);
  EXPECT_EQ(state.tensors[0].name, "a");
  EXPECT_EQ(state.tensors[0].offset, 2u);
  EXPECT_EQ(state.tensors[0].size, std::vector<int64_t>{6});
  EXPECT_EQ(state.tensors[1].name, "b");
}

TEST(StateDictPickle, SharesATensorThroughALongMemoIndex) {
  const std::string index_70000("\x70\x11\x01\x00", 4);
  Pickle pickle;
  pickle.op('}').op('(').str("a").tensor("0", 4, 0, 4).op('r').raw(index_70000);
  pickle.str("b").op('j').raw(index_70000).op('u').op('.');
  const weights::PickledStateDict state = unpickle(pickle);
  ASSERT_EQ(state.tensors.size(), 2u);
  EXPECT_EQ(state.tensors[1].name, "b");
  EXPECT_EQ(state.tensors[1].storage, state.tensors[0].storage);
  EXPECT_EQ(state.tensors[1].size, std::vector<int64_t>{4});
}

TEST(StateDictPickle, RejectsStrayPrograms) {
  struct Case {
    std::string label;
    Pickle pickle;
    std::string fragment;
  };
  std::vector<Case> cases;
  cases.push_back({"unknown opcode", Pickle().op('\xff'), "unsupported pickle opcode (unknown) (0xff)"});
  cases.push_back({"truncated string", Pickle().raw(std::string("X\x64\0\0\0abc", 8)), "truncated"});
  cases.push_back({"stack underflow", Pickle().op('}').op('s'), "stack underflow"});
  cases.push_back({"no STOP", Pickle().op('}'), "truncated"});
  cases.push_back({"two values at STOP", Pickle().op('}').op('}').op('.'), "STOP leaves 2 values"});
  cases.push_back({"not a dict", Pickle().op(']').op('.'), "holds a list"});
  cases.push_back({"unset memo", Pickle().op('h').raw(std::string(1, '\x07')), "memo index 7"});
  cases.push_back({"evil global", Pickle().global("os", "system"), "unsupported pickle global 'os.system'"});
  cases.push_back({"non-string key", Pickle().op('}').int1(1).tensor("0", 1, 0, 1).op('s').op('.'), "key is a int"});
  cases.push_back({"self insertion",
                   Pickle().op(']').op('q').raw(std::string(1, '\0')).op('h').raw(std::string(1, '\0')).op('a'),
                   "inside itself"});
  Pickle deep;
  deep.op('N');
  for (int i = 0; i < 40; ++i) deep.op('\x85');
  cases.push_back({"deep nesting", deep, "nested deeper than"});
  Pickle frozen;  // a list changed after being placed in a tuple
  frozen.op(']').op('q').raw(std::string(1, '\0')).op('\x85').op('h').raw(std::string(1, '\0')).op('N').op('a');
  cases.push_back({"mutation after nesting", frozen, "already stored elsewhere"});
  cases.push_back({"view past storage", Pickle().op('}').str("w").tensor("0", 4, 2, 6).op('s').op('.'), ""});
  cases.push_back({"negative offset",
                   Pickle()
                       .op('}')
                       .str("w")
                       .global("torch._utils", "_rebuild_tensor_v2")
                       .op('(')
                       .op('(')
                       .str("storage")
                       .global("torch", "FloatStorage")
                       .str("0")
                       .str("cpu")
                       .int1(4)
                       .op('t')
                       .op('Q')
                       .raw(std::string("\x8a\x01\xff", 3))
                       .int1(1)
                       .op('\x85')
                       .int1(1)
                       .op('\x85')
                       .op('\x89')
                       .op('}')
                       .op('t')
                       .op('R'),
                   "storage offset"});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    if (c.fragment.empty()) {
      EXPECT_NO_THROW(unpickle(c.pickle));  // bounds are checked against the archive, not here
      continue;
    }
    expect_model_error([&] { unpickle(c.pickle); }, {"test.bin: data.pkl", c.fragment});
  }
}

// hand-built archives: zip64 fields and tensor-level errors

void put16(std::string& out, uint16_t value) { out.append(reinterpret_cast<const char*>(&value), 2); }
void put32(std::string& out, uint32_t value) { out.append(reinterpret_cast<const char*>(&value), 4); }
void put64(std::string& out, uint64_t value) { out.append(reinterpret_cast<const char*>(&value), 8); }

struct ZipMember {
  std::string name;
  std::string data;
  uint16_t method = 0;
};

// A minimal zip writer (CRCs left zero: the reader does not check them). With `zip64`, every
// central record moves its sizes and offset into a zip64 extra field, as writers do past 4 GB.
std::string make_zip(const std::vector<ZipMember>& members, bool zip64) {
  std::string out, central;
  for (const ZipMember& m : members) {
    const auto offset = static_cast<uint32_t>(out.size());
    const auto size = static_cast<uint32_t>(m.data.size());
    put32(out, 0x04034b50);
    put16(out, 20), put16(out, 0), put16(out, m.method), put16(out, 0), put16(out, 0);
    put32(out, 0), put32(out, size), put32(out, size);
    put16(out, static_cast<uint16_t>(m.name.size())), put16(out, 0);
    out += m.name + m.data;

    std::string extra;
    if (zip64) {
      put16(extra, 0x0001), put16(extra, 24);
      put64(extra, size), put64(extra, size), put64(extra, offset);
    }
    put32(central, 0x02014b50);
    put16(central, 45), put16(central, 45), put16(central, 0), put16(central, m.method), put16(central, 0),
        put16(central, 0);
    put32(central, 0);
    put32(central, zip64 ? 0xffffffffu : size), put32(central, zip64 ? 0xffffffffu : size);
    put16(central, static_cast<uint16_t>(m.name.size())), put16(central, static_cast<uint16_t>(extra.size()));
    put16(central, 0), put16(central, 0), put16(central, 0), put32(central, 0);
    put32(central, zip64 ? 0xffffffffu : offset);
    central += m.name + extra;
  }
  const auto central_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0), put16(out, 0), put16(out, static_cast<uint16_t>(members.size())),
      put16(out, static_cast<uint16_t>(members.size()));
  put32(out, static_cast<uint32_t>(central.size())), put32(out, central_offset), put16(out, 0);
  return out;
}

// A state_dict {'w': FloatStorage '0' of `numel` viewed at `offset` with `size` elements}.
std::vector<ZipMember> one_tensor_archive(uint8_t numel, uint8_t offset, uint8_t size, const std::string& storage) {
  Pickle pickle;
  pickle.op('}').str("w").tensor("0", numel, offset, size).op('s').op('.');
  return {{"archive/data.pkl", pickle.bytes()}, {"archive/data/0", storage}, {"archive/version", "3\n"}};
}

TEST(TorchBinReader, ReadsZip64CentralDirectoryFields) {
  TempDir dir;
  const std::vector<float> values = f32_ramp(6, 0.5f, 1.0f);
  write_file(dir / "pytorch_model.bin", make_zip(one_tensor_archive(6, 2, 4, bytes_of(values)), /*zip64=*/true));
  const WeightStore store = WeightStore::open_dir(dir.path());
  EXPECT_EQ(store.read_f32("w", {4}), std::vector<float>(values.begin() + 2, values.end()));
}

TEST(TorchBinReader, NamesTheTensorWhoseStorageIsWrong) {
  TempDir dir;
  const fs::path file = dir / "pytorch_model.bin";
  auto open = [&] { WeightStore::open_file(file); };
  const std::string four_floats = bytes_of(f32_ramp(4, 1, 0));

  std::vector<ZipMember> members = one_tensor_archive(4, 0, 4, four_floats);
  members.erase(members.begin() + 1);
  write_file(file, make_zip(members, false));
  expect_model_error(open, {file.string(), "tensor 'w'", "storage 'archive/data/0' is missing"});

  write_file(file, make_zip(one_tensor_archive(4, 0, 4, four_floats.substr(0, 8)), false));
  expect_model_error(open, {file.string(), "tensor 'w'", "holds 8 bytes, less than 4 F32 elements"});

  write_file(file, make_zip(one_tensor_archive(4, 2, 4, four_floats), false));
  expect_model_error(open, {file.string(), "tensor 'w'", "view reaches element 5 of a storage of 4"});

  members = one_tensor_archive(4, 0, 4, four_floats);
  members[1].method = 8;
  write_file(file, make_zip(members, false));
  expect_model_error(open, {file.string(), "tensor 'w'", "'archive/data/0'", "compressed"});

  members = one_tensor_archive(4, 0, 4, four_floats);
  members.push_back({"other/data.pkl", members[0].data});
  write_file(file, make_zip(members, false));
  expect_model_error(open, {file.string(), "2 data.pkl"});

  members = one_tensor_archive(4, 0, 4, four_floats);
  members.push_back({"archive/byteorder", "big"});
  write_file(file, make_zip(members, false));
  expect_model_error(open, {file.string(), "big-endian"});
}

// conversions used by `nspbert convert`

// The reference narrowing: the compiler's _Float16 where it has one; clang 14 on x86 (the sanitizer
// build) has none, so there the F16C instruction, which rounds the same way (to nearest even).
#ifdef __FLT16_MAX__
uint16_t reference_f16(float value) { return std::bit_cast<uint16_t>(static_cast<_Float16>(value)); }
#else
__attribute__((target("f16c"))) uint16_t reference_f16(float value) {
  return static_cast<uint16_t>(_mm_cvtsi128_si32(_mm_cvtps_ph(_mm_set_ss(value), _MM_FROUND_TO_NEAREST_INT)));
}
#endif

TEST(DtypeConvert, NarrowingMatchesTheCompilersRounding) {
  for (uint64_t bits = 0; bits <= 0xffffffffu; bits += 0x1235) {
    const float value = std::bit_cast<float>(static_cast<uint32_t>(bits));
    const uint16_t ours = weights::f32_to_f16(value);
    const uint16_t compiler = reference_f16(value);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(weights::f16_to_f32(ours)));
    } else {
      ASSERT_EQ(ours, compiler) << "f32 bits " << std::hex << bits;
    }
    // bf16 keeps the f32 exponent: round-to-nearest-even on the low 16 bits, checked via doubles.
    const uint16_t brain = weights::f32_to_bf16(value);
    if (std::isnan(value)) {
      EXPECT_TRUE(std::isnan(weights::bf16_to_f32(brain)));
      continue;
    }
    const float down = std::bit_cast<float>(static_cast<uint32_t>(bits) & 0xffff0000u);
    const float up = std::bit_cast<float>((static_cast<uint32_t>(bits) & 0xffff0000u) + 0x10000u);
    const double below = std::fabs(static_cast<double>(value) - down);
    const double above = std::isinf(up) && !std::isinf(value) ? INFINITY : std::fabs(static_cast<double>(value) - up);
    const float rounded = weights::bf16_to_f32(brain);
    if ((bits & 0xffff) == 0) {
      EXPECT_EQ(std::bit_cast<uint32_t>(rounded), bits);
    } else if (below != above && !std::isinf(up)) {
      ASSERT_EQ(rounded, below < above ? down : up) << "f32 bits " << std::hex << bits;
    }
  }
}

// nspbert convert

struct CliResult {
  int exit_code;
  std::string stderr_text;
};

CliResult run_cli(const std::string& arguments, const TempDir& dir) {
  const fs::path errors = dir / "stderr.txt";
  const std::string command = std::string(NSPBERT_CLI) + " " + arguments + " 2>" + errors.string() + " >/dev/null";
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(errors)};
}

void expect_same_tensors(const WeightStore& a, const WeightStore& b, bool same_dtypes = true) {
  ASSERT_EQ(a.names(), b.names());
  for (const std::string& name : a.names()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(a.find(name)->shape, b.find(name)->shape);
    if (same_dtypes) {
      EXPECT_EQ(a.find(name)->dtype, b.find(name)->dtype);
    }
    const std::vector<float> x = a.read_f32(name), y = b.read_f32(name);
    ASSERT_EQ(x.size(), y.size());
    for (size_t i = 0; i < x.size(); ++i) expect_same_float(y[i], x[i], name);
  }
}

TEST(ConvertCommand, TurnsPytorchBinIntoSafetensors) {
  TempDir dir;
  const fs::path out = dir / "model.safetensors";
  const CliResult result = run_cli("convert --model " + kTinyBin.string() + " --output " + out.string(), dir);
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  expect_same_tensors(WeightStore::open_file(kTinyBin), WeightStore::open_file(out));

  // Header: length a multiple of 8, keys sorted, each tensor aligned to its element size.
  const std::string bytes = read_file(out);
  uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  EXPECT_EQ(header_length % 8, 0u);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_length));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  std::vector<std::string> keys;
  for (const auto& [key, value] : header.items()) keys.push_back(key);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") continue;
    const uint64_t begin = value["data_offsets"][0];
    EXPECT_EQ(begin % (value["dtype"] == "F32" ? 4 : 2), 0u) << key;
  }
}

TEST(ConvertCommand, ConvertsShardedFolderToOneDtype) {
  TempDir dir;
  write_two_shards(dir);
  write_file(dir / "model.safetensors.index.json", index_json(kTwoShardMap));
  const fs::path out = dir / "out" / "merged.safetensors";
  fs::create_directories(out.parent_path());
  const CliResult result =
      run_cli("convert --model " + dir.path().string() + " --output " + out.string() + " --dtype bf16", dir);
  ASSERT_EQ(result.exit_code, 0) << result.stderr_text;
  const WeightStore merged = WeightStore::open_file(out);
  EXPECT_EQ(merged.stored_dtypes(), "BF16");
  EXPECT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged.read_f32("bert.embeddings.word_embeddings.weight", {2, 2}), f32_ramp(4, 1, 0));
  EXPECT_EQ(merged.read_f32("bert.embeddings.LayerNorm.weight"), (std::vector<float>{1, 2}));

  const fs::path f32 = dir / "out" / "f32.safetensors";
  ASSERT_EQ(run_cli("convert --model " + out.string() + " --output " + f32.string() + " --dtype f32", dir).exit_code,
            0);
  expect_same_tensors(merged, WeightStore::open_file(f32), /*same_dtypes=*/false);
  EXPECT_EQ(WeightStore::open_file(f32).stored_dtypes(), "F32");
}

TEST(ConvertCommand, ReportsUsageAndModelErrors) {
  TempDir dir;
  const CliResult bad_dtype =
      run_cli("convert --model " + kTinyBin.string() + " --output " + (dir / "x").string() + " --dtype f64", dir);
  EXPECT_EQ(bad_dtype.exit_code, 2) << bad_dtype.stderr_text;

  const CliResult missing =
      run_cli("convert --model " + (dir / "absent").string() + " --output " + (dir / "x").string(), dir);
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.stderr_text.find("absent"), std::string::npos) << missing.stderr_text;
  EXPECT_EQ(std::count(missing.stderr_text.begin(), missing.stderr_text.end(), '\n'), 1) << missing.stderr_text;
  EXPECT_FALSE(fs::exists(dir / "x"));
}

}  // namespace
}  // namespace nspbert
