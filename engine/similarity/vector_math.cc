#include "engine/similarity/vector_math.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/error.h"

namespace nspbert {

void VectorSet::append(const float* v) { values.insert(values.end(), v, v + dim); }

double cosine_similarity(const float* a, const float* b, int64_t dim) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < dim; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  const double cos = ab / (std::sqrt(aa) * std::sqrt(bb));
  // Zero vectors (and non-finite ones) count as unrelated to everything.
  return std::isfinite(cos) ? cos : 0.0;
}

double cosine_distance(const float* a, const float* b, int64_t dim) {
  return std::max(0.0, 1.0 - cosine_similarity(a, b, dim));
}

void normalize(float* v, int64_t dim) {
  double squares = 0;
  for (int64_t i = 0; i < dim; ++i) squares += static_cast<double>(v[i]) * v[i];
  if (squares == 0) return;
  const double scale = 1.0 / std::sqrt(squares);
  for (int64_t i = 0; i < dim; ++i) v[i] = static_cast<float>(v[i] * scale);
}

VectorSet normalized(const VectorSet& set) {
  VectorSet out = set;
  for (int64_t i = 0; i < out.count(); ++i) normalize(out.row(i), out.dim);
  return out;
}

std::vector<float> mean_vector(const VectorSet& set) {
  std::vector<double> sum(set.dim, 0.0);
  const int64_t n = set.count();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < set.dim; ++d) sum[d] += set.row(i)[d];
  std::vector<float> mean(set.dim, 0.0f);
  if (n > 0)
    for (int64_t d = 0; d < set.dim; ++d) mean[d] = static_cast<float>(sum[d] / n);
  return mean;
}

namespace {

// Candidate order: more similar first, then lower index (a deterministic tie rule).
struct Candidate {
  float similarity;
  int64_t index;
};
bool better(const Candidate& a, const Candidate& b) {
  return a.similarity > b.similarity || (a.similarity == b.similarity && a.index < b.index);
}

// The k best of one row of similarities, skipping the row itself, via a bounded heap whose top is
// the worst kept candidate.
void top_k(const float* similarities, int64_t n, int64_t self, int64_t k, std::vector<Candidate>& heap) {
  heap.clear();
  for (int64_t j = 0; j < n; ++j) {
    if (j == self) continue;
    const Candidate c{similarities[j], j};
    if (static_cast<int64_t>(heap.size()) < k) {
      heap.push_back(c);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (better(c, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = c;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), better);
}

}  // namespace

std::vector<std::vector<Neighbour>> nearest_neighbours(const VectorSet& set, int64_t k) {
  const int64_t n = set.count(), dim = set.dim;
  if (k < 1) fail_usage("the neighbour count k must be at least 1");
  std::vector<std::vector<Neighbour>> result(n);
  k = std::min(k, n - 1);
  if (k <= 0) return result;

  const VectorSet unit = normalized(set);
  // Rows per block: 256 (10 MB of similarities at n = 10,000), fewer for huge n so the block
  // stays near 64 MB.
  const int64_t block = std::min(n, std::clamp<int64_t>((int64_t{1} << 24) / n, 8, 256));
  std::vector<float> similarities(block * n);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t rows = std::min(block, n - first);
    const dnnl_status_t status = dnnl_sgemm('N', 'T', rows, n, dim, 1.0f, unit.row(first), dim, unit.values.data(), dim,
                                            0.0f, similarities.data(), n);
    if (status != dnnl_success)
      throw Error(ErrorKind::Internal, "the similarity matrix product failed (oneDNN status " +
                                           std::to_string(static_cast<int>(status)) + ")");
#pragma omp parallel
    {
      std::vector<Candidate> heap;
      heap.reserve(k + 1);
#pragma omp for schedule(static)
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = first + r;
        top_k(similarities.data() + r * n, n, i, k, heap);
        std::vector<Neighbour>& out = result[i];
        out.reserve(k);
        for (const Candidate& c : heap) out.push_back({c.index, cosine_distance(set.row(i), set.row(c.index), dim)});
        // The exact distances may reorder float near-ties; keep the list nearest first.
        std::stable_sort(out.begin(), out.end(),
                         [](const Neighbour& a, const Neighbour& b) { return a.distance < b.distance; });
      }
    }
  }
  return result;
}

}  // namespace nspbert
