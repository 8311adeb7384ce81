#pragma once
// Sentence-vector arithmetic for the similarity commands: cosine, unit length, the mean vector,
// and the k nearest neighbours of every vector without ever holding the n x n similarity matrix.
#include <cstdint>
#include <vector>

namespace nspbert {

// n vectors of one dimension, row-major.
struct VectorSet {
  int64_t dim = 0;
  std::vector<float> values;  // [count][dim]

  int64_t count() const { return dim > 0 ? static_cast<int64_t>(values.size()) / dim : 0; }
  const float* row(int64_t i) const { return values.data() + i * dim; }
  float* row(int64_t i) { return values.data() + i * dim; }
  void append(const float* v);
};

// cos(a, b) in double; 0 when either vector is zero or not finite ("unrelated" to all).
double cosine_similarity(const float* a, const float* b, int64_t dim);
// 1 - cos, clamped at 0 so rounding never yields a negative edge weight.
double cosine_distance(const float* a, const float* b, int64_t dim);

// Scales v to unit length; a zero vector stays zero.
void normalize(float* v, int64_t dim);
VectorSet normalized(const VectorSet& set);

// Element-wise mean of all rows (the "centre" of a document's sentence vectors).
std::vector<float> mean_vector(const VectorSet& set);

struct Neighbour {
  int64_t index = 0;
  double distance = 0;  // cosine distance
};

// For every row, its k nearest other rows by cosine distance, nearest first (ties: lower index).
// k is clamped to count - 1. Similarities come from a blocked matrix product (oneDNN sgemm) one
// block of rows at a time, keeping only each row's top k, so memory is O(block * n + n * k);
// the kept distances are then recomputed exactly in double.
std::vector<std::vector<Neighbour>> nearest_neighbours(const VectorSet& set, int64_t k);

}  // namespace nspbert
