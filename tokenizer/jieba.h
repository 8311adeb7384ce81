#pragma once
// jieba's word segmentation without the HMM (`jieba.cut(text, HMM=False)`, jieba 0.42.1), which
// RoFormer's Chinese tokenizer runs before WordPiece. Same dictionary format, same route, same
// pieces; the semantics are those of jieba/__init__.py (Tokenizer.gen_pfdict, get_DAG, calc,
// __cut_DAG_NO_HMM and cut), reimplemented here.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert {

// Memory for the trie's edge table: 2 MB aligned and marked for transparent huge pages when it is
// that large, so that loading jieba's dictionary takes a few page faults and lookups few TLB misses.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n);
  void deallocate(T* p, size_t) { std::free(p); }
  bool operator==(const HugePageAllocator&) const { return true; }
};

// jieba's prefix dictionary as a trie over code points: every dictionary word and every prefix
// of one is a node ("in FREQ"), words carry their frequency, prefixes frequency 0.
class JiebaDictionary {
 public:
  // dict.txt: one `word freq [tag]` per line, UTF-8. Any line jieba refuses, an empty file, a
  // negative or overflowing frequency, or no positive frequency at all: fail_model naming the
  // file and the line.
  static std::shared_ptr<const JiebaDictionary> load(const std::filesystem::path& file);
  // The same from text in memory; `name` stands for the file in error messages.
  static std::shared_ptr<const JiebaDictionary> parse(std::string_view text, const std::string& name);

  static constexpr int32_t kRoot = 0;
  static constexpr int32_t kNoNode = -1;
  int32_t child(int32_t node, char32_t cp) const;
  // log(freq or 1) - log(total): the weight jieba's route gives the word ending at `node`.
  double log_weight(int32_t node) const { return log_weight_[static_cast<size_t>(node)]; }
  bool is_word(int32_t node) const { return is_word_[static_cast<size_t>(node)] != 0; }
  double log_total() const { return log_total_; }

  size_t words() const { return words_; }
  size_t nodes() const { return log_weight_.size(); }
  const std::string& source() const { return source_; }

 private:
  int32_t add_child(int32_t node, char32_t cp);
  void grow_table(size_t capacity);

  // Children of the root in the Basic Multilingual Plane, indexed by code point: most walks
  // start there. Every other edge sits in an open-addressing table keyed by (parent, code point).
  std::vector<int32_t> root_bmp_;
  struct Edge {
    uint64_t key = 0;  // 0: empty (no edge has key 0, see edge_key)
    int32_t child = kNoNode;
  };
  std::vector<Edge, HugePageAllocator<Edge>> edges_;
  size_t edge_count_ = 0;
  int shift_ = 64;  // edge_slot's shift for the table's size
  std::vector<double> log_weight_;
  std::vector<uint8_t> is_word_;  // frequency > 0: a DAG end
  double log_total_ = 0;
  size_t words_ = 0;
  std::string source_;
};

// One piece of the cut: byte offsets into the text.
struct TextSpan {
  size_t begin = 0;
  size_t end = 0;
};

// Appends the pieces of `jieba.cut(text, HMM=False)` to `out`, in order; they cover the text.
// Invalid UTF-8 bytes are pieces of one byte each (Python would never see them).
void jieba_cut(const JiebaDictionary& dictionary, std::string_view text, std::vector<TextSpan>& out);

}  // namespace nspbert
