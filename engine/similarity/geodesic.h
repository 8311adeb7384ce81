#pragma once
// Geodesic distance (docs/methods.md §7): shortest-path length through the kNN graph, which follows
// the data's manifold instead of cutting straight across it.
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/similarity/knn_graph.h"

namespace nspbert {

inline constexpr double kUnreachable = std::numeric_limits<double>::infinity();

// Dijkstra with a binary heap from `source`; kUnreachable for nodes in another component.
std::vector<double> shortest_paths(const Graph& graph, int64_t source);

// Distances from `centre` to every vector over the graph on {centre} ∪ vectors (the centre is a
// node of the graph, so it also shapes its neighbours' neighbour lists).
std::vector<double> geodesic_distances(const VectorSet& vectors, const float* centre, int64_t k);

// Plain cosine distances from `centre` to every vector.
std::vector<double> cosine_distances(const VectorSet& vectors, const float* centre);

// Indices sorted by distance, nearest first; ties keep input order, unreachable ones come last.
std::vector<int64_t> nearest_first(const std::vector<double>& distances);

// score = 1 / distance (docs/methods.md §7). The distance is floored at 1e-9 so an identical vector
// gets a large finite score rather than infinity (JSON has no infinity).
double proximity_score(double distance);

}  // namespace nspbert
