#include <libpq-fe.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "temp_postgres.hpp"

using mesoflow::testing::TempPostgres;

namespace {

std::string query_one(const std::string& dsn, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(dsn.c_str()), &PQfinish);
    REQUIRE(PQstatus(conn.get()) == CONNECTION_OK);
    std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
    REQUIRE(PQresultStatus(res.get()) == PGRES_TUPLES_OK);
    return PQgetvalue(res.get(), 0, 0);
}

}  // namespace

TEST_CASE("a throwaway server accepts connections on its socket and on loopback TCP") {
    auto& pg = TempPostgres::shared();
    CHECK(query_one(pg.dsn(), "SELECT 1") == "1");
    CHECK(query_one(pg.uri(), "SELECT 2") == "2");
    CHECK(std::filesystem::exists(pg.socket_dir() + "/.s.PGSQL." + std::to_string(pg.port())));
}

TEST_CASE("each test gets its own empty database") {
    auto& pg = TempPostgres::shared();
    const auto a = pg.create_database();
    const auto b = pg.create_database();
    CHECK(a != b);
    CHECK(query_one(a, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == "0");
}

TEST_CASE("data survives a server restart on the same port") {
    auto& pg = TempPostgres::shared();
    const auto db = pg.create_database();
    const auto name = db.substr(db.rfind('=') + 1);
    pg.exec(name, "CREATE TABLE t (v int); INSERT INTO t VALUES (42)");
    pg.restart();
    CHECK(query_one(db, "SELECT v FROM t") == "42");
}

TEST_CASE("the server and its directory are gone after teardown") {
    std::string dir;
    std::string dsn;
    {
        TempPostgres own;
        dir = own.socket_dir();
        dsn = own.dsn();
        CHECK(PQping(dsn.c_str()) == PQPING_OK);
    }
    CHECK_FALSE(std::filesystem::exists(dir));
    CHECK(PQping(dsn.c_str()) != PQPING_OK);
}
