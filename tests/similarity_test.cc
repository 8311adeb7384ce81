// Vector math, the kNN graph, Dijkstra and summary selection against hand-worked graphs and plain
// loops written here (brute-force neighbours, Floyd-Warshall), never against the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "engine/similarity/geodesic.h"
#include "engine/similarity/knn_graph.h"
#include "engine/similarity/summarize.h"
#include "engine/similarity/vector_math.h"

using namespace nspbert;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

VectorSet make_set(int64_t dim, const std::vector<float>& values) {
  VectorSet s;
  s.dim = dim;
  s.values = values;
  return s;
}

VectorSet random_set(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  VectorSet s;
  s.dim = dim;
  s.values.resize(n * dim);
  for (auto& x : s.values) x = dist(rng);
  return s;
}

// Unit vectors at the given angles (degrees) in the plane.
VectorSet on_circle(const std::vector<double>& degrees) {
  VectorSet s;
  s.dim = 2;
  for (double d : degrees) {
    s.values.push_back(static_cast<float>(std::cos(d * M_PI / 180)));
    s.values.push_back(static_cast<float>(std::sin(d * M_PI / 180)));
  }
  return s;
}

double plain_cosine_distance(const VectorSet& s, int64_t i, int64_t j) {
  double ab = 0, aa = 0, bb = 0;
  for (int64_t d = 0; d < s.dim; ++d) {
    ab += double(s.row(i)[d]) * s.row(j)[d];
    aa += double(s.row(i)[d]) * s.row(i)[d];
    bb += double(s.row(j)[d]) * s.row(j)[d];
  }
  return 1.0 - ab / std::sqrt(aa * bb);
}

// The whole geodesic definition the slow way: all pairwise distances, the either-way kNN edge
// rule, then Floyd-Warshall.
std::vector<std::vector<double>> plain_geodesic(const VectorSet& s, int64_t k) {
  const int64_t n = s.count();
  std::vector<std::vector<double>> dist(n, std::vector<double>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) dist[i][j] = plain_cosine_distance(s, i, j);
  std::vector<std::vector<bool>> near(n, std::vector<bool>(n, false));
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> others;
    for (int64_t j = 0; j < n; ++j)
      if (j != i) others.push_back(j);
    std::stable_sort(others.begin(), others.end(), [&](int64_t a, int64_t b) { return dist[i][a] < dist[i][b]; });
    for (int64_t m = 0; m < std::min<int64_t>(k, others.size()); ++m) near[i][others[m]] = true;
  }
  std::vector<std::vector<double>> g(n, std::vector<double>(n, kInf));
  for (int64_t i = 0; i < n; ++i) {
    g[i][i] = 0;
    for (int64_t j = 0; j < n; ++j)
      if (i != j && (near[i][j] || near[j][i])) g[i][j] = dist[i][j];
  }
  for (int64_t m = 0; m < n; ++m)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) g[i][j] = std::min(g[i][j], g[i][m] + g[m][j]);
  return g;
}

}  // namespace

TEST(VectorMath, CosineOfHandPickedVectors) {
  const float a[] = {1, 0}, b[] = {1, 1}, c[] = {-2, 0}, zero[] = {0, 0};
  EXPECT_NEAR(cosine_similarity(a, b, 2), 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(cosine_distance(a, b, 2), 1 - 1 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(cosine_distance(a, c, 2), 2.0, 1e-12);
  EXPECT_EQ(cosine_distance(a, a, 2), 0.0);
  EXPECT_EQ(cosine_similarity(a, zero, 2), 0.0);  // a zero vector is unrelated to everything
  EXPECT_EQ(cosine_distance(zero, zero, 2), 1.0);
  const float nan[] = {std::nanf(""), 1};
  EXPECT_EQ(cosine_distance(a, nan, 2), 1.0);
}

TEST(VectorMath, NormalizeAndMean) {
  float v[] = {3, 4};
  normalize(v, 2);
  EXPECT_NEAR(v[0], 0.6, 1e-7);
  EXPECT_NEAR(v[1], 0.8, 1e-7);
  float zero[] = {0, 0};
  normalize(zero, 2);
  EXPECT_EQ(zero[0], 0.0f);
  const VectorSet s = make_set(3, {1, 2, 3, 3, 2, 1, 2, 2, 8});
  EXPECT_EQ(s.count(), 3);
  const std::vector<float> mean = mean_vector(s);
  EXPECT_FLOAT_EQ(mean[0], 2);
  EXPECT_FLOAT_EQ(mean[1], 2);
  EXPECT_FLOAT_EQ(mean[2], 4);
  const VectorSet unit = normalized(s);
  for (int64_t i = 0; i < 3; ++i) {
    double sq = 0;
    for (int64_t d = 0; d < 3; ++d) sq += double(unit.row(i)[d]) * unit.row(i)[d];
    EXPECT_NEAR(sq, 1.0, 1e-6);
  }
}

TEST(VectorMath, NearestNeighboursMatchBruteForceAcrossBlocks) {
  // 600 rows: more than one 256-row block, and a ragged last block.
  const VectorSet s = random_set(600, 24, 7);
  const int64_t k = 6;
  const auto got = nearest_neighbours(s, k);
  ASSERT_EQ(got.size(), 600u);
  for (int64_t i = 0; i < s.count(); ++i) {
    std::vector<std::pair<double, int64_t>> all;
    for (int64_t j = 0; j < s.count(); ++j)
      if (j != i) all.push_back({plain_cosine_distance(s, i, j), j});
    std::sort(all.begin(), all.end());
    ASSERT_EQ(got[i].size(), size_t(k));
    for (int64_t m = 0; m < k; ++m) {
      EXPECT_EQ(got[i][m].index, all[m].second) << "row " << i << " rank " << m;
      EXPECT_NEAR(got[i][m].distance, all[m].first, 1e-9);
    }
  }
}

TEST(VectorMath, NeighbourCountClampedAndValidated) {
  const VectorSet s = on_circle({0, 10, 30});
  const auto got = nearest_neighbours(s, 50);
  ASSERT_EQ(got[0].size(), 2u);
  EXPECT_EQ(got[0][0].index, 1);
  EXPECT_EQ(got[0][1].index, 2);
  EXPECT_EQ(got[2][0].index, 1);
  EXPECT_TRUE(nearest_neighbours(on_circle({0}), 3)[0].empty());
  EXPECT_THROW(nearest_neighbours(s, 0), std::exception);
}

TEST(KnnGraph, EdgeWhenEitherEndChoseIt) {
  // Node 0 picks 1; 1 picks 0 (mutual: one edge); 2 picks 1 (one-sided: still an edge); 3 picks 2.
  const std::vector<std::vector<Neighbour>> lists = {{{1, 0.5}}, {{0, 0.5}}, {{1, 0.25}}, {{2, 1.0}}};
  const Graph g = undirected_graph(lists);
  EXPECT_EQ(g.nodes(), 4);
  EXPECT_EQ(g.edges(), 3);
  const auto neighbours_of = [&](int64_t i) {
    std::set<std::pair<int64_t, double>> out;
    for (int64_t e = g.offsets[i]; e < g.offsets[i + 1]; ++e) out.insert({g.targets[e], g.weights[e]});
    return out;
  };
  EXPECT_EQ(neighbours_of(0), (std::set<std::pair<int64_t, double>>{{1, 0.5}}));
  EXPECT_EQ(neighbours_of(1), (std::set<std::pair<int64_t, double>>{{0, 0.5}, {2, 0.25}}));
  EXPECT_EQ(neighbours_of(2), (std::set<std::pair<int64_t, double>>{{1, 0.25}, {3, 1.0}}));
  EXPECT_EQ(neighbours_of(3), (std::set<std::pair<int64_t, double>>{{2, 1.0}}));
}

TEST(Geodesic, DijkstraOnHandGraph) {
  // 0-1 (1), 1-2 (1), 0-2 (5): the detour is shorter. 3-4 (2) is another component.
  const std::vector<std::vector<Neighbour>> lists = {{{1, 1.0}, {2, 5.0}}, {{2, 1.0}}, {}, {{4, 2.0}}, {}};
  const Graph g = undirected_graph(lists);
  const std::vector<double> d = shortest_paths(g, 0);
  EXPECT_DOUBLE_EQ(d[0], 0);
  EXPECT_DOUBLE_EQ(d[1], 1);
  EXPECT_DOUBLE_EQ(d[2], 2);
  EXPECT_EQ(d[3], kUnreachable);
  EXPECT_EQ(d[4], kUnreachable);
  EXPECT_DOUBLE_EQ(shortest_paths(g, 4)[3], 2);
  EXPECT_THROW(shortest_paths(g, 5), std::exception);
}

TEST(Geodesic, ChainOnAnArcAddsUpTheSteps) {
  // Growing steps (4, 5, 6, 7, 8 degrees): with k = 1 every point's nearest is the one before it
  // (point 1's is point 0), so the graph is a chain and the geodesic distance is the sum of steps.
  const std::vector<double> steps = {4, 5, 6, 7, 8};
  std::vector<double> angles = {0};
  for (double s : steps) angles.push_back(angles.back() + s);
  const VectorSet points = on_circle(angles);
  const float centre[] = {1, 0};  // at 0 degrees, where point 0 also sits
  VectorSet texts = points;
  const std::vector<double> d = geodesic_distances(texts, centre, 1);
  ASSERT_EQ(d.size(), angles.size());
  double along = 0;
  EXPECT_NEAR(d[0], 0, 1e-7);
  for (size_t i = 1; i < angles.size(); ++i) {
    along += 1 - std::cos(steps[i - 1] * M_PI / 180);
    EXPECT_NEAR(d[i], along, 1e-6) << i;
    EXPECT_LT(d[i], 1 - std::cos(angles[i] * M_PI / 180));  // shorter than the straight cut
  }
  const std::vector<double> direct = cosine_distances(texts, centre);
  for (size_t i = 0; i < angles.size(); ++i) EXPECT_NEAR(direct[i], 1 - std::cos(angles[i] * M_PI / 180), 1e-6);
}

TEST(Geodesic, MatchesFloydWarshallOnRandomSets) {
  for (int64_t k : {1, 2, 4}) {
    VectorSet nodes = random_set(60, 5, static_cast<uint32_t>(11 + k));
    VectorSet texts;
    texts.dim = nodes.dim;
    texts.values.assign(nodes.values.begin() + nodes.dim, nodes.values.end());
    const std::vector<double> got = geodesic_distances(texts, nodes.row(0), k);
    const auto want = plain_geodesic(nodes, k);  // node 0 is the centre
    for (int64_t i = 0; i < texts.count(); ++i) {
      if (std::isinf(want[0][i + 1])) {
        EXPECT_TRUE(std::isinf(got[i])) << "k " << k << " node " << i;
      } else {
        EXPECT_NEAR(got[i], want[0][i + 1], 1e-9) << "k " << k << " node " << i;
      }
    }
  }
}

TEST(Geodesic, FarClustersAreUnreachable) {
  // Two tight clusters on opposite sides; with k = 2 no edge crosses.
  const VectorSet texts = on_circle({1, 2, 3, 180, 181, 182});
  const float centre[] = {1, 0};
  const std::vector<double> d = geodesic_distances(texts, centre, 2);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(d[i]));
  for (int i = 3; i < 6; ++i) EXPECT_EQ(d[i], kUnreachable);
}

TEST(Geodesic, OrderAndScore) {
  const std::vector<double> d = {0.3, kUnreachable, 0.1, 0.3, 0.2};
  EXPECT_EQ(nearest_first(d), (std::vector<int64_t>{2, 4, 0, 3, 1}));
  EXPECT_DOUBLE_EQ(proximity_score(0.25), 4.0);
  EXPECT_DOUBLE_EQ(proximity_score(0.0), 1e9);
}

TEST(Summarize, SplitsChineseAndEnglishSentences) {
  EXPECT_EQ(split_sentences("屏幕很好。电池一般！还会买吗？会的"),
            (std::vector<std::string>{"屏幕很好。", "电池一般！", "还会买吗？", "会的"}));
  EXPECT_EQ(split_sentences("他说：“太好了！”然后走了……真的"),
            (std::vector<std::string>{"他说：“太好了！”", "然后走了……", "真的"}));
  EXPECT_EQ(split_sentences("It costs 3.5 dollars. Great value!! Would buy again?  Yes."),
            (std::vector<std::string>{"It costs 3.5 dollars.", "Great value!!", "Would buy again?", "Yes."}));
  EXPECT_EQ(split_sentences("line one\nline two\r\n\n"), (std::vector<std::string>{"line one", "line two"}));
  EXPECT_EQ(split_sentences("　全角空格。　"), (std::vector<std::string>{"全角空格。"}));
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences(" \n。").size() == 1);
  // Invalid UTF-8 passes through without a crash.
  EXPECT_EQ(split_sentences("a\xff\xfe b. c").size(), 2u);
}

TEST(Summarize, PicksNearestReachableInDocumentOrder) {
  const std::vector<double> d = {0.5, 0.1, kUnreachable, 0.05, 0.3, 0.1};
  const auto picks = pick_nearest(d, 3);
  ASSERT_EQ(picks.size(), 3u);
  EXPECT_EQ(picks[0].index, 1);
  EXPECT_EQ(picks[1].index, 3);
  EXPECT_EQ(picks[2].index, 5);
  EXPECT_DOUBLE_EQ(picks[1].distance, 0.05);
  EXPECT_EQ(pick_nearest(d, 10).size(), 5u);  // the unreachable one is never picked
  EXPECT_TRUE(pick_nearest({}, 3).empty());
}
