// The README's configuration tables and deploy/mesoflow.conf.example are
// generated from the key table. These tests fail when either drifts; run the
// test binary with MESOFLOW_UPDATE_DOCS=1 to rewrite them.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "mesoflow/config/keys.hpp"
#include "mesoflow/config/load.hpp"
#include "mesoflow/config/render.hpp"
#include "scratch_dir.hpp"

using namespace mesoflow::config;

namespace {

const std::string kRoot = MESOFLOW_SOURCE_DIR;
const std::string kKeysBegin =
    "<!-- config-keys:begin (generated from src/config/key_table.cpp) -->\n";
const std::string kKeysEnd = "<!-- config-keys:end -->";
const std::string kMappingBegin =
    "<!-- config-airflow:begin (generated from src/config/key_table.cpp) -->\n";
const std::string kMappingEnd = "<!-- config-airflow:end -->";

std::string read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

bool updating() {
    return std::getenv("MESOFLOW_UPDATE_DOCS") != nullptr;
}

// The text between the markers in `doc`; with MESOFLOW_UPDATE_DOCS, replaces it first.
std::string block(std::string& doc, const std::string& begin, const std::string& end,
                  const std::string& generated) {
    const std::size_t b = doc.find(begin);
    const std::size_t e = doc.find(end);
    REQUIRE(b != std::string::npos);
    REQUIRE(e != std::string::npos);
    const std::size_t from = b + begin.size();
    if (updating())
        doc.replace(from, e - from, generated);
    return doc.substr(from, doc.find(end) - from);
}

}  // namespace

TEST_CASE("README's Configuration tables are the ones the key table generates") {
    const std::string path = kRoot + "/README.md";
    std::string readme = read(path);
    const std::string keys_table = block(readme, kKeysBegin, kKeysEnd, render_keys_markdown());
    const std::string mapping =
        block(readme, kMappingBegin, kMappingEnd, render_airflow_mapping_markdown());
    if (updating())
        write(path, readme);
    CHECK(keys_table == render_keys_markdown());
    CHECK(mapping == render_airflow_mapping_markdown());
}

TEST_CASE("deploy/mesoflow.conf.example is the example the key table generates") {
    const std::string path = kRoot + "/deploy/mesoflow.conf.example";
    if (updating())
        write(path, render_example_file());
    CHECK(read(path) == render_example_file());
}

TEST_CASE("the example file, with every key uncommented, loads without warnings to the defaults") {
    std::istringstream in(render_example_file());
    std::string line, uncommented;
    int keys_seen = 0;
    while (std::getline(in, line)) {
        const std::size_t eq = line.find(" =");
        if (line.rfind("# ", 0) == 0 && eq != std::string::npos &&
            find_key(line.substr(2, eq - 2)) != nullptr) {
            line = line.substr(2);
            ++keys_seen;
        }
        uncommented += line + "\n";
    }
    CHECK(keys_seen == static_cast<int>(keys().size()));
    mesoflow::testing::ScratchDir dir;
    LoadOptions o;
    o.files = {dir.write("mesoflow.conf", uncommented)};
    o.log_warnings = false;
    auto loaded = load(o);
    if (!loaded.ok())
        FAIL(loaded.error().message);
    CHECK(loaded->warnings.empty());
    CHECK(render_effective(loaded->config).find("default") == std::string::npos);
    for (const auto& key : keys())
        CHECK(value_text(loaded->config, key, true) == default_text(key));
}
