#include "engine/similarity/geodesic.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <queue>
#include <utility>

#include "engine/error.h"

namespace nspbert {

std::vector<double> shortest_paths(const Graph& graph, int64_t source) {
  const int64_t n = graph.nodes();
  if (source < 0 || source >= n) fail_usage("the shortest-path source is not a node of the graph");
  std::vector<double> distance(n, kUnreachable);
  std::vector<char> settled(n, 0);
  using Entry = std::pair<double, int64_t>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> frontier;
  distance[source] = 0;
  frontier.push({0.0, source});
  while (!frontier.empty()) {
    const auto [d, u] = frontier.top();
    frontier.pop();
    if (settled[u]) continue;  // a stale entry: u was reached more cheaply before
    settled[u] = 1;
    for (int64_t e = graph.offsets[u]; e < graph.offsets[u + 1]; ++e) {
      const int64_t v = graph.targets[e];
      const double through = d + graph.weights[e];
      if (through < distance[v]) {
        distance[v] = through;
        frontier.push({through, v});
      }
    }
  }
  return distance;
}

std::vector<double> geodesic_distances(const VectorSet& vectors, const float* centre, int64_t k) {
  VectorSet nodes;
  nodes.dim = vectors.dim;
  nodes.values.reserve(vectors.values.size() + vectors.dim);
  nodes.append(centre);  // node 0
  nodes.values.insert(nodes.values.end(), vectors.values.begin(), vectors.values.end());
  const std::vector<double> from_centre = shortest_paths(knn_graph(nodes, k), 0);
  return std::vector<double>(from_centre.begin() + 1, from_centre.end());
}

std::vector<double> cosine_distances(const VectorSet& vectors, const float* centre) {
  std::vector<double> out(vectors.count());
  for (int64_t i = 0; i < vectors.count(); ++i) out[i] = cosine_distance(vectors.row(i), centre, vectors.dim);
  return out;
}

std::vector<int64_t> nearest_first(const std::vector<double>& distances) {
  std::vector<int64_t> order(distances.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return distances[a] < distances[b]; });
  return order;
}

double proximity_score(double distance) { return 1.0 / std::max(distance, 1e-9); }

}  // namespace nspbert
