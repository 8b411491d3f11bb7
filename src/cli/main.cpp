// mesoflow: runs tasks queued in PostgreSQL on Apache Mesos through the v1
// HTTP scheduler API.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "version") == 0) {
        std::printf("mesoflow %s\n", MESOFLOW_VERSION);
        return 0;
    }
    std::fprintf(stderr, "usage: mesoflow version\n");
    return 2;
}
