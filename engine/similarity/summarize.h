#pragma once
// Extractive, opinion-focused summaries (docs/methods.md §7): the sentences nearest a centre by
// geodesic distance over the sentences' kNN graph, given back in document order.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nspbert {

// Splits after 。！？!?… and line breaks, and after '.' when a space or the end follows; runs of
// terminators and closing quotes or brackets stay with their sentence. Pieces are trimmed and
// empty ones dropped. Invalid UTF-8 bytes pass through as ordinary characters.
std::vector<std::string> split_sentences(std::string_view text);

struct SummaryPick {
  int64_t index = 0;  // into the sentence list
  double distance = 0;
};

// The `count` nearest reachable sentences (ties: earlier first), in document order.
std::vector<SummaryPick> pick_nearest(const std::vector<double>& distances, int64_t count);

}  // namespace nspbert
