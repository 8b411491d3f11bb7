// CallSchema reads JSON the way the master's stout parser does.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>

#include "call_schema.hpp"

using mesoflow::fake::normalize_call;
using nlohmann::json;

namespace {

json accept_with_task(const json& task) {
    return {{"type", "ACCEPT"},
            {"framework_id", {{"value", "f"}}},
            {"accept",
             {{"offer_ids", {{{"value", "o"}}}},
              {"operations", {{{"type", "LAUNCH"}, {"launch", {{"task_infos", {task}}}}}}}}}};
}

json minimal_task() {
    return {{"name", "t"},
            {"task_id", {{"value", "t"}}},
            {"agent_id", {{"value", "a"}}},
            {"resources", {{{"name", "cpus"}, {"type", "SCALAR"}, {"scalar", {{"value", 1}}}}}}};
}

}  // namespace

TEST_CASE("numbers may come as strings and Infinity, and become numbers") {
    json call = {
        {"type", "DECLINE"},
        {"framework_id", {{"value", "f"}}},
        {"decline", {{"offer_ids", json::array()}, {"filters", {{"refuse_seconds", "7.5"}}}}}};
    REQUIRE_FALSE(normalize_call(call));
    CHECK(call["decline"]["filters"]["refuse_seconds"] == 7.5);
    json task = minimal_task();
    task["limits"] = {{"cpus", {{"value", "Infinity"}}}};
    json accept = accept_with_task(task);
    REQUIRE_FALSE(normalize_call(accept));
    CHECK(std::isinf(
        accept["accept"]["operations"][0]["launch"]["task_infos"][0]["limits"]["cpus"]["value"]
            .get<double>()));
}

TEST_CASE("unknown fields and nulls vanish; a single value for a repeated field is a list") {
    json call = {{"type", "SUPPRESS"},
                 {"framework_id", {{"value", "f"}, {"extra", 1}}},
                 {"frameworkId", "camelCase is not a field"},
                 {"suppress", {{"roles", "web"}}},
                 {"revive", nullptr}};
    REQUIRE_FALSE(normalize_call(call));
    CHECK(call == json{{"type", "SUPPRESS"},
                       {"framework_id", {{"value", "f"}}},
                       {"suppress", {{"roles", {"web"}}}}});
}

TEST_CASE("an unknown name of an optional enum leaves the field unset; of a required one fails") {
    json call = {{"type", "SUBSCRIBE"},
                 {"subscribe",
                  {{"framework_info",
                    {{"user", "u"}, {"name", "n"}, {"capabilities", {{{"type", "TELEPATHY"}}}}}}}}};
    REQUIRE_FALSE(normalize_call(call));
    CHECK(call["subscribe"]["framework_info"]["capabilities"] == json::array({json::object()}));
    json task = minimal_task();
    task["resources"][0]["type"] = "VECTOR";
    json accept = accept_with_task(task);
    CHECK(normalize_call(accept) == "Failed to find enum for 'VECTOR'");
}

TEST_CASE("type mismatches are reported with the field name") {
    json call = {{"type", "SUBSCRIBE"},
                 {"subscribe", {{"framework_info", {{"user", "u"}, {"name", 3}}}}}};
    CHECK(normalize_call(call) == "Not expecting a JSON number for field 'name'");
    json flag = {
        {"type", "SUBSCRIBE"},
        {"subscribe", {{"framework_info", {{"user", "u"}, {"name", "n"}, {"checkpoint", "yes"}}}}}};
    CHECK(normalize_call(flag) ==
          "Failed to parse 'yes' as a JSON boolean for field 'checkpoint': not a boolean");
    json array = {{"type", "SUBSCRIBE"}, {"subscribe", {{"framework_info", json::array()}}}};
    CHECK(normalize_call(array) == "Not expecting a JSON array for field 'framework_info'");
    json task = minimal_task();
    task["limits"] = {{"cpus", 2}};
    json accept = accept_with_task(task);
    CHECK(normalize_call(accept) == "Not expecting a JSON number for field 'value'");
}

TEST_CASE("missing required fields are listed like protobuf's InitializationErrorString") {
    json task = minimal_task();
    task.erase("name");
    task["resources"][0].erase("type");
    task["command"] = {{"uris", {{{"extract", true}}}}};
    json accept = accept_with_task(task);
    CHECK(normalize_call(accept) ==
          "Missing required fields: accept.operations[0].launch.task_infos[0].name, "
          "accept.operations[0].launch.task_infos[0].resources[0].type, "
          "accept.operations[0].launch.task_infos[0].command.uris[0].value");
}

TEST_CASE("a container's volumes and network_infos are read as Mesos' Volume and NetworkInfo") {
    json task = minimal_task();
    task["container"] = {
        {"type", "DOCKER"},
        {"volumes",
         {{{"mode", "RO"}, {"container_path", "/opt/dags"}, {"host_path", "/srv/dags"}},
          {{"mode", "RW"}, {"container_path", "/opt/logs"}, {"host_path", "/srv/logs"}}}},
        {"docker",
         {{"image", "busybox"},
          {"network", "USER"},
          {"parameters", {{{"key", "label"}, {"value", "a=b"}}}}}},
        {"network_infos", {{{"name", "airflow"}, {"driver", "ignored"}}}}};
    json accept = accept_with_task(task);
    REQUIRE_FALSE(normalize_call(accept));
    const json& container =
        accept["accept"]["operations"][0]["launch"]["task_infos"][0]["container"];
    CHECK(container["volumes"][1]["mode"] == "RW");
    CHECK(container["volumes"][0]["host_path"] == "/srv/dags");
    CHECK(container["network_infos"] == json::array({{{"name", "airflow"}}}));
    CHECK(container["docker"]["parameters"][0]["value"] == "a=b");

    json no_mode = minimal_task();
    no_mode["container"] = {{"type", "MESOS"}, {"volumes", {{{"host_path", "/srv"}}}}};
    json missing = accept_with_task(no_mode);
    CHECK(normalize_call(missing) ==
          "Missing required fields: accept.operations[0].launch.task_infos[0].container."
          "volumes[0].mode, accept.operations[0].launch.task_infos[0].container.volumes[0]."
          "container_path");
    json bad_mode = minimal_task();
    bad_mode["container"] = {{"type", "MESOS"},
                             {"volumes", {{{"mode", "WO"}, {"container_path", "/x"}}}}};
    json refused = accept_with_task(bad_mode);
    CHECK(normalize_call(refused) == "Failed to find enum for 'WO'");
    json bad_name = minimal_task();
    bad_name["container"] = {{"type", "MESOS"}, {"network_infos", {{{"name", 5}}}}};
    json mistyped = accept_with_task(bad_name);
    CHECK(normalize_call(mistyped).has_value());
}
