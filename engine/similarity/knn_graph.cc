#include "engine/similarity/knn_graph.h"

#include <algorithm>

namespace nspbert {

Graph undirected_graph(const std::vector<std::vector<Neighbour>>& neighbours) {
  const int64_t n = static_cast<int64_t>(neighbours.size());
  // Every directed kNN edge in both directions; an edge found from both ends appears twice and is
  // merged below (same weight either way: cosine distance is symmetric).
  std::vector<std::vector<Neighbour>> adjacent(n);
  for (int64_t i = 0; i < n; ++i) {
    for (const Neighbour& nb : neighbours[i]) {
      adjacent[i].push_back(nb);
      adjacent[nb.index].push_back({i, nb.distance});
    }
  }
  Graph g;
  g.offsets.assign(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    auto& list = adjacent[i];
    std::sort(list.begin(), list.end(), [](const Neighbour& a, const Neighbour& b) { return a.index < b.index; });
    list.erase(std::unique(list.begin(), list.end(),
                           [](const Neighbour& a, const Neighbour& b) { return a.index == b.index; }),
               list.end());
    g.offsets[i + 1] = g.offsets[i] + static_cast<int64_t>(list.size());
  }
  g.targets.reserve(g.offsets[n]);
  g.weights.reserve(g.offsets[n]);
  for (auto& list : adjacent) {
    for (const Neighbour& nb : list) {
      g.targets.push_back(nb.index);
      g.weights.push_back(nb.distance);
    }
    std::vector<Neighbour>().swap(list);
  }
  return g;
}

Graph knn_graph(const VectorSet& vectors, int64_t k) { return undirected_graph(nearest_neighbours(vectors, k)); }

}  // namespace nspbert
