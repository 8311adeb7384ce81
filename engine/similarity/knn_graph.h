#pragma once
// The undirected k-nearest-neighbour graph of docs/methods.md §7: nodes are vectors, an edge joins i
// and j when j is among i's k nearest by cosine distance or i among j's, weighted by that distance.
#include <cstdint>
#include <vector>

#include "engine/similarity/vector_math.h"

namespace nspbert {

// Adjacency in compressed rows: node i's edges are [offsets[i], offsets[i+1]).
struct Graph {
  std::vector<int64_t> offsets;  // node count + 1
  std::vector<int64_t> targets;
  std::vector<double> weights;

  int64_t nodes() const { return offsets.empty() ? 0 : static_cast<int64_t>(offsets.size()) - 1; }
  int64_t edges() const { return static_cast<int64_t>(targets.size()) / 2; }  // each stored both ways
};

// Builds the graph from per-node neighbour lists (as nearest_neighbours returns them).
Graph undirected_graph(const std::vector<std::vector<Neighbour>>& neighbours);

Graph knn_graph(const VectorSet& vectors, int64_t k);

}  // namespace nspbert
