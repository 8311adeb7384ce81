#include "tokenizer/sentencepiece_tokenizer.h"

#include <sentencepiece_processor.h>
#include <utf8proc.h>

#include "engine/error.h"

namespace nspbert {
namespace {

// SentencePiece wants valid UTF-8. The prepared text is what it gets; source[i] is the input
// byte where prepared byte i came from, with source[prepared.size()] == input size.
struct PreparedText {
  std::string text;
  std::vector<size_t> source;
};

bool is_valid_utf8(std::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    if (bytes[pos] < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t cp = 0;
    const auto length = utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (length <= 0 || cp < 0) return false;
    pos += static_cast<size_t>(length);
  }
  return true;
}

PreparedText prepare(std::string_view text, bool lowercase) {
  PreparedText prepared;
  prepared.text.reserve(text.size());
  prepared.source.reserve(text.size() + 1);
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t begin = pos;
    utf8proc_int32_t cp = 0;
    const auto length = utf8proc_iterate(bytes + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (length <= 0 || cp < 0) {
      cp = 0xFFFD;
      pos += 1;
    } else {
      pos += static_cast<size_t>(length);
    }
    if (lowercase) cp = utf8proc_tolower(cp);
    utf8proc_uint8_t encoded[4];
    const auto encoded_length = static_cast<size_t>(utf8proc_encode_char(cp, encoded));
    prepared.text.append(reinterpret_cast<const char*>(encoded), encoded_length);
    prepared.source.insert(prepared.source.end(), encoded_length, begin);
  }
  prepared.source.push_back(text.size());
  return prepared;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_file, bool lowercase)
    : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()), lowercase_(lowercase) {
  const auto status = processor_->Load(model_file.string());
  if (!status.ok()) fail_model("cannot load SentencePiece model " + model_file.string() + ": " + status.ToString());
  special_.cls = first_known({"[CLS]", "<s>"}).value_or(-1);
  special_.sep = first_known({"[SEP]", "</s>"}).value_or(-1);
  special_.pad = first_known({"<pad>", "[PAD]"}).value_or(-1);
  special_.unk = processor_->unk_id();
  special_.mask = first_known({"[MASK]", "<mask>"}).value_or(-1);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::optional<int32_t> SentencePieceTokenizer::first_known(std::initializer_list<std::string_view> candidates) const {
  for (const auto candidate : candidates) {
    if (const auto id = id_of(candidate)) return id;
  }
  return std::nullopt;
}

size_t SentencePieceTokenizer::vocab_size() const { return static_cast<size_t>(processor_->GetPieceSize()); }

std::optional<int32_t> SentencePieceTokenizer::id_of(std::string_view token) const {
  // PieceToId answers unk_id for anything it does not know.
  const int id = processor_->PieceToId(token);
  if (id < 0 || (id == processor_->unk_id() && token != processor_->IdToPiece(id))) return std::nullopt;
  return id;
}

std::string_view SentencePieceTokenizer::token_of(int32_t id) const {
  if (id < 0 || id >= processor_->GetPieceSize()) return {};
  return processor_->IdToPiece(id);
}

std::vector<Token> SentencePieceTokenizer::tokenize(std::string_view text) const {
  const bool remap = lowercase_ || !is_valid_utf8(text);
  PreparedText prepared;
  if (remap) prepared = prepare(text, lowercase_);
  const auto encoded = processor_->EncodeAsImmutableProto(remap ? std::string_view(prepared.text) : text);
  std::vector<Token> tokens;
  tokens.reserve(encoded.pieces_size());
  for (const auto& piece : encoded.pieces()) {
    size_t begin = piece.begin(), end = piece.end();
    if (remap) {
      begin = prepared.source[std::min<size_t>(begin, prepared.text.size())];
      end = prepared.source[std::min<size_t>(end, prepared.text.size())];
    }
    tokens.push_back(Token{piece.piece(), static_cast<int32_t>(piece.id()), begin, end});
  }
  return tokens;
}

}  // namespace nspbert
