// nspbert merge: the outputs of `--shard I/N` runs joined in input order, byte for byte the
// unsharded run's output; refused, with nothing written, unless every non-blank input line is
// answered exactly once (engine/io/shard_merge.h).
#include <memory>

#include "engine/io/shard_merge.h"
#include "tools/cli/command.h"
#include "tools/cli/stream_command.h"

namespace nspbert::cli {
namespace {

const bool registered = register_command(
    {"merge", "Join the outputs of --shard runs in input order, each non-blank input line answered exactly once",
     [](CLI::App& app) -> Runner {
       auto request = std::make_shared<io::MergeRequest>();
       app.add_option("--input", request->input, "The input the shards ran on: which lines must be answered")
           ->required();
       app.add_option("--output", request->output, "Write here (via FILE.partial, renamed when complete)")->required();
       app.add_flag("--with-line-numbers", request->keep_line_numbers,
                    "Keep the input_line field, as an unsharded --with-line-numbers run writes it");
       app.add_option("SHARD", request->shards, "Outputs of the shard runs, in any order")->required();
       return [request] {
         refuse_output_over_input(request->output, request->input);
         for (const std::string& shard : request->shards) refuse_output_over_input(request->output, shard);
         io::merge_shards(*request);
         return 0;
       };
     }});

}  // namespace
}  // namespace nspbert::cli
