#pragma once
// Plain-text tables for terminals: columns aligned by display width, so CJK labels (two columns
// per character) line up with ASCII ones.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert::zero_shot {

// Terminal columns the UTF-8 text occupies (wide CJK = 2, combining marks = 0).
size_t display_width(std::string_view text);
// At most `width` columns, with "…" when cut.
std::string clip_to_width(std::string_view text, size_t width);

// `text` followed by spaces up to `width` columns (clipped first when wider).
std::string pad_to_width(std::string_view text, size_t width);

class TextTable {
 public:
  // Columns listed in `right_aligned` (numbers) are padded on the left.
  explicit TextTable(std::vector<std::string> header, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

std::string percent(double fraction);  // "51.25%"

}  // namespace nspbert::zero_shot
