// deploy/mesoflow.service and deploy/install.sh: the unit as systemd itself
// reads it (systemd-analyze verify and security, which must be installed:
// deploy/install-deps.sh), and the installed layout.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "cli_fixture.hpp"

using Catch::Contains;
namespace fs = std::filesystem;

namespace {

const std::string kSourceDir = MESOFLOW_SOURCE_DIR;
const std::string kUnit = kSourceDir + "/deploy/mesoflow.service";

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

struct TempDir {
    fs::path path;
    TempDir() {
        char templ[] = "/tmp/mesoflow-unit-XXXXXX";
        path = ::mkdtemp(templ);
    }
    ~TempDir() { fs::remove_all(path); }
};

// The unit with ExecStart pointing at the binary just built: verify checks
// that the program exists, and /usr/local/bin/mesoflow need not.
std::string unit_for_built_binary(const TempDir& dir) {
    std::string unit = read_file(kUnit);
    const std::string installed = "ExecStart=/usr/local/bin/mesoflow ";
    const auto at = unit.find(installed);
    REQUIRE(at != std::string::npos);
    unit.replace(at, installed.size(), std::string("ExecStart=") + MESOFLOW_BINARY + " ");
    const std::string path = (dir.path / "mesoflow.service").string();
    std::ofstream(path) << unit;
    return path;
}

mesoflow::testing::CliResult run(std::vector<std::string> argv) {
    mesoflow::testing::SpawnOptions options;
    options.argv = std::move(argv);
    mesoflow::testing::CliResult r;
    r.code = mesoflow::testing::run_program(options, &r.output);
    return r;
}

// Every "Key=value" of the unit; repeated keys joined with "\n".
std::map<std::string, std::string> unit_settings() {
    std::map<std::string, std::string> out;
    std::istringstream in(read_file(kUnit));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#' || line[0] == '[')
            continue;
        const auto eq = line.find('=');
        auto& v = out[line.substr(0, eq)];
        v += (v.empty() ? "" : "\n") + line.substr(eq + 1);
    }
    return out;
}

}  // namespace

TEST_CASE("systemd-analyze verify accepts the unit without a single warning") {
    TempDir dir;
    const auto r = run({"systemd-analyze", "verify", unit_for_built_binary(dir)});
    INFO(r.output);
    CHECK(r.code == 0);
    CHECK(r.output.empty());
}

TEST_CASE("systemd-analyze security rates the unit's exposure OK (at most 2.0 of 10)") {
    TempDir dir;
    const auto r = run({"systemd-analyze", "security", "--offline=true", "--threshold=20",
                        unit_for_built_binary(dir)});
    INFO(r.output);
    CHECK(r.code == 0);
    std::smatch m;
    REQUIRE(
        std::regex_search(r.output, m, std::regex(R"(Overall exposure level for \S+: ([0-9.]+))")));
    CHECK(std::stod(m[1]) <= 2.0);
}

TEST_CASE("the unit runs mesoflow run unprivileged, hardened, restarted on failure only") {
    auto s = unit_settings();
    CHECK(s["ExecStart"] == "/usr/local/bin/mesoflow run --config /etc/mesoflow/mesoflow.conf");
    CHECK(s["Type"] == "simple");
    CHECK(s["EnvironmentFile"] == "-/etc/mesoflow/mesoflow.env");
    CHECK(s["DynamicUser"] == "yes");
    CHECK(s["Restart"] == "on-failure");
    CHECK(s["RestartPreventExitStatus"] == "2 3");
    CHECK(s["KillSignal"] == "SIGTERM");
    // Above the runtime's 30 s stop grace, so SIGKILL never cuts a clean stop.
    REQUIRE_THAT(s["TimeoutStopSec"], Catch::Matches("[0-9]+s"));
    CHECK(std::stoi(s["TimeoutStopSec"]) > 30);
    for (const char* yes :
         {"NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
          "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups"}) {
        INFO(yes);
        CHECK(s[yes] == "yes");
    }
    CHECK(s["ProtectSystem"] == "strict");
    CHECK(s["CapabilityBoundingSet"].empty());
    CHECK(s.count("CapabilityBoundingSet") == 1);
    CHECK(s["RestrictAddressFamilies"] == "AF_INET AF_INET6 AF_UNIX");
    CHECK_THAT(s["SystemCallFilter"], Contains("@system-service"));
}

TEST_CASE("install.sh lays out binary, unit and config, and never overwrites the config") {
    TempDir root;
    auto r = run({"/bin/bash", kSourceDir + "/deploy/install.sh", "--root", root.path.string(),
                  "--binary", MESOFLOW_BINARY});
    INFO(r.output);
    REQUIRE(r.code == 0);
    const auto mode = [&](const std::string& rel) {
        struct stat st {};
        REQUIRE(::stat((root.path / rel).c_str(), &st) == 0);
        return st.st_mode & 0777;
    };
    CHECK(mode("usr/local/bin/mesoflow") == 0755);
    CHECK(mode("etc/systemd/system/mesoflow.service") == 0644);
    CHECK(mode("etc/mesoflow/mesoflow.conf") == 0644);
    CHECK(mode("etc/mesoflow/mesoflow.env") == 0600);
    CHECK(read_file((root.path / "etc/systemd/system/mesoflow.service").string()) ==
          read_file(kUnit));

    // The example config is a valid config: every key at its default.
    const std::string conf = (root.path / "etc/mesoflow/mesoflow.conf").string();
    r = run({(root.path / "usr/local/bin/mesoflow").string(), "config", "--config", conf});
    CHECK(r.code == 0);
    CHECK_THAT(r.output, Contains("# read " + conf));

    std::ofstream(conf) << "[mesoflow]\nmaster = m1\n";
    r = run({"/bin/bash", kSourceDir + "/deploy/install.sh", "--root", root.path.string(),
             "--binary", MESOFLOW_BINARY});
    REQUIRE(r.code == 0);
    CHECK(read_file(conf) == "[mesoflow]\nmaster = m1\n");
}
