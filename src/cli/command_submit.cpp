// mesoflow submit: queues one task (store::NewTask) and prints its id.
// Whatever the options leave out takes the queue table's defaults.
// `submit --from FILE` queues a file of JSON lines (task_json.hpp) in one
// transaction through COPY (TaskStore::insert_tasks).
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/invocation.hpp"
#include "cli/task_json.hpp"
#include "mesoflow/store/task_store.hpp"

namespace mesoflow::cli {
namespace {

const CommandSpec kSpec{
    .name = "submit",
    .usage =
        R"(usage: mesoflow submit --key KEY [OPTIONS] -- PROGRAM [ARGS...]
       mesoflow submit --key KEY [OPTIONS] --shell 'COMMAND'
       mesoflow submit --key KEY [OPTIONS] --image IMAGE
       mesoflow submit --from FILE [--skip-existing]

Queues a task in mesoflow.tasks and prints its id. `mesoflow run` launches it
on the first offer that fits. Options left out take the queue table's defaults
(1 cpu, 256 MB, 3 attempts; README "The queue table").

Many tasks at once:
  --from FILE               queue one task per line of FILE (- for stdin), each a
                            JSON object whose fields are the queue table's
                            columns: {"key": "etl.1", "argv": ["etl", "1"],
                            "cpus": 0.5}; also command (or shell), image,
                            containerizer, force_pull, volumes, network,
                            network_name, docker_parameters, mem, disk, gpus,
                            ports, env, uris, run_as_user (or user), labels,
                            role, constraints, priority, max_attempts (or
                            attempts), retry_backoff_s, retry_on_failure,
                            timeout_s, queue, not_before. All or nothing: a
                            line that is not such an object, or that the table
                            refuses, fails the whole file with its line number,
                            and nothing is queued. Blank lines are skipped; a
                            line longer than 1 MiB is refused. Prints how many
                            were queued, and how fast.
  --skip-existing           with --from: skip a task whose key is already queued
                            (or earlier in the file) and count it, instead of
                            failing the file

What to run:
  -- PROGRAM ARGS...        run PROGRAM with ARGS, without a shell
  --shell 'COMMAND'         run COMMAND with /bin/sh -c
  --image IMAGE             container image (with neither of the above, its entrypoint runs);
                            '' runs without one, whatever the queue's default
  --containerizer docker|mesos
                            how to run the image (default docker)
  --force-pull              pull the image even when the agent has it
  --volume HOST:CONTAINER[:ro|rw]
                            mount the absolute HOST path at CONTAINER (default ro;
                            repeatable); one not under allowed_volume_paths fails
                            the task
  --network host|bridge|none|user[:NAME]
                            the network the container joins (user: the Docker or
                            CNI network NAME); one not in allowed_networks fails
                            the task
  --docker-parameter KEY=VALUE
                            docker run option --KEY=VALUE (repeatable); a KEY not
                            in allowed_docker_parameters fails the task
  --env NAME=VALUE          environment variable (repeatable)
  --uri URI                 fetched into the sandbox first (repeatable)
  --user USER               run as USER (default: the framework's user); one not
                            in allowed_users fails the task

Resources and placement:
  --cpus N  --mem MB  --disk MB  --gpus N
  --ports N                 take N ports from the offer
  --role ROLE               use resources of this role only; one not in
                            allowed_roles fails the task
  --constraint ATTRIBUTE:OP[:VALUE]
                            placement rule (repeatable); OP is EQUALS, NOT_EQUALS,
                            LIKE, UNLIKE (VALUE an RE2 regular expression the
                            whole attribute must match) or EXISTS;
                            ATTRIBUTE `hostname` is the agent's hostname
  --label NAME=VALUE        Mesos task label (repeatable)

Scheduling:
  --key KEY                 unique name of the task (required)
  --queue NAME              the queue it waits in (default: default); unset
                            resources, role, constraints and image come from
                            the queue's defaults (mesoflow queue set)
  --priority N              higher launches first (default 0)
  --attempts N              launches allowed in all (default 3)
  --retry-backoff SECONDS   wait before a retry, doubled per attempt (default 15)
  --retry-on-failure        also retry when the command fails (lost tasks always are)
  --timeout SECONDS         kill the task this long after it started running

Exit codes: 0 queued, 1 refused by the database (the message names the rule)
or a line of --from FILE refused, 2 usage error.
)",
    .options = {{"key"},
                {"shell"},
                {"image"},
                {"containerizer"},
                {"force-pull", false},
                {"env"},
                {"uri"},
                {"user"},
                {"cpus"},
                {"mem"},
                {"disk"},
                {"gpus"},
                {"ports"},
                {"role"},
                {"constraint"},
                {"label"},
                {"priority"},
                {"attempts"},
                {"retry-backoff"},
                {"retry-on-failure", false},
                {"timeout"},
                {"volume"},
                {"network"},
                {"docker-parameter"},
                {"queue"},
                {"from"},
                {"skip-existing", false}},
    .takes_command = true,
};

Result<std::pair<std::string, std::string>> name_value(std::string_view option,
                                                       const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        return Error{fmt::format("--{}: expected NAME=VALUE, got '{}'", option, text)};
    return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

// --volume HOST:CONTAINER[:ro|rw] (the paths the queue table takes hold no ':').
Result<task::Volume> volume(const std::string& text) {
    const auto usage = [&] {
        return Error{fmt::format("--volume: expected HOST:CONTAINER[:ro|rw], got '{}'", text)};
    };
    const auto first = text.find(':');
    if (first == std::string::npos || first == 0)
        return usage();
    const auto second = text.find(':', first + 1);
    task::Volume out;
    out.host_path = text.substr(0, first);
    out.container_path = text.substr(
        first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (out.container_path.empty())
        return usage();
    if (second != std::string::npos) {
        const std::string mode = text.substr(second + 1);
        if (mode != "ro" && mode != "rw")
            return usage();
        out.read_only = mode == "ro";
    }
    return out;
}

// The task the options describe, or a usage error.
Result<store::NewTask> new_task(const Invocation& inv) {
    store::NewTask task;
    task.key = inv.value("key").value_or("");
    if (task.key.empty())
        return Error{"--key KEY is required: the task's unique name"};
    if (inv.has("shell") && inv.has_command)
        return Error{"give either --shell 'COMMAND' or -- PROGRAM ARGS..., not both"};
    if (auto shell = inv.value("shell"))
        task.command = *shell;
    if (inv.has_command) {
        if (inv.command.empty())
            return Error{"nothing after '--': give PROGRAM ARGS..."};
        task.argv = inv.command;
    }
    task.image = inv.value("image");
    if (!task.command && task.argv.empty() && task.image.value_or("").empty()) {
        return Error{"nothing to run: give -- PROGRAM ARGS..., --shell 'COMMAND' or --image IMAGE"};
    }
    if (auto c = inv.value("containerizer")) {
        const auto parsed = task::parse_containerizer(*c);
        if (!parsed || *parsed == task::Containerizer::none)
            return Error{fmt::format("--containerizer: expected docker or mesos, got '{}'", *c)};
        task.containerizer = *parsed;
    }
    task.force_pull = inv.has("force-pull");
    task.retry_on_failure = inv.has("retry-on-failure");
    task.user = inv.value("user").value_or("");
    task.role = inv.value("role").value_or("");
    task.uris = inv.values("uri");
    for (const auto& text : inv.values("env")) {
        auto pair = name_value("env", text);
        if (!pair)
            return pair.error();
        task.env.push_back(std::move(*pair));
    }
    for (const auto& text : inv.values("label")) {
        auto pair = name_value("label", text);
        if (!pair)
            return pair.error();
        task.labels.push_back(std::move(*pair));
    }
    if (auto text = inv.value("queue"))
        task.queue = *text;
    for (const auto& text : inv.values("volume")) {
        auto v = volume(text);
        if (!v)
            return v.error();
        task.volumes.push_back(std::move(*v));
    }
    if (auto text = inv.value("network")) {
        const auto colon = text->find(':');
        const auto mode = task::parse_network_mode(text->substr(0, colon));
        const bool user = mode == task::NetworkMode::user;
        if (!mode || *mode == task::NetworkMode::unset || user != (colon != std::string::npos) ||
            (user && colon + 1 == text->size())) {
            return Error{fmt::format(
                "--network: expected host, bridge, none or user:NAME, got '{}'", *text)};
        }
        task.network = *mode;
        if (user)
            task.network_name = text->substr(colon + 1);
    }
    for (const auto& text : inv.values("docker-parameter")) {
        auto pair = name_value("docker-parameter", text);
        if (!pair)
            return pair.error();
        task.docker_parameters.push_back(std::move(*pair));
    }
    for (const auto& text : inv.values("constraint")) {
        auto c = constraint_option(text);
        if (!c)
            return c.error();
        task.constraints.push_back(std::move(*c));
    }
    const std::pair<std::string_view, std::optional<double>*> numbers[] = {
        {"cpus", &task.cpus},
        {"mem", &task.mem_mb},
        {"disk", &task.disk_mb},
        {"gpus", &task.gpus},
        {"retry-backoff", &task.retry_backoff_s},
        {"timeout", &task.timeout_s},
    };
    for (const auto& [name, field] : numbers) {
        if (auto text = inv.value(name)) {
            auto v = number_option(name, *text);
            if (!v)
                return v.error();
            *field = *v;
        }
    }
    const std::pair<std::string_view, std::optional<int>*> integers[] = {
        {"ports", &task.ports}, {"priority", &task.priority}, {"attempts", &task.max_attempts}};
    for (const auto& [name, field] : integers) {
        if (auto text = inv.value(name)) {
            auto v = integer_option(name, *text);
            if (!v)
                return v.error();
            *field = *v;
        }
    }
    return task;
}

// Lines of a file, read in blocks; a line longer than the limit is refused
// before it is held whole.
class LineReader {
  public:
    static constexpr std::size_t kMaxLine = 1024 * 1024;
    enum class Got { line, end, too_long, failed };

    explicit LineReader(std::FILE* file) : file_(file), block_(64 * 1024) {}

    Got next(std::string& line) {
        line.clear();
        for (;;) {
            if (pos_ == len_) {
                len_ = std::fread(block_.data(), 1, block_.size(), file_);
                pos_ = 0;
                if (len_ == 0) {
                    if (std::ferror(file_))
                        return Got::failed;
                    return partial_ ? ended() : Got::end;  // the last line may lack its '\n'
                }
            }
            const char* start = block_.data() + pos_;
            const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
            const std::size_t take =
                nl != nullptr ? static_cast<std::size_t>(nl - start) : len_ - pos_;
            if (line.size() + take > kMaxLine)
                return Got::too_long;
            line.append(start, take);
            pos_ += take;
            partial_ = true;
            if (nl != nullptr) {
                ++pos_;
                return ended();
            }
        }
    }

  private:
    Got ended() {
        partial_ = false;
        return Got::line;
    }
    std::FILE* file_;
    std::vector<char> block_;
    std::size_t pos_ = 0;
    std::size_t len_ = 0;
    bool partial_ = false;  // part of a line was read
};

bool blank(const std::string& line) {
    for (const char c : line) {
        if (c != ' ' && c != '\t' && c != '\r')
            return false;
    }
    return true;
}

// 61700 -> "61,700".
std::string grouped(std::int64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

int submit_from(const Invocation& inv, const std::string& path) {
    for (const auto& [name, value] : inv.options) {
        if (name != "from" && name != "skip-existing") {
            return usage_error(kSpec, fmt::format("--{} does not go with --from: give it as a "
                                                  "field of each line",
                                                  name));
        }
    }
    if (inv.has_command)
        return usage_error(kSpec, "--from takes its tasks from the file, not after '--'");
    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    const bool from_stdin = path == "-";
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> owned(nullptr, &std::fclose);
    if (!from_stdin) {
        owned.reset(std::fopen(path.c_str(), "rb"));
        if (!owned)
            return fail(inv, kExitFailure,
                        fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    const std::string name = from_stdin ? "stdin" : path;
    LineReader reader(from_stdin ? stdin : owned.get());
    std::string line;
    std::int64_t number = 0;
    const store::BulkSource next = [&]() -> Result<std::optional<store::BulkTask>> {
        for (;;) {
            const auto got = reader.next(line);
            if (got == LineReader::Got::end)
                return std::optional<store::BulkTask>{};
            ++number;
            if (got == LineReader::Got::failed) {
                return Error{fmt::format("cannot read {} at line {}: {}", name, number,
                                         std::strerror(errno)),
                             ErrorKind::permanent};
            }
            if (got == LineReader::Got::too_long) {
                return Error{
                    fmt::format("line {}: longer than {} bytes", number, LineReader::kMaxLine),
                    ErrorKind::permanent};
            }
            if (blank(line))
                continue;
            auto task = task_from_json(line);
            if (!task) {
                return Error{fmt::format("line {}: {}", number, task.error().message),
                             ErrorKind::permanent};
            }
            return std::optional<store::BulkTask>{store::BulkTask{std::move(*task), number}};
        }
    };
    const auto started = std::chrono::steady_clock::now();
    store::TaskStore store(loaded->config.database, "mesoflow submit");
    auto result = store.insert_tasks(next, inv.has("skip-existing"));
    if (!result) {
        std::string message = result.error().message;
        if (message.rfind("line ", 0) == 0)
            message = name + ": " + message;
        message += "; nothing was queued";
        if (message.find("task_key_must_be_unique") != std::string::npos)
            message += " (--skip-existing skips keys already queued)";
        return fail(inv, kExitFailure, message);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto rate = seconds > 0
                          ? static_cast<std::int64_t>(
                                static_cast<double>(result->queued + result->skipped) / seconds)
                          : 0;
    std::string skipped;
    if (inv.has("skip-existing"))
        skipped = fmt::format(", skipped {} already queued", grouped(result->skipped));
    std::printf("queued %s tasks from %s%s in %.2f s (%s/s)\n", grouped(result->queued).c_str(),
                name.c_str(), skipped.c_str(), seconds, grouped(rate).c_str());
    return kExitOk;
}

}  // namespace

int command_submit(const Args& args) {
    auto parsed = parse_invocation(kSpec, args);
    if (const int* code = std::get_if<int>(&parsed))
        return *code;
    const auto& inv = std::get<Invocation>(parsed);
    if (auto from = inv.value("from"))
        return submit_from(inv, *from);
    if (inv.has("skip-existing"))
        return usage_error(kSpec, "--skip-existing goes with --from FILE");
    auto task = new_task(inv);
    if (!task)
        return usage_error(kSpec, task.error().message);
    const auto loaded = load_config(inv, {"database"});
    if (!loaded)
        return kExitUsage;
    store::TaskStore store(loaded->config.database, "mesoflow submit");
    auto id = store.insert_task(*task);
    if (!id)
        return fail(inv, kExitFailure, id.error().message);
    std::printf("%lld\n", static_cast<long long>(*id));
    return kExitOk;
}

}  // namespace mesoflow::cli
